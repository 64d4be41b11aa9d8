"""Each HyperModel: the papers' search space by default, overrides, validation, fit knobs."""

import keras_tuner as kt
import numpy as np
import pytest

from keras_lt.tuning.base_hypermodel import LongTailHyperModel
from keras_lt.tuning.cdt_hypermodel import CDTHyperModel, gamma_grid
from keras_lt.tuning.class_balanced_hypermodel import ClassBalancedHyperModel
from keras_lt.tuning.hypermodels import make_hypermodel
from keras_lt.tuning.ib_hypermodel import IBHyperModel
from keras_lt.tuning.ldam_hypermodel import LDAMHyperModel
from keras_lt.tuning.mfw_hypermodel import MFWHyperModel
from keras_lt.tuning.tau_hypermodel import TauHyperModel, tune_tau

from .helpers import digits_config


def declared(hypermodel, hp=None):
    """{name: list of values} of every Choice the HyperModel declares."""
    hp = hp or kt.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return {p.name: list(getattr(p, "values", [getattr(p, "value", None)])) for p in hp.space}


def test_class_balanced_defaults_are_the_papers_grid(digits_search_data):
    hm = ClassBalancedHyperModel(digits_search_data, digits_config())
    space = declared(hm)
    assert space == {
        "loss_type": ["softmax", "sigmoid", "focal"],
        "beta": [0.9, 0.99, 0.999, 0.9999],
        "gamma": [0.5, 1.0, 2.0],
    }
    hp = kt.HyperParameters()
    values = hm.values(hp)
    # gamma only exists for the focal loss (conditional scope).
    assert values == {"loss_type": "softmax", "beta": 0.9}
    assert hm.main_hyperparameter == "beta"


def test_class_balanced_fixed_values_reach_the_compiled_loss(digits_search_data):
    # gamma is conditional: pinned by a one-value space (see test_search_guards.py).
    hm = ClassBalancedHyperModel(digits_search_data, digits_config(), search_space={"gamma": [2.0]})
    hp = kt.HyperParameters()
    hp.Fixed("loss_type", "focal")
    hp.Fixed("beta", 0.99)
    values = hm.values(hp)
    assert values == {"loss_type": "focal", "beta": 0.99, "gamma": 2.0}
    config = hm.trial_config(values)
    assert (config.method, config.beta, config.gamma) == ("cb-focal", 0.99, 2.0)
    model = hm.build(hp)
    loss = model.loss.get_config()
    assert (loss["loss_type"], loss["beta"], loss["gamma"]) == ("focal", 0.99, 2.0)
    # Sigmoid/focal CB: the head's bias starts at -log((1 - pi) / pi), pi = 1/C.
    bias = [w for w in model.weights if "bias" in w.path and "head" in w.path]
    np.testing.assert_allclose(np.asarray(bias[0]), -np.log(9.0), rtol=1e-5)
    metrics = {m["config"]["name"] for m in model.get_compile_config()["metrics"]}
    assert metrics == {"balanced_accuracy", "few_shot_accuracy"}


def test_specific_cb_method_pins_the_loss_type(digits_search_data):
    hm = make_hypermodel("cb-sigmoid", digits_search_data, digits_config())
    assert declared(hm)["loss_type"] == ["sigmoid"]
    assert "gamma" not in declared(hm)
    assert make_hypermodel("cb", digits_search_data, digits_config()).space["loss_type"] == (
        "softmax", "sigmoid", "focal")


def test_ldam_defaults_and_the_drw_start_in_fit(digits_search_data):
    config = digits_config(epochs=10)
    hm = LDAMHyperModel(digits_search_data, config)
    assert hm.method == "ldam-drw"
    space = declared(hm)
    assert space["max_margin"] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert space["scale"] == [10.0, 20.0, 30.0, 40.0]
    assert space["drw_epoch"] == [6, 7, 8, 9]  # 60-90 % of 10 epochs
    # Plain LDAM has no DRW knob.
    assert "drw_epoch" not in declared(LDAMHyperModel(digits_search_data, config, method="ldam"))
    hp = kt.HyperParameters()
    hp.Fixed("drw_epoch", 7)
    hp.Fixed("max_margin", 0.3)
    trial = hm.trial_config(hm.values(hp))
    assert (trial.drw_epoch, trial.max_margin, trial.scale) == (7, 0.3, 10.0)
    from keras_lt.training.methods import get_method

    (drw,) = hm.schedule_callbacks(trial, get_method(trial.method))
    assert type(drw).__name__ == "DeferredReweighting" and drw.start_epoch == 7


def test_ldam_drw_fit_switches_the_weights_at_the_tuned_epoch(digits_search_data):
    # A real two-epoch trial with DRW from epoch 1: after fit, the loss holds
    # the class-balanced weights (beta 0.9999, numpy formula, sum C).
    hm = LDAMHyperModel(digits_search_data, digits_config(epochs=2))
    hp = kt.HyperParameters()
    hp.Fixed("drw_epoch", 1)
    model = hm.build(hp)
    np.testing.assert_allclose(np.asarray(model.loss.class_weights), 1.0)
    results = hm.fit(hp, model, digits_search_data.train,
                     validation_data=digits_search_data.val)
    n = digits_search_data.counts.astype(np.float64)
    w = (1 - 0.9999) / (1 - 0.9999 ** n)
    w = w / w.sum() * n.size
    np.testing.assert_allclose(np.asarray(model.loss.class_weights), w, rtol=1e-5)
    assert {"val_balanced_accuracy", "val_few_shot_accuracy", "seconds"} <= set(results)
    assert 0.0 <= results["val_balanced_accuracy"] <= 1.0


@pytest.mark.parametrize("dataset, top", [("cifar10", 0.4), ("cifar100", 0.2),
                                          ("tiny_imagenet", 0.2), ("inaturalist2018", 0.1)])
def test_cdt_gamma_range_follows_the_dataset(digits_search_data, dataset, top):
    from keras_lt.training.config import TrainConfig

    hm = CDTHyperModel(digits_search_data, TrainConfig(dataset=dataset, epochs=2))
    gammas = declared(hm)["gamma"]
    np.testing.assert_allclose(gammas, np.linspace(0.0, top, 9), atol=1e-9)
    assert hm.main_hyperparameter == "gamma"
    assert gamma_grid("cifar10", num=5) == (0.0, 0.1, 0.2, 0.3, 0.4)
    narrow = CDTHyperModel(digits_search_data, TrainConfig(dataset=dataset, epochs=2),
                           gamma_max=0.05)
    assert max(narrow.space["gamma"]) == 0.05


def test_cdt_fixed_gamma_reaches_the_loss(digits_search_data):
    hm = CDTHyperModel(digits_search_data, digits_config())
    hp = kt.HyperParameters()
    hp.Fixed("gamma", 0.25)
    model = hm.build(hp)
    assert float(model.loss.gamma) == pytest.approx(0.25)


def test_ib_defaults_and_phase_start(digits_search_data):
    hm = IBHyperModel(digits_search_data, digits_config(epochs=8), method="ib-focal")
    space = declared(hm)
    assert space == {"alpha": [100.0, 500.0, 1000.0, 2000.0], "phase_epoch": [2, 4, 6]}
    hp = kt.HyperParameters()
    hp.Fixed("alpha", 500.0)
    hp.Fixed("phase_epoch", 6)
    config = hm.trial_config(hm.values(hp))
    assert (config.method, config.alpha, config.phase_epoch) == ("ib-focal", 500.0, 6)
    from keras_lt.training.methods import get_method

    (switch,) = hm.schedule_callbacks(config, get_method("ib-focal"))
    assert type(switch).__name__ == "PhaseSwitch"
    model = hm.build(hp)
    assert float(model.loss.get_config()["alpha"]) == 500.0
    assert float(model.loss.ib_active) == 0.0  # first phase: plain CE


def test_mfw_defaults_alpha_and_layer(digits_search_data):
    hm = MFWHyperModel(digits_search_data, digits_config())
    space = declared(hm)
    assert space["alpha"] == [0.5, 1.0, 2.0, 4.0]
    # Table 5 of Ye, Zhan, Chao: after each group of convolutions (small_cnn: 3).
    assert space["mfw_layer"] == ["stem", "stage1", "stage2"]
    hp = kt.HyperParameters()
    hp.Fixed("alpha", 4.0)
    hp.Fixed("mfw_layer", "stage2")
    values = hm.values(hp)
    assert values == {"alpha": 4.0, "mfw_layer": "stage2"}
    config = hm.trial_config(values)
    assert (config.method, config.alpha, config.mfw_layer) == ("mfw", 4.0, "stage2")
    model = hm.build(hp)
    assert model.feature_weakening.get_config()["alpha"] == 4.0
    assert model.feature_weakening.get_config()["after"] == "stage2"
    # Pinned to the paper's layer: alpha alone is searched.
    hp = kt.HyperParameters()
    hp.Fixed("mfw_layer", "stage1")
    assert hm.values(hp)["mfw_layer"] == "stage1"


def test_mfw_layer_space_is_validated_against_the_backbone(digits_search_data):
    from keras_lt.training.config import TrainConfig

    cifar = MFWHyperModel(digits_search_data, TrainConfig(dataset="cifar10", epochs=2))
    assert cifar.space["mfw_layer"] == ("stem", "stage1", "stage2", "stage3")
    narrow = MFWHyperModel(digits_search_data, digits_config(),
                           search_space={"mfw_layer": ["stage1", "stage2"]})
    assert declared(narrow)["mfw_layer"] == ["stage1", "stage2"]
    with pytest.raises(ValueError, match="stem, stage1, stage2; got .'stage3'."):
        MFWHyperModel(digits_search_data, digits_config(),
                      search_space={"mfw_layer": ["stage3"]})
    with pytest.raises(ValueError, match="search_space"):
        MFWHyperModel(digits_search_data, digits_config(method="mfw", mfw_layer="stem"))


def test_search_space_overrides_and_validation(digits_search_data):
    hm = ClassBalancedHyperModel(digits_search_data, digits_config(),
                                 search_space={"beta": [0.99, 0.999], "loss_type": ["focal"]})
    assert declared(hm)["beta"] == [0.99, 0.999]
    ib = IBHyperModel(digits_search_data, digits_config(), search_space={"alpha": [10, 100]})
    assert ib.space["alpha"] == (10.0, 100.0)  # ints from the CLI become the floats
    with pytest.raises(ValueError, match="beta"):
        ClassBalancedHyperModel(digits_search_data, digits_config(),
                                search_space={"beta": [1.0]})
    # --values beta=abc reaches the space as a string: refused by name, not by float().
    with pytest.raises(ValueError, match="`beta` values must be numbers, got 'abc'"):
        ClassBalancedHyperModel(digits_search_data, digits_config(),
                                search_space={"beta": ["abc"]})
    with pytest.raises(ValueError, match="`alpha` values must be numbers, got True"):
        IBHyperModel(digits_search_data, digits_config(), search_space={"alpha": [True]})
    with pytest.raises(ValueError, match="tunes loss_type, beta, gamma; 'alpha' is not one"):
        ClassBalancedHyperModel(digits_search_data, digits_config(),
                                search_space={"alpha": [1.0]})
    with pytest.raises(ValueError, match="loss_type"):
        ClassBalancedHyperModel(digits_search_data, digits_config(),
                                search_space={"loss_type": ["hinge"]})
    with pytest.raises(ValueError, match="epochs"):
        LDAMHyperModel(digits_search_data, digits_config(epochs=3),
                       search_space={"drw_epoch": [5]})
    with pytest.raises(ValueError, match="search_space=.'gamma': .value.. .keras-lt tune --fixed"):
        # A tuned knob set in the template: pin it with a one-value space instead.
        CDTHyperModel(digits_search_data, digits_config(method="cdt", gamma=0.1))
    with pytest.raises(ValueError, match="tunes the methods"):
        IBHyperModel(digits_search_data, digits_config(), method="cdt")


def test_a_hypermodel_refuses_data_with_a_test_split(digits_search_data):
    from keras_lt.training import experiment

    full = experiment.load_data(digits_config().resolve())
    with pytest.raises(ValueError, match="test split"):
        CDTHyperModel(full, digits_config())


def test_a_switch_epoch_at_the_end_of_the_run_is_refused(digits_search_data):
    # Epochs count from 0: DRW at epoch `epochs` never starts (the config refuses it too).
    config = digits_config()
    epochs = config.resolve().epochs
    with pytest.raises(ValueError, match=rf"`drw_epoch` values must be epochs in \[0, {epochs - 1}\]"):
        LDAMHyperModel(digits_search_data, config, search_space={"drw_epoch": [epochs]})


def test_a_hypermodel_counts_a_labeled_arrays_split_itself(digits_search_data):
    # LabeledArrays is documented input; its `counts` is a method, not an array.
    train = digits_search_data.train
    hm = LDAMHyperModel(train, digits_config())
    expected = [int((train.y == c).sum()) for c in range(train.num_classes)]
    assert hm.class_counts.tolist() == expected
    assert hm.num_classes == train.num_classes


def test_methods_without_a_family_have_an_empty_space(digits_search_data):
    hm = make_hypermodel("erm", digits_search_data, digits_config())
    assert type(hm) is LongTailHyperModel and hm.space == {}
    assert declared(hm) == {}


def test_tau_hypermodel_scores_and_grid_against_numpy(tmp_path):
    rng = np.random.default_rng(0)
    counts = np.array([50, 20, 8, 3])
    labels = np.repeat(np.arange(4), 6)
    # Logits biased towards the big classes, as a model trained on them.
    logits = rng.normal(size=(labels.size, 4)) + 2.0 * np.eye(4)[labels] + np.log(counts)
    taus = (0.0, 0.25, 0.5, 1.0)
    hm = TauHyperModel(logits, labels, counts, taus=taus, many=30, few=10)
    assert declared(hm) == {"tau": list(taus)}

    def balanced(tau):
        predicted = np.argmax(logits / counts.astype(float) ** tau, axis=1)
        return np.mean([np.mean(predicted[labels == c] == c) for c in range(4)])

    for tau in taus:
        hp = kt.HyperParameters()
        hp.Fixed("tau", tau)
        model = hm.build(hp)
        np.testing.assert_allclose(model.predict(logits.astype("float32"), verbose=0),
                                   logits / counts ** tau, rtol=1e-5)
        assert hm.fit(hp, model)["val_balanced_accuracy"] == pytest.approx(balanced(tau))
    best, _ = tune_tau(logits, labels, counts, directory=str(tmp_path), taus=taus,
                       many=30, few=10)
    scores = [balanced(t) for t in taus]
    assert best == taus[int(np.argmax(scores))]  # ties: the smallest tau (earliest trial)
