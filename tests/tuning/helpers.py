"""Shared pieces of the tuning tests: tiny digits configs and search subprocesses."""

import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEARCH_PROCESS = os.path.join(HERE, "search_process.py")


def digits_config(**overrides):
    """A `TrainConfig` of the embedded digits set: 3 short epochs (~40% val accuracy)."""
    from keras_lt.training.config import TrainConfig

    values = dict(dataset="digits", epochs=3, batch_size=16, verbose=0)
    values.update(overrides)
    return TrainConfig(**values)


def count_trial_fits(monkeypatch):
    """The hyper-parameter values of every trial trained from now on (a list that grows)."""
    from keras_lt.tuning import base_hypermodel

    calls = []
    original_fit = base_hypermodel.LongTailHyperModel.fit

    def counting_fit(self, hp, model, *args, **kwargs):
        calls.append(dict(hp.values))
        return original_fit(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(base_hypermodel.LongTailHyperModel, "fit", counting_fit)
    return calls


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subprocess_env(**extra):
    env = dict(os.environ)
    env.update({
        "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        # Several processes share two cores: one thread each.
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    for key in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(key, None)
    env.update(extra)
    return env


def start_search_process(settings_json, log_path, **env):
    """Starts `search_process.py` with its output in `log_path`."""
    log = open(log_path, "w")
    return subprocess.Popen([sys.executable, SEARCH_PROCESS, settings_json], stdout=log,
                            stderr=subprocess.STDOUT, env=subprocess_env(**env))


def result_of(log_path):
    import json

    with open(log_path) as f:
        lines = [line for line in f if line.startswith("RESULT ")]
    return json.loads(lines[-1][len("RESULT "):]) if lines else None


def tail(log_path, n=40):
    with open(log_path) as f:
        return "".join(f.readlines()[-n:])
