"""KerasTuner's distributed mode: a chief and two workers on localhost, one search."""

import json
import os
import time

from keras_lt.tuning.trials_table import best_trial, read_trials

from .helpers import free_port, result_of, start_search_process, tail

MAX_TRIALS = 4
TIMEOUT = 240  # seconds for the whole search, then everything is killed


def test_a_chief_and_two_workers_complete_one_search_and_agree(tmp_path):
    port = free_port()
    directory = str(tmp_path / "tuning")
    settings = json.dumps({
        "config": {"dataset": "digits", "epochs": 2, "batch_size": 16, "verbose": 0},
        "method": "cdt", "tuner": "random", "max_trials": MAX_TRIALS,
        "directory": directory, "project_name": "distributed", "retrain": False,
        "wait_timeout": TIMEOUT, "verbose": 0,
    })
    env = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    names = ("chief", "tuner0", "tuner1")
    logs = {n: str(tmp_path / f"{n}.log") for n in names}
    processes = {}
    try:
        # The chief first; the workers wait for its server (gRPC wait_for_ready).
        for name in names:
            processes[name] = start_search_process(settings, logs[name], KERASTUNER_TUNER_ID=name,
                                                   **env)
        deadline = time.monotonic() + TIMEOUT
        for name, process in processes.items():
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    for name, process in processes.items():
        assert process.returncode == 0, f"{name} failed:\n{tail(logs[name])}"
    results = {name: result_of(logs[name]) for name in names}
    print({n: (r["import_seconds"], r["search_seconds"]) for n, r in results.items()})
    assert results["chief"]["role"] == "chief"
    assert results["tuner0"]["role"] == results["tuner1"]["role"] == "worker"

    project_dir = os.path.join(directory, "distributed")
    rows = read_trials(project_dir)
    assert len(rows) == MAX_TRIALS
    assert {r["status"] for r in rows} == {"COMPLETED"}
    best = best_trial(rows)
    # All three processes computed the same best trial, the table's best.
    assert {r["best_trial_id"] for r in results.values()} == {best["trial_id"]}
    assert {r["best_score"] for r in results.values()} == {best["score"]}
    # The chief serves and trains nothing; the workers trained every trial once.
    assert results["chief"]["trained"] == []
    trained = results["tuner0"]["trained"] + results["tuner1"]["trained"]
    assert sorted(trained) == sorted(r["trial_id"] for r in rows)
    assert {r["tuner_id"] for r in rows} <= {"tuner0", "tuner1"}
    # The chief wrote the table once the last trial ended.
    with open(os.path.join(project_dir, "trials.json")) as f:
        assert json.load(f)["best_trial_id"] == best["trial_id"]
