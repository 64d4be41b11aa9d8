"""keras_lt.checks.whole_number: what passes as a count, what is refused."""

import numpy as np
import pytest

from keras_lt.checks import whole_number


@pytest.mark.parametrize("value, expected", [
    (3, 3), (np.int64(3), 3), (3.0, 3), (0, 0),
    # Exactly, where a float would round: 2**60 + 1 used to come back as 2**60.
    (2**60 + 1, 2**60 + 1), (np.uint64(2**64 - 1), 2**64 - 1), (10**400, 10**400),
])
def test_whole_numbers_pass(value, expected):
    result = whole_number(value, "n")
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [2.5, "3", True, None, float("nan"), float("inf"), -1, [3],
                                   -10**400])
def test_everything_else_is_refused_by_name(value):
    with pytest.raises(ValueError, match="`n` must be a non-negative integer"):
        whole_number(value, "n")


def test_the_minimum_is_in_the_message():
    with pytest.raises(ValueError, match="`k` must be a positive integer, got 0"):
        whole_number(0, "k", minimum=1)
    with pytest.raises(ValueError, match="`k` must be an integer >= 2, got 1"):
        whole_number(1, "k", minimum=2)


def _public_counts():
    """(argument name, call with that argument set to `v`) for the package's counts.

    Each of these compared `int(v) != v` itself before: an infinite value
    raised OverflowError (or, in the config, was accepted), a boolean was
    accepted by four of them, and NaN gave "cannot convert float NaN".
    """
    import keras_lt
    from keras_lt.data.array_dataset import ArrayDataset
    from keras_lt.data.imbalance import long_tailed_counts
    from keras_lt.data.sampling import epoch_order
    from keras_lt.data.tf_dataset import make_tf_dataset
    from keras_lt.data.validation_split import balanced_validation_split
    from keras_lt.evaluation.accuracy import top_k_accuracy
    from keras_lt.evaluation.feature_deviation import feature_deviation
    from keras_lt.evaluation.shot_groups import shot_groups
    from keras_lt.models.basic_block import BasicBlock
    from keras_lt.models.build_model import build_model
    from keras_lt.models.classification_head import classification_head
    from keras_lt.models.normalized_dense import NormalizedDense
    from keras_lt.training.config import TrainConfig
    from keras_lt.tuning.search import make_tuner

    x = np.zeros((4, 2), "float32")
    y = np.array([0, 0, 1, 1])
    feats = np.ones((4, 3))

    def config(**kwargs):
        return lambda v: TrainConfig(dataset="cifar10", method="ldam-drw", **{
            k: (v if val is None else val) for k, val in kwargs.items()}).validate()

    return [
        ("k", lambda v: top_k_accuracy(y, np.eye(2)[y], k=v)),
        ("rounds", lambda v: feature_deviation(feats, y, feats, y, rounds=v)),
        ("subsample_size", lambda v: feature_deviation(feats, y, feats, y, subsample_size=v)),
        ("num_classes", lambda v: feature_deviation(feats, y, feats, y, num_classes=v)),
        ("num_classes", lambda v: keras_lt.BalancedAccuracy(v)),
        ("many", lambda v: shot_groups([5, 1], many=v, few=0)),
        ("start_epoch", lambda v: keras_lt.callbacks.DeferredReweighting([5, 1], start_epoch=v)),
        ("start_epoch", lambda v: keras_lt.callbacks.PhaseSwitch("gamma", 0.5, start_epoch=v)),
        ("schedule epoch", lambda v: keras_lt.callbacks.PhaseSwitch(schedule={v: {"gamma": 0.5}})),
        ("filters", lambda v: BasicBlock(v)),
        ("units", lambda v: NormalizedDense(v)),
        ("num_classes", lambda v: classification_head(v)),
        ("num_classes", lambda v: build_model("resnet20", num_classes=v, input_shape=(8, 8, 3))),
        ("seed", lambda v: epoch_order(y, 0, seed=v)),
        ("epoch", lambda v: epoch_order(y, v)),
        ("pad", lambda v: keras_lt.data.RandomPadCrop(pad=v)),
        ("batch_size", lambda v: make_tf_dataset(x, y, batch_size=v)),
        ("n_max", lambda v: long_tailed_counts(v, 10, 100)),
        ("num_classes", lambda v: long_tailed_counts(5000, v, 100)),
        ("per_class", lambda v: balanced_validation_split(np.repeat([0, 1], 5), per_class=v)),
        ("batch_size", lambda v: ArrayDataset(x, y, batch_size=v)),
        ("epoch", lambda v: ArrayDataset(x, y, batch_size=2).set_epoch(v)),
        ("max_trials", lambda v: make_tuner(None, max_trials=v)),
        ("epochs", config(epochs=None)),
        ("batch_size", config(batch_size=None)),
        ("warmup_epochs", config(warmup_epochs=None)),
        ("milestones", config(milestones=[160, None], lr_factors=[0.01, 0.0001], epochs=200)),
        ("drw_epoch", config(drw_epoch=None)),
        ("seed", config(seed=None)),
    ]


@pytest.mark.parametrize("case", range(len(_public_counts())))
@pytest.mark.parametrize("value", [float("inf"), float("nan"), True, 2.5, "3"])
def test_every_count_in_the_package_is_refused_by_name(case, value):
    name, call = _public_counts()[case]
    with pytest.raises(ValueError, match=f"`{name}` must be a"):
        call(value)


def test_a_resolved_config_holds_ints_where_a_json_file_had_whole_floats():
    # seed 5.0 used to pass validation and fail in keras.utils.set_random_seed.
    from keras_lt.training.config import TrainConfig

    c = TrainConfig(dataset="cifar10", method="ldam-drw", epochs=200.0, seed=5.0,
                    drw_epoch=150.0, batch_size=128.0, warmup_epochs=5.0).resolve()
    for name, value in dict(epochs=200, seed=5, drw_epoch=150, batch_size=128,
                            warmup_epochs=5).items():
        assert getattr(c, name) == value and type(getattr(c, name)) is int, name
