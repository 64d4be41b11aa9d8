"""Learning-rate schedule and optimizer of the papers' training recipe."""

from keras_lt.schedules.torch_style_sgd import TorchStyleSGD, sgd_optimizer
from keras_lt.schedules.warmup_step_decay import WarmupStepDecay, scale_milestones

__all__ = ["TorchStyleSGD", "WarmupStepDecay", "scale_milestones", "sgd_optimizer"]
