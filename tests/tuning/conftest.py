"""Tiny data for the tuning tests: scikit-learn digits made long-tailed (no download)."""

import pytest

pytest.importorskip("keras_tuner")


@pytest.fixture(scope="session")
def digits_search_data():
    from keras_lt.tuning.search_data import load_search_data

    from .helpers import digits_config

    return load_search_data(digits_config())
