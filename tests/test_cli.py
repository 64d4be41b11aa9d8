"""The `keras-lt` command end to end: every method, image folders, errors, reload.

Everything writes into pytest's tmp_path; the data is the embedded digits or
image folders generated here.
"""

import json
import os
import warnings

import numpy as np
import pytest

from keras_lt.cli import main
from keras_lt.training.methods import METHODS

RUN_FILES = ("model.keras", "config.json", "classes.json", "report.json", "history.json",
             "per_class_accuracy.png", "confusion_matrix.png", "checkpoint/checkpoint.npz")


def write_image_folder(root, classes=10, per_class=10, size=32, seed=0, corrupt=None):
    """root/<class>/<k>.png, each class a different mean colour plus noise."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for c in range(classes):
        folder = root / f"class_{c:02d}"
        folder.mkdir(parents=True)
        colour = rng.integers(0, 256, size=3)
        for k in range(per_class):
            pixels = np.clip(colour + rng.normal(0, 40, (size, size, 3)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{k:03d}.png")
    if corrupt is not None:
        (root / f"class_{corrupt:02d}" / "broken.png").write_bytes(b"not an image")
    return root


@pytest.fixture(scope="module")
def cifar_like(tmp_path_factory):
    """A CIFAR-10-shaped image-folder copy: train/ and test/, 10 classes of 32x32."""
    root = tmp_path_factory.mktemp("cifar10")
    write_image_folder(root / "train", per_class=10, seed=0, corrupt=3)
    write_image_folder(root / "test", per_class=3, seed=1)
    return root


def run_files_exist(run_dir):
    missing = [f for f in RUN_FILES if not os.path.exists(os.path.join(run_dir, f))]
    assert not missing, f"{run_dir} lacks {missing}"


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_trains_one_epoch(method, tmp_path):
    # One batch per epoch: the step is traced once (the time of these runs).
    argv = ["train", "digits", "--method", method, "--epochs", "1", "--batch-size", "512",
            "--output-dir", str(tmp_path), "--quiet", "--no-monitor"]
    assert main(argv) == 0
    run_dir = tmp_path / f"digits-exp20-{method}-e1-s0"
    run_files_exist(run_dir)
    config = json.loads((run_dir / "config.json").read_text())
    assert (config["method"], config["epochs"], config["dataset"]) == (method, 1, "digits")
    report = json.loads((run_dir / "report.json").read_text())
    assert report["num_test_samples"] == 500 and 0.0 <= report["top1"] <= 1.0
    assert report["shot_thresholds"] == {"many": 40, "few": 15}
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epochs"] == [1] and "bal_acc" in history["logs"]


def test_image_folder_recipe_and_evaluate_on_other_data(cifar_like, tmp_path, capsys):
    out = tmp_path / "models"
    argv = ["train", "cifar10", "--data-dir", str(cifar_like), "--method", "ldam-drw",
            "--ratio", "5", "--epochs", "2", "--backbone", "resnet8", "--batch-size", "16",
            "--output-dir", str(out)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(argv) == 0
    # The unreadable file is skipped with a warning that names it.
    assert any("broken.png" in str(w.message) for w in caught)
    run_dir = out / "cifar10-exp5-ldam-drw-e2-s0"
    run_files_exist(run_dir)
    printed = capsys.readouterr().out
    assert "bal_acc" in printed and "val_bal_acc" in printed  # per-epoch balanced accuracy
    classes = json.loads((run_dir / "classes.json").read_text())
    assert classes["train_counts"] == [10, 8, 6, 5, 4, 4, 3, 2, 2, 2]  # 9 readable in class 3

    other = write_image_folder(tmp_path / "other", per_class=4, seed=7)
    assert main(["evaluate", str(run_dir), "--data-dir", str(other)]) == 0
    report = json.loads((run_dir / "eval-other-test" / "report.json").read_text())
    assert report["num_test_samples"] == 40
    assert [c["train_count"] for c in report["per_class"]] == classes["train_counts"]


def test_reloaded_model_predicts_identically(tmp_path, capsys):
    import keras

    from keras_lt.data import load_digits_split
    from keras_lt.training.config import TrainConfig
    from keras_lt.training.experiment import train

    config = TrainConfig(dataset="digits", method="mfw-drw", epochs=1, output_dir=str(tmp_path),
                         verbose=0)
    model, report, run_dir = train(config)
    test = load_digits_split()[1]
    reloaded = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    np.testing.assert_array_equal(model.predict(test.x, verbose=0),
                                  reloaded.predict(test.x, verbose=0))
    assert main(["evaluate", run_dir, "--output", str(tmp_path / "eval")]) == 0
    again = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert again["top1"] == report["top1"]
    # A split that is not one: refused (it read the training pool as "test" before).
    from keras_lt.training.experiment import evaluate

    with pytest.raises(ValueError, match="`split` must be one of"):
        evaluate(run_dir, split="val")
    with pytest.raises(SystemExit):
        main(["evaluate", run_dir, "--split", "bogus"])
    # A folder of other classes: the error names the model's classes and dataset.
    from PIL import Image

    for name in ("cat", "dog"):
        (tmp_path / "pets" / "test" / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "pets" / "test" / name / "0.png")
    assert main(["evaluate", run_dir, "--data-dir", str(tmp_path / "pets")]) == 2
    said = capsys.readouterr().err
    assert "does not hold the classes of the model" in said
    assert "(trained on digits, 10 classes: 0, 1, 2" in said and "found: ['cat', 'dog']" in said
    # A dataset kind that is none: refused by the parser, with the choices.
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["evaluate", run_dir, "--dataset", "cifar-10"])
    assert "invalid choice: 'cifar-10'" in capsys.readouterr().err


def test_mirrored_strategy(tmp_path):
    argv = ["train", "digits", "--epochs", "1", "--strategy", "mirrored", "--output-dir",
            str(tmp_path), "--quiet", "--no-monitor"]
    assert main(argv) == 0
    run_files_exist(tmp_path / "digits-exp20-erm-e1-s0")


def test_rerun_a_saved_config(tmp_path, capsys):
    first = tmp_path / "first"
    assert main(["train", "digits", "--method", "cdt", "--epochs", "1", "--gamma", "0.2",
                 "--output-dir", str(first), "--quiet", "--no-monitor"]) == 0
    saved = first / "digits-exp20-cdt-e1-s0" / "config.json"
    second = tmp_path / "second"
    capsys.readouterr()
    # The dataset comes from the config (the positional was required before).
    assert main(["train", "--config", str(saved), "--output-dir", str(second),
                 "--quiet"]) == 0
    # --quiet still says where the run went and its headline, from its report.
    rerun = json.loads((second / "digits-exp20-cdt-e1-s0" / "report.json").read_text())
    assert capsys.readouterr().out.strip() == (
        f"{second / 'digits-exp20-cdt-e1-s0'}: top-1 {100 * rerun['top1']:.2f} %, mean per-class "
        f"{100 * rerun['balanced_accuracy']:.2f} %")
    a = json.loads(saved.read_text())
    b = json.loads((second / "digits-exp20-cdt-e1-s0" / "config.json").read_text())
    assert {k: v for k, v in a.items() if k not in ("output_dir", "verbose")} == {
        k: v for k, v in b.items() if k not in ("output_dir", "verbose")}
    assert b["gamma"] == 0.2
    assert main(["train", "digits", "--config", str(saved), "--epochs", "3"]) == 2
    # Into its own folder it would overwrite the run it reproduces: refused, and the
    # first run's files are untouched.
    report = (first / "digits-exp20-cdt-e1-s0" / "report.json").read_text()
    assert main(["train", "digits", "--config", str(saved), "--quiet"]) == 2
    assert "over the finished run" in capsys.readouterr().err
    assert (first / "digits-exp20-cdt-e1-s0" / "report.json").read_text() == report


def test_clear_errors(tmp_path, capsys):
    def error_of(argv):
        assert main(argv) == 2
        return capsys.readouterr().err

    out = ["--output-dir", str(tmp_path / "out"), "--quiet"]
    assert "does not exist" in error_of(["train", "cifar10", "--data-dir",
                                         str(tmp_path / "missing"), *out])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not an image-folder copy" in error_of(["train", "cifar10", "--data-dir", str(empty),
                                                   *out])
    no_images = tmp_path / "no_images"
    for split in ("train", "test"):
        for c in range(10):
            (no_images / split / f"class{c}").mkdir(parents=True)
    assert "holds no image" in error_of(["train", "cifar10", "--data-dir", str(no_images), *out])
    # The data is loaded before the run folder is made: a folder that fails only
    # while its images are read leaves no run folder (nor a config.json) behind.
    assert not (tmp_path / "out").exists()  # no run folder, whatever its name
    # The folder's layout is caught by --dry-run too (folder names only).
    dry = ["--dry-run", "--output-dir", str(tmp_path / "out")]
    assert "does not exist" in error_of(["train", "cifar10", "--data-dir",
                                         str(tmp_path / "missing"), *dry])
    assert "not an image-folder copy" in error_of(["train", "cifar10", "--data-dir", str(empty),
                                                   *dry])
    # A 10-class folder given as CIFAR-100 (it would have trained a 10-class model).
    ten = tmp_path / "ten"
    for split in ("train", "test"):
        for c in range(10):
            (ten / split / f"class{c}").mkdir(parents=True)
    said = error_of(["train", "cifar100", "--data-dir", str(ten), *dry])
    assert "has 10 class folders, but cifar100 has 100 classes" in said
    assert "has 10 class folders" in error_of(["train", "cifar100", "--data-dir", str(ten), *out])
    assert not (tmp_path / "out").exists()  # no run folder, whatever its name
    # digits reads no folder: --data-dir with it is a mistake, not ignored.
    said = error_of(["train", "digits", "--data-dir", str(ten), *dry])
    assert f"`--data-dir` {str(ten)!r} would be ignored" in said
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"dataset": "digits",\n')
    assert f"--config {bad_json}: cannot read it" in error_of(["train", "--config", str(bad_json)])
    assert "--config" in error_of(["train", "--config", str(tmp_path / "none.json")])
    # In the command line's terms: the option, not the library's setting name.
    assert "does not use `--beta`" in error_of(["train", "digits", "--beta", "0.9", *out])
    assert "(it reads: `--gamma`)" in error_of(["train", "digits", "--method", "focal",
                                                "--beta", "0.9", *out])
    assert "shapes step imbalance only" in error_of(["train", "digits", "--minority-fraction",
                                                     "0.3", *out])
    assert "`--batch-size`" in error_of(["train", "digits", "--batch-size", "0", *out])
    # A hyper-parameter the loss refuses: refused before the run folder is written.
    assert "`--beta` must lie in [0, 1)" in error_of(["train", "digits", "--method", "cb-softmax",
                                                      "--beta", "1", *out])
    assert not (tmp_path / "out").exists()
    assert "No saved model" in error_of(["evaluate", str(tmp_path / "nothing")])
    assert "Give the dataset to train on" in error_of(["train", *out])
    assert "Unknown backbone 'resnet34'" in error_of(["train", "cifar10", "--backbone",
                                                      "resnet34", "--dry-run"])
    for argv in (["train", "mnist"], ["train", "digits", "--method", "ldam-drs"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        assert "invalid choice" in capsys.readouterr().err


def test_only_keras_lt_errors_are_put_in_option_terms(tmp_path, monkeypatch, capsys):
    from keras_lt.training import experiment

    def elsewhere(config):  # not keras_lt code: its wording is kept
        raise ValueError("`batch_size` came from another library")

    monkeypatch.setattr(experiment, "train", elsewhere)
    assert main(["train", "digits", "--output-dir", str(tmp_path), "--quiet"]) == 2
    assert "`batch_size` came from another library" in capsys.readouterr().err


def test_methods_and_tune_commands(capsys):
    assert main(["methods"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in METHODS)
    try:
        import keras_lt.tuning.cli  # noqa: F401  (the tuning issue's extension)
    except ImportError:
        assert main(["tune"]) == 2
        assert "not available" in capsys.readouterr().err
    else:
        with pytest.raises(SystemExit) as exit_:
            main(["tune", "--help"])
        assert exit_.value.code == 0


def test_python_dash_m_runs_the_cli():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "keras_lt", "methods"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ldam-drw" in done.stdout


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch, capsys, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    assert main(["train", "digits", "--epochs", "1", "--quiet",
                 "--output-dir", str(tmp_path)]) == 2
    assert 'pip install "keras_lt[demo]"' in capsys.readouterr().err


def test_help_gives_each_datasets_defaults(capsys):
    from keras_lt.cli import dataset_default

    # The papers' values: CIFAR batch 128 and lr 0.1 (Cao et al.), iNaturalist batch 512.
    assert dataset_default("batch_size", "cifar10") == "default 128"
    assert dataset_default("lr", "digits") == "default 0.05"
    assert "512 on inaturalist2018" in dataset_default("batch_size")
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "L2 weight decay (default 0.0002 on cifar10, cifar100, tiny_imagenet" in said


def test_dry_run_says_when_the_data_cannot_be_had(monkeypatch, tmp_path, capsys):
    import sys

    # CIFAR without a folder needs tensorflow-datasets; Tiny-ImageNet needs its folder.
    monkeypatch.setitem(sys.modules, "tensorflow_datasets", None)  # not installed
    for dataset, said in (("cifar10", "tensorflow-datasets is not installed"),
                          ("tiny_imagenet", "tiny-imagenet-200.zip")):
        assert main(["train", dataset, "--dry-run", "--output-dir", str(tmp_path)]) == 0
        plan = json.loads(capsys.readouterr().out)
        assert plan["data_unavailable"].startswith("training would stop here: ")
        assert said in plan["data_unavailable"]
        # Training itself stops there, before anything is written.
        assert main(["train", dataset, "--output-dir", str(tmp_path), "--quiet"]) == 2
        assert said in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert main(["train", "digits", "--dry-run"]) == 0
    assert "data_unavailable" not in json.loads(capsys.readouterr().out)


def test_an_unknown_option_is_reported_by_its_command_with_the_closest_one(capsys):
    with pytest.raises(SystemExit):
        main(["train", "digits", "--methods", "ldam"])
    err = capsys.readouterr().err
    assert "usage: keras-lt train" in err  # the command's usage, not keras-lt's
    assert "unrecognized arguments: --methods ldam (did you mean --method?)" in err


def test_focal_probability_reaches_the_ib_focal_loss(capsys):
    assert main(["train", "digits", "--method", "ib-focal", "--dry-run"]) == 0
    plan = json.loads(capsys.readouterr().out)  # the reference code's q, by default
    assert plan["method"]["loss"]["config"]["focal_probability"] == "class_weighted"
    assert main(["train", "digits", "--method", "ib-focal", "--dry-run",
                 "--focal-probability", "softmax"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["config"]["focal_probability"] == "softmax"
    assert plan["method"]["loss"]["config"]["focal_probability"] == "softmax"
    with pytest.raises(SystemExit):
        main(["train", "digits", "--method", "ib-focal", "--focal-probability", "p_y"])
    assert "invalid choice: 'p_y'" in capsys.readouterr().err


def test_a_hand_written_config_without_focal_probability_gets_the_default(tmp_path, capsys):
    # Only a config.json the library wrote before the setting existed trained q = p_y.
    path = tmp_path / "ib-focal.json"
    path.write_text(json.dumps({"dataset": "digits", "method": "ib-focal", "epochs": 2}))
    assert main(["train", "--config", str(path), "--dry-run"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["method"]["loss"]["config"]["focal_probability"] == "class_weighted"
