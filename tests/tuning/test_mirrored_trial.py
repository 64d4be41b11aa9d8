"""Each trial on several devices: `strategy="mirrored"` over two logical CPUs."""

import json
import os

import pytest

from keras_lt.tuning.trials_table import read_trials

from .helpers import result_of, start_search_process, tail


@pytest.mark.slow  # a fresh interpreter (logical devices) and a mirrored trial: ~30 s on 2 cores
def test_a_trial_runs_on_two_replicas(tmp_path):
    directory = str(tmp_path / "tuning")
    settings = {
        "logical_cpus": 2,
        "config": {"dataset": "digits", "epochs": 1, "batch_size": 16, "verbose": 0},
        "method": "cdt", "max_trials": 1, "directory": directory, "project_name": "mirrored",
        "strategy": "mirrored", "retrain": False, "verbose": 0,
    }
    log = str(tmp_path / "mirrored.log")
    process = start_search_process(json.dumps(settings), log)
    try:
        process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, tail(log)
    assert result_of(log)["num_trials"] == 1
    (row,) = read_trials(os.path.join(directory, "mirrored"))
    assert row["status"] == "COMPLETED" and row["replicas"] == 2
