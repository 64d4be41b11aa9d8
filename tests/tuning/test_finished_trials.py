"""`settle_finished_trials`: a trial that ended just before a kill is not run again."""

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
