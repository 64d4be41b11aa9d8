"""SGD as the reference code applies it, and the recipes' optimizer builder.

Weight decay: which form, and why.
The papers train with "SGD, momentum 0.9, weight decay 2e-4" in PyTorch
(`torch.optim.SGD(params, lr, momentum=0.9, weight_decay=2e-4)` over
`model.parameters()`: every parameter, biases and BatchNorm scales/offsets
included). PyTorch's SGD *couples* the decay with the gradient:

    g   <- grad + wd * w               (L2 decay, = gradient of (wd/2)||w||^2)
    buf <- momentum * buf + g          (buf starts at 0: first buf = g)
    w   <- w - lr * buf                (nesterov: w - lr * (g + momentum * buf))

Keras's `SGD(weight_decay=wd)` is *decoupled*: `w <- w - lr * wd * w` applied
outside the momentum (`BaseOptimizer._apply_weight_decay`). With momentum 0.9
the coupled decay acts about 1 / (1 - 0.9) = 10 times as strongly in steady
state, so the same number does not mean the same regulariser. Keras's SGD
also keeps its velocity in learning-rate units (`v <- m v - lr g; w <- w +
v`), which differs from PyTorch's buffer whenever the rate changes (every
warm-up epoch and at each decay).

We chose the reference form, optimizer-side: `TorchStyleSGD` implements
PyTorch's update exactly (coupled L2 decay through the momentum buffer,
buffer in gradient units), so the papers' 2e-4 means what it meant there and
runs are comparable with the published numbers. It is equivalent to an L2
penalty of (wd / 2) * ||w||^2 = 1e-4 * ||w||^2 added to the loss, but keeps
that penalty out of the reported loss and needs no `kernel_regularizer` on
every layer. Do not combine it with L2 `kernel_regularizer`s of the model
(that would decay twice); the models of keras_lt add none by default.

Like the reference, the decay applies to all trainable variables (biases and
BatchNorm gamma/beta included). `exclude_from_weight_decay` takes name
fragments to exempt variables, e.g. the prior-initialised last bias of the
class-balanced sigmoid / focal losses (Cui et al. sec. 4: "keep weight decay
off that bias"): `exclude_from_weight_decay=("head/bias",)` or `("bias",)`.
`sgd_optimizer(..., weight_decay_form="decoupled")` gives Keras's own SGD
with decoupled decay instead.
"""

import re

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.schedules.warmup_step_decay import WarmupStepDecay

WEIGHT_DECAY_FORMS = ("coupled", "decoupled")


@keras_lt_export("TorchStyleSGD")
class TorchStyleSGD(keras.optimizers.SGD):
    """SGD with PyTorch's update rule: coupled (L2) weight decay, momentum buffer.

    Per variable w with gradient grad, learning rate lr (dampening 0):

        g   = grad + weight_decay * w        (unless w is excluded)
        buf = momentum * buf + g
        w   = w - lr * buf                   (nesterov: w - lr * (g + momentum * buf))

    This is `torch.optim.SGD(momentum=..., weight_decay=..., nesterov=...)`,
    the optimizer of the LDAM-DRW, CB, IB and CDT reference code. See the
    module docstring for why keras_lt uses it rather than Keras's decoupled
    `SGD(weight_decay=...)`.

    Args:
        learning_rate: float or a `LearningRateSchedule` (e.g.
            `WarmupStepDecay`).
        momentum: float in [0, 1] (0.9 in the papers).
        nesterov: Nesterov momentum (False in the papers).
        weight_decay: the L2 coefficient added to the gradient (2e-4 in the
            papers); None or 0 for none.
        exclude_from_weight_decay: name fragments (regular expressions
            searched in `variable.name`) of variables to keep out of the
            decay, searched in `variable.path` ("dense_1/bias") and
            `variable.name` ("bias"); saved in the config (Keras's own
            `exclude_from_weight_decay()` list is not, but is honoured too).
        **kwargs: the other `keras.optimizers.Optimizer` arguments (clipnorm,
            use_ema, gradient_accumulation_steps, name, ...).

    Example:

    >>> schedule = keras_lt.schedules.WarmupStepDecay(0.1, steps_per_epoch=97)
    >>> optimizer = TorchStyleSGD(schedule, momentum=0.9, weight_decay=2e-4)
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.9,
        nesterov=False,
        weight_decay=None,
        exclude_from_weight_decay=None,
        **kwargs,
    ):
        if weight_decay is not None:
            weight_decay = float(weight_decay)
            if not weight_decay >= 0.0:
                raise ValueError(f"`weight_decay` must be >= 0, got {weight_decay}.")
        super().__init__(
            learning_rate=learning_rate,
            momentum=float(momentum),
            nesterov=bool(nesterov),
            weight_decay=weight_decay or None,
            **kwargs,
        )
        names = exclude_from_weight_decay
        if isinstance(names, str):
            names = [names]
        self.exclude_from_weight_decay_names = list(names or [])
        self._exclude_patterns = [re.compile(p) for p in self.exclude_from_weight_decay_names]

    def _decays(self, variable):
        """Whether `variable` gets the decay (Keras's exclusions, then ours)."""
        if not self._use_weight_decay(variable):
            return False
        path = getattr(variable, "path", variable.name)
        return not any(p.search(path) or p.search(variable.name) for p in self._exclude_patterns)

    def _apply_weight_decay(self, variables):
        # The decay is coupled: added to the gradient in `update_step`, never
        # applied separately (Keras's decoupled form).
        return

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.weight_decay and self._decays(variable):
            gradient = ops.add(
                gradient, ops.multiply(ops.cast(self.weight_decay, variable.dtype), variable)
            )
        if self.momentum != 0:
            buf = self.momentums[self._get_variable_index(variable)]
            momentum = ops.cast(self.momentum, variable.dtype)
            new_buf = ops.add(ops.multiply(buf, momentum), gradient)
            self.assign(buf, new_buf)
            if self.nesterov:
                direction = ops.add(gradient, ops.multiply(new_buf, momentum))
            else:
                direction = new_buf
        else:
            direction = gradient
        self.assign_sub(variable, ops.multiply(direction, learning_rate))

    def get_config(self):
        config = super().get_config()
        config["exclude_from_weight_decay"] = list(self.exclude_from_weight_decay_names)
        return config


def sgd_optimizer(
    steps_per_epoch,
    base_learning_rate=0.1,
    warmup_epochs=5,
    milestones=(160, 180),
    factors=(0.01, 0.0001),
    warmup="epoch",
    momentum=0.9,
    nesterov=False,
    weight_decay=2e-4,
    weight_decay_form="coupled",
    exclude_from_weight_decay=None,
    **kwargs,
):
    """The papers' optimizer: SGD, momentum 0.9, weight decay, `WarmupStepDecay`.

    Defaults are the CIFAR recipe of LDAM-DRW / CB / IB / CDT: base rate 0.1,
    5 warm-up epochs (the reference's per-epoch staircase), x0.01 from epoch
    160, x0.0001 from 180, momentum 0.9, no Nesterov, weight decay 2e-4
    coupled as in PyTorch (`TorchStyleSGD`, applied to every variable like
    the reference). Scale the milestones for a shorter run with
    `scale_milestones`.

    Args:
        steps_per_epoch: batches per epoch.
        base_learning_rate, warmup_epochs, milestones, factors, warmup: see
            `WarmupStepDecay`.
        momentum, nesterov: SGD momentum.
        weight_decay: decay coefficient (2e-4; 1e-4 on iNaturalist).
        weight_decay_form: "coupled" (default, PyTorch / the references:
            `TorchStyleSGD`) or "decoupled" (Keras's `SGD(weight_decay=...)`,
            `w -= lr * wd * w` outside the momentum).
        exclude_from_weight_decay: variable-name fragments kept out of the
            decay (none by default, as in the references). To exempt
            variables themselves (e.g. `LongTailModel.no_weight_decay_variables`,
            the prior-initialised head bias), call
            `optimizer.exclude_from_weight_decay(var_list=...)` on the result
            before it is built (before `fit`).
        **kwargs: passed to the optimizer (clipnorm, name, ...).

    Returns:
        A `keras.optimizers.Optimizer`.

    Example:

    >>> optimizer = sgd_optimizer(steps_per_epoch=97)   # CIFAR-10-LT, batch 128
    >>> model.compile(optimizer=optimizer, loss=keras_lt.LDAMLoss(counts))
    """
    if weight_decay_form not in WEIGHT_DECAY_FORMS:
        raise ValueError(
            f"`weight_decay_form` must be one of {WEIGHT_DECAY_FORMS}, got "
            f"{weight_decay_form!r}."
        )
    schedule = WarmupStepDecay(
        base_learning_rate=base_learning_rate,
        steps_per_epoch=steps_per_epoch,
        warmup_epochs=warmup_epochs,
        milestones=milestones,
        factors=factors,
        warmup=warmup,
    )
    if weight_decay_form == "coupled":
        return TorchStyleSGD(
            schedule,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            exclude_from_weight_decay=exclude_from_weight_decay,
            **kwargs,
        )
    optimizer = keras.optimizers.SGD(
        schedule,
        momentum=float(momentum),
        nesterov=bool(nesterov),
        weight_decay=weight_decay or None,
        **kwargs,
    )
    if exclude_from_weight_decay:
        names = (
            [exclude_from_weight_decay]
            if isinstance(exclude_from_weight_decay, str)
            else list(exclude_from_weight_decay)
        )
        optimizer.exclude_from_weight_decay(var_names=names)
    return optimizer
