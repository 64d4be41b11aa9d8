"""A small 4-class case whose measures are worked out by hand in the tests.

train counts [500, 60, 30, 5] -> many {0}, medium {1, 2}, few {3} (> 100,
20..100, < 20). Ten test samples; the score rows and, for each, the
prediction (argmax) and the 0-based rank of the true class:

    i  y  scores        pred  rank
    0  0  [4, 3, 2, 1]   0     0
    1  0  [4, 3, 2, 1]   0     0
    2  0  [1, 4, 3, 2]   1     3
    3  1  [3, 4, 2, 1]   1     0
    4  1  [4, 3, 2, 1]   0     1
    5  1  [4, 1, 3, 2]   0     3
    6  2  [4, 3, 2, 1]   0     2
    7  2  [1, 2, 4, 3]   2     0
    8  3  [4, 1, 2, 3]   0     1
    9  3  [2, 1, 4, 3]   2     1

Confusion (rows true, columns predicted):
    [[2, 1, 0, 0], [2, 1, 0, 0], [1, 0, 1, 0], [1, 0, 1, 0]]
top-1 = 4/10, top-2 = 7/10, top-3 = 8/10, top-4 = 1.
Per-class accuracy [2/3, 1/3, 1/2, 0]; mean per-class = 1.5/4 = 0.375.
Groups: many 2/3, medium (1/3 + 1/2)/2 = 5/12, few 0.
"""

import numpy as np
import pytest

FOUR_CLASS_Y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3])
FOUR_CLASS_SCORES = np.array(
    [
        [4, 3, 2, 1],
        [4, 3, 2, 1],
        [1, 4, 3, 2],
        [3, 4, 2, 1],
        [4, 3, 2, 1],
        [4, 1, 3, 2],
        [4, 3, 2, 1],
        [1, 2, 4, 3],
        [4, 1, 2, 3],
        [2, 1, 4, 3],
    ],
    dtype=np.float32,
)
FOUR_CLASS_COUNTS = [500, 60, 30, 5]


@pytest.fixture
def four_class():
    return FOUR_CLASS_Y.copy(), FOUR_CLASS_SCORES.copy(), list(FOUR_CLASS_COUNTS)
