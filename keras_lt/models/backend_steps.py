"""Per-backend gradient plumbing of `LongTailModel`'s training step.

Everything a step computes -- the forward pass with the penultimate features,
feature weakening, the loss -- is written once, backend-agnostic, in
`LongTailModel._loss_and_logits(x, y, sample_weight, training)`. What is left
here is how each backend gets gradients from it, in the shape of Keras's own
trainers (keras/src/backend/{tensorflow,jax,torch}/trainer.py):

* TensorFlow: record the shared computation on a `tf.GradientTape`, take the
  gradients, `optimizer.apply_gradients`. Under `tf.distribute` each replica
  runs this step; the loss is already divided by the number of replicas by
  the Keras reduction and is multiplied back for the logged value, as Keras
  does.
* PyTorch: the same step; gradients by `loss.backward()`.
  (TensorFlow and PyTorch share `_StatefulSteps.train_step`; only
  `_gradient_recorder`, `_gradients` and `_apply_gradients` differ.)
* JAX: the trainer's step is stateless: Keras's `JAXTrainer.train_step`
  differentiates `compute_loss_and_updates(trainable, non_trainable,
  metrics, x, y, ...)` with `jax.value_and_grad` and applies the optimizer
  statelessly. We override only `compute_loss_and_updates`: it runs the
  shared computation inside a `keras.StatelessScope` mapping every model
  variable to the value passed in, and returns the new non-trainable values
  (batch-norm statistics, the feature-weakening seed state) and metric
  values. The loss's state variables (class weights, IB phase, CDT gamma)
  are among the model's non-trainable variables (`LongTailModel.variables`),
  so they are inputs of the jitted step, not constants baked into it.
"""

import contextlib
import warnings

import keras
from keras import ops


def _batch_size(x):
    first = next(t for t in keras.tree.flatten(x) if t is not None)
    return ops.shape(first)[0]


class _StatefulSteps:
    """`train_step` / `test_step` of the stateful backends (TensorFlow, PyTorch)."""

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        recorder = self._gradient_recorder()
        with recorder:
            loss, logits = self._loss_and_logits(x, y, sample_weight, training=True)
            self._loss_tracker.update_state(
                self._unscale_loss_for_distribution(loss),
                sample_weight=_batch_size(x),
            )
            if self.optimizer is not None:
                loss = self.optimizer.scale_loss(loss)
        trainable_weights = self.trainable_weights[:]
        if trainable_weights:
            gradients = self._gradients(recorder, loss, trainable_weights)
            self._apply_gradients(gradients, trainable_weights)
        else:
            warnings.warn("The model does not have any trainable weights.")
        return self.compute_metrics(x, y, logits, sample_weight=sample_weight)

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        loss, logits = self._loss_and_logits(x, y, sample_weight, training=False)
        self._loss_tracker.update_state(
            self._unscale_loss_for_distribution(loss), sample_weight=_batch_size(x)
        )
        return self.compute_metrics(x, y, logits, sample_weight=sample_weight)

    def _unscale_loss_for_distribution(self, loss):
        return loss


class TensorFlowSteps(_StatefulSteps):
    """TensorFlow: gradients from a `tf.GradientTape`."""

    def _gradient_recorder(self):
        import tensorflow as tf

        return tf.GradientTape()

    def _gradients(self, tape, loss, variables):
        return tape.gradient(loss, variables)

    def _apply_gradients(self, gradients, variables):
        self.optimizer.apply_gradients(zip(gradients, variables))

    def _unscale_loss_for_distribution(self, loss):
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = loss * ops.cast(replicas, loss.dtype)
        return loss


class TorchSteps(_StatefulSteps):
    """PyTorch: gradients by `loss.backward()` (as Keras's `TorchTrainer`)."""

    def _gradient_recorder(self):
        self.zero_grad()
        return contextlib.nullcontext()

    def _gradients(self, recorder, loss, variables):
        loss.backward()
        return [v.value.grad for v in variables]

    def _apply_gradients(self, gradients, variables):
        import torch

        with torch.no_grad():
            self.optimizer.apply(gradients, variables)


class JaxSteps:
    """JAX: the stateless loss function that Keras's JAX `train_step` differentiates."""

    def compute_loss_and_updates(
        self,
        trainable_variables,
        non_trainable_variables,
        metrics_variables,
        x,
        y,
        sample_weight,
        training=False,
        optimizer_variables=None,
    ):
        mapping = list(zip(self.trainable_variables, trainable_variables))
        mapping.extend(zip(self.non_trainable_variables, non_trainable_variables))
        mapping.extend(zip(self.metrics_variables, metrics_variables))
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as scope:
            loss, logits = self._loss_and_logits(x, y, sample_weight, training=training)
        non_trainable_variables = [
            scope.get_current_value(v) for v in self.non_trainable_variables
        ]
        metrics_variables = [scope.get_current_value(v) for v in self.metrics_variables]
        unscaled_loss = loss
        if training and self.optimizer is not None:
            # Loss scaling reads the optimizer's (possibly dynamic) scale.
            optimizer_mapping = list(zip(self.optimizer.variables, optimizer_variables))
            with keras.StatelessScope(state_mapping=optimizer_mapping):
                loss = self.optimizer.scale_loss(loss)
        return loss, (unscaled_loss, logits, non_trainable_variables, metrics_variables)


class NoSteps:
    """Backends without training (numpy): Keras's own (absent) steps."""


def backend_steps():
    """The plumbing class of the current Keras backend."""
    return {
        "tensorflow": TensorFlowSteps,
        "jax": JaxSteps,
        "torch": TorchSteps,
    }.get(keras.backend.backend(), NoSteps)
