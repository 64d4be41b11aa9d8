"""KerasTuner's distributed mode: a chief and two workers on localhost, one search.

The two workers are separate processes (`search_process.py`); the chief,
which only serves the oracle over gRPC and trains nothing, runs in this
process, on a thread: its interpreter would only add a third TensorFlow
import to the test's cost on two cores.
"""

import json
import os
import threading
import time

from keras_lt.tuning.trials_table import best_trial, read_trials

from .helpers import free_port, result_of, start_search_process, tail

MAX_TRIALS = 3
TIMEOUT = 240  # seconds for the whole search, then everything is killed


def test_a_chief_and_two_workers_complete_one_search_and_agree(tmp_path, monkeypatch):
    from keras_lt.training.config import TrainConfig
    from keras_lt.tuning.search import run_search

    port = free_port()
    directory = str(tmp_path / "tuning")
    config = {"dataset": "digits", "epochs": 1, "batch_size": 32, "verbose": 0}
    search = {"method": "cdt", "tuner": "random", "max_trials": MAX_TRIALS,
              "directory": directory, "project_name": "distributed", "retrain": False,
              "wait_timeout": TIMEOUT, "verbose": 0}
    env = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    workers = ("tuner0", "tuner1")
    logs = {n: str(tmp_path / f"{n}.log") for n in workers}
    processes, chief = {}, {}

    def serve():
        try:
            chief["result"] = run_search(TrainConfig(**config), **search)
        except BaseException as error:  # re-raised in the test below
            chief["error"] = error

    thread = threading.Thread(target=serve, name="chief", daemon=True)
    try:
        # The workers first (their interpreters take longest to start); they
        # wait for the chief's server (gRPC wait_for_ready).
        for name in workers:
            processes[name] = start_search_process(json.dumps(dict(search, config=config)),
                                                   logs[name], KERASTUNER_TUNER_ID=name, **env)
        for key, value in dict(env, KERASTUNER_TUNER_ID="chief").items():
            monkeypatch.setenv(key, value)
        thread.start()
        deadline = time.monotonic() + TIMEOUT
        # Until the chief is done; a worker that fails ends the wait at once.
        while thread.is_alive() and time.monotonic() < deadline and not any(
                p.poll() not in (None, 0) for p in processes.values()):
            thread.join(timeout=0.5)
        if "result" in chief:  # else the workers are killed at once
            for process in processes.values():
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    if "error" in chief:
        raise chief["error"]
    for name, process in processes.items():
        assert process.returncode == 0, f"{name} failed:\n{tail(logs[name])}"
    logs_tail = "\n".join(f"{n}:\n{tail(logs[n])}" for n in workers)
    assert "result" in chief, f"the chief did not finish in {TIMEOUT} s:\n{logs_tail}"
    results = {name: result_of(logs[name]) for name in workers}
    print({n: (r["import_seconds"], r["search_seconds"]) for n, r in results.items()})
    own = chief["result"]
    assert own.role == "chief"
    assert results["tuner0"]["role"] == results["tuner1"]["role"] == "worker"

    project_dir = os.path.join(directory, "distributed")
    rows = read_trials(project_dir)
    assert len(rows) == MAX_TRIALS
    assert {r["status"] for r in rows} == {"COMPLETED"}
    best = best_trial(rows)
    # The chief and both workers computed the same best trial, the table's best.
    assert own.best_trial_id == best["trial_id"] and own.best_score == best["score"]
    assert {r["best_trial_id"] for r in results.values()} == {best["trial_id"]}
    assert {r["best_score"] for r in results.values()} == {best["score"]}
    # The chief serves and trains nothing; the workers trained every trial once.
    assert [r for r in own.trials if r["tuner_id"] == "chief"] == []
    trained = results["tuner0"]["trained"] + results["tuner1"]["trained"]
    assert sorted(trained) == sorted(r["trial_id"] for r in rows)
    assert {r["tuner_id"] for r in rows} <= {"tuner0", "tuner1"}
    # The chief wrote the table once the last trial ended.
    with open(os.path.join(project_dir, "trials.json")) as f:
        assert json.load(f)["best_trial_id"] == best["trial_id"]
