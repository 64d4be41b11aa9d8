"""`settle_interrupted_trials`: a search killed next to a trial's end or start
resumes as the trial stood."""

import json
import os

from .helpers import count_trial_fits, digits_config
from .test_resume import _snapshot


def test_a_trial_that_ended_just_before_the_kill_is_not_run_again(tmp_path, monkeypatch):
    # KerasTuner's end_trial writes trial.json (COMPLETED, the score), then oracle.json.
    # Killed between the two, the search left an oracle.json that lists the trial as
    # ongoing, as it did while the trial ran: that state is made here by hand.
    from keras_lt.tuning.search import run_search

    directory = str(tmp_path / "tuning")
    project_dir = os.path.join(directory, "window")
    common = {"method": "cdt", "tuner": "random", "max_trials": 2, "directory": directory,
              "project_name": "window", "retrain": False, "verbose": 0}
    run_search(digits_config(method="cdt", epochs=1), **common)
    oracle_file = os.path.join(project_dir, "oracle.json")
    with open(oracle_file) as f:
        state = json.load(f)
    assert state["end_order"] == ["0", "1"] and state["ongoing_trials"] == {}
    state["end_order"], state["ongoing_trials"] = ["0"], {"tuner0": "1"}
    with open(oracle_file, "w") as f:
        json.dump(state, f)
    ended = _snapshot(project_dir, "1")

    calls = count_trial_fits(monkeypatch)
    result = run_search(digits_config(method="cdt", epochs=1), **common)
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
    from keras_lt.tuning.search import run_search

    directory = str(tmp_path / "tuning")
    project_dir = os.path.join(directory, "start")
    common = {"method": "cdt", "tuner": "random", "max_trials": 2, "directory": directory,
              "project_name": "start", "retrain": False, "verbose": 0}
    run_search(digits_config(method="cdt", epochs=1), **common)
    oracle_file = os.path.join(project_dir, "oracle.json")
    with open(oracle_file) as f:
        state = json.load(f)
    assert state["start_order"] == state["end_order"] == ["0", "1"]
    hash_1 = state["id_to_hash"].pop("1")
    state["tried_so_far"].remove(hash_1)
    state["start_order"], state["end_order"], state["ongoing_trials"] = ["0"], ["0"], {}
    with open(oracle_file, "w") as f:
        json.dump(state, f)
    trial_file = os.path.join(project_dir, "trial_1", "trial.json")
    with open(trial_file) as f:
        trial = json.load(f)
    values = trial["hyperparameters"]["values"]
    trial.update(status="RUNNING", score=None, best_step=0, metrics={"metrics": {}})
    with open(trial_file, "w") as f:
        json.dump(trial, f)

    calls = count_trial_fits(monkeypatch)
    result = run_search(digits_config(method="cdt", epochs=1), **common)
    assert calls == [values]  # trial 1, with the values its file holds, and nothing else
    assert [r["status"] for r in result.trials] == ["COMPLETED", "COMPLETED"]
    with open(oracle_file) as f:
        state = json.load(f)
    assert state["start_order"] == state["end_order"] == ["0", "1"]
    assert state["ongoing_trials"] == {} and state["retry_queue"] == []
