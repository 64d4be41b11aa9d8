"""How long does `fit` (TensorFlow backend) stand still at each epoch start? ArrayDataset vs tf.data.

The recipe's training data are in-memory arrays. Keras hands a `PyDataset`
(keras_lt's `ArrayDataset`) to TensorFlow through `Dataset.from_generator` and
makes a new iterator every epoch; keras_lt now feeds TensorFlow an endless
tf.data dataset of the same batches instead (`experiment.feeds_tf_data`). This
script trains the same ResNet-32 (augmentation in the model, as the recipe)
on both inputs, alternating A, B, A, B, ..., and records per epoch

    start gap = (end of the epoch's first step) - (on_epoch_begin) - (median step)

i.e. the time before the first step that is not the step itself, and the
epoch's wall time. Usage (CPU, a few minutes at the defaults):

    KERAS_BACKEND=tensorflow python benchmarks/epoch_starts.py --data-dir .data/cifar10 \
        --epochs 6 --steps 20 --rounds 2 --json runs/epoch_starts.json
"""

import argparse
import json
import os
import statistics
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None,
                        help="CIFAR-10 image folder (train/, test/); else synthetic data")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per fit call")
    parser.add_argument("--steps", type=int, default=20,
                        help="batches per epoch (a subset of CIFAR-10-LT, so that epochs are short)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="fit calls per input (alternating)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


class EpochClock:
    """Per epoch: wall time, time to the end of the first step, step times."""

    def __init__(self):
        import keras

        clock = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                clock.epochs.append({"begin": time.perf_counter(), "steps": []})
                clock._last = clock.epochs[-1]["begin"]

            def on_train_batch_end(self, batch, logs=None):
                now = time.perf_counter()
                clock.epochs[-1]["steps"].append(now - clock._last)
                clock._last = now

            def on_epoch_end(self, epoch, logs=None):
                clock.epochs[-1]["wall"] = time.perf_counter() - clock.epochs[-1]["begin"]

        self.callback = Callback()
        self.epochs = []

    def summary(self, skip_first=True):
        epochs = self.epochs[1:] if skip_first else self.epochs  # the first one compiles
        step = statistics.median(s for e in epochs for s in e["steps"][1:])
        gaps = [e["steps"][0] - step for e in epochs]
        return {"median_step_s": step, "start_gaps_s": gaps,
                "epoch_walls_s": [e["wall"] for e in epochs]}


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import keras
    import numpy as np

    from input_pipeline import load_data, resnet32
    from keras_lt.data import ArrayDataset, cifar_augmentation, make_tf_dataset

    if keras.backend.backend() != "tensorflow":
        raise SystemExit("This measures the TensorFlow backend's input: set KERAS_BACKEND=tensorflow.")
    train, source = load_data(args.data_dir)
    n = args.steps * args.batch_size
    subset = train.subset(np.random.default_rng(0).permutation(len(train))[:n])
    backbone, model_source = resnet32()
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, backbone(cifar_augmentation(seed=0)(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def inputs_of(name):
        if name == "ArrayDataset":
            return ArrayDataset(subset, batch_size=args.batch_size, seed=0)
        return make_tf_dataset(subset, batch_size=args.batch_size, seed=0)

    results = {"data": f"{n} images of CIFAR-10-LT rho=100 ({source})", "model": model_source,
               "cpu_count": os.cpu_count(), "load_average_before": os.getloadavg(),
               "epochs_per_fit": args.epochs, "steps_per_epoch": args.steps, "inputs": {}}
    for _ in range(args.rounds):
        for name in ("ArrayDataset", "tf.data"):
            clock = EpochClock()
            model.fit(inputs_of(name), epochs=args.epochs, steps_per_epoch=args.steps,
                      shuffle=False, verbose=0, callbacks=[clock.callback])
            runs = results["inputs"].setdefault(name, [])
            runs.append(clock.summary())
    results["load_average_after"] = os.getloadavg()
    print(f"{results['data']}; {args.steps} steps x {args.epochs} epochs per fit, "
          f"{args.rounds} fits per input; load average {results['load_average_before'][0]:.2f}"
          f" -> {results['load_average_after'][0]:.2f}")
    print(f"{'input':14s} {'median step':>12s} {'start gap: median':>18s} {'max':>8s} "
          f"{'epoch: median':>14s} {'max':>8s}")
    for name, runs in results["inputs"].items():
        gaps = [g for r in runs for g in r["start_gaps_s"]]
        walls = [w for r in runs for w in r["epoch_walls_s"]]
        step = statistics.median(r["median_step_s"] for r in runs)
        print(f"{name:14s} {step:11.3f}s {statistics.median(gaps):17.3f}s {max(gaps):7.3f}s "
              f"{statistics.median(walls):13.2f}s {max(walls):7.2f}s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
