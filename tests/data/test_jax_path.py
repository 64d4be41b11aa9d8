"""The in-memory path on JAX, with TensorFlow made unimportable.

Runs in a subprocess: the test session's backend is TensorFlow, and a Keras
backend is chosen once per process.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent(
    """
    import sys

    class NoTensorFlow:  # any `import tensorflow` now fails
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "tensorflow":
                raise ImportError("TensorFlow is blocked in this test")

    sys.meta_path.insert(0, NoTensorFlow())
    import numpy as np
    import keras
    from keras_lt.data import (ArrayDataset, FileDataset, cifar_augmentation, epoch_order,
                               list_image_folder, load_image_folder, load_long_tailed)
    assert keras.backend.backend() == "jax", keras.backend.backend()

    data = load_long_tailed("digits", ratio=10, seed=0)
    folder = load_image_folder(sys.argv[1])
    assert folder.x.shape == (15, 8, 8, 3)
    files = FileDataset(list_image_folder(sys.argv[1]), batch_size=4, image_size=(8, 8),
                        balanced=True)
    assert files[0][0].shape == (4, 8, 8, 3)

    class Recording(ArrayDataset):
        log = []
        def __getitem__(self, i):
            batch = super().__getitem__(i)
            self.log.append((self.epoch, i, batch[1].copy()))
            return batch

    train = Recording(data.train, batch_size=64, seed=1, dtype="uint8")
    inputs = keras.Input((8, 8, 1))
    x = cifar_augmentation(pad=2, seed=0)(inputs)
    x = keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(10)(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.1),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, epochs=2, verbose=0, shuffle=False)
    assert np.all(np.isfinite(history.history["loss"]))

    steps = len(train)
    for e in (0, 1):
        got = {i: y for ep, i, y in train.log if ep == e}
        assert len(got) == steps, (e, sorted(got))
        labels = np.concatenate([got[i] for i in range(steps)])
        np.testing.assert_array_equal(labels, data.train.y[epoch_order(data.train.y, e, 1)])

    balanced = ArrayDataset(data.train, batch_size=100, balanced=True, seed=0)
    labels = np.concatenate([balanced[i][1] for i in range(len(balanced))])
    model.fit(balanced, epochs=1, verbose=0, shuffle=False)
    assert "tensorflow" not in {m.split(".")[0] for m in sys.modules}
    print("JAX-OK", np.bincount(labels, minlength=10).min())
    """
)


def test_in_memory_path_on_jax_without_tensorflow(image_folder, tmp_path):
    script = tmp_path / "jax_path.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    result = subprocess.run(
        [sys.executable, str(script), str(image_folder / "train")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "JAX-OK" in result.stdout
