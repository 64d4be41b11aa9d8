"""The trials table read back from KerasTuner's trial files: rows, best trial, CSV/JSON, plot."""

import csv
import json
import os

import pytest

from keras_lt.tuning.trials_table import (
    best_trial,
    plot_trials,
    read_trials,
    read_trials_csv,
    write_trials_table,
)


def write_trial(project_dir, trial_id, status, values, score=None, few=None, seconds=1.5,
                tuner_id="tuner0", message=None):
    """A trial folder as KerasTuner 1.4 writes it (trial.json) plus trial_info.json."""
    folder = os.path.join(project_dir, f"trial_{trial_id}")
    os.makedirs(folder, exist_ok=True)
    metrics = {}
    for name, value in (("val_balanced_accuracy", score), ("val_few_shot_accuracy", few),
                        ("seconds", seconds)):
        if value is not None:
            metrics[name] = {"direction": "max",
                             "observations": [{"value": [value], "step": 0}]}
    with open(os.path.join(folder, "trial.json"), "w") as f:
        json.dump({"trial_id": trial_id, "status": status, "score": score, "best_step": 0,
                   "hyperparameters": {"space": [], "values": values},
                   "metrics": {"metrics": metrics}, "message": message}, f)
    with open(os.path.join(folder, "trial_info.json"), "w") as f:
        json.dump({"tuner_id": tuner_id, "seconds": seconds, "replicas": 1}, f)


@pytest.fixture
def project(tmp_path):
    p = str(tmp_path / "project")
    write_trial(p, "0", "COMPLETED", {"loss_type": "softmax", "beta": 0.9}, 0.40, 0.1)
    write_trial(p, "1", "COMPLETED", {"loss_type": "focal", "beta": 0.99, "gamma": 2.0}, 0.55,
                0.3, tuner_id="tuner1")
    write_trial(p, "2", "FAILED", {"loss_type": "sigmoid", "beta": 0.999}, None,
                message="Traceback ...\nValueError: boom")
    write_trial(p, "3", "COMPLETED", {"loss_type": "softmax", "beta": 0.9999}, 0.55, None)
    write_trial(p, "10", "COMPLETED", {"loss_type": "sigmoid", "beta": 0.9999}, 0.20, 0.0)
    return p


def test_rows_are_read_back_in_trial_order(project):
    rows = read_trials(project)
    assert [r["trial_id"] for r in rows] == ["0", "1", "2", "3", "10"]
    assert rows[1]["hyperparameters"] == {"loss_type": "focal", "beta": 0.99, "gamma": 2.0}
    assert rows[1]["val_few_shot_accuracy"] == 0.3 and rows[1]["tuner_id"] == "tuner1"
    assert rows[2]["score"] is None and rows[2]["message"] == "ValueError: boom"


def test_best_trial_is_the_highest_score_and_the_earliest_on_ties(project):
    rows = read_trials(project)
    assert best_trial(rows)["trial_id"] == "1"  # 0.55 twice: trial 1 before trial 3
    assert best_trial(rows, direction="min")["trial_id"] == "10"
    with pytest.raises(ValueError, match="No completed trial"):
        best_trial([r for r in rows if r["status"] == "FAILED"])


def test_csv_and_json_hold_every_trial(project, tmp_path):
    rows = read_trials(project)
    files = write_trials_table(rows, str(tmp_path / "out"), order=["loss_type", "beta", "gamma"],
                               metadata={"method": "cb"})
    table = read_trials_csv(files["csv"])
    with open(files["csv"], newline="") as f:
        header = next(csv.reader(f))
    assert header == ["trial_id", "status", "loss_type", "beta", "gamma",
                      "val_balanced_accuracy", "val_few_shot_accuracy", "seconds", "tuner_id",
                      "replicas", "best", "message"]
    assert [r["trial_id"] for r in table] == ["0", "1", "2", "3", "10"]
    assert [r["best"] for r in table] == ["False", "True", "False", "False", "False"]
    assert table[0]["gamma"] == "" and table[1]["gamma"] == "2.0"
    assert table[2]["status"] == "FAILED" and table[2]["val_balanced_accuracy"] == ""
    with open(files["json"]) as f:
        document = json.load(f)
    assert document["best_trial_id"] == "1" and document["method"] == "cb"
    assert document["trials"][1]["gamma"] == 2.0 and document["trials"][0]["gamma"] is None


def test_plot_is_written(project, tmp_path):
    path = plot_trials(read_trials(project), str(tmp_path / "trials.png"), x="beta",
                       color_by="loss_type", x_values=[0.9, 0.99, 0.999, 0.9999])
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    empty = plot_trials([], str(tmp_path / "empty.png"), x="beta")
    assert os.path.getsize(empty) > 0
