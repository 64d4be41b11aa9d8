"""`MFWHyperModel`: major feature weakening's Beta(alpha, alpha) and its layer.

Ye, Zhan, Chao, "Procrustean Training for Imbalanced Deep Learning", ICCV
2021: during training, after an intermediate block g, every sample's
feature is mixed with another sample's, z~ = (1 - l) g(x_1) + l g(x_2),
l = s(n_{y_1}) Beta(alpha, alpha). alpha "is tuned on a held-out split"
(2.0 in the illustrative experiment, sec. 3); Table 5 compares the layer
("which group of convolutions"), the default being after the first
residual stage ("after the second group of convolutions").

    alpha      0.5, 1.0, 2.0, 4.0
    mfw_layer  the backbone's blocks before the pooling, e.g. stem, stage1,
               stage2, stage3 for the CIFAR ResNets (default stage1)

The layer is tuned when `TrainConfig` has an `mfw_layer` setting (the
retrain must be able to use it); otherwise its space is "stage1" only and
other values are refused with the reason.
"""

import dataclasses
import re

from keras_lt.tuning.base_hypermodel import LongTailHyperModel

ALPHAS = (0.5, 1.0, 2.0, 4.0)
DEFAULT_LAYER = "stage1"


def backbone_blocks(backbone):
    """Names of the blocks after which MFW can mix, for a backbone name."""
    if backbone == "small_cnn":
        return ("stem", "stage1", "stage2")
    match = re.fullmatch(r"resnet(\d+)", str(backbone))
    if match and int(match.group(1)) in (18, 50):
        return ("stem", "stage1", "stage2", "stage3", "stage4")
    if match:
        return ("stem", "stage1", "stage2", "stage3")
    raise ValueError(f"Unknown backbone {backbone!r} for MFW's layer.")


def layer_is_configurable():
    """Whether `TrainConfig` carries the MFW layer (so a retrain can use it)."""
    from keras_lt.training.config import TrainConfig

    return "mfw_layer" in {f.name for f in dataclasses.fields(TrainConfig)}


class MFWHyperModel(LongTailHyperModel):
    """Tunes major feature weakening (Ye, Zhan, Chao, ICCV 2021)."""

    methods = ("mfw", "mfw-drw")
    main_hyperparameter = "alpha"

    def default_space(self):
        layers = backbone_blocks(self.config.backbone) if layer_is_configurable() else (
            DEFAULT_LAYER,)
        return {"alpha": ALPHAS, "mfw_layer": layers}

    def check_space(self, space):
        super().check_space(space)
        blocks = backbone_blocks(self.config.backbone)
        unknown = [b for b in space["mfw_layer"] if b not in blocks]
        if unknown:
            raise ValueError(
                f"`mfw_layer` values must be blocks of {self.config.backbone}: {blocks}; "
                f"got {unknown}."
            )
        if not layer_is_configurable() and set(space["mfw_layer"]) != {DEFAULT_LAYER}:
            raise ValueError(
                "Tuning MFW's layer needs TrainConfig.mfw_layer, which this version of "
                "keras_lt.training does not have (the retrain could not use the best layer); "
                f"only {DEFAULT_LAYER!r} is available."
            )
