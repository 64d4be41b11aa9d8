"""KerasTuner's state files are written atomically once keras_lt installs its writer."""

import json
import os

import pytest

from keras_lt.tuning import atomic_save


def test_an_interrupted_save_keeps_the_previous_state(tmp_path, monkeypatch):
    from keras_tuner.src import utils

    atomic_save.install()
    atomic_save.install()  # idempotent: wraps KerasTuner's writer once
    assert utils.save_json.keras_lt_atomic
    path = str(tmp_path / "oracle.json")
    assert utils.save_json(path, {"trials": 1}) == '{"trials": 1}'
    assert utils.load_json(path) == {"trials": 1}

    # Killed after the new state is written out, before it replaces the file
    # (KerasTuner's own writer had emptied oracle.json by then).
    def killed(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", killed)
    with pytest.raises(KeyboardInterrupt):
        utils.save_json(path, {"trials": 2})
    assert utils.load_json(path) == {"trials": 1}
    assert os.listdir(tmp_path) == ["oracle.json"]  # nor a temporary file left
    monkeypatch.undo()
    utils.save_json(path, {"trials": 2})
    assert utils.load_json(path) == {"trials": 2}
    assert os.listdir(tmp_path) == ["oracle.json"]


def test_search_end_file_is_written_through_the_same_helper(tmp_path):
    from keras_lt.tuning.distributed import SEARCH_END_FILE, mark_search_end

    path = mark_search_end(str(tmp_path), {"best_trial_id": "3"})
    assert path == os.path.join(str(tmp_path), SEARCH_END_FILE)
    with open(path) as f:
        assert json.load(f)["best_trial_id"] == "3"
    assert os.listdir(tmp_path) == [SEARCH_END_FILE]  # no temporary file left
