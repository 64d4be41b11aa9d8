"""tf.distribute: MirroredStrategy over two logical CPU devices matches one device.

Logical devices must be configured before TensorFlow initialises, so the
comparison runs in a fresh interpreter.
"""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, sys
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import numpy as np
    import keras
    import keras_lt.losses as L
    from keras_lt.models import build_model
    sys.path.insert(0, sys.argv[1])
    from models.helpers import dense_backbone, long_tailed_images

    counts = [24, 12, 8, 4]  # 48 samples: 3 global batches of 16, 8 per replica
    x, y = long_tailed_images(counts)
    x = x.reshape(len(x), -1)
    sample_weight = np.linspace(0.5, 1.5, len(x)).astype("float32")
    initial = build_model(dense_backbone(x.shape[1]), 4, input_shape=(x.shape[1],)).get_weights()

    class Reweight(keras.callbacks.Callback):
        def __init__(self, loss):
            super().__init__()
            self.loss = loss
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.loss.class_weights.assign([0.5, 1.0, 2.0, 4.0])

    def run(strategy, weakening=None):
        with strategy.scope():
            model = build_model(dense_backbone(x.shape[1]), 4, input_shape=(x.shape[1],),
                                feature_weakening=weakening, seed=0)
            model.set_weights(initial)
            loss = L.IBLoss(counts)
            model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss=loss,
                          metrics=["accuracy"], jit_compile=False)
        history = model.fit(x, y, sample_weight=sample_weight, batch_size=16, epochs=3,
                            shuffle=False, verbose=0, callbacks=[Reweight(loss)])
        evaluation = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
        return history.history, evaluation, model.get_weights()

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert mirrored.num_replicas_in_sync == 2
    one_history, one_eval, one_weights = run(tf.distribute.get_strategy())
    two_history, two_eval, two_weights = run(mirrored)
    print("one device:", one_history["loss"], one_eval)
    print("two devices:", two_history["loss"], two_eval)
    np.testing.assert_allclose(two_history["loss"], one_history["loss"], rtol=1e-4)
    np.testing.assert_allclose(two_history["accuracy"], one_history["accuracy"], atol=1e-6)
    np.testing.assert_allclose(two_eval["loss"], one_eval["loss"], rtol=1e-4)
    for a, b in zip(two_weights, one_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # Feature weakening under the strategy (each replica mixes within its batch).
    history, _, _ = run(mirrored, dict(class_counts=counts, after="stage1"))
    assert np.all(np.isfinite(history["loss"])), history
    print("OK")
    """
)


def test_mirrored_strategy_two_cpus_matches_one_device():
    tests_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, tests_dir],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr[-5000:]
