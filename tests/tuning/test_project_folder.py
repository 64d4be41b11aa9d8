"""The default search project name, and a search saved under the older one."""

import json

import pytest

from keras_lt.training.config import TrainConfig
from keras_lt.tuning.project_folder import check_legacy_search, default_project_name


def _config(**settings):
    return TrainConfig(**dict({"dataset": "cifar10", "method": "cdt"}, **settings)).resolve()


# The recipes' defaults (Cao et al.'s CIFAR schedule; the embedded digits).
CIFAR10 = {"dataset": "cifar10", "imbalance": "exp", "ratio": 100.0, "seed": 0,
           "backbone": "resnet32", "epochs": 200, "batch_size": 128, "lr": 0.1}
DIGITS = {"dataset": "digits", "imbalance": "exp", "ratio": 20.0, "seed": 0,
          "backbone": "small_cnn", "epochs": 30, "batch_size": 32, "lr": 0.05}


def _stored_search(directory, name, recipe, top_level=False):
    folder = directory / name
    folder.mkdir()
    stored = dict(recipe, method="cdt") if top_level else {"method": "cdt", "config": recipe}
    (folder / "search_config.json").write_text(json.dumps(stored))
    (folder / "oracle.json").write_text("{}")


@pytest.mark.parametrize("settings, name", [
    ({}, "cifar10-exp100-cdt"),  # CIFAR-10-LT's default ratio
    ({"ratio": 10}, "cifar10-exp10-cdt"),
    ({"imbalance": "step", "ratio": 10}, "cifar10-step10-cdt"),
    ({"imbalance": "step", "ratio": 10, "minority_fraction": 0.3}, "cifar10-step10-mu0.3-cdt"),
])
def test_the_default_project_names_the_ratio(settings, name):
    assert default_project_name(_config(**settings), "cdt") == name


def test_searches_on_two_ratios_get_two_folders(tmp_path):
    _stored_search(tmp_path, "cifar10-exp-cdt", CIFAR10)
    check_legacy_search(tmp_path, _config(ratio=10), "cdt")  # other data: not refused
    check_legacy_search(tmp_path, _config(seed=7), "cdt")  # another subset of the data
    check_legacy_search(tmp_path, _config(epochs=10), "cdt")  # other trials


def test_a_search_under_the_older_name_is_not_begun_again_beside_it(tmp_path):
    _stored_search(tmp_path, "cifar10-exp-cdt", dict(CIFAR10, minority_fraction=0.5))
    with pytest.raises(ValueError, match="continue it with `project_name` 'cifar10-exp-cdt'"):
        check_legacy_search(tmp_path, _config(), "cdt")
    check_legacy_search(tmp_path, _config(), "cdt", overwrite=True)  # afresh, asked for
    # Once a search lives under the new name, the older one is left alone.
    _stored_search(tmp_path, "cifar10-exp100-cdt", CIFAR10)
    check_legacy_search(tmp_path, _config(), "cdt")


def test_the_oldest_search_config_layout_is_read(tmp_path):
    # Before 2026-12-04 the recipe keys sat at the top level, with no minority fraction.
    _stored_search(tmp_path, "cifar10-step-cdt", dict(CIFAR10, imbalance="step", ratio=10),
                   top_level=True)
    with pytest.raises(ValueError, match="cifar10-step-cdt holds a search of the same recipe"):
        check_legacy_search(tmp_path, _config(imbalance="step", ratio=10), "cdt")
    check_legacy_search(tmp_path, _config(imbalance="step", ratio=10, minority_fraction=0.3),
                        "cdt")


def test_the_cli_names_both_ways_on(tmp_path, capsys):
    from keras_lt.cli import main

    _stored_search(tmp_path, "digits-exp-cdt", dict(DIGITS, epochs=1))
    argv = ["tune", "digits", "--method", "cdt", "--directory", str(tmp_path), "--epochs", "1",
            "--dry-run"]
    for extra in ([], ["--resume"]):  # refused by the dry run as by the search
        assert main(argv + extra) == 2
        said = capsys.readouterr().err
        assert "continue it with `--project-name` 'digits-exp-cdt'" in said
        assert "start afresh under 'digits-exp20-cdt' with `--overwrite`" in said
    assert main(argv + ["--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["project_dir"] == \
        str(tmp_path / "digits-exp20-cdt")
    assert main(argv + ["--project-name", "digits-exp-cdt", "--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["project_dir"] == \
        str(tmp_path / "digits-exp-cdt")


def test_run_search_refuses_as_the_cli_does(tmp_path, monkeypatch):
    from keras_lt.tuning import distributed, search

    from .helpers import digits_config

    _stored_search(tmp_path, "digits-exp-cdt", dict(DIGITS, epochs=3, batch_size=16))
    loaded = []  # refused before the data is loaded
    monkeypatch.setattr(search, "load_search_data", lambda *a, **k: loaded.append(1))
    with pytest.raises(ValueError, match="holds a search of the same recipe"):
        search.run_search(digits_config(), method="cdt", directory=str(tmp_path),
                          retrain=False, verbose=0)
    assert not (tmp_path / "digits-exp20-cdt").exists() and loaded == []
    monkeypatch.undo()
    # A worker follows its chief: it neither refuses nor picks the older folder.
    monkeypatch.setattr(distributed, "search_role", lambda environ=None: "worker")
    monkeypatch.setattr(search, "make_tuner", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("reached the tuner")))
    with pytest.raises(RuntimeError, match="reached the tuner"):
        search.run_search(digits_config(), method="cdt", directory=str(tmp_path),
                          retrain=False, verbose=0)
