"""A small random search end to end, on an image folder whose test split is watched.

One search (module fixture) on digits written as train/ and test/ PNG
folders: 3 trials of the class-balanced loss, post-hoc tau, retrain, test.
Every file read of keras_lt.data's image folders is recorded; reading the
test folder before the search has ended fails the test.
"""

import csv
import glob
import json
import math
import os
import re

import numpy as np
import pytest

from .helpers import digits_config

MAX_TRIALS = 3
EPOCHS = 2
SPACE = {"loss_type": ["softmax", "focal"], "beta": [0.9, 0.9999], "gamma": [1.0]}


def write_digits_folder(root, train_per_class=40, test_per_class=10):
    """digits as 8x8 RGB PNGs in root/train/<class>/ and root/test/<class>/."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    for c in range(10):
        idx = np.flatnonzero(digits.target == c)
        for split, chosen in (("train", idx[:train_per_class]),
                              ("test", idx[train_per_class:train_per_class + test_per_class])):
            folder = os.path.join(root, split, f"digit{c}")
            os.makedirs(folder, exist_ok=True)
            for i in chosen:
                Image.fromarray(np.repeat(images[i][..., None], 3, axis=-1), "RGB").save(
                    os.path.join(folder, f"{i:04d}.png"))


def _is_test_path(path):
    return f"{os.sep}test{os.sep}" in os.fspath(path) or os.fspath(path).endswith(f"{os.sep}test")


def _search_is_over(project_dir):
    """True when the oracle has ended every trial and the search end is written."""
    trials = glob.glob(os.path.join(project_dir, "trial_*", "trial.json"))
    statuses = []
    for path in trials:
        with open(path) as f:
            statuses.append(json.load(f)["status"])
    return (os.path.exists(os.path.join(project_dir, "search_end.json"))
            and len(statuses) == MAX_TRIALS and set(statuses) == {"COMPLETED"})


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    from keras_lt.data import image_folder
    from keras_lt.tuning.search import run_search

    root = tmp_path_factory.mktemp("folder")
    write_digits_folder(str(root / "data"))
    directory = str(root / "tuning")
    project_dir = os.path.join(directory, "cb-search")
    # Two epochs per trial and retrain; no per-epoch test monitoring in the
    # retrain (it would add a traced test step and nothing this file checks).
    config = digits_config(dataset="cifar10", data_dir=str(root / "data"), ratio=10,
                           backbone="small_cnn", lr=0.05, epochs=EPOCHS, monitor=False,
                           output_dir=str(root / "runs"))
    reads = {"test_before_end": [], "test_after_end": [], "train": 0}

    def watch(paths):
        for path in paths:
            if _is_test_path(path):
                key = "test_after_end" if _search_is_over(project_dir) else "test_before_end"
                reads[key].append(os.fspath(path))
                if key == "test_before_end":
                    raise AssertionError(f"The test split was read during the search: {path}")
            else:
                reads["train"] += 1

    original_list, original_read = image_folder.list_image_folder, image_folder.read_images

    def listing(directory, *args, **kwargs):
        watch([directory])
        return original_list(directory, *args, **kwargs)

    def reading(paths, *args, **kwargs):
        watch(list(paths))
        return original_read(paths, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(image_folder, "list_image_folder", listing)
        patch.setattr(image_folder, "read_images", reading)
        result = run_search(config, method="cb", tuner="random", max_trials=MAX_TRIALS,
                            val_per_class=2, directory=directory, project_name="cb-search",
                            search_space=SPACE, post_hoc_tau=True, verbose=0)
    return {"result": result, "reads": reads, "config": config, "project_dir": project_dir}


def test_best_trial_is_the_argmax_of_the_trials_csv(search):
    result = search["result"]
    with open(os.path.join(search["project_dir"], "trials.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == MAX_TRIALS
    assert {r["status"] for r in rows} == {"COMPLETED"}
    scores = np.array([float(r["val_balanced_accuracy"]) for r in rows])
    winners = [r["trial_id"] for r, s in zip(rows, scores) if s == scores.max()]
    assert result.best_trial_id == min(winners, key=int)  # ties: the earliest trial
    assert result.best_score == pytest.approx(scores.max())
    best_row = next(r for r in rows if r["trial_id"] == result.best_trial_id)
    assert best_row["best"] == "True"
    assert best_row["loss_type"] == result.best_values["loss_type"]
    assert float(best_row["beta"]) == result.best_values["beta"]
    for row in rows:  # gamma only on focal trials (conditional hyper-parameter)
        assert (row["gamma"] != "") == (row["loss_type"] == "focal")
        assert row["beta"] != "" and float(row["seconds"]) > 0 and row["tuner_id"] == "tuner0"
        few = row["val_few_shot_accuracy"]
        assert few == "" or 0.0 <= float(few) <= 1.0
    with open(os.path.join(search["project_dir"], "trials.json")) as f:
        document = json.load(f)
    assert document["best_trial_id"] == result.best_trial_id
    assert document["objective"] == "val_balanced_accuracy"
    assert [t["trial_id"] for t in document["trials"]] == [r["trial_id"] for r in rows]


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_objective_is_balanced_accuracy_on_the_held_out_split(search):
    # Rebuild the best trial, load its saved (last-epoch) weights and score
    # the validation split with numpy.
    import keras_tuner as kt

    from keras_lt.tuning.hypermodels import make_hypermodel
    from keras_lt.tuning.search_data import load_search_data

    result = search["result"]
    data = load_search_data(search["config"], val_per_class=2)
    assert np.bincount(data.val.y).tolist() == [2] * 10  # balanced: K = 2 per class
    hm = make_hypermodel("cb", data, search["config"], search_space=SPACE)
    hp = kt.HyperParameters()
    for name, value in result.best_values.items():
        hp.Fixed(name, value)
    model = hm.build(hp)
    model.load_weights(os.path.join(search["project_dir"], f"trial_{result.best_trial_id}",
                                    "checkpoint.weights.h5"))
    predicted = np.argmax(model.predict(data.val.x.astype("float32"), verbose=0), axis=1)
    balanced = np.mean([np.mean(predicted[data.val.y == c] == c) for c in range(10)])
    assert result.best_score == pytest.approx(balanced, abs=1e-6)


def test_the_test_split_is_read_only_after_the_search(search):
    reads = search["reads"]
    assert reads["test_before_end"] == []
    assert reads["train"] > 0
    # The retrain did read it, after the search: the watch works.
    assert any(p.endswith(".png") for p in reads["test_after_end"])


def test_the_best_configuration_is_retrained_and_saved_like_a_training_run(search):
    result = search["result"]
    run_dir = result.run_dir
    # Named like a training run of the same settings, marked as tuned.
    assert re.fullmatch(rf"cifar10-exp10-cb-[a-z]+-e{EPOCHS}-s\d+-tuned", os.path.basename(run_dir))
    for name in ("model.keras", "config.json", "report.json", "classes.json", "trials.csv",
                 "trials.json", "trials.png", "tuning.json",
                 os.path.join("post_hoc_tau", "report.json"),
                 os.path.join("post_hoc_tau", "model.keras")):
        assert os.path.exists(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "config.json")) as f:
        config = json.load(f)
    assert config["method"] == f"cb-{result.best_values['loss_type']}"
    assert config["beta"] == result.best_values["beta"]
    assert config["epochs"] == EPOCHS and config["backbone"] == "small_cnn"
    with open(os.path.join(run_dir, "classes.json")) as f:
        counts = json.load(f)["train_counts"]
    # The retrain uses the whole training split: the held-out part is back.
    from keras_lt.tuning.search_data import load_search_data

    data = load_search_data(search["config"], val_per_class=2)
    assert counts == data.full_counts.tolist()
    assert counts == [int(40 * 0.1 ** (i / 9)) for i in range(10)]  # exp profile, rho = 10
    with open(os.path.join(run_dir, "tuning.json")) as f:
        tuning = json.load(f)
    assert tuning["best_trial_id"] == result.best_trial_id
    assert tuning["num_trials"] == MAX_TRIALS
    assert tuning["post_hoc_tau"] == result.tau and 0.0 <= result.tau <= 1.5
    assert math.isfinite(tuning["test_balanced_accuracy"])
    assert result.report["balanced_accuracy"] == tuning["test_balanced_accuracy"]


def test_the_plot_is_a_png(search):
    with open(os.path.join(search["project_dir"], "trials.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    tau_plots = glob.glob(os.path.join(search["project_dir"], "tau-trial_*", "trials.png"))
    assert len(tau_plots) == 1
