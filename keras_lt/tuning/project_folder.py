"""Where a search lives: the default KerasTuner project name and the older one.

The default project is `<dataset>-<imbalance><ratio>-<method>`, e.g.
cifar10-exp100-cdt, the data part of the training runs' default names
(`TrainConfig.data_name`), so that searches on other ratios get folders of
their own. keras_lt before 2026-12-05 named it `<dataset>-<imbalance>-<method>`;
a search of the same recipe saved there is not started again beside it
unasked (`check_legacy_search`).
"""

import json
import os

SEARCH_CONFIG_FILE = "search_config.json"


def default_project_name(config, method):
    """<dataset>-<imbalance><ratio>-<method> of a resolved `TrainConfig`."""
    return f"{config.data_name()}-{method}"


def legacy_project_name(config, method):
    """The default project name before 2026-12-05: <dataset>-<imbalance>-<method>."""
    return f"{config.dataset}-{config.imbalance}-{method}"


def check_legacy_search(directory, config, method, overwrite=False):
    """Refuses to start a search under the default name when none is there
    but the older default folder holds one of the same recipe (data, seed,
    backbone, epochs, batch size, learning rate): it would begin again beside it.
    The message names both ways on; `overwrite` starts afresh under the new
    name. For the chief or a standalone search only: workers follow the chief.
    """
    name = default_project_name(config, method)
    legacy = legacy_project_name(config, method)
    if overwrite or _stored_search(directory, name) is not None:
        return
    stored = _stored_search(directory, legacy)
    if stored is not None and _same_recipe(stored, config):
        legacy_dir = os.path.join(os.fspath(directory), legacy)
        raise ValueError(
            f"{legacy_dir} holds a search of the same recipe, saved under the default project "
            f"name of earlier versions: continue it with `project_name` {legacy!r} (and "
            f"--resume on the command line), or start afresh under {name!r} with `overwrite`."
        )


def _stored_search(directory, name):
    path = os.path.join(os.fspath(directory), name, SEARCH_CONFIG_FILE)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


# The recipe settings a search_config.json stored at its top level before it
# stored the whole recipe under "config" (keras_lt before 2026-12-04).
LEGACY_RECIPE_KEYS = ("dataset", "imbalance", "ratio", "seed", "backbone", "epochs",
                      "batch_size", "lr")
# What identifies a search's trials in every layout: those keys, and the
# minority fraction (then always 0.5).
_RECIPE_KEYS = LEGACY_RECIPE_KEYS + ("minority_fraction",)


def _same_recipe(stored, config):
    """Whether a search_config.json searched `config`'s data with its schedule:
    `_RECIPE_KEYS` compared. The rest (space, tuner, other settings) is
    compared when the search resumes, and named if it differs."""
    from keras_lt.training.config import MINORITY_FRACTION

    recipe = stored.get("config", stored)
    defaults = {"minority_fraction": MINORITY_FRACTION}
    return all(recipe.get(k, defaults.get(k)) == getattr(config, k) for k in _RECIPE_KEYS)
