"""Callbacks: phase switches (DRW, IB, CDT's gamma, loss swaps) and exact resume."""

from keras_lt.callbacks.deferred_reweighting import DeferredReweighting
from keras_lt.callbacks.loss_state import replace_loss
from keras_lt.callbacks.phase_switch import PhaseSwitch
from keras_lt.callbacks.resumable_checkpoint import ResumableCheckpoint

__all__ = ["DeferredReweighting", "PhaseSwitch", "ResumableCheckpoint", "replace_loss"]
