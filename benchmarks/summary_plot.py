"""Issue 7's table in one picture: each method's paper figure against our runs.

    python benchmarks/summary_plot.py            # -> benchmarks/summary.png

One line per CIFAR-10-LT setting and method with a full-length (200-epoch) run:
the paper's top-1 (black bar) with the target zone 1 point below it (grey), the
last epoch of each run on the JPEG copy in ../shared/datasets (blue) and on the
original pixels (orange; benchmarks/cifar10_lossless.py), one dot per run (seeds,
backends), and the best test epoch of monitored runs (hollow, for reference only:
nothing is selected on the test set). Reads only what is committed:
benchmarks/records/*.json (the rows of RESULTS.md's table, written by
`reproduce.py --collect`) and benchmarks/records/lossless/ (the runs on the
original pixels, read by lossless_runs.py).
"""

import argparse
import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from lossless_runs import load_runs, read_json  # noqa: E402
from reproduce import TARGET_GAP, best_test_epoch, paper_figure, paper_method  # noqa: E402

RECORDS = os.path.join(HERE, "records")
COPIES = ("JPEG copy", "original pixels")


def collect_points(records_dir=RECORDS):
    """{(imbalance, method, variant): {copy: [(last top-1 %, best (%, epoch) or None),
    ...]}} for every full-length CIFAR-10 ratio-100 run in the records; variant is ''
    except for a variant run (`lossless_runs.variant_of`; a JPEG record's
    "variant"), which gets a line of its own."""
    points = {}

    def add(imbalance, method, copy, last, best, variant=""):
        points.setdefault((imbalance, method, variant), {c: [] for c in COPIES})[copy].append(
            (last, best))

    for path in sorted(glob.glob(os.path.join(records_dir, "*.json"))):
        record = read_json(path)
        result = record.get("result") or {}
        if (record.get("dataset") != "cifar10" or float(record.get("ratio", 0)) != 100
                or result.get("epochs", record.get("epochs")) != 200
                or result.get("top1") is None):
            continue
        best = tuple(result["best"]) if result.get("best") else None
        add(record["imbalance"], record["method"], COPIES[0], result["top1"], best,
            record.get("variant", ""))

    for run in load_runs(records_dir):  # the original pixels, one entry a run
        if run["ratio"] == 100:
            best = run["history"] and best_test_epoch(run["history"], "val_accuracy")
            add(run["imbalance"], run["method"], COPIES[1], run["top1"], best or None,
                run["variant"])
    return points


def plot(points, out):
    """Draws `points` (collect_points) against the paper figures (`paper_figure`) into the PNG `out`."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    def figure_of(key):  # a variant may be judged against another method's figure
        return paper_figure("cifar10", key[0], 100, key[1], key[2])[0]

    keys = sorted(points, key=lambda k: (k[0] != "exp", figure_of(k), k[2] != "", k[1], k[2]))
    figure = Figure(figsize=(8, 0.42 * len(keys) + 2.0))
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    colours = {COPIES[0]: "tab:blue", COPIES[1]: "tab:orange"}
    offsets = {COPIES[0]: -0.12, COPIES[1]: 0.12}
    for y, key in enumerate(keys):
        paper = figure_of(key)
        ax.fill_betweenx([y - 0.35, y + 0.35], paper - TARGET_GAP, paper, color="0.88", lw=0)
        ax.plot([paper, paper], [y - 0.35, y + 0.35], color="black", lw=2)
        for copy in COPIES:
            for last, best in points[key][copy]:
                ax.plot(last, y + offsets[copy], "o", color=colours[copy], ms=6)
                if best is not None:
                    ax.plot(best[0], y + offsets[copy], "o", mfc="none",
                            mec=colours[copy], ms=6)
    ax.set_yticks(range(len(keys)))
    ax.set_yticklabels([f"{method}{', ' + variant if variant else ''} ({imbalance} 100"
                        + ("" if paper_method(method, variant) == method
                           else f"; {paper_method(method, variant)}'s figure") + ")"
                        for imbalance, method, variant in keys])
    ax.invert_yaxis()
    ax.set_xlabel("top-1 accuracy on the balanced test set (%)")
    ax.set_title("CIFAR-10-LT, ResNet-32, 200 epochs: paper against keras_lt", fontsize=10)
    ax.grid(axis="x", color="0.9")
    handles = [
        ax.plot([], [], color="black", lw=2)[0],
        ax.fill_between([], [], color="0.88"),
        ax.plot([], [], "o", color=colours[COPIES[0]])[0],
        ax.plot([], [], "o", color=colours[COPIES[1]])[0],
        ax.plot([], [], "o", mfc="none", mec="0.4")[0],
    ]
    ax.legend(handles, ["paper", f"target: within {TARGET_GAP:g} point",
                        "ours, JPEG copy (last epoch)", "ours, original pixels (last epoch)",
                        "best test epoch (reference only)"],
              fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2,
              frameon=False)
    figure.tight_layout()
    figure.savefig(out, format="png", dpi=100)
    return keys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records-dir", default=RECORDS)
    parser.add_argument("--out", default=os.path.join(HERE, "summary.png"))
    args = parser.parse_args(argv)
    keys = plot(collect_points(args.records_dir), args.out)
    print(f"{args.out}: {len(keys)} settings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
