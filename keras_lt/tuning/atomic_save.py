"""Atomic writes of KerasTuner's state files, so that a killed search resumes.

KerasTuner saves `oracle.json`, each `trial_*/trial.json` and the tuner's
own file with `keras_tuner.src.utils.save_json`, which opens the file for
writing (emptying it) and then writes it. A search killed between the two
leaves an empty `oracle.json`, and `overwrite=False` then fails to resume
with a JSONDecodeError. `install()` makes that function write a temporary
file beside the target and `os.replace` it, so a kill leaves the previous
state whole (`keras_lt.atomic_write`). Paths with a scheme (gs://...) keep
KerasTuner's own writer.
"""

import json
import os

from keras_lt.atomic_write import atomic_write_text


def atomic_save_json(path, obj, fallback=None):
    """`keras_tuner.src.utils.save_json`, atomic on local paths; returns the JSON string.

    `fallback` (KerasTuner's own writer) handles paths with a scheme (gs://...).
    """
    if "://" in os.fspath(path) and fallback is not None:
        return fallback(path, obj)
    text = json.dumps(obj)
    atomic_write_text(path, text)
    return text


def install():
    """Makes KerasTuner save its state files with `atomic_save_json` (idempotent)."""
    from keras_tuner.src import utils

    original = utils.save_json
    if getattr(original, "keras_lt_atomic", False):
        return

    def save_json(path, obj):
        return atomic_save_json(path, obj, fallback=original)

    save_json.keras_lt_atomic = True
    utils.save_json = save_json
