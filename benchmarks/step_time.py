"""Training-step time of every method against plain cross-entropy, same model.

    python benchmarks/step_time.py                       # TensorFlow, ResNet-32, batch 128
    python benchmarks/step_time.py --backend jax --rounds 5 --json step_time.json

A benchmark, not a test: it reports, for ResNet-32 on CIFAR-10-LT-shaped data
(32x32x3, 10 classes, rho = 100 counts), the median time of one training step
(the compiled train function, as `fit` runs it) for each method and its ratio to plain
cross-entropy through the same `LongTailModel`. Targets: the losses within 5%
of cross-entropy, IB and MFW (which change the forward pass / need the
features) within 10%. The row "keras-model" is plain cross-entropy on a plain
`keras.Sequential(backbone + head)`, Keras's own train_step: the overhead of
`LongTailModel` itself.

Timing: every model is built and traced first; then `--rounds` rounds run
`--steps` steps (`train_on_batch` on one resident batch) of every method in turn (interleaved, so that a slow phase of
a shared machine hits all methods alike), and the median over rounds of the
per-step time is reported, in wall-clock and in process CPU time (all
threads). The ratios use CPU time by default (`--clock`): on a CPU shared
with other jobs the wall time mostly measures the neighbours, the CPU time
the work of the step. Either way the figures are noisy on a shared machine:
compare ratios from one run, and rerun when the spread (reported) is large.
On an accelerator use `--clock wall`.
"""

import argparse
import json
import os
import statistics
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--backbone", default="resnet32")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="steps per method per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--methods", default="all",
                        help="comma-separated subset of the methods (default: all)")
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "true", "false"])
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                        help="time the ratios use: process CPU time (default; steadier "
                             "on a shared machine) or wall-clock time")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    return parser.parse_args(argv)


def method_table(counts, L):
    """name -> (loss factory, build_model options, target ratio)."""
    import keras

    cb = L.effective_number_weights(counts, 0.9999)
    ce = lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True)  # noqa: E731
    mfw = dict(class_counts=counts, alpha=2.0, scale=2.0, after="stage1")
    return {
        "ce": (ce, {}, 1.0),
        "keras-model": (ce, {"plain": True}, None),
        "drw (weighted ce)": (lambda: L.WeightedCrossEntropy(cb), {}, 1.05),
        "focal": (lambda: L.FocalLoss(gamma=1.0), {}, 1.05),
        "cb-softmax": (lambda: L.ClassBalancedLoss(counts, 0.9999), {}, 1.05),
        "cb-sigmoid": (lambda: L.ClassBalancedLoss(counts, 0.9999, "sigmoid"),
                       {"head": "prior_bias"}, 1.05),
        "cb-focal": (lambda: L.ClassBalancedLoss(counts, 0.9999, "focal", gamma=1.0),
                     {"head": "prior_bias"}, 1.05),
        "ldam (cosine head)": (lambda: L.LDAMLoss(counts), {"head": "cosine"}, 1.05),
        "ldam-drw": (lambda: L.LDAMLoss(counts, class_weights=cb), {"head": "cosine"}, 1.05),
        "cdt": (lambda: L.CDTLoss(counts, gamma=0.2), {}, 1.05),
        "ib": (lambda: L.IBLoss(counts), {}, 1.10),
        "ib-focal": (lambda: L.IBLoss(counts, base_loss="focal"), {}, 1.10),
        "mfw": (ce, {"feature_weakening": mfw}, 1.10),
        "mfw-drw": (lambda: L.WeightedCrossEntropy(cb), {"feature_weakening": mfw}, 1.10),
    }


class StepTimer:
    """Times training steps of a compiled model on one resident batch.

    `train_on_batch` runs the compiled train function once and returns the
    loss as a Python float, which waits for the step to finish.
    """

    def __init__(self, model, x, y):
        self.model, self.x, self.y = model, x, y

    def run(self, steps):
        """Returns (wall seconds, process CPU seconds) per step."""
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            self.model.train_on_batch(self.x, self.y)
        return (time.perf_counter() - wall) / steps, (time.process_time() - cpu) / steps


def main(argv=None):
    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    import keras

    import keras_lt.losses as L
    from keras_lt.models import build_model, build_backbone, classification_head

    counts = [int(5000 * (1 / 100) ** (i / 9)) for i in range(10)]  # CIFAR-10-LT, rho 100
    table = method_table(counts, L)
    names = list(table) if args.methods == "all" else [m.strip() for m in args.methods.split(",")]
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {list(table)}")
    if "ce" not in names:
        names.insert(0, "ce")
    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]

    rng = np.random.default_rng(0)
    shape = (32, 32, 3) if args.backbone not in ("resnet18", "resnet50") else None
    backbone_probe = build_backbone(args.backbone, shape)
    input_shape = tuple(backbone_probe.input_shape[1:])
    del backbone_probe
    x = keras.ops.convert_to_tensor(
        rng.normal(size=(args.batch_size,) + input_shape).astype("float32"))
    y = keras.ops.convert_to_tensor(rng.integers(0, 10, size=args.batch_size).astype("int32"))

    timers = {}
    for name in names:
        make_loss, options, _ = table[name]
        keras.utils.set_random_seed(0)
        if options.get("plain"):
            backbone = build_backbone(args.backbone, input_shape)
            model = keras.Sequential([backbone, classification_head(10)], name="plain")
        else:
            model = build_model(args.backbone, 10, input_shape=input_shape,
                                head=options.get("head", "dense"),
                                feature_weakening=options.get("feature_weakening"), seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                      loss=make_loss(), jit_compile=jit)
        timer = StepTimer(model, x, y)
        start = time.perf_counter()
        timer.run(2)  # trace / compile, then one more step
        print(f"  built and warmed {name:20s} {time.perf_counter() - start:6.1f} s",
              file=sys.stderr)
        timers[name] = timer

    samples = {name: [] for name in names}
    for r in range(args.rounds):
        for name in names:
            samples[name].append(timers[name].run(args.steps))
        print(f"  round {r + 1}/{args.rounds} done", file=sys.stderr)

    clock = 1 if args.clock == "cpu" else 0
    base = statistics.median(t[clock] for t in samples["ce"])
    rows = []
    for name in names:
        wall = [t[0] for t in samples[name]]
        cpu = [t[1] for t in samples[name]]
        chosen = cpu if clock else wall
        median = statistics.median(chosen)
        target = table[name][2]
        ratio = median / base
        rows.append({
            "method": name,
            "wall_ms": 1000 * statistics.median(wall),
            "cpu_ms": 1000 * statistics.median(cpu),
            "ratio_to_ce": ratio,
            "spread": (max(chosen) - min(chosen)) / median,
            "target": target,
            "meets_target": None if target is None else bool(ratio <= target),
        })

    device = "cpu"
    if args.backend == "jax":
        import jax

        device = jax.devices()[0].platform
    print(f"\n{args.backbone}, batch {args.batch_size}, backend {args.backend} ({device}), "
          f"jit_compile={args.jit_compile}, {args.rounds} rounds x {args.steps} steps, "
          f"medians per step; ratio on {args.clock} time")
    print(f"{'method':22s} {'wall ms':>9s} {'cpu ms':>9s} {'x ce':>7s} {'spread':>7s} {'target':>7s}")
    for row in rows:
        target = "" if row["target"] is None else f"<={row['target']:.2f}"
        flag = {True: "ok", False: "OVER", None: ""}[row["meets_target"]]
        print(f"{row['method']:22s} {row['wall_ms']:9.1f} {row['cpu_ms']:9.1f} "
              f"{row['ratio_to_ce']:7.3f} {row['spread']:7.1%} {target:>7s} {flag}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "device": device, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
