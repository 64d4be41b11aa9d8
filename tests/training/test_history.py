"""history.csv keeps each finished epoch once across a resume; history.json and
history.png are made from it."""

import json

import keras
import numpy as np

from keras_lt.training.history import (best_epoch, history_logger, last_epoch, plot_history,
                                       read_history)


def log_epochs(logger, epochs):
    """What model.fit does to a CSVLogger for these (0-based) epochs."""
    logger.set_model(keras.Sequential())
    logger.on_train_begin()
    for epoch in epochs:
        logger.on_epoch_end(epoch, {"loss": 10.0 - epoch, "accuracy": epoch / 10})
    logger.on_train_end()


def test_resume_drops_epochs_after_the_checkpoint_and_appends(tmp_path):
    path = str(tmp_path / "history.csv")
    log_epochs(history_logger(path), range(5))  # epochs 1-5; the 5th's checkpoint "lost"
    log_epochs(history_logger(path, initial_epoch=4), [4, 5])  # resumed at epoch 5

    history = read_history(path)
    assert history["epochs"] == [1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(history["logs"]["loss"], [10, 9, 8, 7, 6, 5])
    np.testing.assert_allclose(history["logs"]["accuracy"], [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    # No test monitor: Keras writes val_* as "NA"; those columns are left out.
    assert sorted(history["logs"]) == ["accuracy", "loss"]


def test_a_fresh_run_overwrites_an_old_history(tmp_path):
    path = str(tmp_path / "history.csv")
    log_epochs(history_logger(path), range(3))
    log_epochs(history_logger(path, initial_epoch=0), range(2))
    assert read_history(path)["epochs"] == [1, 2]


def test_best_and_last_epoch_skip_missing_values_and_best_keeps_the_first_of_equals():
    history = {"epochs": [3, 4, 5, 6, 7],  # a resumed run's numbering
               "logs": {"val_accuracy": [0.4, None, 0.55, 0.55, 0.5], "loss": [1, 1, 1, 1, 1]}}
    assert best_epoch(history, "val_accuracy") == (5, 0.55)
    assert best_epoch(history, "val_loss") is None  # not monitored
    assert best_epoch({"epochs": [1], "logs": {"val_accuracy": [None]}}) is None
    assert last_epoch(history, "val_accuracy") == (7, 0.5)
    resumed_unmonitored = {"epochs": [1, 2, 3], "logs": {"val_accuracy": [0.3, 0.6, None]}}
    assert last_epoch(resumed_unmonitored) == (2, 0.6)
    assert last_epoch(history, "val_loss") is None


def test_plot_history_marks_the_best_and_the_last_test_epoch(tmp_path):
    history = {"epochs": [1, 2, 3],
               "logs": {"accuracy": [0.5, 0.6, 0.7], "loss": [1.0, 0.8, 0.6],
                        "val_accuracy": [0.4, 0.55, 0.5], "val_loss": [1.2, 1.0, 1.1]}}
    path = tmp_path / "history.png"
    figure = plot_history(history, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    accuracy, loss = figure.axes
    labels = [text.get_text() for text in accuracy.get_legend().get_texts()]
    assert labels == ["training", "test (monitor only)", "best test epoch 2: 55.00",
                      "last epoch 3: 50.00"]
    best_marker = accuracy.get_lines()[2]
    assert list(best_marker.get_xdata()) == [2]
    np.testing.assert_allclose(best_marker.get_ydata(), [55.0])
    assert loss.get_yscale() == "log"


def test_plot_history_without_a_monitor_has_no_markers(tmp_path):
    history = {"epochs": [1, 2], "logs": {"accuracy": [0.5, 0.6], "loss": [1.0, 0.0]}}
    figure = plot_history(history, str(tmp_path / "history.png"))
    accuracy, loss = figure.axes
    assert [text.get_text() for text in accuracy.get_legend().get_texts()] == ["training"]
    assert loss.get_yscale() == "linear"  # a zero loss cannot go on a log axis


def test_a_monitored_run_prints_its_best_test_epoch(tmp_path, capsys):
    from keras_lt.cli import main

    assert main(["train", "digits", "--epochs", "3", "--batch-size", "512", "--output-dir",
                 str(tmp_path)]) == 0
    history = json.loads((tmp_path / "digits-exp20-erm-e3-s0" / "history.json").read_text())
    val = history["logs"]["val_accuracy"]
    assert len(val) == 3
    best = max(range(3), key=lambda i: (val[i], -i))  # the first of equals
    assert (f"Test monitor: best epoch {best + 1} at {100 * val[best]:.2f} % "
            f"(last monitored epoch: {100 * val[-1]:.2f} %).") in capsys.readouterr().out
