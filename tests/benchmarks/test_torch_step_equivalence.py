"""keras_lt's LDAM-DRW and IB training steps against the PyTorch reference loops, step for step.

The 40-epoch A/B in benchmarks/RESULTS.md compares keras_lt with
benchmarks/torch_ldam_drw.py statistically (accuracy over seeds). This test
compares the training rule itself: the same ResNet-32 weights (copied from
the Keras model into the torch one), the same batches, no augmentation, five
SGD steps in each framework with a 100x learning-rate drop after the third
(as at epoch 160). The oracle is the torch loop in float64, so that what is
compared is keras_lt against the exact trajectory of the reference rule:
convolutions and option-A shortcuts, batch norm in training (batch
statistics, moving averages), the cosine head, the LDAM margins and scale,
the DRW weighted mean, and PyTorch's SGD (coupled weight decay on every
parameter, the momentum buffer in gradient units across the drop). A large
weight decay (5e-2 instead of 2e-4) gives the decay a large share of each
update, so that a wrong form fails; the rule is the same for any coefficient.

Float32 rounding alone moves the five-step updates of this freshly
initialised network by a few percent (measured, 2026-11-29, TF 2.21 /
torch 2.13 CPU: torch float32 against float64, relative error of each
variable's update, median 0.7 %, worst 2.7 %; keras_lt: median 1.2 %, worst
6.4 %), hence the 15 % bound per variable. Mutations fail it (same
measurement): Keras's own SGD (decoupled decay, velocity in learning-rate
units) 77 % / 91 %; no decay on batch-norm gamma and beta, worst 97 %;
LDAM averaged over the batch size instead of the weights, 36 % off in the
loss.

The same comparison for IB's second phase (benchmarks/torch_ib.py's loss:
alpha 1000, inverse-frequency weights, the factor 1 / (||softmax - onehot||_1
||h||_1 + 1e-3) differentiated, on a dense head): measured 2026-11-30, torch
float32 against float64, median 1.3 %, worst 3.6 %; keras_lt median 1.3 %,
worst 4.0 %. Mutations fail it: the factor as a constant
(`stop_factor_gradient=True`) 117 % / 220 %, no class weights 76 % / 131 %.

Skipped without torch (not a keras_lt dependency; `pip install torch==2.13.0`).
"""

import re

import numpy as np
import pytest

from . import load_benchmark

torch = pytest.importorskip("torch")

COUNTS = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]  # CIFAR-10-LT rho 100
WEIGHT_DECAY = 5e-2
LEARNING_RATES = [1e-3] * 3 + [1e-5] * 2  # a 100x decay after 3 steps, as at epoch 160
BATCH = 32


reference = load_benchmark("torch_ldam_drw")
ib_reference = load_benchmark("torch_ib")


def _torch_name(keras_path):
    """keras_lt variable path -> name in the torch model's state_dict."""
    parts = keras_path.split("/")
    layer, weight = parts[-2], parts[-1]
    if layer == "head":
        return "linear." + {"kernel": "weight", "bias": "bias"}[weight]
    match = re.fullmatch(r"stage(\d)_block(\d)_(conv|bn)(\d)", layer)
    if match:
        stage, block, kind, index = match.groups()
        prefix = f"blocks.{(int(stage) - 1) * 5 + int(block) - 1}.{kind}{index}"
    elif layer in ("stem_conv", "stem_bn"):
        prefix = "conv1" if layer == "stem_conv" else "bn1"
    else:
        raise AssertionError(f"unmapped variable {keras_path}")
    return prefix + "." + {"kernel": "weight", "gamma": "weight", "beta": "bias",
                           "moving_mean": "running_mean",
                           "moving_variance": "running_var"}[weight]


def _to_torch(keras_path, value, head="cosine"):
    if value.ndim == 4:  # convolution kernel: HWIO -> OIHW
        return np.transpose(value, (3, 2, 0, 1))
    if value.ndim == 2 and head == "dense":  # Dense kernel [in, out] -> nn.Linear [out, in]
        return value.T
    return value


def _keras_run(x, y, loss, head):
    import keras

    from keras_lt.models import build_model
    from keras_lt.schedules import TorchStyleSGD

    keras.utils.set_random_seed(0)
    model = build_model("resnet32", 10, head=head)
    initial = {v.path: np.array(v.numpy()) for v in model.weights}

    class StepTable(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):  # LEARNING_RATES[step], step = 0, 1, ...
            table = keras.ops.convert_to_tensor(LEARNING_RATES, dtype="float32")
            return keras.ops.take(table, keras.ops.minimum(step, len(LEARNING_RATES) - 1))

    schedule = StepTable()
    model.compile(optimizer=TorchStyleSGD(schedule, momentum=0.9, weight_decay=WEIGHT_DECAY),
                  loss=loss)
    losses = [float(model.train_on_batch(x[i], y[i])) for i in range(len(LEARNING_RATES))]
    final = {v.path: np.array(v.numpy()) for v in model.weights}
    return initial, final, losses


def _torch_run(initial, x, y, model, loss_fn, head, dtype=None):
    """The reference loop from the Keras model's initial weights (float32, or `dtype`):
    `model` a reference ResNet-32, `loss_fn(model, inputs, targets, dtype)` its loss."""
    dtype = dtype or torch.float32
    model = model.to(dtype).train()
    state = model.state_dict()
    loaded = set()
    for path, value in initial.items():
        name = _torch_name(path)
        value = _to_torch(path, value, head)
        assert state[name].shape == value.shape, name
        state[name] = torch.tensor(np.ascontiguousarray(value), dtype=dtype)
        loaded.add(name)
    assert loaded == {k for k in state if not k.endswith("num_batches_tracked")}
    model.load_state_dict(state)
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATES[0], momentum=0.9,
                                weight_decay=WEIGHT_DECAY)
    losses = []
    for i, lr in enumerate(LEARNING_RATES):
        for group in optimizer.param_groups:
            group["lr"] = lr
        inputs = torch.tensor(np.ascontiguousarray(x[i].transpose(0, 3, 1, 2)), dtype=dtype)
        loss = loss_fn(model, inputs, torch.from_numpy(y[i]), dtype)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return {name: value.detach().double().numpy()
            for name, value in model.state_dict().items()}, losses


def _ldam_drw_loss(drw):
    counts = np.asarray(COUNTS, dtype=np.float64)
    margins = 1.0 / np.sqrt(np.sqrt(counts))
    margins = margins * (0.5 / margins.max())

    def loss_fn(model, inputs, targets, dtype):
        return reference.ldam_loss(model(inputs), targets, torch.tensor(margins, dtype=dtype),
                                   30.0, torch.tensor(drw, dtype=dtype))
    return loss_fn


def _ib_loss(model, inputs, targets, dtype):
    features = model.features(inputs)
    weights = torch.tensor(ib_reference.ib_class_weights(COUNTS), dtype=dtype)
    return ib_reference.ib_loss(model.linear(features), targets, features.abs().sum(1),
                                weights, 1000.0)


def _relative_error(got, expected):
    return float(np.linalg.norm(got - expected) / np.linalg.norm(expected))


def _batches():
    rng = np.random.default_rng(0)
    steps = len(LEARNING_RATES)
    x = rng.normal(0, 1, (steps, BATCH, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, (steps, BATCH)).astype("int64")
    for i in range(steps):  # a learnable signal: the class shifts the mean of one channel
        x[i, ..., 0] += 0.5 * y[i][:, None, None]
    return x, y


def _compare(initial, final, keras_losses, exact, exact_losses, head):
    """Relative error of each variable's update (moving statistics: of the value)."""
    np.testing.assert_allclose(keras_losses, exact_losses, rtol=2e-3)
    errors = {}
    for path, before in initial.items():
        got = _to_torch(path, final[path], head).astype(np.float64)
        expected = exact[_torch_name(path)]
        if "moving" in path:  # torch keeps the unbiased variance: n / (n - 1), n >= 2048
            errors[path] = _relative_error(got, expected)
            assert errors[path] < 0.05, f"{path}: {errors[path]:.3f}"
        else:  # the update of each variable, not only its value
            start = _to_torch(path, before, head).astype(np.float64)
            errors[path] = _relative_error(got - start, expected - start)
            assert errors[path] < 0.15, f"{path}: update off by {errors[path]:.1%}"
    return errors


def test_keras_lt_ldam_drw_steps_follow_the_torch_reference_rule():
    from keras_lt import LDAMLoss

    x, y = _batches()
    drw = reference.drw_weights(np.asarray(COUNTS, dtype=np.float64), 0.9999)
    loss = LDAMLoss(COUNTS, max_margin=0.5, scale=30.0, class_weights=drw)
    initial, final, keras_losses = _keras_run(x, y, loss, "cosine")
    exact, exact_losses = _torch_run(initial, x, y, reference.build_ldam_resnet32(10),
                                     _ldam_drw_loss(drw), "cosine", dtype=torch.float64)
    errors = _compare(initial, final, keras_losses, exact, exact_losses, "cosine")
    assert len(errors) == 156  # every variable of ResNet-32 + the cosine head was compared


def test_keras_lt_ib_phase_steps_follow_the_torch_reference_rule():
    """IB's second phase: the IB loss (alpha 1000, inverse-frequency weights, the
    factor differentiated) on the dense head's logits and the pooled features."""
    from keras_lt import IBLoss

    x, y = _batches()
    initial, final, keras_losses = _keras_run(x, y, IBLoss(COUNTS, alpha=1000.0), "dense")
    exact, exact_losses = _torch_run(initial, x, y, ib_reference.build_ib_resnet32(10),
                                     _ib_loss, "dense", dtype=torch.float64)
    errors = _compare(initial, final, keras_losses, exact, exact_losses, "dense")
    assert len(errors) == 157  # ResNet-32 + the dense head's kernel and bias
