"""What a search refuses or guards against: pinned values the oracle would override,
resumes of a different search, stale tau projects, a chief that fails, retrains
that restart for nothing."""

import json
import os

import numpy as np
import pytest

from .helpers import digits_config


def _cb(data, **space):
    from keras_lt.tuning.hypermodels import make_hypermodel

    return make_hypermodel("cb", data, digits_config(), search_space=space or None)


def test_the_tuner_maximises_validation_balanced_accuracy(digits_search_data, tmp_path):
    from keras_lt.tuning.search import make_tuner

    tuner = make_tuner(_cb(digits_search_data), directory=str(tmp_path))
    assert tuner.oracle.objective.name == "val_balanced_accuracy"
    assert tuner.oracle.objective.direction == "max"


def test_a_fixed_focal_gamma_holds_in_every_trial_the_oracle_samples(digits_search_data,
                                                                     tmp_path):
    # KerasTuner samples a conditional Choice over an unconditional hp.Fixed of
    # the same name: the pin must reach the trials through the oracle.
    from keras_lt.tuning.search import make_tuner, pin_fixed

    space = pin_fixed(None, {"gamma": 2.0, "loss_type": "focal"})
    tuner = make_tuner(_cb(digits_search_data, **space), max_trials=3, directory=str(tmp_path))
    gammas = [tuner.oracle.create_trial(f"w{i}").hyperparameters.values["gamma"]
              for i in range(3)]
    assert gammas == [2.0, 2.0, 2.0]


def test_an_unconditional_fixed_gamma_is_refused(digits_search_data):
    import keras_tuner as kt

    hp = kt.HyperParameters()
    hp.Fixed("gamma", 2.0)
    with pytest.raises(ValueError, match="conditional on loss_type='focal'"):
        _cb(digits_search_data).values(hp)


def test_gamma_without_the_focal_loss_and_a_contradicted_method_are_refused(digits_search_data):
    from keras_lt.tuning.hypermodels import make_hypermodel
    from keras_lt.tuning.search import pin_fixed

    with pytest.raises(ValueError, match="do not use it"):
        make_hypermodel("cb-softmax", digits_search_data, digits_config(),
                        search_space=pin_fixed(None, {"gamma": 2.0}))
    with pytest.raises(ValueError, match="pins loss_type='focal'"):
        make_hypermodel("cb-focal", digits_search_data, digits_config(),
                        search_space={"loss_type": ["softmax"]})
    with pytest.raises(ValueError, match="both searched"):
        pin_fixed({"beta": [0.9, 0.99]}, {"beta": 0.9})


@pytest.mark.parametrize("change", [{"momentum": 0.5}, {"weight_decay": 5e-3},
                                    {"milestones": (1,)}])
def test_resuming_a_search_with_another_recipe_is_refused(digits_search_data, tmp_path, change):
    from keras_lt.tuning.hypermodels import make_hypermodel
    from keras_lt.tuning.search import _check_resume, _search_settings

    def settings(**overrides):
        hm = make_hypermodel("ldam-drw", digits_search_data, digits_config(**overrides))
        return _search_settings(hm, digits_search_data, "random", None, "ldam-drw")

    project = str(tmp_path / "p")
    _check_resume(project, settings(), "standalone")  # writes search_config.json
    _check_resume(project, settings(), "standalone")  # the same: accepted
    _check_resume(project, settings(data_dir="/elsewhere", verbose=1), "standalone")
    key = next(iter(change))
    with pytest.raises(ValueError, match=f"config.{key}"):
        _check_resume(project, settings(**change), "standalone")


def test_tune_tau_answers_for_the_logits_it_is_given(tmp_path):
    from keras_lt.tuning.tau_hypermodel import tune_tau

    rng = np.random.default_rng(0)
    counts = np.array([400, 40, 4])
    labels = np.repeat(np.arange(3), 30)

    def expected(logits, taus):
        scores = []
        for tau in taus:
            predicted = np.argmax(logits / counts ** tau, axis=1)
            scores.append(np.mean([np.mean(predicted[labels == c] == c) for c in range(3)]))
        return taus[int(np.argmax(scores))]  # ties: the first (smallest) tau

    # A: biased toward the frequent classes (tau 0.5 best); B: right as they are
    # (every tau ties at 100%: tau 0 wins the tie). Positive logits.
    noise = 0.01 * rng.random((90, 3))
    biased = np.array([2.0, 1.0, 0.5]) + 0.8 * np.eye(3)[labels] + noise
    fair = 0.1 + 3.0 * np.eye(3)[labels] + noise
    taus = (0.0, 0.5, 1.0)
    assert expected(biased, taus) != expected(fair, taus)
    first, _ = tune_tau(biased, labels, counts, directory=str(tmp_path), taus=taus)
    second, _ = tune_tau(fair, labels, counts, directory=str(tmp_path), taus=taus)
    third, _ = tune_tau(fair, labels, counts, directory=str(tmp_path), taus=(0.2, 0.3))
    assert (first, second) == (expected(biased, taus), expected(fair, taus))
    assert third == expected(fair, (0.2, 0.3))


def test_a_chief_whose_search_fails_still_releases_the_workers(digits_search_data, tmp_path,
                                                               monkeypatch):
    from keras_lt.tuning import distributed, search

    monkeypatch.setattr(distributed, "search_role", lambda environ=None: "chief")
    monkeypatch.setattr(distributed, "serve_oracle", lambda tuner, verbose=0: None)  # no trial
    with pytest.raises(ValueError, match="No completed trial"):
        search.run_search(digits_config(), method="ldam-drw", directory=str(tmp_path),
                          project_name="p", retrain=False, verbose=0)
    end = os.path.join(str(tmp_path), "p", distributed.SEARCH_END_FILE)
    with open(end) as f:
        assert "No completed trial" in json.load(f)["error"]
    with pytest.raises(RuntimeError, match="ended in an error: ValueError: No completed"):
        distributed.wait_for_search_end(os.path.dirname(end), timeout=5)


def test_a_resumed_search_continues_its_retrain_instead_of_restarting(digits_search_data,
                                                                      tmp_path, capsys):
    from keras_lt.tuning.hypermodels import make_hypermodel
    from keras_lt.tuning.search import retrain_best

    hm = make_hypermodel("cb", digits_search_data, digits_config(epochs=2))
    values = {"loss_type": "softmax", "beta": 0.99}
    out = str(tmp_path / "runs")
    retrain_best(hm, values, output_dir=out, run_name="r", verbose=1, resume=True)
    assert "Resuming" not in capsys.readouterr().out
    retrain_best(hm, values, output_dir=out, run_name="r", verbose=1, resume=True)
    assert "holds all 2 epochs: nothing left to train" in capsys.readouterr().out
    # Another best configuration under the same name starts afresh.
    retrain_best(hm, dict(values, beta=0.9), output_dir=out, run_name="r", verbose=1,
                 resume=True)
    printed = capsys.readouterr().out
    assert "other settings: starting it afresh" in printed and "Resuming" not in printed


def test_a_search_config_of_the_older_layout_resumes_and_is_upgraded(digits_search_data,
                                                                     tmp_path):
    # Before the whole recipe was compared, search_config.json held a few recipe keys
    # at its top level and the pins apart from the space.
    from keras_lt.tuning.hypermodels import make_hypermodel
    from keras_lt.tuning.search import _check_resume, _search_settings, pin_fixed

    hm = make_hypermodel("cb", digits_search_data, digits_config(),
                         search_space=pin_fixed(None, {"loss_type": "focal"}))
    settings = _search_settings(hm, digits_search_data, "random", {"loss_type": "focal"}, "cb")
    c = settings["config"]
    legacy = {"method": "cb", "hypermodel": "ClassBalancedHyperModel", "dataset": c["dataset"],
              "imbalance": c["imbalance"], "ratio": c["ratio"], "data_dir": None,
              "seed": c["seed"], "backbone": c["backbone"], "epochs": c["epochs"],
              "batch_size": c["batch_size"], "lr": c["lr"], "val_per_class": 3,
              "tuner": "random", "fixed": {"loss_type": "focal"},
              "space": {"loss_type": ["softmax", "sigmoid", "focal"],
                        "beta": [0.9, 0.99, 0.999, 0.9999], "gamma": [0.5, 1.0, 2.0]}}
    assert settings["val_per_class"] == 3
    project = tmp_path / "p"
    project.mkdir()
    (project / "search_config.json").write_text(json.dumps(legacy))
    _check_resume(str(project), settings, "standalone")  # accepted
    assert json.loads((project / "search_config.json").read_text()) == settings  # upgraded
    (project / "search_config.json").write_text(json.dumps(dict(legacy, epochs=99)))
    with pytest.raises(ValueError, match="config.epochs: 99"):
        _check_resume(str(project), settings, "standalone")


def test_a_cb_search_trains_cb_focal_trials_with_cb_focal_settings(digits_search_data):
    # config.METHOD_SETTINGS gives cb-focal its own learning rate on iNaturalist
    # (Cui et al. sec. 5.2: 4 x); a method='cb' search picks cb-focal per trial.
    from keras_lt.training.config import TrainConfig
    from keras_lt.tuning.hypermodels import make_hypermodel

    config = TrainConfig(dataset="inaturalist2018", verbose=0)
    hm = make_hypermodel("cb", digits_search_data, config)
    focal = hm.trial_config({"loss_type": "focal", "beta": 0.999, "gamma": 0.5})
    softmax = hm.trial_config({"loss_type": "softmax", "beta": 0.999})
    assert (focal.method, focal.lr) == ("cb-focal", 0.8)
    assert (softmax.method, softmax.lr) == ("cb-softmax", 0.2)
    assert focal.lr == TrainConfig(dataset="inaturalist2018", method="cb-focal").resolve().lr
