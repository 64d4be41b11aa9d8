"""`keras_lt train digits` as a subprocess, for the tests that compare whole runs."""

import os
import sys


def train_command(output_dir, run_name, method, epochs, *extra):
    """The command line of a quiet digits run of `method` into output_dir/run_name."""
    return [sys.executable, "-m", "keras_lt.cli", "train", "digits", "--method", method,
            "--epochs", str(epochs), "--output-dir", str(output_dir), "--run-name", run_name,
            "--quiet", *extra]


def train_env():
    """The environment of those runs: TensorFlow, its C++ logging off."""
    return {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
