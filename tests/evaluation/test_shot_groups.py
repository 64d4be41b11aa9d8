import numpy as np
import pytest

from keras_lt.evaluation import shot_group_of, shot_groups


def test_default_thresholds_and_boundaries():
    # > 100 many; 20..100 (both ends included) medium; < 20 few.
    groups = shot_groups([101, 100, 20, 19, 5000, 1])
    assert groups["many"].tolist() == [0, 4]
    assert groups["medium"].tolist() == [1, 2]
    assert groups["few"].tolist() == [3, 5]
    assert [shot_group_of(n) for n in (101, 100, 20, 19)] == ["many", "medium", "medium", "few"]


def test_custom_thresholds_for_small_datasets():
    # The 8x8 digits demo has at most ~180 samples per class.
    counts = [180, 90, 51, 50, 10, 9]
    groups = shot_groups(counts, many=50, few=10)
    assert groups["many"].tolist() == [0, 1, 2]
    assert groups["medium"].tolist() == [3, 4]
    assert groups["few"].tolist() == [5]


def test_every_class_in_exactly_one_group():
    counts = np.random.default_rng(0).integers(1, 400, size=50)
    groups = shot_groups(counts)
    joined = np.sort(np.concatenate(list(groups.values())))
    assert joined.tolist() == list(range(50))


def test_empty_group_is_an_empty_array():
    groups = shot_groups([500, 400])
    assert groups["few"].size == 0 and groups["medium"].size == 0


@pytest.mark.parametrize(
    "kwargs", [{"many": 10, "few": 20}, {"many": 100, "few": -1}, {"many": 1.5, "few": 1}]
)
def test_bad_thresholds(kwargs):
    with pytest.raises(ValueError):
        shot_groups([10, 20], **kwargs)


def test_bad_counts():
    with pytest.raises(ValueError):
        shot_groups([10, 0, 3])
