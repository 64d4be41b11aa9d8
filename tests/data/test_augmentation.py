"""On-device pad-crop-flip layers, checked against a numpy crop of the padded image."""

import keras
import numpy as np
import pytest

from keras_lt.data import RandomPadCrop, cifar_augmentation, tiny_imagenet_augmentation


def images(n, size=8, channels=3, seed=0):
    return np.random.RandomState(seed).randint(1, 256, (n, size, size, channels)).astype("float32")


def find_offset(padded, out, flips=(False,)):
    """The (dy, dx, flipped) with out == padded[dy:dy+h, dx:dx+w] (flipped), or None."""
    h, w = out.shape[:2]
    for dy in range(padded.shape[0] - h + 1):
        for dx in range(padded.shape[1] - w + 1):
            crop = padded[dy : dy + h, dx : dx + w]
            for flipped in flips:
                if np.array_equal(crop[:, ::-1] if flipped else crop, out):
                    return dy, dx, flipped
    return None


def test_pad_crop_is_a_per_image_crop_of_the_zero_padded_image():
    x = images(64)
    out = keras.ops.convert_to_numpy(RandomPadCrop(pad=2, seed=1)(x, training=True))
    assert out.shape == x.shape
    offsets = []
    for xi, oi in zip(x, out):
        padded = np.pad(xi, [(2, 2), (2, 2), (0, 0)])
        found = find_offset(padded, oi)
        assert found is not None
        offsets.append(found[:2])
    offsets = np.array(offsets)
    # Every offset 0 .. 2p occurs, and the images do not share one offset.
    assert set(offsets[:, 0]) == set(range(5)) and set(offsets[:, 1]) == set(range(5))


def test_inference_is_identity_and_uint8_is_cast():
    x = images(4).astype("uint8")
    out = RandomPadCrop(pad=4)(x, training=False)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), x.astype("float32"))
    aug = cifar_augmentation(seed=0)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(aug(x, training=False)), x.astype("float32")
    )


def test_other_crop_size_centre_crops_at_inference():
    x = images(2)
    out = keras.ops.convert_to_numpy(RandomPadCrop(pad=1, size=(6, 6))(x, training=False))
    np.testing.assert_array_equal(out, x[:, 1:7, 1:7])  # centre of the 10x10 padded image
    out = keras.ops.convert_to_numpy(RandomPadCrop(pad=1, size=(6, 6), seed=0)(x, training=True))
    assert out.shape == (2, 6, 6, 3)


def test_cifar_augmentation_crops_and_flips_about_half():
    x = images(200, size=6)
    out = keras.ops.convert_to_numpy(cifar_augmentation(pad=1, seed=3)(x, training=True))
    flipped = []
    for xi, oi in zip(x, out):
        found = find_offset(np.pad(xi, [(1, 1), (1, 1), (0, 0)]), oi, flips=(False, True))
        assert found is not None
        flipped.append(found[2])
    assert 60 < sum(flipped) < 140


def test_in_a_model_active_only_in_training():
    inputs = keras.Input((8, 8, 3))
    outputs = tiny_imagenet_augmentation(pad=2, seed=0)(inputs)
    model = keras.Model(inputs, outputs)
    x = images(8)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    # Called without `training`, as in `model(x)`: inference too (Keras's own
    # RandomFlip would flip about half of these).
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), x)
    assert not np.array_equal(keras.ops.convert_to_numpy(model(x, training=True)), x)


def test_config_round_trip_and_validation():
    layer = RandomPadCrop(pad=3, size=(5, 7), seed=2)
    clone = RandomPadCrop.from_config(layer.get_config())
    assert (clone.pad, clone.size, clone.seed) == (3, (5, 7), 2)
    assert keras.saving.get_registered_name(RandomPadCrop) == "keras_lt>RandomPadCrop"
    with pytest.raises(ValueError, match="pad"):
        RandomPadCrop(pad=-1)
    with pytest.raises(ValueError, match="larger"):
        RandomPadCrop(pad=0, size=(9, 9))(images(1), training=True)


def test_saved_model_with_augmentation_loads_without_custom_objects(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(cifar_augmentation(pad=2, seed=0)(inputs)))
    model = keras.Model(inputs, outputs)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    x = images(3)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
