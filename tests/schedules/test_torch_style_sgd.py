"""TorchStyleSGD against PyTorch's SGD update, written out in numpy."""

import numpy as np
import pytest

import keras

from keras_lt.schedules import TorchStyleSGD, WarmupStepDecay, sgd_optimizer


def torch_sgd_reference(w0, grads, lrs, momentum, weight_decay, nesterov, decay_mask):
    """torch.optim.SGD.step (dampening 0) for a list of arrays, numpy float64."""
    w = [np.array(v, np.float64) for v in w0]
    buf = [None] * len(w)
    for step_grads, lr in zip(grads, lrs):
        for i, g in enumerate(step_grads):
            d = np.array(g, np.float64)
            if weight_decay and decay_mask[i]:
                d = d + weight_decay * w[i]
            if momentum:
                buf[i] = d.copy() if buf[i] is None else momentum * buf[i] + d
                d = d + momentum * buf[i] if nesterov else buf[i]
            w[i] = w[i] - lr * d
    return w


def run_optimizer(optimizer, w0, grads, names):
    variables = [keras.Variable(v, name=n) for v, n in zip(w0, names)]
    for step_grads in grads:
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in step_grads], variables)
    return [keras.ops.convert_to_numpy(v) for v in variables]


@pytest.mark.parametrize("nesterov", [False, True])
def test_matches_torch_sgd_with_changing_learning_rate(nesterov):
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=(3, 2)).astype("float32"), rng.normal(size=(2,)).astype("float32")]
    grads = [[rng.normal(size=v.shape).astype("float32") for v in w0] for _ in range(12)]
    schedule = WarmupStepDecay(0.1, steps_per_epoch=2, warmup_epochs=2, milestones=(4,), factors=(0.01,))
    lrs = [float(keras.ops.convert_to_numpy(schedule(t))) for t in range(12)]
    assert lrs[0] == pytest.approx(0.05) and lrs[-1] == pytest.approx(0.001)
    optimizer = TorchStyleSGD(schedule, momentum=0.9, nesterov=nesterov, weight_decay=2e-4)
    got = run_optimizer(optimizer, w0, grads, ["kernel", "bias"])
    expected = torch_sgd_reference(w0, grads, lrs, 0.9, 2e-4, nesterov, [True, True])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_excluded_variables_get_no_decay():
    rng = np.random.default_rng(1)
    w0 = [rng.normal(size=(4,)).astype("float32") for _ in range(2)]
    grads = [[np.zeros(4, "float32"), np.zeros(4, "float32")] for _ in range(3)]
    optimizer = TorchStyleSGD(0.1, momentum=0.9, weight_decay=0.5, exclude_from_weight_decay=["bias"])
    got = run_optimizer(optimizer, w0, grads, ["kernel", "bias"])
    expected = torch_sgd_reference(w0, grads, [0.1] * 3, 0.9, 0.5, False, [True, False])
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(got[1], w0[1])  # untouched: zero gradient, no decay
    assert TorchStyleSGD.from_config(optimizer.get_config()).exclude_from_weight_decay_names == ["bias"]
    # Keras's own exclusion list (LongTailModel.no_weight_decay_variables) is honoured too.
    variables = [keras.Variable(v, name=n) for v, n in zip(w0, ["kernel", "prior"])]
    optimizer = TorchStyleSGD(0.1, momentum=0.9, weight_decay=0.5)
    optimizer.exclude_from_weight_decay(var_list=[variables[1]])
    for step_grads in grads:
        optimizer.apply([keras.ops.convert_to_tensor(g) for g in step_grads], variables)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variables[0]), expected[0], rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(variables[1]), w0[1])


def test_coupled_decay_equals_l2_penalty_of_half_the_coefficient():
    """Constant rate: coupled wd == Keras SGD on loss + (wd/2)||w||^2."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 3)).astype("float32")
    t = rng.normal(size=(16, 1)).astype("float32")
    w_init = rng.normal(size=(3, 1)).astype("float32")
    wd = 0.05

    def train(optimizer, penalty):
        w = keras.Variable(w_init, name="kernel")
        for _ in range(5):
            # Gradient of mean((xw - t)^2) + penalty * ||w||^2, by hand.
            wv = keras.ops.convert_to_numpy(w)
            grad = 2 * x.T @ (x @ wv - t) / len(x) + 2 * penalty * wv
            optimizer.apply([keras.ops.convert_to_tensor(grad.astype("float32"))], [w])
        return keras.ops.convert_to_numpy(w)

    coupled = train(TorchStyleSGD(0.05, momentum=0.9, weight_decay=wd), 0.0)
    penalty = train(keras.optimizers.SGD(0.05, momentum=0.9), wd / 2)
    np.testing.assert_allclose(coupled, penalty, rtol=1e-5, atol=1e-6)
    # Keras's decoupled decay with the same number is a different (weaker) regulariser.
    decoupled = train(keras.optimizers.SGD(0.05, momentum=0.9, weight_decay=wd), 0.0)
    assert not np.allclose(decoupled, coupled, rtol=1e-4)


def test_sgd_optimizer_builder():
    optimizer = sgd_optimizer(steps_per_epoch=97)
    assert isinstance(optimizer, TorchStyleSGD)
    assert optimizer.momentum == 0.9 and optimizer.nesterov is False
    assert optimizer.weight_decay == pytest.approx(2e-4)
    schedule = optimizer._learning_rate
    assert isinstance(schedule, WarmupStepDecay)
    assert schedule.milestones == (160, 180) and schedule.factors == (0.01, 0.0001)
    assert schedule.warmup_epochs == 5 and schedule.steps_per_epoch == 97
    decoupled = sgd_optimizer(steps_per_epoch=10, weight_decay_form="decoupled")
    assert type(decoupled) is keras.optimizers.SGD and decoupled.weight_decay == pytest.approx(2e-4)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(optimizer))
    assert isinstance(restored, TorchStyleSGD)
    assert isinstance(restored._learning_rate, WarmupStepDecay)
    with pytest.raises(ValueError, match="weight_decay_form"):
        sgd_optimizer(steps_per_epoch=10, weight_decay_form="adamw")


def test_fit_with_tensorflow_backend_trains():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(
        sgd_optimizer(steps_per_epoch=4, warmup_epochs=1, milestones=(3,), factors=(0.1,)),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, batch_size=8, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_the_same_updates_on_jax():
    # The numpy reference above, on the JAX backend (the GPU machines' backend).
    import os
    import subprocess
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import keras; "
            "assert keras.backend.backend() == 'jax'; import test_torch_style_sgd as t; "
            "t.test_matches_torch_sgd_with_changing_learning_rate(True); "
            "t.test_excluded_variables_get_no_decay(); print('OK')")
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code, here], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]
