"""Models for long-tailed classification: `LongTailModel`, backbones, heads, MFW.

    build_model(backbone="resnet32", num_classes=10, head="dense"|"cosine"|"prior_bias",
                feature_weakening=None, augmentation=None, ...)  -> LongTailModel
    LongTailModel(backbone, head, feature_weakening=None, augmentation=None)
    MajorFeatureWeakening(class_counts, alpha=2.0, scale=2.0, after="stage1", seed=None)
    cifar_resnet(depth), resnet20/32/44/56/110, resnet18, resnet50
    NormalizedDense(units), FusedBatchNormalization (Keras's, one fused op on TF),
    classification_head(num_classes, kind, prior_bias)
"""

from keras_lt.models.basic_block import BasicBlock
from keras_lt.models.basic_block import ZeroPadShortcut
from keras_lt.models.build_model import build_backbone
from keras_lt.models.build_model import build_model
from keras_lt.models.cifar_resnet import cifar_resnet
from keras_lt.models.cifar_resnet import resnet20
from keras_lt.models.cifar_resnet import resnet32
from keras_lt.models.cifar_resnet import resnet44
from keras_lt.models.cifar_resnet import resnet56
from keras_lt.models.cifar_resnet import resnet110
from keras_lt.models.classification_head import classification_head
from keras_lt.models.classification_head import prior_bias_value
from keras_lt.models.feature_weakening import MajorFeatureWeakening
from keras_lt.models.fused_batch_normalization import FusedBatchNormalization
from keras_lt.models.feature_weakening import mfw_class_weights
from keras_lt.models.long_tail_model import LongTailModel
from keras_lt.models.normalized_dense import NormalizedDense
from keras_lt.models.resnet18 import resnet18
from keras_lt.models.resnet50 import resnet50
from keras_lt.models.weight_decay import add_l2_weight_decay

__all__ = [
    "BasicBlock",
    "FusedBatchNormalization",
    "LongTailModel",
    "MajorFeatureWeakening",
    "NormalizedDense",
    "ZeroPadShortcut",
    "add_l2_weight_decay",
    "build_backbone",
    "build_model",
    "cifar_resnet",
    "classification_head",
    "mfw_class_weights",
    "prior_bias_value",
    "resnet110",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet44",
    "resnet50",
    "resnet56",
]
