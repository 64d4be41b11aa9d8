"""`keras-lt tune`: the parser, the search-space options and the resume guard."""

import json
import os

import pytest

from keras_lt.tuning.cli import _assignment


def test_tune_is_a_subcommand_of_keras_lt():
    from keras_lt.cli import build_parser

    args = build_parser().parse_args(
        ["tune", "digits", "--method", "cb", "--max-trials", "5", "--tuner", "grid",
         "--values", "beta=0.9,0.99", "--fixed", "loss_type=focal", "--val-per-class", "2",
         "--resume"])
    assert args.command == "tune" and args.method == "cb" and args.max_trials == 5
    assert args.tuner == "grid" and args.resume and args.val_per_class == 2
    assert args.values == ["beta=0.9,0.99"] and args.fixed == ["loss_type=focal"]
    assert callable(args.func)


def test_assignments_parse_numbers_and_names():
    assert _assignment("beta=0.9,0.99", many=True) == ("beta", [0.9, 0.99])
    assert _assignment("drw_epoch=3", many=False) == ("drw_epoch", 3)
    assert _assignment("loss_type=focal", many=False) == ("loss_type", "focal")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        _assignment("beta", many=False)


def test_dry_run_prints_the_space(capsys):
    from keras_lt.cli import main

    code = main(["tune", "digits", "--method", "cdt", "--epochs", "2", "--dry-run",
                 "--values", "gamma=0,0.2"])
    assert code == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["hypermodel"] == "CDTHyperModel" and plan["space"] == {"gamma": [0.0, 0.2]}
    assert plan["val_per_class"] == 3 and plan["role"] == "standalone"
    assert (plan["method"], plan["tuner"], plan["max_trials"]) == ("cdt", "random", 10)
    assert plan["retrain"] is True and plan["post_hoc_tau"] is False
    assert plan["retrain_run_dirs"] == [
        os.path.join("saved_models", "digits-exp20-cdt-e2-s0-tuned")]
    # What the search refuses, the dry run refuses.
    assert main(["tune", "digits", "--method", "cdt", "--max-trials", "0", "--dry-run"]) == 2
    assert "`--max-trials` must be a positive integer, got 0" in capsys.readouterr().err


def test_dry_run_shows_the_pins_the_search_uses(capsys):
    from keras_lt.cli import main

    assert main(["tune", "digits", "--method", "cb", "--epochs", "2", "--dry-run",
                 "--fixed", "loss_type=focal"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["space"]["loss_type"] == ["focal"]
    assert plan["retrain_run_dirs"] == [os.path.join("saved_models",
                                                     "digits-exp20-cb-focal-e2-s0-tuned")]
    # Searching the loss type, the retrain's folder follows the best trial's pick.
    assert main(["tune", "digits", "--method", "cb", "--epochs", "2", "--dry-run"]) == 0
    assert [os.path.basename(d) for d in json.loads(capsys.readouterr().out)[
        "retrain_run_dirs"]] == [f"digits-exp20-cb-{t}-e2-s0-tuned"
                                 for t in ("focal", "sigmoid", "softmax")]
    # Refused, as the real search refuses it.
    assert main(["tune", "digits", "--method", "cb-softmax", "--epochs", "2", "--dry-run",
                 "--fixed", "gamma=2"]) != 0
    assert "do not use it" in capsys.readouterr().err


def test_an_existing_search_needs_resume_or_overwrite(tmp_path, capsys):
    from keras_lt.cli import main

    project = tmp_path / "digits-exp20-cdt"  # digits: exp imbalance, ratio 20
    project.mkdir()
    (project / "oracle.json").write_text("{}")
    code = main(["tune", "digits", "--method", "cdt", "--directory", str(tmp_path),
                 "--quiet"])
    assert code == 2
    assert "--resume" in capsys.readouterr().err


def test_without_keras_tuner_the_parser_works_and_tune_says_what_to_install(monkeypatch,
                                                                            capsys):
    import sys

    from keras_lt.cli import main
    from keras_lt.tuning.dependency import import_keras_tuner

    for name in [m for m in sys.modules if m == "keras_tuner" or m.startswith("keras_lt.tuning.")
                 and m not in ("keras_lt.tuning.cli", "keras_lt.tuning.dependency")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # `import keras_tuner` fails
    with pytest.raises(ImportError, match=r"keras_lt\[tuning\]"):
        import_keras_tuner()
    code = main(["tune", "digits", "--method", "cdt", "--dry-run"])
    assert code == 2
    assert "keras_lt[tuning]" in capsys.readouterr().err
