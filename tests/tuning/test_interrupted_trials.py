"""`settle_interrupted_trials`: a search killed next to a trial's end or start
resumes as the trial stood."""

import json
import os

from .helpers import count_trial_fits, digits_config
from .test_resume import _snapshot


def _search(directory):
    """Runs a 2-trial search; returns a function that runs it again (a resume),
    the project folder, and its oracle.json's path and state."""
    from keras_lt.tuning.search import run_search

    common = {"method": "cdt", "tuner": "random", "max_trials": 2, "directory": directory,
              "project_name": "kill", "retrain": False, "verbose": 0}
    again = lambda: run_search(digits_config(method="cdt", epochs=1), **common)  # noqa: E731
    again()
    project_dir = os.path.join(directory, "kill")
    oracle_file = os.path.join(project_dir, "oracle.json")
    with open(oracle_file) as f:
        state = json.load(f)
    assert state["start_order"] == state["end_order"] == ["0", "1"]
    assert state["ongoing_trials"] == {}
    return again, project_dir, oracle_file, state


def _write(path, value):
    with open(path, "w") as f:
        json.dump(value, f)


def test_a_trial_that_ended_just_before_the_kill_is_not_run_again(tmp_path, monkeypatch):
    # KerasTuner's end_trial writes trial.json (COMPLETED, the score), then oracle.json.
    # Killed between the two, the search left an oracle.json that lists the trial as
    # ongoing, as it did while the trial ran: that state is made here by hand.
    again, project_dir, oracle_file, state = _search(str(tmp_path / "tuning"))
    state["end_order"], state["ongoing_trials"] = ["0"], {"tuner0": "1"}
    _write(oracle_file, state)
    ended = _snapshot(project_dir, "1")

    calls = count_trial_fits(monkeypatch)
    result = again()
    assert calls == []  # KerasTuner alone trains trial 1 again
    assert _snapshot(project_dir, "1") == ended
    assert [r["status"] for r in result.trials] == ["COMPLETED", "COMPLETED"]
    with open(oracle_file) as f:
        assert json.load(f)["ongoing_trials"] == {}


def test_a_trial_started_just_before_the_kill_is_run(tmp_path, monkeypatch):
    # KerasTuner's create_trial writes the new trial's trial.json (RUNNING), then
    # oracle.json. Killed between the two, the search left trial 1 RUNNING in its
    # file and unknown to oracle.json, which still reads as after trial 0 ended.
    # Resumed as it is, KerasTuner counts trial 1 toward max_trials and never runs
    # it: the search would end with it RUNNING. That state is made here by hand.
    again, project_dir, oracle_file, state = _search(str(tmp_path / "tuning"))
    state["tried_so_far"].remove(state["id_to_hash"].pop("1"))
    state["start_order"], state["end_order"] = ["0"], ["0"]
    _write(oracle_file, state)
    trial_file = os.path.join(project_dir, "trial_1", "trial.json")
    with open(trial_file) as f:
        trial = json.load(f)
    values = trial["hyperparameters"]["values"]
    trial.update(status="RUNNING", score=None, best_step=0, metrics={"metrics": {}})
    _write(trial_file, trial)

    calls = count_trial_fits(monkeypatch)
    result = again()
    assert calls == [values]  # trial 1, with the values its file holds, and nothing else
    assert [r["status"] for r in result.trials] == ["COMPLETED", "COMPLETED"]
    with open(oracle_file) as f:
        state = json.load(f)
    assert state["start_order"] == state["end_order"] == ["0", "1"]
    assert state["ongoing_trials"] == {} and state["retry_queue"] == []
