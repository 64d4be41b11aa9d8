"""A training run killed with SIGKILL keeps its last checkpoint and resumes to
the same model as an uninterrupted run."""

import json
import signal
import subprocess
import time

import numpy as np

from . import cli_runs
from .cli_runs import train_env

EPOCHS = 12


def train_command(output_dir, run_name, *extra):
    return cli_runs.train_command(output_dir, run_name, "ldam-drw", EPOCHS, "--no-monitor",
                                  *extra)


def checkpoint_epoch(path):
    """The next epoch recorded in a ResumableCheckpoint file, or None."""
    try:
        with np.load(path) as data:
            return json.loads(data["meta"].tobytes().decode("utf-8"))["epoch"]
    except (OSError, KeyError, ValueError, EOFError):
        return None  # not written yet (the write is atomic: never half a file)


def test_resume_after_kill(tmp_path):
    import keras

    import keras_lt  # noqa: F401  (registers the classes for loading)
    from keras_lt.data import load_digits_split

    # Uninterrupted reference run, in the background while the other one is killed.
    reference = subprocess.Popen(train_command(tmp_path, "full"), env=train_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    killed = subprocess.Popen(train_command(tmp_path, "killed"), env=train_env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = tmp_path / "killed" / "checkpoint" / "checkpoint.npz"
    deadline = time.time() + 240
    epoch = None
    while time.time() < deadline and killed.poll() is None:
        epoch = checkpoint_epoch(checkpoint)
        if epoch is not None and epoch >= 2:
            break
        time.sleep(0.05)
    assert killed.poll() is None, "the run finished before it could be killed"
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    kept = checkpoint_epoch(checkpoint)
    assert kept is not None and 2 <= kept < EPOCHS  # the last completed epoch survives
    assert not (tmp_path / "killed" / "model.keras").exists()

    resumed = subprocess.run(train_command(tmp_path, "killed", "--resume"), env=train_env(),
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert reference.wait(timeout=300) == 0, reference.stderr.read()[-3000:]
    # The report says where the last process started (its train_seconds cover only that).
    report = json.loads((tmp_path / "killed" / "report.json").read_text())
    assert report["run"]["resumed_at_epoch"] == kept
    assert json.loads((tmp_path / "full" / "report.json").read_text())["run"][
        "resumed_at_epoch"] == 0
    # The history covers all epochs, those of the killed process included, once each,
    # with the uninterrupted run's values.
    history = json.loads((tmp_path / "killed" / "history.json").read_text())
    full = json.loads((tmp_path / "full" / "history.json").read_text())
    assert history["epochs"] == full["epochs"] == list(range(1, EPOCHS + 1))
    np.testing.assert_allclose(history["logs"]["loss"], full["logs"]["loss"], rtol=1e-4)
    x = load_digits_split()[1].x
    a = keras.saving.load_model(tmp_path / "full" / "model.keras", compile=False)
    b = keras.saving.load_model(tmp_path / "killed" / "model.keras", compile=False)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)


def test_rerun_starts_afresh_and_resume_of_a_finished_run_trains_nothing(tmp_path, capsys):
    from keras_lt.cli import main

    argv = ["train", "digits", "--epochs", "1", "--batch-size", "512", "--output-dir",
            str(tmp_path), "--no-monitor", "--quiet"]
    history = tmp_path / "digits-exp20-erm-e1-s0" / "history.json"
    assert main(argv + ["--resume"]) == 0  # no checkpoint yet: starts afresh, and says so
    assert "--resume: no checkpoint" in capsys.readouterr().err
    assert json.loads(history.read_text())["epochs"] == [1]
    # Without --resume: afresh over the finished run, which it says even with --quiet.
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert "training afresh over the finished run" in said and "--run-name" in said
    assert json.loads(history.read_text())["epochs"] == [1]
    assert main(argv + ["--resume"]) == 0  # finished: no epoch left to train
    assert json.loads(history.read_text())["epochs"] == [1]  # the history is kept
    assert (tmp_path / "digits-exp20-erm-e1-s0" / "model.keras").exists()
    # An interrupted run (a checkpoint, no report) is not replaced silently either.
    (tmp_path / "digits-exp20-erm-e1-s0" / "report.json").unlink()
    capsys.readouterr()
    assert main(argv) == 0
    said = capsys.readouterr().err
    assert "starting afresh; the checkpoint" in said and "--resume continues it" in said


def test_resume_finds_a_run_saved_under_the_older_default_name(tmp_path, capsys):
    from keras_lt.cli import main

    argv = ["train", "digits", "--epochs", "2", "--batch-size", "512", "--output-dir",
            str(tmp_path), "--no-monitor", "--quiet"]
    # A run saved where earlier versions put it: <dataset>-<imbalance>-<method>.
    assert main(argv + ["--run-name", "digits-exp-erm"]) == 0
    capsys.readouterr()
    # --resume under the new default name would start over beside it: refused. It finished:
    # the message says where its result is.
    assert main(argv + ["--resume"]) == 2
    said = capsys.readouterr().err
    assert "holds a finished run of the same settings" in said and "report.json" in said
    # Interrupted (a checkpoint, no report): the message gives the command that continues it.
    (tmp_path / "digits-exp-erm" / "report.json").unlink()
    assert main(argv + ["--resume"]) == 2
    said = capsys.readouterr().err
    legacy_config = tmp_path / "digits-exp-erm" / "config.json"
    assert "holds one of the same settings" in said
    assert f"--config {legacy_config} --resume" in said
    assert not (tmp_path / "digits-exp20-erm-e2-s0").exists()
    # The advice works; another run (here another seed) is not held back by the old one.
    assert main(["train", "--config", str(legacy_config), "--resume", "--quiet"]) == 0
    assert main(argv + ["--seed", "1", "--resume"]) == 0
    assert (tmp_path / "digits-exp20-erm-e2-s1" / "report.json").exists()


def test_resume_with_other_settings_is_refused(tmp_path, capsys):
    from keras_lt.cli import main

    argv = ["train", "digits", "--epochs", "1", "--batch-size", "512", "--output-dir",
            str(tmp_path), "--no-monitor", "--quiet"]
    assert main(argv) == 0
    config = tmp_path / "digits-exp20-erm-e1-s0" / "config.json"
    saved = config.read_text()
    # Another ratio goes to a folder of its own by default; into this run's folder
    # it would continue the checkpoint on another subset of the data.
    assert main(argv + ["--ratio", "5", "--run-name", "digits-exp20-erm-e1-s0",
                        "--resume"]) != 0
    said = capsys.readouterr().err
    assert "other settings (`--ratio`: 20.0 -> 5.0;" in said
    assert f"--config {config} --resume" in said  # the command that does resume it
    assert config.read_text() == saved  # the run's own record is not overwritten
    # What is printed and monitored may change (so may --data-dir and --output-dir).
    assert main([a for a in argv if a != "--no-monitor"] + ["--resume"]) == 0


def test_dry_run_says_what_training_does_with_the_run_folder(tmp_path, capsys):
    from keras_lt.cli import main

    argv = ["train", "digits", "--epochs", "2", "--batch-size", "512", "--output-dir",
            str(tmp_path), "--run-name", "r", "--no-monitor", "--quiet"]

    def dry(*extra):
        capsys.readouterr()
        code = main(argv + ["--dry-run", *extra])
        out, err = capsys.readouterr()
        return json.loads(out)["run_folder"] if code == 0 else err

    assert dry() == "a new run"
    assert dry("--resume") == "--resume finds no checkpoint: trains afresh"
    assert main(argv) == 0
    assert dry().startswith("trains afresh over the finished run there")
    assert dry("--resume").startswith("the checkpoint holds all 2 epochs")
    (tmp_path / "r" / "report.json").unlink()
    assert "its checkpoint (2 epochs) is overwritten" in dry()
    # A checkpoint one epoch in (its metadata says so) resumes at the second epoch.
    checkpoint = tmp_path / "r" / "checkpoint" / "checkpoint.npz"
    with np.load(checkpoint) as data:
        arrays = {key: data[key] for key in data.files}
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    arrays["meta"] = np.frombuffer(json.dumps(dict(meta, epoch=1)).encode("utf-8"), np.uint8)
    np.savez(checkpoint, **arrays)
    assert dry("--resume") == f"resumes at epoch 2 of 2 from {checkpoint}"
    # What train refuses, the dry run refuses: a resume with other settings.
    said = dry("--resume", "--lr", "0.2")
    assert "was trained with other settings" in said and "`--lr`: 0.05 -> 0.2" in said


def test_dry_run_refuses_a_checkpoint_that_is_not_keras_lts(tmp_path, capsys):
    from keras_lt.cli import main

    folder = tmp_path / "r" / "checkpoint"
    folder.mkdir(parents=True)
    np.savez(folder / "checkpoint.npz", weights=np.zeros(3))  # no keras_lt metadata
    assert main(["train", "digits", "--output-dir", str(tmp_path), "--run-name", "r",
                 "--resume", "--dry-run"]) == 2
    assert "has checkpoint format None, expected 1" in capsys.readouterr().err


def test_a_saved_digits_config_with_a_data_folder_still_reruns(tmp_path, capsys):
    from keras_lt.cli import main

    # Earlier versions saved digits configs with an unread data_dir; digits now refuses one.
    config = {"dataset": "digits", "method": "erm", "epochs": 2, "data_dir": str(tmp_path)}
    (tmp_path / "config.json").write_text(json.dumps(config))
    argv = ["train", "--config", str(tmp_path / "config.json"), "--output-dir",
            str(tmp_path / "out"), "--dry-run"]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["config"]["data_dir"] is None and plan["config"]["epochs"] == 2
    assert main(argv + ["--data-dir", str(tmp_path)]) == 2  # given again: refused
    assert "digits comes with scikit-learn" in capsys.readouterr().err
