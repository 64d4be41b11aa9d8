"""The JAX backend (how full-length runs happen on the GPU machines, which have no TensorFlow): same model, same contracts (backend_check.py in a subprocess)."""

import os
import subprocess
import sys

import pytest


def test_jax_backend_trains_the_same_model(tmp_path):
    pytest.importorskip("jax")
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, os.path.join(here, "backend_check.py"), os.path.dirname(here),
         str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr[-5000:]
