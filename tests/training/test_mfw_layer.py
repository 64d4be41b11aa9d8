"""`TrainConfig.mfw_layer` reaches the model: MFW mixes the chosen block's output."""

import numpy as np
import pytest

from keras_lt.training.config import TrainConfig


@pytest.fixture(scope="module")
def digits():
    from keras_lt.training import experiment

    return experiment.load_data(TrainConfig(dataset="digits", method="mfw").resolve())


def _record_calls(model, log):
    """Wraps the `call` of every backbone block and of the MFW layer to log
    (name, input, output) in call order."""

    def wrap(layer, name):
        original = layer.call

        def call(*args, **kwargs):
            out = original(*args, **kwargs)
            log.append((name, np.asarray(args[0]), np.asarray(out)))
            return out

        layer.call = call

    for block in model.backbone.layers:
        wrap(block, block.name)
    wrap(model.feature_weakening, "mfw")


@pytest.mark.parametrize("layer", ["stem", "stage2"])
def test_the_model_weakens_after_the_configured_block(digits, layer):
    import keras

    from keras_lt.training import experiment
    from keras_lt.training.methods import get_method

    config = TrainConfig(dataset="digits", method="mfw", mfw_layer=layer, epochs=1,
                         batch_size=16, verbose=0).resolve()
    method = get_method(config.method)
    model = experiment.build_model(config, method, digits)
    assert model.feature_weakening.after == layer
    assert model.feature_weakening.get_config()["after"] == layer

    log = []
    _record_calls(model, log)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=method.build_loss(config, digits.counts),
                  run_eagerly=True)
    x, y = digits.train.x[:16].astype("float32"), digits.train.y[:16]
    model.train_on_batch(x, y)
    names = [name for name, _, _ in log]
    blocks = [b.name for b in model.backbone.layers]
    cut = blocks.index(layer) + 1
    # Training: the blocks up to `layer`, MFW, then the rest, in that order.
    assert names == blocks[:cut] + ["mfw"] + blocks[cut:]
    chosen_out = log[cut - 1][2]
    mfw_in, mfw_out = log[cut][1], log[cut][2]
    np.testing.assert_array_equal(mfw_in, chosen_out)  # it mixes the chosen block's output
    np.testing.assert_array_equal(log[cut + 1][1], mfw_out)  # and the next block gets the mix
    assert not np.allclose(mfw_out, mfw_in)  # the major classes' features did change

    # Inference never weakens: the MFW layer passes its input through (or is skipped).
    log.clear()
    model.predict(x, verbose=0)
    for name, given, out in log:
        if name == "mfw":
            np.testing.assert_array_equal(given, out)


def test_a_bad_layer_fails_before_the_model_is_built():
    with pytest.raises(ValueError, match="stem, stage1, stage2"):
        TrainConfig(dataset="digits", method="mfw", mfw_layer="stage3").resolve()
