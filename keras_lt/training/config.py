"""`TrainConfig`: every setting of one training run, and the papers' defaults.

A run is fully described by a `TrainConfig`: which data (dataset, folder,
imbalance), which method (and its hyper-parameters), which network and
schedule, where it writes. `resolve()` fills every setting left as `None`
from the dataset's and the method's defaults and scales the epoch-dependent
ones (learning-rate milestones, warm-up, phase switches) to `epochs`, so the
`config.json` written next to a trained model holds the exact values that
produced it and `TrainConfig.from_json(...)` runs it again.

Dataset defaults follow the papers (../shared/METHODS.md):
    cifar10, cifar100   ResNet-32, 200 epochs, batch 128, lr 0.1, 5 warm-up
                        epochs, lr x0.01 at 160 and x0.0001 at 180, wd 2e-4
                        (Cao et al. 2019; Ye et al. 2020, suppl. A.3)
    tiny_imagenet       ResNet-18 64x64, pad 8, 400 epochs, batch 128, lr 0.1,
                        x0.1 at 250, 320, 380 (Ye et al. 2020, suppl. A.5)
    inaturalist2018     ResNet-50 224x224, 90 epochs, batch 512, 5 warm-up
                        epochs to 0.2, x0.1 at 30, 60, 80 (Ye et al. 2020,
                        suppl. A.4; Cui et al. 2019 trained at batch 1024)
    digits              the embedded default: scikit-learn's 8x8 digits made
                        long-tailed, a small convolutional net, a few epochs.

Where a method's own paper trains a dataset otherwise, `METHOD_SETTINGS`
replaces those defaults for that method (IB on Tiny-ImageNet and
iNaturalist, class-balanced focal on CIFAR-100 and iNaturalist), and
`CB_TABLE2` gives the class-balanced losses Cui et al.'s best beta and gamma
per CIFAR imbalance ratio.
"""

import dataclasses
import json
import os
from typing import Optional

from keras_lt.checks import whole_number

# "exp" (long-tailed) and "step" are keras_lt.data's artificial imbalance
# types; "natural" is data used as it comes (iNaturalist).
IMBALANCE_TYPES = ("exp", "step", "natural")
# TrainConfig's whole-number settings and their least value.
WHOLE_NUMBER_SETTINGS = (("epochs", 1), ("batch_size", 1), ("seed", 0), ("drw_epoch", 0),
                         ("phase_epoch", 0), ("warmup_epochs", 0))
STRATEGIES = ("none", "mirrored", "multiworker")
MINORITY_FRACTION = 0.5  # step imbalance: half the classes are minority ones (Cao et al.)


@dataclasses.dataclass(frozen=True)
class DatasetDefaults:
    """The papers' settings for one dataset, at full length (`epochs`).

    `milestones` are the epochs at which the learning rate drops and
    `lr_factors` the cumulative multipliers of the base rate from each
    milestone on (CIFAR: 0.01 from 160, 0.0001 from 180). `drw_epoch` is the
    epoch at which deferred re-weighting starts (the main learning-rate decay,
    160 of 200 on CIFAR). `cdt_gamma` is the class-dependent temperature
    exponent; `cdt_delay` the fraction of the epochs trained with gamma = 0
    first (0.5 on iNaturalist, Ye et al. 2020 sec. 5.2).
    """

    num_classes: int
    backbone: str
    image_size: int
    pad: int
    epochs: int
    batch_size: int
    lr: float
    warmup_epochs: int
    milestones: tuple
    lr_factors: tuple
    drw_epoch: int
    cdt_gamma: float
    cdt_delay: float = 0.0
    weight_decay: float = 2e-4
    momentum: float = 0.9
    ratio: Optional[float] = 100.0
    imbalance: str = "exp"
    # Many/few-shot thresholds of the report: many > shot_many, few < shot_few.
    shot_many: int = 100
    shot_few: int = 20
    # Size of the largest class before imbalance (None: known from the data only).
    n_max: Optional[int] = None
    # Method settings a paper gives per dataset (METHOD_SETTINGS changes them):
    # IB's second phase starts at ib_start * epochs, its learning rate there is
    # multiplied by ib_phase_lr_factor; class-balanced beta and focal gamma.
    ib_start: float = 0.5
    ib_phase_lr_factor: float = 0.01
    cb_beta: float = 0.9999
    cb_gamma: float = 1.0


DATASETS = {
    "cifar10": DatasetDefaults(
        num_classes=10, backbone="resnet32", image_size=32, pad=4, epochs=200,
        batch_size=128, lr=0.1, warmup_epochs=5, milestones=(160, 180),
        lr_factors=(0.01, 0.0001), drw_epoch=160,
        # Ye et al. 2020 show gamma = 0.3 on CIFAR-10-LT (Fig. 5, 7); range [0, 0.4].
        cdt_gamma=0.3, n_max=5000,
    ),
    "cifar100": DatasetDefaults(
        num_classes=100, backbone="resnet32", image_size=32, pad=4, epochs=200,
        batch_size=128, lr=0.1, warmup_epochs=5, milestones=(160, 180),
        lr_factors=(0.01, 0.0001), drw_epoch=160,
        cdt_gamma=0.1, n_max=500,  # gamma: middle of the paper's range [0, 0.2]
    ),
    "tiny_imagenet": DatasetDefaults(
        num_classes=200, backbone="resnet18", image_size=64, pad=8, epochs=400,
        batch_size=128, lr=0.1, warmup_epochs=0, milestones=(250, 320, 380),
        lr_factors=(0.1, 0.01, 0.001), drw_epoch=320,
        cdt_gamma=0.1, n_max=500,  # gamma: middle of the paper's range [0, 0.2]
    ),
    "inaturalist2018": DatasetDefaults(
        num_classes=8142, backbone="resnet50", image_size=224, pad=0, epochs=90,
        batch_size=512, lr=0.2, warmup_epochs=5, milestones=(30, 60, 80),
        lr_factors=(0.1, 0.01, 0.001), drw_epoch=80,
        # The schedule is Ye et al. 2020's (CDT suppl. A.4), and so is the weight
        # decay: "for all the experiments ... 2e-4" (A.2).
        weight_decay=2e-4,
        cdt_gamma=0.1, cdt_delay=0.5,  # gamma 0 for the first 45 of 90 epochs
        ratio=None, imbalance="natural",  # naturally long-tailed, used as it is
    ),
    # The embedded default (keras-lt with no arguments): 1,797 8x8 images,
    # at most ~130 training images per class after the balanced test split,
    # so the shot groups are many > 40, few < 15.
    "digits": DatasetDefaults(
        num_classes=10, backbone="small_cnn", image_size=8, pad=1, epochs=30,
        batch_size=32, lr=0.05, warmup_epochs=1, milestones=(24,),
        lr_factors=(0.1,), drw_epoch=20, cdt_gamma=0.3, weight_decay=5e-4,
        ratio=20.0, shot_many=40, shot_few=15,
    ),
}


_IB_TINY_IMAGENET = dict(
    # Park et al. 2021 sec. 4.1: "initially trained for 50 epochs, and then
    # fine-tuned for the subsequent 50 epochs with IB loss. The learning rate at
    # the start was set to 0.1 and was dropped by a factor of 0.1 after 50 and 90
    # epochs." (The reference code's tinyimage_train.py fine-tunes an
    # ImageNet-pretrained ResNet at 224 px instead; the paper's text is followed.)
    epochs=100, lr=0.1, warmup_epochs=0, milestones=(50, 90), lr_factors=(0.1, 0.01),
    ib_start=0.5, ib_phase_lr_factor=1.0,
)
_IB_INATURALIST = dict(
    # Park et al. 2021 sec. 4.1: "initially trained for 50 epochs and then
    # fine-tuned for the subsequent 150 epochs with IB loss. The learning rate at
    # the start was set to 0.01 and was decreased by a factor of 0.1 after 30 and
    # 180 epochs." Batch size and warm-up are not given: the dataset's are kept.
    epochs=200, lr=0.01, milestones=(30, 180), lr_factors=(0.1, 0.01),
    ib_start=0.25, ib_phase_lr_factor=1.0,
)

# (dataset, method) -> DatasetDefaults fields its paper sets otherwise.
METHOD_SETTINGS = {
    **{("tiny_imagenet", m): _IB_TINY_IMAGENET for m in ("ib", "ib-cb", "ib-focal")},
    **{("inaturalist2018", m): _IB_INATURALIST for m in ("ib", "ib-cb", "ib-focal")},
    # Cui et al. 2019 Table 2: the best class-balanced loss on CIFAR-100-LT at
    # ratios 100 and 200 (the recipe's 100) is focal with beta 0.9, gamma 1.0 ("on
    # CIFAR-100 ... smaller optimal beta", sec. 5.3; Cao et al.'s CB rows used
    # 0.9999). At the table's other ratios CB_TABLE2 gives its best settings.
    ("cifar100", "cb-focal"): dict(cb_beta=0.9),
    # Cui et al. Table 3: CB focal on iNaturalist with beta 0.999, gamma 0.5, and
    # sec. 5.2: "when training with focal loss, we used ... 4x larger learning
    # rate on iNaturalist" (4 x the softmax rate of this recipe, 0.2).
    ("inaturalist2018", "cb-focal"): dict(cb_beta=0.999, cb_gamma=0.5, lr=0.8),
}


# Cui et al. 2019 Table 2: the best class-balanced loss on long-tailed CIFAR per
# imbalance ratio, chosen by cross-validation over loss type, beta and gamma:
# (dataset, ratio) -> (loss type, beta, gamma). The method of that loss type
# (cb-softmax, cb-sigmoid, cb-focal) takes these at that ratio (`cb_table2`).
CB_TABLE2 = {
    ("cifar10", 200.0): ("softmax", 0.9999, None),
    ("cifar10", 100.0): ("focal", 0.9999, 1.0),
    ("cifar10", 50.0): ("focal", 0.9999, 2.0),
    ("cifar10", 20.0): ("softmax", 0.9999, None),
    ("cifar10", 10.0): ("sigmoid", 0.9999, None),
    ("cifar100", 200.0): ("focal", 0.9, 1.0),
    ("cifar100", 100.0): ("focal", 0.9, 1.0),
    ("cifar100", 50.0): ("sigmoid", 0.99, None),
    ("cifar100", 20.0): ("focal", 0.99, 0.5),
    ("cifar100", 10.0): ("focal", 0.999, 0.5),
}


def cb_table2(dataset, imbalance, ratio, loss_type):
    """`{"beta": ..., "gamma": ...}` of Cui et al.'s Table 2 when its best
    class-balanced loss at this dataset and (exponential) ratio is of
    `loss_type`; else {}."""
    if imbalance != "exp" or ratio is None:
        return {}
    best = CB_TABLE2.get((dataset, float(ratio)))
    if best is None or best[0] != loss_type:
        return {}
    return {"beta": best[1], **({"gamma": best[2]} if best[2] is not None else {})}


def dataset_defaults(dataset, method=None):
    """The `DatasetDefaults` of `dataset` (for `method`, with its
    `METHOD_SETTINGS`), or a ValueError listing the known datasets."""
    try:
        defaults = DATASETS[dataset]
    except KeyError:
        raise ValueError(
            f"Unknown dataset {dataset!r}. Known datasets: {', '.join(sorted(DATASETS))}."
        ) from None
    return dataclasses.replace(defaults, **METHOD_SETTINGS.get((dataset, method), {}))


def backbone_blocks(backbone):
    """Names of the blocks of a backbone after which MFW can mix features.

    The named blocks before the pooling of `keras_lt.models`' backbones (and
    of the digits `small_cnn`): "stem", "stage1", ..., the last stage. These
    are the "groups of convolutions" of Ye, Zhan, Chao (ICCV 2021, Table 5),
    who tried MFW after each of them (the stem being the first group).

        small_cnn                       stem, stage1, stage2
        resnet20/32/44/56/110 (CIFAR)   stem, stage1, stage2, stage3
        resnet18, resnet50              stem, stage1, stage2, stage3, stage4
    """
    from keras_lt.models.build_model import BACKBONE_NAMES, backbone_depth

    if backbone == "small_cnn":
        return ("stem", "stage1", "stage2")
    try:
        depth = backbone_depth(backbone)
    except ValueError:
        raise ValueError(
            f"Unknown backbone {backbone!r}: use 'small_cnn', {BACKBONE_NAMES}."
        ) from None
    if depth in (18, 50):
        return ("stem", "stage1", "stage2", "stage3", "stage4")
    return ("stem", "stage1", "stage2", "stage3")


def last_switch_epoch(epochs):
    """The latest epoch a switch may name in an `epochs`-epoch run: `epochs - 1`
    (epochs count from 0). A one-epoch run keeps 1: its switch never fires, and
    the callback says so."""
    return epochs - 1 if epochs > 1 else epochs


def inside_run(epoch, epochs):
    """A scaled switch epoch, moved back onto the last epoch (`epochs - 1`) when
    rounding put it at or after the end.

    Epochs count from 0, so a switch at epoch `epochs` never happens: DRW's 160
    of 200 rounds to 2 of a 2-epoch run, and (160, 180) to 3 of a 3-epoch one.
    A one-epoch run has no room for a second phase; its switch stays at 1 and
    the callback says that it never fires.
    """
    return min(int(epoch), epochs - 1) if epochs > 1 else int(epoch)


def scale_epoch(epoch, epochs, full_epochs):
    """Maps `epoch` of a `full_epochs` schedule onto an `epochs` one (rounded,
    `keras_lt.schedules.scale_milestones`'s rule, kept inside the run)."""
    from keras_lt.schedules import scale_milestones

    return inside_run(scale_milestones((epoch,), epochs, full_epochs)[0], epochs)


def scale_schedule(milestones, factors, epochs, full_epochs):
    """Scales the learning-rate milestones to `epochs`.

    Milestones that fall on the same epoch once scaled (a run too short to keep
    them apart, e.g. one epoch) merge into one that keeps the later factor,
    which is the rate `WarmupStepDecay` would apply from that epoch anyway.
    None falls after the last epoch (`inside_run`), except in a one-epoch run.
    """
    merged = {}
    for milestone, factor in zip(milestones, factors):
        merged[scale_epoch(milestone, epochs, full_epochs)] = factor
    return sorted(merged), [merged[m] for m in sorted(merged)]


def with_phase_factor(milestones, factors, phase_epoch, phase_factor):
    """A step schedule multiplied by `phase_factor` from `phase_epoch` on.

    `factors[i]` multiplies the base rate from epoch `milestones[i]` on
    (`WarmupStepDecay`'s convention); the result adds `phase_epoch` as a
    milestone and multiplies every factor in force from it by `phase_factor`.
    IB's reference code trains its second phase so (Park et al. 2021,
    pseulki/IB-Loss `adjust_learning_rate`: from epoch 100 of 200 the rate is
    0.1 * 0.01, then 0.1 * 0.0001 from 160 and 0.1 * 0.000001 from 180, where
    the paper's text gives only the 160 / 180 decays): the IB loss is scaled
    by alpha / IB(x), so the same rate would take far larger steps.

    Decays before `phase_epoch` stay as they are.

    >>> with_phase_factor([160, 180], [0.01, 0.0001], 100, 0.01)
    ([100, 160, 180], [0.01, 0.0001, 1e-06])
    >>> with_phase_factor([30, 60, 80], [0.1, 0.01, 0.001], 45, 0.01)
    ([30, 45, 60, 80], [0.1, 0.001, 0.0001, 1e-05])
    """
    milestones, factors = list(milestones), list(factors)
    before = [f for m, f in zip(milestones, factors) if m <= phase_epoch]
    in_force = before[-1] if before else 1.0
    merged = {int(m): f for m, f in zip(milestones, factors) if m < phase_epoch}
    merged[int(phase_epoch)] = in_force * phase_factor
    merged.update({int(m): f * phase_factor for m, f in zip(milestones, factors) if m > phase_epoch})
    out = sorted(merged)
    # 12 significant digits: 0.0001 * 0.01 is 1e-06 in config.json, not 1.0000000000000002e-06.
    return out, [float(f"{merged[m]:.12g}") for m in out]


# Where and how a run is carried out, not what it trains: a `--config` rerun
# and a `--resume` may change these.
RUN_SETTINGS = ("data_dir", "output_dir", "run_name", "resume", "strategy", "monitor",
                "verbose", "backend")


@dataclasses.dataclass
class TrainConfig:
    """All settings of one training run; `None` means "the default".

    Method hyper-parameters (`None`: the method's default, see
    `keras_lt.training.methods.METHODS`):
        beta: class-balanced beta (cb-*, ib-cb) and the DRW beta (*-drw).
        gamma: the method's gamma: focal exponent (focal, cb-focal, ib-focal)
            or CDT temperature exponent (cdt).
        alpha: IB alpha (ib*) or the Beta(alpha, alpha) of MFW (mfw*).
        max_margin, scale: LDAM's largest margin and logit scale.
        mfw_beta: softness of MFW's class weight s(n) (2.0 exp, 0.01 step).
        mfw_layer: the backbone block after which MFW mixes features
            ("stage1", the paper's default; one of `backbone_blocks(backbone)`).
        drw_epoch: epoch (0-based, in `epochs`) at which DRW starts.
        phase_epoch: epoch at which IB switches on, or CDT's gamma does
            (only on datasets with `cdt_delay`).
        phase_lr_factor: multiplier of the whole learning-rate schedule from
            `phase_epoch` on (IB: 0.01, see `learning_rate_schedule`).
        focal_probability: ib-focal's q in (1 - q)^gamma: "class_weighted"
            (p_y^{w_y}, the reference code's, the default; `IBLoss`) or
            "softmax" (p_y). A config.json the library wrote without it
            trained "softmax" (`SETTINGS_BEFORE_THEY_EXISTED`).
    """

    dataset: str = "digits"
    method: str = "erm"
    data_dir: Optional[str] = None
    imbalance: Optional[str] = None
    ratio: Optional[float] = None
    minority_fraction: float = MINORITY_FRACTION
    # Method hyper-parameters.
    beta: Optional[float] = None
    gamma: Optional[float] = None
    alpha: Optional[float] = None
    max_margin: Optional[float] = None
    scale: Optional[float] = None
    mfw_beta: Optional[float] = None
    mfw_layer: Optional[str] = None
    drw_epoch: Optional[int] = None
    phase_epoch: Optional[int] = None
    phase_lr_factor: Optional[float] = None
    focal_probability: Optional[str] = None
    # Network and schedule.
    backbone: Optional[str] = None
    image_size: Optional[int] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    lr: Optional[float] = None
    warmup_epochs: Optional[int] = None
    milestones: Optional[list] = None
    lr_factors: Optional[list] = None
    weight_decay: Optional[float] = None
    momentum: Optional[float] = None
    # Reproducibility, devices, output.
    seed: int = 0
    strategy: str = "none"
    output_dir: str = "saved_models"
    run_name: Optional[str] = None
    resume: bool = False
    backend: Optional[str] = None
    shot_many: Optional[int] = None
    shot_few: Optional[int] = None
    # Show the test split's accuracy after every epoch (monitoring only).
    monitor: bool = True
    verbose: int = 1

    # ------------------------------------------------------------------ checks
    def validate(self):
        """Raises ValueError on settings that cannot work, naming the setting."""
        from keras_lt.training.methods import get_method

        get_method(self.method)
        d = dataset_defaults(self.dataset, self.method)
        if self.imbalance is not None and self.imbalance not in IMBALANCE_TYPES:
            raise ValueError(
                f"Unknown imbalance type {self.imbalance!r}; use one of {IMBALANCE_TYPES}."
            )
        if (self.imbalance == "natural") != (d.imbalance == "natural") and self.imbalance:
            raise ValueError(
                f"{self.dataset} is {'naturally' if d.imbalance == 'natural' else 'not naturally'}"
                f" imbalanced: imbalance {self.imbalance!r} does not apply"
                + (" (it is used as it is)." if d.imbalance == "natural" else
                   "; use 'exp' or 'step'.")
            )
        if self.imbalance == "natural" and self.ratio is not None:
            raise ValueError(f"{self.dataset} is used as it is: --ratio does not apply.")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"Unknown strategy {self.strategy!r}; use one of {STRATEGIES}.")
        if self.ratio is not None and not self.ratio >= 1:
            raise ValueError(f"`ratio` is n_max / n_min and must be >= 1, got {self.ratio}.")
        if not 0.0 < self.minority_fraction < 1.0:
            raise ValueError(
                f"`minority_fraction` must lie in (0, 1), got {self.minority_fraction}."
            )
        imbalance = self.imbalance or d.imbalance
        if self.minority_fraction != MINORITY_FRACTION and imbalance != "step":
            raise ValueError(
                f"`minority_fraction` shapes step imbalance only; this run's is {imbalance!r}."
            )
        for name, minimum in WHOLE_NUMBER_SETTINGS:
            if getattr(self, name) is not None:
                whole_number(getattr(self, name), name, minimum=minimum)
        blocks = backbone_blocks(self.backbone or d.backbone)  # an unknown name raises
        if self.mfw_layer is not None:
            backbone = self.backbone or d.backbone
            if self.mfw_layer not in blocks:
                raise ValueError(
                    f"`mfw_layer` {self.mfw_layer!r} is not a block of {backbone}; "
                    f"MFW can mix after one of: {', '.join(blocks)}."
                )
        # MFW's settings reach the model, built after the run folder is written:
        # checked here, so that --dry-run and train refuse them first.
        if self.mfw_beta is not None and not self.mfw_beta > 0:
            raise ValueError(f"`mfw_beta` must be > 0, got {self.mfw_beta}.")
        if (get_method(self.method).feature_weakening and self.alpha is not None
                and not self.alpha > 0):
            raise ValueError(f"`alpha` (MFW's Beta(alpha, alpha)) must be > 0, got {self.alpha}.")
        if self.phase_lr_factor is not None and not self.phase_lr_factor > 0:
            raise ValueError(
                f"`phase_lr_factor` must be > 0, got {self.phase_lr_factor}."
            )
        if self.milestones is not None and self.lr_factors is not None:
            if len(self.milestones) != len(self.lr_factors):
                raise ValueError(
                    "`milestones` and `lr_factors` need the same length, got "
                    f"{self.milestones} and {self.lr_factors}."
                )
        self._validate_schedule()
        return self

    def _validate_schedule(self):
        for name, ok, rule in (
            ("lr", lambda v: v > 0, "> 0"),
            ("weight_decay", lambda v: v >= 0, ">= 0"),
            ("momentum", lambda v: 0 <= v < 1, "in [0, 1)"),
        ):
            value = getattr(self, name)
            if value is not None and not ok(value):
                raise ValueError(f"`{name}` must be {rule}, got {value}.")
        if self.lr_factors is not None and not all(f > 0 for f in self.lr_factors):
            raise ValueError(f"`lr_factors` must all be > 0, got {self.lr_factors}.")
        milestones = [whole_number(m, "milestones") for m in self.milestones or []]
        if any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(
                f"`milestones` must be increasing non-negative epochs, got {milestones}."
            )
        if self.epochs is None:
            return
        # Epochs count from 0: a switch at epoch `epochs` or later never happens
        # (a one-epoch run's scaled switch stays at 1: `inside_run`). Explicit
        # epochs are not scaled with `epochs` (the defaults are).
        def late_epoch(epoch):
            return epoch > last_switch_epoch(self.epochs)

        late = [f"{name} {getattr(self, name)}" for name in ("drw_epoch", "phase_epoch")
                if getattr(self, name) is not None and late_epoch(getattr(self, name))]
        late += [f"milestone {m}" for m in milestones if late_epoch(m)]
        if late:
            raise ValueError(
                f"{', '.join(late)}: at or after the end of a {self.epochs}-epoch run "
                f"(epochs 0..{self.epochs - 1}), never applied. "
                "Explicit epochs are not scaled with --epochs; leave them out to get the "
                "recipe's, scaled."
            )

    # -------------------------------------------------------------- defaults
    def resolve(self):
        """A copy with every `None` filled in and the schedule scaled to `epochs`.

        Resolving a resolved config changes nothing.
        """
        from keras_lt.training.methods import get_method

        self.validate()
        d = dataset_defaults(self.dataset, self.method)
        c = dataclasses.replace(self)
        # Whole numbers by validate(); a JSON config may hold them as 5.0.
        for name, _ in WHOLE_NUMBER_SETTINGS:
            if getattr(c, name) is not None:
                setattr(c, name, int(getattr(c, name)))
        epochs = int(c.epochs or d.epochs)
        c.epochs = epochs
        if c.imbalance is None:
            c.imbalance = d.imbalance
        if c.ratio is None:
            c.ratio = d.ratio
        for name in ("backbone", "image_size", "batch_size", "lr", "weight_decay",
                     "momentum", "shot_many", "shot_few"):
            if getattr(c, name) is None:
                setattr(c, name, getattr(d, name))
        if c.warmup_epochs is None:
            c.warmup_epochs = (
                0 if d.warmup_epochs == 0
                else max(1, scale_epoch(d.warmup_epochs, epochs, d.epochs))
            )
        if c.milestones is None:
            if c.lr_factors is not None and len(c.lr_factors) != len(d.milestones):
                raise ValueError("Give --milestones together with --lr-factors.")
            c.milestones, default_factors = scale_schedule(
                d.milestones, c.lr_factors or d.lr_factors, epochs, d.epochs
            )
            if c.lr_factors is None:
                c.lr_factors = default_factors
        elif c.lr_factors is None:
            if len(c.milestones) != len(d.lr_factors):
                raise ValueError(
                    f"--milestones {c.milestones} needs --lr-factors (one per milestone)."
                )
            c.lr_factors = list(d.lr_factors)
        c.milestones = [int(m) for m in c.milestones]
        c.lr_factors = [float(f) for f in c.lr_factors]
        if c.backend is None:
            import keras

            c.backend = keras.config.backend()
        get_method(c.method).resolve_hyperparameters(c, d)
        if c.run_name is None:
            c.run_name = c.default_run_name()
        return c.validate()

    def learning_rate_schedule(self):
        """`(milestones, factors)` of the run's learning rate, phase included.

        `milestones` / `lr_factors` with, from `phase_epoch` on, every factor
        multiplied by `phase_lr_factor` (when set): see `with_phase_factor`.
        Call on a resolved config.
        """
        if self.phase_lr_factor is None or self.phase_epoch is None:
            return list(self.milestones), list(self.lr_factors)
        return with_phase_factor(self.milestones, self.lr_factors, self.phase_epoch,
                                 self.phase_lr_factor)

    @property
    def defaults(self):
        """The dataset's defaults as this run's method sees them (METHOD_SETTINGS)."""
        return dataset_defaults(self.dataset, self.method)

    @property
    def num_classes(self):
        return self.defaults.num_classes

    def default_run_name(self):
        """<dataset>-<imbalance><ratio>-<method>-e<epochs>-s<seed>, e.g.
        cifar10-exp100-ldam-drw-e200-s0 (step data with another minority
        fraction than 0.5 adds -mu<fraction>). Runs that differ in the data,
        the method, the length or the seed get folders of their own; other
        settings (beta, lr, ...) are not in the name.
        """
        c = self if self.epochs is not None and self.imbalance is not None else self.resolve()
        return f"{c.data_name()}-{c.method}-e{c.epochs}-s{c.seed}"

    def data_name(self):
        """<dataset>-<imbalance><ratio>, e.g. cifar10-exp100 (step data with
        another minority fraction than 0.5 adds -mu<fraction>): the data part
        of the default run and search project names."""
        resolved = self.imbalance is not None and (self.ratio is not None
                                                   or self.imbalance == "natural")
        c = self if resolved else self.resolve()
        imbalance = c.imbalance
        if c.ratio is not None and c.imbalance != "natural":
            imbalance += f"{c.ratio:.12g}"
        if c.imbalance == "step" and c.minority_fraction != MINORITY_FRACTION:
            imbalance += f"-mu{c.minority_fraction:.12g}"
        return f"{c.dataset}-{imbalance}"

    def legacy_run_name(self):
        """The default folder name before 2026-12-05, <dataset>-<imbalance>-<method>:
        `train --resume` looks there so that an older run is not restarted."""
        return f"{self.dataset}-{self.imbalance}-{self.method}"

    @property
    def run_dir(self):
        """<output_dir>/<run_name>/ (`default_run_name()` when no name is given)."""
        return os.path.join(self.output_dir, self.run_name or self.default_run_name())

    # ----------------------------------------------------------- round trip
    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self, path=None):
        """The config as JSON text; also written to `path` when given."""
        text = json.dumps(self.to_dict(), indent=2, sort_keys=True)
        if path is not None:
            with open(path, "w") as f:
                f.write(text + "\n")
        return text

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown TrainConfig settings: {unknown}.")
        return cls(**values)

    @classmethod
    def from_json(cls, text_or_path):
        """From JSON text or the path of a `config.json`; a setting the file
        lacks because it was written before the setting existed takes the
        value its run trained with (`with_settings_before_they_existed`)."""
        text = text_or_path
        if not text_or_path.lstrip().startswith("{"):
            with open(text_or_path) as f:
                text = f.read()
        return cls.from_dict(with_settings_before_they_existed(json.loads(text)))


# Settings added after runs had saved their config.json, as
# {(method, setting): the value every run before then trained with}: the
# default changed when the setting came (ib-focal's q became the reference
# code's p_y^{w_y} on 2026-12-06; before, and in configs without the key, p_y).
SETTINGS_BEFORE_THEY_EXISTED = {("ib-focal", "focal_probability"): "softmax"}
# What tells a config.json the library wrote from a hand-written one: every file
# `to_json` has written holds these run settings (all there since 2026-11-23).
# Fixed, not `RUN_SETTINGS`, which may grow: a file saved before a new run
# setting came is still a saved file.
WRITTEN_BY_THE_LIBRARY = ("data_dir", "output_dir", "run_name", "resume", "strategy", "monitor",
                          "verbose", "backend")


def with_settings_before_they_existed(values):
    """`values` (a config.json's dict) with each setting of
    `SETTINGS_BEFORE_THEY_EXISTED` that it lacks set to the value its run
    trained with; a key present, even as null, is kept.

    Only a config.json the library wrote is filled in: it holds all of
    `WRITTEN_BY_THE_LIBRARY`. A hand-written `--config` that leaves a setting
    out means the default, as a flag left out does.
    """
    values = dict(values)
    if not set(WRITTEN_BY_THE_LIBRARY) <= set(values):
        return values
    for (method, key), value in SETTINGS_BEFORE_THEY_EXISTED.items():
        if values.get("method") == method and key not in values:
            values[key] = value
    return values
