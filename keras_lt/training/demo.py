"""The embedded default job: plain cross-entropy against a long-tail method.

`keras-lt` with no arguments runs it. The data ships with scikit-learn (no
download): its 1,797 handwritten 8x8 digits, a balanced test set of 50 per
class held out, the rest made long-tailed (ratio 20: from ~124 images of
class 0 down to 6 of class 9). Both methods train the same small CNN with the
same seed and schedule; the table compares them on the balanced test set,
overall and on the many- (> 40 training images), medium- and few-shot
(< 15) classes, which is where the long-tail methods earn their keep.
"""

import json
import os
import time

from keras_lt.training.config import TrainConfig

DEMO_DATASET = "digits"
DEMO_METHODS = ("erm", "ldam-drw")
SUMMARY_FILE = "digits-demo.json"


def _row(method, report):
    groups = report["groups"]
    return {
        "method": method,
        "top1": report["top1"],
        "balanced_accuracy": report["balanced_accuracy"],
        **{g: groups[g]["accuracy"] for g in ("many", "medium", "few")},
        "per_class": [c["accuracy"] for c in report["per_class"]],
    }


def _pct(value):
    return "   -  " if value is None else f"{100 * value:5.1f}%"


def format_comparison(rows, report):
    """The comparison table: one line per method, then the per-class accuracy."""
    groups = report["groups"]
    many, few = report["shot_thresholds"]["many"], report["shot_thresholds"]["few"]
    sizes = {g: groups[g]["num_classes"] for g in ("many", "medium", "few")}
    classes = ["", ""] + [f"({sizes[g]} cl.)" for g in ("many", "medium", "few")]
    lines = [
        f"{'method':<10} {'top-1':>7} {'many':>7} {'medium':>7} {'few':>7}",
        f"{classes[0]:<10} " + " ".join(f"{c:>7}" for c in classes[1:]),
    ]
    for r in rows:
        lines.append(f"{r['method']:<10} {_pct(r['top1']):>7} {_pct(r['many']):>7} "
                     f"{_pct(r['medium']):>7} {_pct(r['few']):>7}")
    counts = [c["train_count"] for c in report["per_class"]]
    lines += ["", "per class (training images):",
              f"{'':<10} " + " ".join(f"{c:>5d}" for c in counts)]
    for r in rows:
        lines.append(f"{r['method']:<10} " + " ".join(
            "   - " if a is None else f"{100 * a:5.0f}" for a in r["per_class"]))
    lines.append(f"(many: > {many} training images, few: < {few}; balanced test set of "
                 f"{report['num_test_samples']} images)")
    return "\n".join(lines)


def run_demo(methods=DEMO_METHODS, epochs=None, ratio=None, seed=0, output_dir="saved_models",
             verbose=1):
    """Trains each method on long-tailed digits and prints the comparison.

    Returns the summary dict also written to `<output_dir>/digits-demo.json`.
    """
    from keras_lt.training.experiment import train

    started = time.time()
    rows, last = [], None
    for method in methods:
        config = TrainConfig(dataset=DEMO_DATASET, method=method, epochs=epochs, ratio=ratio,
                             seed=seed, output_dir=output_dir, verbose=verbose)
        if verbose:
            print(f"\n=== {method} on long-tailed digits ===", flush=True)
        _, report, run_dir = train(config, overwrite_notice=False)  # its own folders
        rows.append({**_row(method, report), "run_dir": run_dir})
        last = report
    table = format_comparison(rows, last)
    summary = {"dataset": DEMO_DATASET, "seconds": round(time.time() - started, 1),
               "rows": rows, "table": table}
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, SUMMARY_FILE), "w") as f:
        json.dump(summary, f, indent=2)
    print(f"\nLong-tailed digits (scikit-learn, ratio {last['run']['ratio']:g}), "
          f"balanced test accuracy:\n{table}")
    print(f"Reports and models under {output_dir}/ ({summary['seconds']:.0f} s).")
    return summary
