"""The per-epoch test monitor (the recipe's default, `--no-monitor` turns it off)
only reads: a monitored run trains the same model as an unmonitored one."""

import json
import subprocess

import numpy as np

from .cli_runs import train_command, train_env

EPOCHS = 6  # IB's phase switch scales to the middle of the run


def train(output_dir, run_name, *extra):
    command = train_command(output_dir, run_name, "ib", EPOCHS, "--seed", "3", *extra)
    return subprocess.Popen(command, env=train_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def test_the_monitor_does_not_change_training(tmp_path):
    import keras

    import keras_lt  # noqa: F401  (registers the classes for loading)
    from keras_lt.data import load_digits_split

    runs = {"monitored": train(tmp_path, "monitored"),
            "unmonitored": train(tmp_path, "unmonitored", "--no-monitor")}
    for name, process in runs.items():
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, (name, stderr[-3000:])

    def logs(name):
        return json.loads((tmp_path / name / "history.json").read_text())["logs"]

    # The monitor was on in one run only, so the comparison below means something.
    assert len(logs("monitored")["val_accuracy"]) == EPOCHS
    assert "val_accuracy" not in logs("unmonitored")
    np.testing.assert_allclose(logs("monitored")["loss"], logs("unmonitored")["loss"],
                               rtol=1e-5)

    x = load_digits_split()[1].x
    a = keras.saving.load_model(tmp_path / "monitored" / "model.keras", compile=False)
    b = keras.saving.load_model(tmp_path / "unmonitored" / "model.keras", compile=False)
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
