"""`MFWHyperModel`: major feature weakening's Beta(alpha, alpha) and its layer.

Ye, Zhan, Chao, "Procrustean Training for Imbalanced Deep Learning", ICCV
2021: during training, after an intermediate block g, every sample's
feature is mixed with another sample's, z~ = (1 - l) g(x_1) + l g(x_2),
l = s(n_{y_1}) Beta(alpha, alpha). alpha "is tuned on a held-out split"
(2.0 in the illustrative experiment, sec. 3); Table 5 applies MFW after
each group of convolutions (the stem, then each residual stage) and finds
the intermediate ones best, the default being after the first residual
stage ("after the second group of convolutions").

    alpha      0.5, 1.0, 2.0, 4.0
    mfw_layer  the backbone's blocks before the pooling
               (`keras_lt.training.config.backbone_blocks`): stem, stage1,
               stage2, stage3 for the CIFAR ResNets, up to stage4 for
               ResNet-18/50, stem, stage1, stage2 for the digits net

Both are `TrainConfig` fields (`alpha`, `mfw_layer`), so the best trial
retrains with `keras-lt train --alpha A --mfw-layer L` unchanged. Pin the
layer with `search_space={"mfw_layer": ["stage1"]}` (or `--fixed mfw_layer=stage1`)
to tune alpha alone.
"""

from keras_lt.training.config import backbone_blocks
from keras_lt.training.methods import MFW_LAYER
from keras_lt.tuning.base_hypermodel import LongTailHyperModel

ALPHAS = (0.5, 1.0, 2.0, 4.0)
DEFAULT_LAYER = MFW_LAYER

__all__ = ["ALPHAS", "DEFAULT_LAYER", "MFWHyperModel", "backbone_blocks"]


class MFWHyperModel(LongTailHyperModel):
    """Tunes major feature weakening (Ye, Zhan, Chao, ICCV 2021): alpha and the layer."""

    methods = ("mfw", "mfw-drw")
    main_hyperparameter = "alpha"

    def default_space(self):
        return {"alpha": ALPHAS, "mfw_layer": backbone_blocks(self.config.backbone)}

    def check_space(self, space):
        super().check_space(space)
        blocks = backbone_blocks(self.config.backbone)
        unknown = [b for b in space["mfw_layer"] if b not in blocks]
        if unknown:
            raise ValueError(
                f"`mfw_layer` values must be blocks of {self.config.backbone}: "
                f"{', '.join(blocks)}; got {unknown}."
            )
