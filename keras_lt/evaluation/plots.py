"""PNG plots of an evaluation report (matplotlib).

matplotlib is imported lazily and drawn through its Agg canvas directly
(no pyplot, no global backend switch), so these work headless and leave an
interactive session alone.
"""

import numpy as np

GROUP_STYLE = {  # colour-blind safe (Okabe-Ito) colours and distinct markers
    "many": ("#0072B2", "o"),
    "medium": ("#E69F00", "s"),
    "few": ("#D55E00", "^"),
}


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the install
        raise ImportError(
            "Plotting the evaluation report needs matplotlib: "
            "`pip install matplotlib` (a dependency of keras_lt)."
        ) from error
    return Figure, FigureCanvasAgg


def _save(figure, canvas_class, path):
    canvas_class(figure)
    figure.savefig(path, format="png", dpi=100)


def plot_per_class_accuracy(report, path):
    """Test accuracy of each class against its training count (log x axis).

    Classes are marked by shot group; dashed vertical lines show the group
    thresholds and short horizontal lines each group's mean accuracy. Class
    names label the points when C <= 20.
    """
    Figure, Canvas = _matplotlib()
    rows = report["per_class"]
    thresholds = report["shot_thresholds"]
    counts = np.array([r["train_count"] for r in rows], dtype=float)
    acc = np.array([np.nan if r["accuracy"] is None else 100 * r["accuracy"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    c = len(rows)

    figure = Figure(figsize=(8, 5), layout="constrained")
    ax = figure.add_subplot()
    marker_size = 50 if c <= 50 else 22
    for name, (color, marker) in GROUP_STYLE.items():
        mask = (groups == name) & ~np.isnan(acc)
        g = report["groups"][name]
        if g["num_classes"] == 0:
            continue
        mean = "-" if g["accuracy"] is None else f"{100 * g['accuracy']:.1f}%"
        ax.scatter(
            counts[mask],
            acc[mask],
            s=marker_size,
            c=color,
            marker=marker,
            alpha=0.85 if c <= 50 else 0.7,
            edgecolors="white",
            linewidths=0.5,
            label=f"{name}-shot: {g['num_classes']} class{'es' if g['num_classes'] != 1 else ''}, mean {mean}",
            zorder=3,
        )
        if g["accuracy"] is not None and mask.any():
            lo, hi = counts[mask].min(), counts[mask].max()
            ax.hlines(
                100 * g["accuracy"], lo / 1.15, hi * 1.15, colors=color,
                linestyles="-", linewidth=2, alpha=0.5, zorder=2,
            )
    lo, hi = counts.min(), counts.max()
    left, right = lo / 1.6, hi * 1.6
    for x, text in ((thresholds["many"] + 0.5, "many | medium"), (thresholds["few"] - 0.5, "medium | few")):
        if left < x < right:
            ax.axvline(x, color="0.5", linestyle="--", linewidth=1, zorder=1)
            ax.text(x, 101, text, rotation=0, ha="center", va="bottom", fontsize=8, color="0.35")
    if c <= 20:
        for r, x, a in zip(rows, counts, acc):
            if not np.isnan(a):
                ax.annotate(
                    r["name"], (x, a), textcoords="offset points", xytext=(5, 4),
                    fontsize=8, color="0.2",
                )
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ax.set_ylim(-3, 107)
    ax.set_xlabel("training samples of the class (log scale)")
    ax.set_ylabel("test accuracy of the class (%)")
    top1 = report.get("top1")
    balanced = report.get("balanced_accuracy")
    title = f"Per-class accuracy, {c} classes"
    if top1 is not None:
        title += f" (top-1 {100 * top1:.1f}%, mean per-class {100 * balanced:.1f}%)"
    ax.set_title(title, fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, framealpha=0.9)
    _save(figure, Canvas, path)


def _nice_step(c, target=10):
    """A 1-2-5 tick step giving about `target` ticks over c classes."""
    raw = max(1.0, c / target)
    magnitude = 10 ** np.floor(np.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return int(factor * magnitude)
    return int(10 * magnitude)


def plot_confusion_matrix(report, path, normalize=True, sort_by_count=True):
    """Row-normalised confusion matrix, classes ordered by training count.

    Rows are true classes, columns predictions; each row sums to 1 (the
    diagonal is the per-class accuracy). The colour scale is a square root
    (PowerNorm 0.5) so that the few-percent confusions of a long tail stay
    visible. With `sort_by_count`, classes run from the largest training
    class to the smallest, and orange lines separate the many/medium/few-shot
    blocks (named along the top). Cell values (percent) are written for
    C <= 20 and class names for C <= 40; beyond that the axes show the
    position of the class in that order.
    """
    from matplotlib.colors import PowerNorm

    from keras_lt.evaluation.report import report_confusion_matrix

    Figure, Canvas = _matplotlib()
    matrix = report_confusion_matrix(report).astype(float)
    rows = report["per_class"]
    c = matrix.shape[0]
    counts = np.array([r["train_count"] for r in rows])
    order = np.argsort(-counts, kind="stable") if sort_by_count else np.arange(c)
    matrix = matrix[np.ix_(order, order)]
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        matrix = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    names = [rows[i]["name"] for i in order]
    groups = [rows[i]["group"] for i in order]

    size = float(np.clip(4.0 + 0.45 * c, 6.0, 11.0))
    figure = Figure(figsize=(size + 1.5, size), layout="constrained")
    ax = figure.add_subplot()
    vmax = 1.0 if normalize else max(matrix.max(), 1.0)
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=vmax)
    # Above ~1 class per pixel, "nearest" would drop whole rows; antialias.
    interpolation = "nearest" if c <= 300 else "antialiased"
    image = ax.imshow(matrix, cmap="Blues", norm=norm, interpolation=interpolation, aspect="equal")
    bar = figure.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label("% of the true class (square-root scale)" if normalize else "test samples")
    if normalize:
        ticks = [0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0]
        bar.set_ticks(ticks, labels=[f"{100 * t:.0f}" for t in ticks])

    if c <= 20:
        for i in range(c):
            for j in range(c):
                v = matrix[i, j]
                if v == 0:
                    continue
                text = f"{100 * v:.0f}" if normalize else f"{int(v)}"
                ax.text(
                    j, i, text, ha="center", va="center", fontsize=8 if c <= 12 else 6,
                    color="white" if norm(v) > 0.6 else "0.15",
                )
    order_note = "largest training class first" if sort_by_count else "class index"
    if c <= 40:
        rotate = c > 6
        ax.set_xticks(
            range(c), labels=names, rotation=45 if rotate else 0,
            ha="right" if rotate else "center", rotation_mode="anchor", fontsize=8,
        )
        ax.set_yticks(range(c), labels=names, fontsize=8)
    else:
        ticks = list(range(0, c, _nice_step(c)))
        ax.set_xticks(ticks, labels=[str(t) for t in ticks], fontsize=8)
        ax.set_yticks(ticks, labels=[str(t) for t in ticks], fontsize=8)
        order_note = "position, " + order_note
    ax.set_xlabel(f"predicted class ({order_note})")
    ax.set_ylabel(f"true class ({order_note})")

    title = "Confusion matrix" + (", rows normalised (%)" if normalize else "")
    if sort_by_count:
        starts = [k for k in range(c) if k == 0 or groups[k] != groups[k - 1]]
        for k in starts[1:]:
            ax.axhline(k - 0.5, color="#D55E00", linewidth=0.8, alpha=0.8)
            ax.axvline(k - 0.5, color="#D55E00", linewidth=0.8, alpha=0.8)
        if len(starts) > 1:
            ends = starts[1:] + [c]
            top = ax.secondary_xaxis("top")
            top.set_xticks(
                [(a + b - 1) / 2 for a, b in zip(starts, ends)],
                labels=[f"{groups[a]}-shot ({b - a})" for a, b in zip(starts, ends)],
                fontsize=9,
            )
            top.tick_params(length=0, colors="#A04000")
    ax.set_title(title, fontsize=11)
    _save(figure, Canvas, path)
