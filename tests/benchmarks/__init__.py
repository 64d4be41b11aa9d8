"""Tests of the scripts in benchmarks/, which are scripts rather than a package."""

import importlib.util
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def load_file(path, name):
    """Import the file at `path` as module `name`.

    benchmarks/ is on sys.path while it runs, since the scripts import their
    siblings (machine_load, torch_ldam_drw) by plain name.
    """
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


def load_benchmark(name):
    """benchmarks/<name>.py, imported as keras_lt_benchmarks_<name>."""
    return load_file(BENCHMARKS / f"{name}.py", f"keras_lt_benchmarks_{name}")


def saved_run_settings():
    """The run settings every config.json the recipe wrote holds
    (`WRITTEN_BY_THE_LIBRARY`), at their defaults: what makes a test's
    config read as one the library saved rather than a hand-written one."""
    from keras_lt.training.config import WRITTEN_BY_THE_LIBRARY, TrainConfig

    defaults = TrainConfig()
    return {key: getattr(defaults, key) for key in WRITTEN_BY_THE_LIBRARY}
