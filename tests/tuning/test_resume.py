"""A search killed (SIGKILL) after some trials resumes without redoing them."""

import json
import os
import signal
import time

import pytest

from keras_lt.tuning.trials_table import read_trials

from .helpers import count_trial_fits, digits_config, start_search_process, tail

MAX_TRIALS = 3  # killed after 2: the third is run again, in this process
EPOCHS = 2
TIMEOUT = 180


def _completed(project_dir):
    return [r for r in read_trials(project_dir) if r["status"] == "COMPLETED"]


def _snapshot(project_dir, trial_id):
    folder = os.path.join(project_dir, f"trial_{trial_id}")
    with open(os.path.join(folder, "trial_info.json")) as f:
        info = json.load(f)
    with open(os.path.join(folder, "trial.json")) as f:
        state = json.load(f)
    return info, state["score"], state["hyperparameters"]["values"]


def test_a_killed_search_resumes_without_redoing_finished_trials(tmp_path, monkeypatch):
    from keras_lt.tuning.search import run_search

    directory = str(tmp_path / "tuning")
    project_dir = os.path.join(directory, "resume")
    common = {"method": "ib", "tuner": "random", "max_trials": MAX_TRIALS,
              "directory": directory, "project_name": "resume", "retrain": False, "verbose": 0}
    settings = dict(common, config={"dataset": "digits", "epochs": EPOCHS, "batch_size": 16,
                                    "verbose": 0})
    log = str(tmp_path / "killed.log")
    process = start_search_process(json.dumps(settings), log)
    try:
        deadline = time.monotonic() + TIMEOUT
        while len(_completed(project_dir)) < 2:
            assert process.poll() is None, f"the search ended early:\n{tail(log)}"
            assert time.monotonic() < deadline, f"no 2 trials in {TIMEOUT} s:\n{tail(log)}"
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    done = {r["trial_id"]: _snapshot(project_dir, r["trial_id"]) for r in _completed(project_dir)}
    assert 2 <= len(done) < MAX_TRIALS, "kill it mid-way: some trials done, some not"

    calls = count_trial_fits(monkeypatch)
    # overwrite=False: resume
    result = run_search(digits_config(method="ib", epochs=EPOCHS), **common)

    rows = result.trials
    assert [r["trial_id"] for r in rows] == [str(i) for i in range(MAX_TRIALS)]
    assert {r["status"] for r in rows} == {"COMPLETED"}
    # Only the trials not finished before the kill were trained again.
    assert len(calls) == MAX_TRIALS - len(done)
    for trial_id, before in done.items():
        assert _snapshot(project_dir, trial_id) == before  # same run, same result
    rerun = [r for r in rows if r["trial_id"] not in done]
    for row in rerun:
        info, _, values = _snapshot(project_dir, row["trial_id"])
        assert info["pid"] == os.getpid()
        assert values in calls
    # The resumed search refuses other settings in the same project.
    with pytest.raises(ValueError, match="different search"):
        run_search(digits_config(method="ib", epochs=EPOCHS + 1), **common)
