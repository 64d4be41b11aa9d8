"""`--strategy multiworker`: two worker processes on localhost (TF_CONFIG)."""

import json
import os
import socket
import subprocess
import sys

import pytest

from keras_lt.training.strategy import distribution


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_on_localhost(tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3",
               "TF_CONFIG": json.dumps(tf_config)}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "keras_lt.cli", "train", "digits", "--method", "ldam-drw",
             "--epochs", "2", "--strategy", "multiworker", "--output-dir", str(tmp_path),
             "--quiet"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        results = [p.communicate(timeout=540) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for p, (_, err) in zip(procs, results):
        assert p.returncode == 0, err[-3000:]
    run_dir = tmp_path / "digits-exp20-ldam-drw-e2-s0"
    # The chief (worker 0) writes the run; worker 1 only its own checkpoint.
    for name in ("model.keras", "report.json", "config.json", "history.json"):
        assert (run_dir / name).exists(), name
    assert (run_dir / "checkpoint" / "worker-1" / "checkpoint.npz").exists()
    history = json.loads((run_dir / "history.json").read_text())
    assert history["epochs"] == [1, 2]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["run"]["strategy"] == "multiworker" and report["num_test_samples"] == 500


def test_multiworker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribution("multiworker", backend="tensorflow")


def test_jax_multiworker_is_a_clear_error():
    with pytest.raises(ValueError, match="keras.distribution.initialize"):
        distribution("multiworker", backend="jax")
