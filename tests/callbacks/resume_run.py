"""One training run for the kill-and-resume test (run as a script, any backend).

    python resume_run.py MODEL MODE CKPT_DIR OUT_NPZ [KILL_EPOCH]

MODEL "plain": a functional keras.Model (the loss state is not model state:
on JAX every change re-traces the step); "longtail": a LongTailModel (it
tracks the loss state as its own variables; its last loss is IBLoss, which
needs the features).

MODE "full": 7 epochs without a checkpoint; "kill": with a checkpoint,
SIGKILLs itself at the end of KILL_EPOCH (after the checkpoint is written);
"resume": the same script with the checkpoint, continuing where it stopped.
Writes the final weights, optimizer variables and history to OUT_NPZ.

The run has everything a resume can get wrong: dropout (random state), a
warm-up + step-decay schedule on a momentum optimizer with coupled weight
decay (optimizer state, iterations), a CDT gamma switch at epoch 1 and a
loss swap (CDT -> LDAM) at epoch 2 before the kill, DRW from epoch 3 (the
kill epoch) and a second loss swap (LDAM -> weighted CE or IB, with the
DRW weights) at epoch 5 after it.
"""

import os
import signal
import sys

import numpy as np

import keras

from keras_lt.callbacks import DeferredReweighting
from keras_lt.callbacks import PhaseSwitch
from keras_lt.callbacks import ResumableCheckpoint
from keras_lt.losses import CDTLoss
from keras_lt.losses import LDAMLoss
from keras_lt.losses import WeightedCrossEntropy
from keras_lt.schedules import sgd_optimizer

EPOCHS = 7
BATCH = 16
COUNTS = np.array([24, 14, 6, 4])


class KillAtEpochEnd(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


def data():
    rng = np.random.default_rng(123)
    y = np.repeat(np.arange(COUNTS.size), COUNTS).astype("int32")
    x = rng.normal(size=(y.size, 6)).astype("float32") + y[:, None] * 0.5
    order = rng.permutation(y.size)
    return x[order], y[order]


def build(kind):
    if kind == "plain":
        inputs = keras.Input((6,))
        h = keras.layers.Dense(16, activation="relu")(inputs)
        h = keras.layers.Dropout(0.3)(h)
        outputs = keras.layers.Dense(COUNTS.size)(h)
        return keras.Model(inputs, outputs), WeightedCrossEntropy(num_classes=COUNTS.size)
    from keras_lt.losses import IBLoss
    from keras_lt.models import LongTailModel

    backbone = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.3)]
    )
    model = LongTailModel(backbone, keras.layers.Dense(COUNTS.size, name="head"))
    model.build((None, 6))
    return model, IBLoss(COUNTS, alpha=1.0)


def main(kind, mode, ckpt_dir, out_path, kill_epoch=None):
    keras.utils.set_random_seed(7)
    x, y = data()
    model, last_loss = build(kind)
    steps = int(np.ceil(y.size / BATCH))
    model.compile(
        sgd_optimizer(steps, base_learning_rate=0.02, warmup_epochs=2, milestones=(4, 6),
                      factors=(0.1, 0.01)),
        loss=CDTLoss(COUNTS, gamma=0.0),
    )
    callbacks = []
    if mode != "full":
        callbacks.append(ResumableCheckpoint(ckpt_dir))
    callbacks += [
        PhaseSwitch(schedule={
            1: {"gamma": 0.3},
            2: {"loss": LDAMLoss(COUNTS)},
            5: {"loss": last_loss},
        }),
        DeferredReweighting(COUNTS, start_epoch=3, beta=0.99),
    ]
    if mode == "kill":
        callbacks.append(KillAtEpochEnd(int(kill_epoch)))
    history = model.fit(
        x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0, callbacks=callbacks
    )
    arrays = {f"w{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.weights)}
    arrays.update(
        {f"o{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(model.optimizer.variables)}
    )
    arrays["loss_history"] = np.asarray(history.history["loss"])
    arrays["class_weights"] = keras.ops.convert_to_numpy(model.loss.class_weights)
    arrays["final_loss_type"] = np.frombuffer(type(model.loss).__name__.encode(), np.uint8)
    np.savez(out_path, **arrays)


if __name__ == "__main__":
    main(*sys.argv[1:])
