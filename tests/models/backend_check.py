"""The model contracts on a non-default backend, run as a script in a fresh interpreter.

    KERAS_BACKEND=jax python tests/models/backend_check.py tests/ /tmp/out

Used by test_jax_backend.py and test_torch_backend.py (the test session
itself runs TensorFlow). Checks: the IB loss equals the formula on the
model's features (evaluate and the compiled train step, with sample
weights), and later train_on_batch calls do not run the model's Python
forward pass again (no symbolic rebuild in every call); loss state assigned
in `on_epoch_begin` or between fits reaches the step (on JAX it is model
state passed into the jitted step, not a constant baked into the trace);
feature weakening trains and its seed state and the batch-norm statistics
come back from the step; a `.keras` file round-trips.
"""

import os
import sys
import time

import numpy as np

import keras

start = time.time()
assert keras.backend.backend() == os.environ["KERAS_BACKEND"], keras.backend.backend()
import keras_lt.losses as L  # noqa: E402
from keras_lt.models import LongTailModel, build_model  # noqa: E402

sys.path.insert(0, sys.argv[1])
from models.helpers import (  # noqa: E402
    COUNTS, dense_backbone, long_tailed_images, np_cross_entropy, np_ib_loss, tiny_resnet,
)


def to_np(v):
    return np.asarray(keras.ops.convert_to_numpy(v), dtype=np.float64)


def head_logits(model, h):
    return to_np(h) @ to_np(model.head.kernel) + to_np(model.head.bias)


x, y = long_tailed_images()

# 1. IB sees the model's features, in evaluate and in the jitted train step.
keras.utils.set_random_seed(0)
flat = x.reshape(len(x), -1)
model = build_model(dense_backbone(flat.shape[1]), 4, input_shape=(flat.shape[1],))
loss = L.IBLoss(COUNTS)
model.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss)
weights = to_np(loss.class_weights)
h = to_np(model.extract_features(flat))
expected = np_ib_loss(head_logits(model, h), h, y, weights).mean()
np.testing.assert_allclose(model.evaluate(flat, y, batch_size=len(x), verbose=0), expected,
                           rtol=1e-4)
sample_weight = np.linspace(0.5, 2.0, len(x)).astype("float32")
expected = (np_ib_loss(head_logits(model, h), h, y, weights) * sample_weight).mean()
np.testing.assert_allclose(model.train_on_batch(flat, y, sample_weight=sample_weight),
                           expected, rtol=1e-4)
# Later steps do not run the model's Python forward pass again (JAX: the step is
# traced once; torch: eager, once a step). IBLoss bypasses Keras's CompileLoss;
# left unbuilt, it made Keras rebuild the model symbolically in every
# train_on_batch, two more forward passes a call: 175 ms a step instead of 13 ms
# on an H200.
model.train_on_batch(flat, y)  # traces the step without sample weights
calls = []
forward = model._forward
object.__setattr__(model, "_forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
for _ in range(3):
    model.train_on_batch(flat, y)
assert len(calls) == (3 if keras.backend.backend() == "torch" else 0), len(calls)
print("ib ok", round(time.time() - start, 1))

# 2. Loss state assigned between epochs reaches the jitted step (lr 0: fixed weights).
model = build_model(dense_backbone(flat.shape[1]), 4, input_shape=(flat.shape[1],))
loss = L.IBLoss(COUNTS, start_active=False)
model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss)
assert {id(v) for v in loss.state_variables} <= {id(v) for v in model.non_trainable_variables}
new_weights = np.array([4.0, 0.0, 1.0, 2.0], "float32")



class Switch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            loss.ib_active.assign(1.0)
            loss.class_weights.assign(new_weights)


history = model.fit(flat, y, batch_size=len(flat), epochs=2, shuffle=False, verbose=0,
                    callbacks=[Switch()])
h = to_np(model.extract_features(flat))
z = head_logits(model, h)
first, second = history.history["loss"]
np.testing.assert_allclose(first, np_cross_entropy(z, y).mean(), rtol=1e-4)
np.testing.assert_allclose(second, np_ib_loss(z, h, y, new_weights).mean(), rtol=1e-4)
# Between two fits too.
loss.class_weights.assign([1.0, 1.0, 1.0, 1.0])
third = model.fit(flat, y, batch_size=len(flat), epochs=1, verbose=0).history["loss"][0]
np.testing.assert_allclose(third, np_ib_loss(z, h, y, np.ones(4)).mean(), rtol=1e-4)
print("state ok", round(time.time() - start, 1))

# 3. Feature weakening trains under jit and advances its seed state.
keras.utils.set_random_seed(1)
model = build_model(tiny_resnet(), 4, input_shape=(8, 8, 3), seed=3,
                    feature_weakening=dict(class_counts=COUNTS, alpha=2.0, scale=2.0,
                                           after="stage1"))
model.compile(optimizer=keras.optimizers.SGD(0.02, momentum=0.9), loss=L.IBLoss(COUNTS),
              metrics=["accuracy"])
state_before = to_np(model.feature_weakening.seed_generator.state)
moving_mean = model.backbone.get_layer("stem").get_layer("stem_bn").moving_mean
mean_before = to_np(moving_mean)
history = model.fit(x, y, batch_size=15, epochs=2, verbose=0)  # 3 equal batches: one trace
assert np.all(np.isfinite(history.history["loss"])), history.history
# Non-trainable state threaded through the jitted step and synced back.
assert not np.array_equal(to_np(model.feature_weakening.seed_generator.state), state_before)
assert not np.allclose(to_np(moving_mean), mean_before)
print("mfw ok", round(time.time() - start, 1))

# 3b. A softmax head under a keras_lt loss warns at compile (no tensor tag on JAX).
import warnings  # noqa: E402

softmax_model = LongTailModel(dense_backbone(5), keras.layers.Dense(4, activation="softmax"))
with warnings.catch_warnings(record=True) as record:
    warnings.simplefilter("always")
    softmax_model.compile(optimizer="sgd", loss=L.FocalLoss())
assert [w for w in record if "FocalLoss takes logits" in str(w.message)], [str(w.message) for w in record]
if keras.backend.backend() == "torch":  # torch tensors carry Keras's softmax tag: the loss warns
    plain = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation="softmax")])
    plain.compile(optimizer="sgd", loss=L.FocalLoss())
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        plain.fit(np.ones((8, 5), "float32"), np.zeros(8, "int32"), verbose=0)
    assert len([w for w in record if "FocalLoss takes logits" in str(w.message)]) == 1
print("softmax head ok", round(time.time() - start, 1))

# 4. Saving and loading.
path = os.path.join(sys.argv[2], "jax_model.keras")
model.save(path)
loaded = keras.saving.load_model(path)
assert isinstance(loaded, LongTailModel)
np.testing.assert_allclose(to_np(loaded.predict(x, verbose=0)), to_np(model.predict(x, verbose=0)),
                           rtol=1e-5, atol=1e-6)
print("OK")
