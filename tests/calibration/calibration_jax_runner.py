"""Runs a snippet in a subprocess with KERAS_BACKEND=jax (the suite runs on TF)."""

import os
import subprocess
import sys


def run_jax(script, timeout=300):
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(os.path.abspath(__file__)), env.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout
    )
