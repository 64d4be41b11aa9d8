"""Plot keras_lt's per-epoch test accuracy beside a PyTorch reference loop's.

Benchmark helper, not part of keras_lt. It reads a keras_lt run's
`history.json` (a recipe run with the per-epoch monitor on: `val_accuracy`
is the test split's top-1 after each epoch) and the `--json` result of
benchmarks/torch_ldam_drw.py or torch_ib.py (`history`: one row per epoch,
`test_acc` on the epochs it tested), and draws test and training accuracy per
epoch for both, with the paper's figure as a line, so that where the two loops
jump, peak and drift can be seen at a glance.

    python benchmarks/compare_curves.py \
        --keras benchmarks/records/lossless/png-step100-ldam-drw-e200-s1-tensorflow-monitor/history.json \
        --keras-label "keras_lt (TensorFlow, seed 1)" \
        --torch benchmarks/records/torch/png-step100-torch-ldam-drw-e200-s0.json \
        --torch-label "PyTorch reference loop (seed 0)" \
        --paper 76.92 --from-epoch 150 --title "LDAM-DRW, CIFAR-10 step 100, original pixels" \
        --out benchmarks/records/torch/png-step100-ldam-drw-curves.png
"""

import argparse
import json


def keras_curves(path):
    """(epochs, train %, test %) of a keras_lt history.json; test None where not logged."""
    with open(path) as f:
        history = json.load(f)
    logs = history["logs"]
    if "val_accuracy" not in logs:
        raise SystemExit(f"{path}: no val_accuracy (the run had no per-epoch test monitor)")
    pct = lambda values: [None if v is None else 100.0 * v for v in values]  # noqa: E731
    return history["epochs"], pct(logs["accuracy"]), pct(logs["val_accuracy"])


def torch_curves(path):
    """(epochs, train %, test %) of a torch reference loop's --json result."""
    with open(path) as f:
        rows = json.load(f)["history"]
    return ([row["epoch"] for row in rows], [100.0 * row["train_acc"] for row in rows],
            [100.0 * row["test_acc"] if "test_acc" in row else None for row in rows])


def plot(curves, paper, from_epoch, title, out):
    """Test (solid, left) and training (right) accuracy per epoch of each labelled curve."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.5), layout="constrained")
    test_ax, train_ax = figure.subplots(1, 2)
    colours = ("#D55E00", "#0072B2", "#009E73", "#CC79A7")
    for (label, (epochs, train, test)), colour in zip(curves, colours):
        for ax, values in ((test_ax, test), (train_ax, train)):
            kept = [(e, v) for e, v in zip(epochs, values) if v is not None and e >= from_epoch]
            ax.plot([e for e, _ in kept], [v for _, v in kept], color=colour, linewidth=1.2,
                    marker=".", markersize=3, label=label)
        tested = [(e, v) for e, v in zip(epochs, test) if v is not None]
        if tested:
            best = max(tested, key=lambda pair: pair[1])
            test_ax.plot([best[0]], [best[1]], "o", color=colour,
                         label=f"best {best[1]:.2f} (epoch {best[0]}), last {tested[-1][1]:.2f}")
    if paper is not None:
        test_ax.axhline(paper, color="black", linestyle="--", linewidth=1,
                        label=f"paper {paper:.2f}")
    for ax, name in ((test_ax, "test top-1 (%)"), (train_ax, "training accuracy (%)")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
    if title:
        figure.suptitle(title)
    FigureCanvasAgg(figure)
    figure.savefig(out, format="png", dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keras", required=True, help="keras_lt history.json (monitor on)")
    parser.add_argument("--keras-label", default="keras_lt")
    parser.add_argument("--torch", required=True, help="torch_ldam_drw.py / torch_ib.py --json file")
    parser.add_argument("--torch-label", default="PyTorch reference loop")
    parser.add_argument("--paper", type=float, default=None, help="the paper's top-1 (%%)")
    parser.add_argument("--from-epoch", type=int, default=1, help="first epoch drawn")
    parser.add_argument("--title", default="")
    parser.add_argument("--out", required=True, help="PNG to write")
    args = parser.parse_args(argv)
    curves = [(args.keras_label, keras_curves(args.keras)),
              (args.torch_label, torch_curves(args.torch))]
    plot(curves, args.paper, args.from_epoch, args.title, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
