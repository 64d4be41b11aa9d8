"""A run's per-epoch history, kept across interruptions.

Keras's `CSVLogger` appends one row per finished epoch to `history.csv`, before
that epoch's checkpoint is written. A resumed run first drops the rows from its
restart epoch on (an epoch whose checkpoint was lost is trained again), then
appends; so the file always holds each finished epoch once, whichever process
trained it. `history.json` and `history.png` are made from it at the end of
the run and cover all its epochs, not only those of the last process.

    history_logger(path, initial_epoch) -> keras.callbacks.CSVLogger
    read_history(path) -> {"epochs": [1, 2, ...], "logs": {name: [value, ...]}}
    best_epoch(history, name) -> (epoch, value) of the highest logged value
    last_epoch(history, name) -> (epoch, value) of the last logged value
    plot_history(history, path)          accuracy and loss per epoch (PNG)
"""

import csv
import os

HISTORY_CSV = "history.csv"


def history_logger(path, initial_epoch=0):
    """A CSVLogger that continues `path` at `initial_epoch` (0: starts afresh)."""
    import keras

    append = initial_epoch > 0 and os.path.exists(path)
    if append:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        header, body = (rows[0], rows[1:]) if rows else ([], [])
        kept = [row for row in body if row and int(row[0]) < initial_epoch]
        partial = path + ".partial"
        with open(partial, "w", newline="") as f:
            csv.writer(f).writerows([header] + kept if header else [])
        os.replace(partial, path)
    return keras.callbacks.CSVLogger(path, append=append)


def read_history(path):
    """The epochs (1-based) and per-epoch logs of a history CSV.

    Values that Keras logged as "NA" (e.g. `val_*` without a test monitor) are
    None; columns with no value at all are left out.
    """
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    epochs = [int(row["epoch"]) + 1 for row in rows]
    names = [name for name in (rows[0] if rows else {}) if name != "epoch"]
    logs = {}
    for name in names:
        values = [None if row[name] in ("NA", "", None) else float(row[name]) for row in rows]
        if any(v is not None for v in values):
            logs[name] = values
    return {"epochs": epochs, "logs": logs}


def best_epoch(history, name="val_accuracy"):
    """The epoch with the highest `name` and that value, or None if never logged.

    The first such epoch on ties; epochs where `name` is None are skipped.
    """
    logged = _logged(history, name)
    return max(logged, key=lambda pair: pair[1]) if logged else None  # first of equals


def last_epoch(history, name="val_accuracy"):
    """The last epoch with a logged `name` and that value, or None if never logged."""
    logged = _logged(history, name)
    return logged[-1] if logged else None


def _logged(history, name):
    """(epoch, value) of each epoch where `name` was logged."""
    values = history["logs"].get(name) or []
    return [(e, v) for e, v in zip(history["epochs"], values) if v is not None]


def plot_history(history, path):
    """Training and test-monitor accuracy (left) and loss (right, log scale) per epoch.

    The best `val_accuracy` epoch and the last epoch are marked: the papers'
    code reports the best test epoch, keras_lt's recipes the last one. Returns
    the matplotlib figure written to `path`.
    """
    from keras_lt.evaluation.plots import _matplotlib, _save

    Figure, Canvas = _matplotlib()
    logs = history["logs"]
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    acc_ax, loss_ax = figure.subplots(1, 2)
    for ax, name, scale, label in ((acc_ax, "accuracy", 100.0, "accuracy (%)"),
                                   (loss_ax, "loss", 1.0, "loss")):
        for key, colour, text in ((name, "#0072B2", "training"),
                                  (f"val_{name}", "#D55E00", "test (monitor only)")):
            if key in logs:
                logged = _logged(history, key)
                ax.plot([e for e, _ in logged], [scale * v for _, v in logged], color=colour,
                        linewidth=1.2, label=text)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    best, last = best_epoch(history, "val_accuracy"), last_epoch(history, "val_accuracy")
    if best is not None:
        acc_ax.plot([best[0]], [100.0 * best[1]], "o", color="#D55E00",
                    label=f"best test epoch {best[0]}: {100.0 * best[1]:.2f}")
        acc_ax.plot([last[0]], [100.0 * last[1]], "s", color="#000000",
                    label=f"last epoch {last[0]}: {100.0 * last[1]:.2f}")
    if all(v > 0 for line in loss_ax.get_lines() for v in line.get_ydata()):
        loss_ax.set_yscale("log")  # a phase's loss can be on another scale
    acc_ax.legend(loc="lower right", fontsize=9)
    if loss_ax.get_legend_handles_labels()[0]:
        loss_ax.legend(loc="best", fontsize=9)
    _save(figure, Canvas, path)
    return figure

