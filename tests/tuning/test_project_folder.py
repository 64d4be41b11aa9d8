"""The default search project name, and the older name a search is continued under."""

import json

import pytest

from keras_lt.training.config import TrainConfig
from keras_lt.tuning.project_folder import default_project_name, resolve_project_name


def _config(**settings):
    return TrainConfig(**dict({"dataset": "cifar10", "method": "cdt"}, **settings)).resolve()


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
    _stored_search(tmp_path, "cifar10-exp100-cdt",
                   {"dataset": "cifar10", "imbalance": "exp", "ratio": 100.0})
    assert resolve_project_name(tmp_path, _config(ratio=10), "cdt") == "cifar10-exp10-cdt"


def test_a_search_under_the_older_name_is_continued_there(tmp_path):
    _stored_search(tmp_path, "cifar10-exp-cdt",
                   {"dataset": "cifar10", "imbalance": "exp", "ratio": 100.0,
                    "minority_fraction": 0.5})
    assert resolve_project_name(tmp_path, _config(), "cdt") == "cifar10-exp-cdt"
    # Not for other data, not when asked to start afresh, never over a chosen name.
    assert resolve_project_name(tmp_path, _config(ratio=50), "cdt") == "cifar10-exp50-cdt"
    assert resolve_project_name(tmp_path, _config(), "cdt", overwrite=True) == \
        "cifar10-exp100-cdt"
    assert resolve_project_name(tmp_path, _config(), "cdt", project_name="mine") == "mine"


def test_a_search_under_the_new_name_wins_over_the_older_one(tmp_path):
    recipe = {"dataset": "cifar10", "imbalance": "exp", "ratio": 100.0}
    _stored_search(tmp_path, "cifar10-exp-cdt", recipe)
    _stored_search(tmp_path, "cifar10-exp100-cdt", recipe)
    assert resolve_project_name(tmp_path, _config(), "cdt") == "cifar10-exp100-cdt"


def test_the_oldest_search_config_layout_is_read(tmp_path):
    # Before 2026-12-04 the recipe keys sat at the top level, with no minority fraction.
    _stored_search(tmp_path, "cifar10-step-cdt",
                   {"dataset": "cifar10", "imbalance": "step", "ratio": 10}, top_level=True)
    assert resolve_project_name(tmp_path, _config(imbalance="step", ratio=10), "cdt") == \
        "cifar10-step-cdt"
    assert resolve_project_name(
        tmp_path, _config(imbalance="step", ratio=10, minority_fraction=0.3), "cdt") == \
        "cifar10-step10-mu0.3-cdt"


def test_the_cli_guards_and_shows_the_older_folder(tmp_path, capsys):
    from keras_lt.cli import main

    _stored_search(tmp_path, "digits-exp-cdt",
                   {"dataset": "digits", "imbalance": "exp", "ratio": 20.0})
    argv = ["tune", "digits", "--method", "cdt", "--directory", str(tmp_path), "--epochs", "1"]
    assert main(argv + ["--quiet"]) == 2  # a search is there: --resume or --overwrite
    assert "digits-exp-cdt holds a search already" in capsys.readouterr().err
    assert main(argv + ["--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["project_dir"] == str(tmp_path / "digits-exp-cdt")
    assert main(argv + ["--dry-run", "--overwrite"]) == 0
    assert json.loads(capsys.readouterr().out)["project_dir"] == \
        str(tmp_path / "digits-exp20-cdt")
