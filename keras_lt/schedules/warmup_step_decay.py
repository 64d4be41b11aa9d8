"""`WarmupStepDecay`: the papers' learning-rate schedule, per optimizer step.

The long-tail CIFAR recipe shared by LDAM-DRW (Cao et al. 2019), CB (Cui et
al. 2019, sec. 5), IB (Park et al. 2021, sec. 5) and CDT (Ye et al. 2020,
suppl. A.3): base rate 0.1, a linear warm-up over the first 5 epochs, then
the rate multiplied by 0.01 from epoch 160 and by 0.0001 from epoch 180 (of
200). iNaturalist (CDT suppl. A.4): warm-up over 5 epochs to 0.2, x0.1 at 30,
x0.01 at 60, x0.001 at 80.

Warm-up form. The papers say "linear warm-up over the first 5 epochs"
(Goyal et al.). The reference code (kaidic/LDAM-DRW `adjust_learning_rate`,
reused by the CB, IB and CDT CIFAR code) sets the rate once per epoch:

    epoch = epoch + 1               # 1-based
    lr = base * epoch / 5           if epoch <= 5
    lr = base * 0.0001              if epoch > 180
    lr = base * 0.01                if epoch > 160
    lr = base                       otherwise

i.e. a staircase base * (e + 1) / 5 for the 0-based epochs e = 0..4 (the
first epoch already trains at base / 5). `warmup="epoch"` (the default)
reproduces that staircase exactly, so that runs compare with the published
numbers; `warmup="step"` is the per-step linear ramp
base * (step + 1) / (warmup_epochs * steps_per_epoch), which meets the
staircase at the last step of every warm-up epoch. After the warm-up both
forms are identical.

Milestones and factors. `factors[i]` multiplies the *base* rate from epoch
`milestones[i]` on (the reference's 0.01 then 0.0001, not a compounded 0.01 *
0.0001); milestones are 0-based epochs: with milestones (160, 180), epochs
0..159 run at the base rate, 160..179 at base * 0.01, 180.. at base * 0.0001,
as in the reference code. `scale_milestones` maps the 200-epoch milestones
onto a shorter run (30 epochs: 24 and 27, i.e. 80 % and 90 %).

The step count is the optimizer's `iterations` (0 for the first update), so
the schedule resumes exactly when the optimizer variables are restored
(`keras_lt.callbacks.ResumableCheckpoint`).
"""

import keras
from keras import ops

from keras_lt.api_export import keras_lt_export
from keras_lt.checks import whole_number

WARMUP_FORMS = ("epoch", "step")


def _sequence(values, name):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"`{name}` must be a sequence of epochs or factors, got {values!r}.")
    return tuple(values)


def _validate_milestones(milestones, factors):
    # 160.7 used to become 160 silently: milestones are whole epochs.
    milestones = tuple(whole_number(m, "milestones") for m in _sequence(milestones,
                                                                                  "milestones"))
    try:
        factors = tuple(float(f) for f in _sequence(factors, "factors"))
    except (TypeError, ValueError) as error:
        raise ValueError(f"`factors` must be numbers, got {factors!r}.") from error
    if len(milestones) != len(factors):
        raise ValueError(
            f"`milestones` ({len(milestones)}) and `factors` ({len(factors)}) "
            "must have the same length: one factor per milestone."
        )
    if any(b <= a for a, b in zip(milestones, milestones[1:])):
        raise ValueError(
            f"`milestones` must be non-negative and strictly increasing, got {milestones}."
        )
    if any(not 0.0 <= f < float("inf") for f in factors):
        raise ValueError(f"`factors` must be finite and >= 0, got {factors}.")
    return milestones, factors


def scale_milestones(milestones, epochs, reference_epochs=200):
    """Maps epochs of a `reference_epochs` schedule onto an `epochs` one.

    Each milestone keeps its fraction of the run: round(m * epochs /
    reference_epochs). The papers' (160, 180) of 200 become (24, 27) for a
    30-epoch run (80 % and 90 %). The same rule applies to a phase switch
    (DRW's 160, IB's 100). Raises ValueError when two milestones collide
    after rounding (the run is too short to keep them apart). Epochs count
    from 0, so a milestone that rounds to `epochs` (160 of 200 on a 2-epoch
    run) never fires: the recipes move such switches onto the last epoch and
    merge collisions (`keras_lt.training.config.scale_schedule`).

    Example:

    >>> scale_milestones((160, 180), epochs=30)
    (24, 27)
    """
    epochs = whole_number(epochs, "epochs", minimum=1)
    reference_epochs = whole_number(reference_epochs, "reference_epochs", minimum=1)
    given = tuple(whole_number(m, "milestones") for m in _sequence(milestones, "milestones"))
    if any(m > reference_epochs for m in given) or any(b <= a for a, b in zip(given, given[1:])):
        raise ValueError(
            f"`milestones` must be increasing epochs of the {reference_epochs}-epoch "
            f"schedule, got {given}."
        )
    scaled = tuple(int(round(m * epochs / reference_epochs)) for m in given)
    if any(b <= a for a, b in zip(scaled, scaled[1:])):
        raise ValueError(
            f"Milestones {tuple(milestones)} of {reference_epochs} epochs collide "
            f"when scaled to {epochs} epochs: {scaled}. Use more epochs or fewer "
            "milestones."
        )
    return scaled


@keras_lt_export("WarmupStepDecay")
class WarmupStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up, then piecewise-constant step decay at epoch milestones.

    For optimizer step `t` (0-based) in epoch e = t // steps_per_epoch:

        lr(t) = base * (e + 1) / W                      e < W, warmup="epoch"
        lr(t) = base * (t + 1) / (W * steps_per_epoch)  e < W, warmup="step"
        lr(t) = base * factors[i]                       e >= milestones[i] (last one)
        lr(t) = base                                    otherwise

    with W = `warmup_epochs`. A milestone inside the warm-up wins over it.
    Built from `keras.ops` only: the same graph on TensorFlow, JAX and
    PyTorch.

    Args:
        base_learning_rate: the rate after warm-up (0.1 on CIFAR).
        steps_per_epoch: optimizer steps (batches) per epoch; required.
        warmup_epochs: epochs of linear warm-up (5; 0 for none).
        milestones: 0-based epochs at which the rate drops ((160, 180)).
        factors: multipliers of the base rate from each milestone on
            ((0.01, 0.0001)); one per milestone.
        warmup: "epoch" (the reference code's per-epoch staircase, default)
            or "step" (per-step linear ramp). See the module docstring.
        name: name scope of the ops.

    Example:

    >>> schedule = WarmupStepDecay(0.1, steps_per_epoch=97)
    >>> optimizer = keras_lt.schedules.TorchStyleSGD(schedule, momentum=0.9,
    ...                                              weight_decay=2e-4)

    Papers: Cao et al., "Learning Imbalanced Datasets with Label-Distribution-
    Aware Margin Loss", NeurIPS 2019 (sec. 4, suppl. B); Ye et al.,
    "Identifying and Compensating for Feature Deviation in Imbalanced Deep
    Learning", 2020 (suppl. A.3, A.4).
    """

    def __init__(
        self,
        base_learning_rate=0.1,
        steps_per_epoch=None,
        warmup_epochs=5,
        milestones=(160, 180),
        factors=(0.01, 0.0001),
        warmup="epoch",
        name="WarmupStepDecay",
    ):
        super().__init__()
        if steps_per_epoch is None:
            raise ValueError(
                "`steps_per_epoch` is required: the number of batches per epoch "
                "(ceil(num_train_samples / batch_size) with a partial last batch)."
            )
        try:
            base_learning_rate = float(base_learning_rate)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`base_learning_rate` must be a number, got {base_learning_rate!r}."
            ) from error
        if not 0.0 < base_learning_rate < float("inf"):
            raise ValueError(
                f"`base_learning_rate` must be finite and > 0, got {base_learning_rate}."
            )
        warmup_epochs = whole_number(warmup_epochs, "warmup_epochs")
        if warmup not in WARMUP_FORMS:
            raise ValueError(f"`warmup` must be one of {WARMUP_FORMS}, got {warmup!r}.")
        self.base_learning_rate = base_learning_rate
        self.steps_per_epoch = whole_number(steps_per_epoch, "steps_per_epoch", minimum=1)
        self.warmup_epochs = warmup_epochs
        self.milestones, self.factors = _validate_milestones(milestones, factors)
        self.warmup = warmup
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            step = ops.cast(step, "int32")
            epoch = ops.floor_divide(step, self.steps_per_epoch)
            base = ops.convert_to_tensor(self.base_learning_rate, "float32")
            lr = base
            if self.warmup_epochs > 0:
                if self.warmup == "epoch":
                    progress = ops.cast(epoch + 1, "float32") / float(self.warmup_epochs)
                else:
                    progress = ops.cast(step + 1, "float32") / float(
                        self.warmup_epochs * self.steps_per_epoch
                    )
                lr = ops.where(epoch < self.warmup_epochs, base * progress, lr)
            for milestone, factor in zip(self.milestones, self.factors):
                lr = ops.where(epoch >= milestone, base * factor, lr)
            return lr

    def get_config(self):
        return {
            "base_learning_rate": self.base_learning_rate,
            "steps_per_epoch": self.steps_per_epoch,
            "warmup_epochs": self.warmup_epochs,
            "milestones": list(self.milestones),
            "factors": list(self.factors),
            "warmup": self.warmup,
            "name": self.name,
        }
