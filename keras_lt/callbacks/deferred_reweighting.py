"""`DeferredReweighting`: class-balanced weights from a given epoch (DRW)."""

import warnings

import numpy as np

import keras

from keras_lt.callbacks.loss_state import assign_if_changed
from keras_lt.callbacks.loss_state import find_state_variables
from keras_lt.callbacks.loss_state import refresh_step_functions
from keras_lt.checks import whole_number
from keras_lt.losses.class_weights import effective_number_weights
from keras_lt.losses.class_weights import validate_beta
from keras_lt.losses.class_weights import validate_class_counts


def _validate_weights(weights, num_classes, name):
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (num_classes,):
        raise ValueError(
            f"`{name}` must have one weight per class, shape ({num_classes},), "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"`{name}` must be finite and >= 0, got {weights.tolist()}.")
    return weights.astype(np.float32)


class DeferredReweighting(keras.callbacks.Callback):
    """Deferred re-weighting (DRW): class-balanced weights from `start_epoch`.

    Before `start_epoch` (0-based) the loss's `class_weights` variable holds
    `initial_weights` (ones: the plain, unweighted loss); from `start_epoch` on
    it holds the class-balanced weights

        E_n = (1 - beta^n) / (1 - beta),  w_c = (1 / E_{n_c}) * C / sum_k (1 / E_{n_k})

    (`keras_lt.losses.effective_number_weights`; beta 0.9999 in the
    reference), or `weights_fn(class_counts)`. LDAM-DRW switches at the last
    learning-rate decay but one: epoch 160 of 200 (reference code:
    `idx = epoch // 160; betas = [0, 0.9999]`); MFW-DRW after 80 % of the
    epochs.

    The weights are a function of the epoch only, set in every
    `on_epoch_begin`: a run resumed at any epoch (`ResumableCheckpoint`)
    gets exactly the weights an uninterrupted run has there, whatever
    happened before. The change reaches the compiled step on every backend
    (see `keras_lt.callbacks.loss_state`: on JAX the step is re-traced when
    the model does not track the variable).

    The loss is found through `model.loss` (every compiled loss with a
    `class_weights` variable: `WeightedCrossEntropy`, `LDAMLoss`,
    `FocalLoss`, `ClassBalancedLoss`, `IBLoss`), or passed as `loss`. With a
    `PhaseSwitch` that swaps the loss object, list the `PhaseSwitch` first so
    that the weights go to the new loss.

    Args:
        class_counts: per-class training counts `[C]`.
        start_epoch: first epoch (0-based) with re-weighting (160).
        beta: effective-number beta (0.9999); ignored with `weights_fn`.
        weights_fn: optional `fn(class_counts) -> [C] weights` instead of the
            effective-number weights (e.g. `inverse_frequency_weights`).
        initial_weights: weights before `start_epoch` (default ones).
        loss: optional loss object (or list) to act on instead of `model.loss`.
        verbose: 1 prints a line when the weights change.

    Example:

    ```python
    loss = keras_lt.LDAMLoss(counts)
    model.compile(optimizer=keras_lt.schedules.sgd_optimizer(steps), loss=loss)
    model.fit(data, epochs=200,
              callbacks=[keras_lt.callbacks.DeferredReweighting(counts, start_epoch=160)])
    ```

    Paper: Cao et al., "Learning Imbalanced Datasets with Label-Distribution-
    Aware Margin Loss", NeurIPS 2019, sec. 3.3 and Algorithm 1.
    """

    def __init__(
        self,
        class_counts,
        start_epoch=160,
        beta=0.9999,
        weights_fn=None,
        initial_weights=None,
        loss=None,
        verbose=0,
    ):
        super().__init__()
        self.class_counts = validate_class_counts(class_counts)
        self.start_epoch = whole_number(start_epoch, "start_epoch")
        self.beta = validate_beta(beta)
        self.weights_fn = weights_fn
        num_classes = self.class_counts.size
        if weights_fn is not None:
            weights = weights_fn(self.class_counts)
        else:
            weights = effective_number_weights(self.class_counts, self.beta)
        self.weights = _validate_weights(weights, num_classes, "weights")
        self.initial_weights = _validate_weights(
            np.ones(num_classes) if initial_weights is None else initial_weights,
            num_classes,
            "initial_weights",
        )
        self.loss = loss
        self.verbose = verbose

    def weights_at(self, epoch):
        """The class weights in force during `epoch` (0-based)."""
        return self.weights if epoch >= self.start_epoch else self.initial_weights

    def on_train_begin(self, logs=None):
        epochs = (self.params or {}).get("epochs")
        if epochs is not None and self.start_epoch >= epochs:
            warnings.warn(
                f"DeferredReweighting: start_epoch {self.start_epoch} is at or after the end "
                f"of this fit (epochs 0..{epochs - 1}, 0-based): the class weights never "
                "change.",
                stacklevel=2,
            )
        # Without a loss to re-weight, on_epoch_begin raises only at start_epoch
        # (a PhaseSwitch may swap such a loss in before): say so now.
        if not find_state_variables(self.model, "class_weights", self.loss):
            warnings.warn(
                "DeferredReweighting: no compiled loss has a `class_weights` "
                f"variable (model.loss is {getattr(self.model, 'loss', None)!r}). "
                f"Unless a PhaseSwitch swaps one in, training stops with an error "
                f"at epoch {self.start_epoch + 1}.",
                stacklevel=2,
            )

    def on_epoch_begin(self, epoch, logs=None):
        pairs = find_state_variables(self.model, "class_weights", self.loss)
        if not pairs:
            if epoch < self.start_epoch:
                return  # nothing to re-weight yet (e.g. a loss swapped in later)
            raise ValueError(
                "DeferredReweighting found no loss with a `class_weights` "
                "variable (model.loss is "
                f"{getattr(self.model, 'loss', None)!r}). Compile with a keras_lt "
                "loss that has class weights (WeightedCrossEntropy, LDAMLoss, "
                "FocalLoss, ClassBalancedLoss, IBLoss) or pass `loss=`."
            )
        weights = self.weights_at(epoch)
        changed = [v for _, v in pairs if assign_if_changed(v, weights)]
        if changed:
            refresh_step_functions(self.model, changed)
            if self.verbose:
                phase = "class-balanced" if epoch >= self.start_epoch else "initial"
                print(f"\nEpoch {epoch + 1}: DeferredReweighting set {phase} class weights.")
