"""Test report of a recipe run's latest checkpoint, while the run is still training.

Benchmark helper, not part of keras_lt. A recipe run started with
`--no-monitor` shows no test accuracy until it ends, but it writes the full
training state after every epoch (`<run>/checkpoint/checkpoint.npz`,
keras_lt.callbacks.ResumableCheckpoint). This script rebuilds the run's model
from its config.json, restores a copy of that checkpoint (the run goes on
writing its own) and prints the test report of that epoch: top-1,
many/medium/few-shot and per class, i.e. what the per-epoch monitor would have
shown. Nothing is selected on it; it lets a long run be compared with another
run's monitored epochs before it ends.

    KERAS_BACKEND=tensorflow python benchmarks/evaluate_checkpoint.py \
        runs/lossless/png-exp100-mfw-drw-b0.1-e200-s0-tensorflow --json /tmp/epoch.json
"""

import argparse
import dataclasses
import json
import os
import shutil
import tempfile


def evaluate_checkpoint(run_dir, data_dir=None):
    """(epochs done, report) of the checkpoint in `run_dir`, on the run's test split."""
    from keras_lt.callbacks import ResumableCheckpoint
    from keras_lt.evaluation import evaluate_model
    from keras_lt.training import experiment
    from keras_lt.training.config import TrainConfig
    from keras_lt.training.methods import get_method

    source = ResumableCheckpoint(os.path.join(run_dir, experiment.CHECKPOINT_DIR)).path
    if not os.path.exists(source):
        raise SystemExit(f"{run_dir}: no checkpoint at {source}")
    config = TrainConfig.from_json(os.path.join(run_dir, experiment.CONFIG_FILE))
    if data_dir is not None:
        config = dataclasses.replace(config, data_dir=data_dir)
    config = config.resolve()
    method = get_method(config.method)
    data = experiment.load_data(config)
    if not experiment._is_arrays(data.test):  # as train() decides it
        raise SystemExit(f"{config.dataset}: the test split is not in memory; not supported here")
    with tempfile.TemporaryDirectory() as copy:
        shutil.copy(source, copy)  # a consistent file: the run replaces its own atomically
        model = experiment.compiled_model(config, method, data)
        epochs_done = experiment.restore_checkpoint(model, ResumableCheckpoint(copy))
    report = evaluate_model(model, data.test.x, data.test.y, train_counts=data.counts,
                            class_names=data.class_names, many=config.shot_many,
                            few=config.shot_few, seed=config.seed)
    return epochs_done, report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", help="a recipe run folder (config.json, checkpoint/)")
    parser.add_argument("--data-dir", help="the data, if not where config.json says")
    parser.add_argument("--json", help="also write {epochs_done, top1, groups, per_class} here")
    args = parser.parse_args(argv)
    epochs_done, report = evaluate_checkpoint(args.run_dir, args.data_dir)
    result = {"run_dir": args.run_dir, "epochs_done": epochs_done, "top1": report["top1"],
              "groups": report["groups"], "per_class": report["per_class"]}
    print(f"{args.run_dir}: after epoch {epochs_done}, test top-1 {100 * report['top1']:.2f} %")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
