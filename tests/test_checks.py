"""keras_lt.checks.whole_number: what passes as a count, what is refused."""

import numpy as np
import pytest

from keras_lt.checks import whole_number


@pytest.mark.parametrize("value, expected", [(3, 3), (np.int64(3), 3), (3.0, 3), (0, 0)])
def test_whole_numbers_pass(value, expected):
    result = whole_number(value, "n")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [2.5, "3", True, None, float("nan"), float("inf"), -1, [3]])
def test_everything_else_is_refused_by_name(value):
    with pytest.raises(ValueError, match="`n` must be a non-negative integer"):
        whole_number(value, "n")


def test_the_minimum_is_in_the_message():
    with pytest.raises(ValueError, match="`k` must be a positive integer, got 0"):
        whole_number(0, "k", minimum=1)
    with pytest.raises(ValueError, match="`k` must be an integer >= 2, got 1"):
        whole_number(1, "k", minimum=2)
