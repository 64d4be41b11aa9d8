"""The method table: what each `--method` name means.

For every method: the loss (and its arguments), the classifier head, the
callbacks that switch phases mid-training, the sampler and whether the model
weakens major-class features. Defaults follow the papers
(../shared/METHODS.md); a `TrainConfig` setting given explicitly wins.

    method     loss                          head        extra
    erm        cross-entropy                 dense
    rw         inverse-frequency weighted CE dense
    rs         cross-entropy                 dense       class-balanced sampler
    focal      focal (softmax, gamma 1)      dense
    cb-softmax class-balanced softmax CE     dense       beta 0.9999 (per dataset and ratio)
    cb-sigmoid class-balanced sigmoid BCE    prior bias  beta 0.9999 (per dataset and ratio)
    cb-focal   class-balanced sigmoid focal  prior bias  beta 0.9999, gamma 1 (CIFAR-10-LT 100;
                                                         per dataset and ratio, Cui Table 2)
    ldam       LDAM (margin 0.5, s 30)       cosine
    ldam-drw   LDAM + DRW                    cosine      DRW at 160/200
    erm-drw    CE + DRW                      dense       DRW at 160/200
    ib         CE, then IB (alpha 1000)      dense       IB from 100/200, LR x0.01 there (CIFAR)
    ib-cb      CE, then IB with CB weights   dense       IB from 100/200, LR x0.01 there (CIFAR)
    ib-focal   CE, then IB with focal        dense       IB from 100/200, LR x0.01 there (CIFAR)
    cdt        class-dependent temperatures  dense       gamma per dataset
    mfw        CE                            dense       feature weakening (after stage1)
    mfw-drw    CE + DRW                      dense       weakening, DRW at 80%

Papers: Cui et al. 2019 (CB), Cao et al. 2019 (LDAM, DRW), Park et al. 2021
(IB), Ye et al. 2020 (CDT), Ye, Zhan, Chao 2021 (MFW).
"""

import dataclasses

import numpy as np

from keras_lt.training.config import cb_table2, inside_run, scale_epoch

# Paper defaults shared by several methods.
CB_BETA = 0.9999  # the DRW beta of Cao et al.; ib-cb's (Park et al.)
FOCAL_GAMMA = 1.0  # focal (Cao et al.'s focal row); IB + focal
# cb-*'s beta and cb-focal's gamma are per dataset (config.DatasetDefaults:
# 0.9999 and 1.0, Cui et al.'s best on CIFAR-10-LT; METHOD_SETTINGS for others)
# and, at the ratios of Cui et al.'s Table 2, per ratio (config.CB_TABLE2).
LDAM_MAX_MARGIN = 0.5
LDAM_SCALE = 30.0
IB_ALPHA = 1000.0
# IB + focal's q in (1 - q)^gamma: the reference code's p_y^{w_y}
# ("class_weighted", see IBLoss), which trained the paper's 79.76; p_y, as in
# FocalLoss, is "softmax" (the recipes' default until 2026-12-06).
IB_FOCAL_PROBABILITY = "class_weighted"
# IB's phase: from epoch 100 of 200 on CIFAR at 0.01 x the schedule's rate,
# as the reference code (pseulki/IB-Loss adjust_learning_rate;
# `config.with_phase_factor`); Park et al.'s own schedules on Tiny-ImageNet and
# iNaturalist (sec. 4.1) are in config.METHOD_SETTINGS.
MFW_ALPHA = 2.0  # Beta(alpha, alpha) of Ye, Zhan, Chao 2021 sec. 4
MFW_BETA = {"exp": 2.0, "natural": 2.0, "step": 0.01}
# "After the second group of convolutions" (sec. 5.1), the stem being the
# first: the first residual stage. Table 5 tries every group.
MFW_LAYER = "stage1"
MFW_DRW_START = 0.8  # "DRW after training 80% of epochs"


@dataclasses.dataclass(frozen=True)
class Method:
    """One row of the method table.

    Attributes:
        name: the `--method` name.
        loss: key of the loss family ("ce", "rw", "focal", "cb", "ldam",
            "ib", "cdt").
        head: "dense", "cosine" (normalised, LDAM) or "prior_bias" (dense
            whose bias starts at -log((1 - pi) / pi), pi = 1/C, for the
            sigmoid-based losses).
        sampler: "shuffle" or "class_balanced".
        drw: whether deferred re-weighting switches class weights on.
        feature_weakening: whether the model mixes major-class features (MFW).
        hyperparameters: the `TrainConfig` fields this method reads.
        loss_type: ClassBalancedLoss's loss_type ("softmax"/"sigmoid"/"focal")
            or IB's variant ("ce", "cb", "focal").
        summary: one line for `--help`.
    """

    name: str
    loss: str
    head: str = "dense"
    sampler: str = "shuffle"
    drw: bool = False
    feature_weakening: bool = False
    hyperparameters: tuple = ()
    loss_type: str = ""
    summary: str = ""

    def resolve_hyperparameters(self, config, dataset_defaults):
        """Fills the method's hyper-parameters of `config` (in place) from the papers."""
        d, epochs = dataset_defaults, config.epochs
        defaults = {}
        if self.drw or self.loss_type == "cb":
            defaults["beta"] = CB_BETA
        if self.loss == "focal" or self.loss_type == "focal":
            defaults["gamma"] = FOCAL_GAMMA
        if self.loss == "cb":  # the class-balanced loss's per-dataset setting
            defaults["beta"] = d.cb_beta
            if self.loss_type == "focal":
                defaults["gamma"] = d.cb_gamma
            # Cui et al.'s Table 2 best, at its ratios, for the loss type that won there.
            defaults.update(cb_table2(config.dataset, config.imbalance, config.ratio,
                                      self.loss_type))
        if self.loss == "ldam":
            defaults["max_margin"] = LDAM_MAX_MARGIN
            defaults["scale"] = LDAM_SCALE
        if self.loss == "ib":
            defaults["alpha"] = IB_ALPHA
            defaults["phase_epoch"] = inside_run(round(d.ib_start * epochs), epochs)
            defaults["phase_lr_factor"] = d.ib_phase_lr_factor
            if self.loss_type == "focal":
                defaults["focal_probability"] = IB_FOCAL_PROBABILITY
        if self.loss == "cdt":
            defaults["gamma"] = d.cdt_gamma
            defaults["phase_epoch"] = inside_run(round(d.cdt_delay * epochs), epochs)
        if self.feature_weakening:
            defaults["alpha"] = MFW_ALPHA
            defaults["mfw_beta"] = MFW_BETA[config.imbalance]
            defaults["mfw_layer"] = MFW_LAYER
        if self.drw:
            defaults["drw_epoch"] = (
                inside_run(round(MFW_DRW_START * epochs), epochs) if self.feature_weakening
                else scale_epoch(d.drw_epoch, epochs, d.epochs)
            )
        for name, value in defaults.items():
            if getattr(config, name) is None:
                setattr(config, name, value)
        # Settings this method does not read stay None in config.json, so the
        # file says exactly what mattered.
        unused = [name for name in ALL_HYPERPARAMETERS
                  if name not in self.hyperparameters and getattr(config, name) is not None]
        if unused:
            raise ValueError(
                f"Method {self.name!r} does not use {', '.join(f'`{n}`' for n in unused)} "
                f"(it reads: {', '.join(f'`{n}`' for n in self.hyperparameters) or 'nothing'})."
            )
        return config

    # ------------------------------------------------------------- building
    def build_loss(self, config, class_counts):
        """The compiled loss for a resolved `config` and the training counts.

        Losses whose weights or phase a callback switches start in their first
        phase: DRW methods with unit class weights, IB with `ib_active` 0, a
        delayed CDT with gamma 0.
        """
        from keras_lt import losses

        counts = np.asarray(class_counts)
        num_classes = counts.size
        if self.loss == "ce":
            return losses.WeightedCrossEntropy(num_classes=num_classes)
        if self.loss == "rw":
            return losses.WeightedCrossEntropy(losses.inverse_frequency_weights(counts))
        if self.loss == "focal":
            return losses.FocalLoss(gamma=config.gamma, num_classes=num_classes)
        if self.loss == "cb":
            gamma = config.gamma if self.loss_type == "focal" else FOCAL_GAMMA
            return losses.ClassBalancedLoss(
                counts, beta=config.beta, loss_type=self.loss_type, gamma=gamma
            )
        if self.loss == "ldam":
            return losses.LDAMLoss(counts, max_margin=config.max_margin, scale=config.scale)
        if self.loss == "ib":
            variant = {
                "ce": {},
                "cb": {"weighting": "effective_number", "beta": config.beta},
                "focal": {"base_loss": "focal", "gamma": config.gamma,
                          "focal_probability": config.focal_probability},
            }[self.loss_type]
            return losses.IBLoss(
                counts, alpha=config.alpha, start_active=config.phase_epoch == 0, **variant
            )
        if self.loss == "cdt":
            gamma = 0.0 if config.phase_epoch else config.gamma
            return losses.CDTLoss(counts, gamma=gamma)
        raise AssertionError(self.loss)

    def build_callbacks(self, config, class_counts, verbose=0):
        """The callbacks that switch this method's phases (may be empty)."""
        from keras_lt import callbacks

        out = []
        if self.drw:
            out.append(callbacks.DeferredReweighting(
                class_counts, start_epoch=config.drw_epoch, beta=config.beta, verbose=verbose))
        if self.loss == "ib" and config.phase_epoch:
            out.append(callbacks.PhaseSwitch(
                "ib_active", 1.0, start_epoch=config.phase_epoch, verbose=verbose))
        if self.loss == "cdt" and config.phase_epoch:
            out.append(callbacks.PhaseSwitch(
                "gamma", config.gamma, start_epoch=config.phase_epoch, initial_value=0.0,
                verbose=verbose))
        return out


ALL_HYPERPARAMETERS = (
    "beta", "gamma", "alpha", "max_margin", "scale", "mfw_beta", "mfw_layer", "drw_epoch",
    "phase_epoch", "phase_lr_factor", "focal_probability",
)

_MFW = ("alpha", "mfw_beta", "mfw_layer")

_DRW = ("beta", "drw_epoch")

METHODS = {
    m.name: m
    for m in [
        Method("erm", "ce", summary="plain cross-entropy (empirical risk minimisation)"),
        Method("rw", "rw", summary="cross-entropy re-weighted by inverse class frequency"),
        Method("rs", "ce", sampler="class_balanced",
               summary="cross-entropy on class-balanced re-sampled batches"),
        Method("focal", "focal", hyperparameters=("gamma",),
               summary="softmax focal loss (gamma 1)"),
        Method("cb-softmax", "cb", loss_type="softmax", hyperparameters=("beta",),
               summary="class-balanced softmax cross-entropy (beta per dataset and ratio)"),
        Method("cb-sigmoid", "cb", head="prior_bias", loss_type="sigmoid",
               hyperparameters=("beta",),
               summary="class-balanced sigmoid cross-entropy (beta per dataset and ratio)"),
        Method("cb-focal", "cb", head="prior_bias", loss_type="focal",
               hyperparameters=("beta", "gamma"),
               summary="class-balanced sigmoid focal loss (beta, gamma per dataset and ratio)"),
        Method("ldam", "ldam", head="cosine", hyperparameters=("max_margin", "scale"),
               summary="LDAM margins on a cosine head (max margin 0.5, s 30)"),
        Method("ldam-drw", "ldam", head="cosine", drw=True,
               hyperparameters=("max_margin", "scale") + _DRW,
               summary="LDAM + deferred re-weighting at the main LR decay"),
        Method("erm-drw", "ce", drw=True, hyperparameters=_DRW,
               summary="cross-entropy + deferred re-weighting at the main LR decay"),
        Method("ib", "ib", loss_type="ce",
               hyperparameters=("alpha", "phase_epoch", "phase_lr_factor"),
               summary="cross-entropy, then influence-balanced loss from mid-training"),
        Method("ib-cb", "ib", loss_type="cb",
               hyperparameters=("alpha", "beta", "phase_epoch", "phase_lr_factor"),
               summary="IB with class-balanced (effective number) weights"),
        Method("ib-focal", "ib", loss_type="focal",
               hyperparameters=("alpha", "gamma", "focal_probability", "phase_epoch",
                                "phase_lr_factor"),
               summary="IB with a focal second phase (gamma 1)"),
        Method("cdt", "cdt", hyperparameters=("gamma", "phase_epoch"),
               summary="class-dependent temperatures (gamma per dataset)"),
        Method("mfw", "ce", feature_weakening=True, hyperparameters=_MFW,
               summary="major feature weakening (after the first residual stage by default)"),
        Method("mfw-drw", "ce", feature_weakening=True, drw=True,
               hyperparameters=_MFW + _DRW,
               summary="major feature weakening + DRW after 80% of the epochs"),
    ]
}


def get_method(name):
    """The `Method` called `name`, or a ValueError listing the valid names."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(
            f"Unknown method {name!r}. Valid methods: {', '.join(METHODS)}."
        ) from None
