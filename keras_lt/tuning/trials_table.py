"""The table of all trials of a search (CSV and JSON) and the plot of the objective.

One row per trial, read back from the search's own files
(`<directory>/<project>/trial_*/trial.json`, written by KerasTuner's oracle,
and `trial_info.json`, written by the trial), so every process of a
distributed search, and a resumed one, sees the same table:

    trial_id  status  <hyper-parameters...>  val_balanced_accuracy
    val_few_shot_accuracy  seconds  tuner_id  replicas  best  message

`best_trial(rows)` is the completed trial with the highest objective, ties
going to the earliest trial (the smallest id): the same rule on every
process, whatever order the files are listed in.

    write_trials_table(rows, out_dir)  -> trials.csv, trials.json
    plot_trials(rows, path, x="beta")  -> trials.png (objective vs x)
"""

import csv
import glob
import io
import json
import math
import os

from keras_lt.atomic_write import atomic_write_text
from keras_lt.tuning.base_hypermodel import FEW_SHOT, OBJECTIVE, TRIAL_INFO_FILE

CSV_FILE = "trials.csv"
JSON_FILE = "trials.json"
PLOT_FILE = "trials.png"
METRIC_COLUMNS = (OBJECTIVE, FEW_SHOT, "seconds")


def _last_value(metrics, name):
    entry = (metrics or {}).get("metrics", {}).get(name)
    if not entry or not entry.get("observations"):
        return None
    value = entry["observations"][-1]["value"]
    value = value[0] if isinstance(value, list) else value
    value = float(value)
    return None if math.isnan(value) else value


def _trial_key(trial_id):
    text = str(trial_id)
    return (0, int(text), text) if text.isdigit() else (1, 0, text)


def read_trials(project_dir):
    """The trials of a search directory, sorted by trial id.

    Returns a list of dicts: trial_id, status, hyperparameters (the trial's
    active values), score (the objective), val_balanced_accuracy,
    val_few_shot_accuracy, seconds, tuner_id, message.
    """
    rows = []
    for path in glob.glob(os.path.join(os.fspath(project_dir), "trial_*", "trial.json")):
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, ValueError):
            continue  # being written; the next read sees it
        info = {}
        info_path = os.path.join(os.path.dirname(path), TRIAL_INFO_FILE)
        if os.path.exists(info_path):
            try:
                with open(info_path) as f:
                    info = json.load(f)
            except (OSError, ValueError):
                info = {}
        metrics = state.get("metrics")
        score = state.get("score")
        seconds = _last_value(metrics, "seconds")
        message = state.get("message") or ""
        rows.append({
            "trial_id": str(state["trial_id"]),
            "status": state.get("status"),
            "hyperparameters": dict(state.get("hyperparameters", {}).get("values", {})),
            "score": None if score is None or math.isnan(float(score)) else float(score),
            OBJECTIVE: _last_value(metrics, OBJECTIVE),
            FEW_SHOT: _last_value(metrics, FEW_SHOT),
            "seconds": seconds if seconds is not None else info.get("seconds"),
            "tuner_id": info.get("tuner_id"),
            "replicas": info.get("replicas"),
            "message": message.strip().splitlines()[-1] if message.strip() else "",
        })
    return sorted(rows, key=lambda r: _trial_key(r["trial_id"]))


def completed(rows):
    return [r for r in rows if r["status"] == "COMPLETED" and r["score"] is not None]


def best_trial(rows, direction="max"):
    """The completed row with the best score (ties: the smallest trial id)."""
    done = completed(rows)
    if not done:
        raise ValueError("No completed trial: the search has no best trial yet.")
    sign = -1.0 if direction == "max" else 1.0
    return min(done, key=lambda r: (sign * r["score"], _trial_key(r["trial_id"])))


def hyperparameter_names(rows, order=None):
    """Hyper-parameter columns: `order` first, then any other in first-seen order."""
    names = [n for n in (order or ())]
    for row in rows:
        for name in row["hyperparameters"]:
            if name not in names:
                names.append(name)
    return [n for n in names if any(n in r["hyperparameters"] for r in rows)]


def table_columns(rows, order=None):
    return (["trial_id", "status"] + hyperparameter_names(rows, order)
            + list(METRIC_COLUMNS) + ["tuner_id", "replicas", "best", "message"])


def _flat(rows, order=None, best_id=None):
    names = hyperparameter_names(rows, order)
    out = []
    for row in rows:
        flat = {"trial_id": row["trial_id"], "status": row["status"]}
        for name in names:
            flat[name] = row["hyperparameters"].get(name)
        for name in METRIC_COLUMNS:
            flat[name] = row.get(name)
        flat["tuner_id"] = row.get("tuner_id")
        flat["replicas"] = row.get("replicas")
        flat["best"] = row["trial_id"] == best_id
        flat["message"] = row.get("message", "")
        out.append(flat)
    return out


def write_trials_table(rows, out_dir, order=None, metadata=None, direction="max"):
    """Writes `trials.csv` and `trials.json` into `out_dir`; returns their paths.

    The JSON holds `metadata` (objective, method, ...), `best_trial_id` and
    one object per trial with the same columns as the CSV.
    """
    os.makedirs(out_dir, exist_ok=True)
    best_id = best_trial(rows, direction)["trial_id"] if completed(rows) else None
    flat = _flat(rows, order, best_id)
    columns = table_columns(rows, order)
    csv_path = os.path.join(out_dir, CSV_FILE)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=columns)
    writer.writeheader()
    for row in flat:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in columns})
    atomic_write_text(csv_path, table.getvalue())
    json_path = os.path.join(out_dir, JSON_FILE)
    document = dict(metadata or {})
    document.update({
        "objective": OBJECTIVE,
        "direction": direction,
        "best_trial_id": best_id,
        "columns": columns,
        "trials": flat,
    })
    atomic_write_text(json_path, json.dumps(document, indent=2) + "\n")
    return {"csv": csv_path, "json": json_path}


def read_trials_csv(path):
    """The CSV back as a list of dicts of strings (for checks and notebooks)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------- plot


def _label(value):
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def plot_trials(rows, path, x, color_by=None, title=None, direction="max", x_values=None):
    """Scatter of the objective of every completed trial against hyper-parameter `x`.

    Few distinct values of `x` (a `Choice`) are spaced evenly and labelled
    (beta 0.9, 0.99, 0.999, 0.9999 would crowd on a linear axis); pass the
    whole search space as `x_values` to show untried values too. A second
    hyper-parameter `color_by` colours the points (e.g. the CB loss type).
    The best trial is circled and labelled. Writes a PNG; returns `path`.
    """
    # The Agg canvas directly (no pyplot): no display, no global state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    done = [r for r in completed(rows) if x in r["hyperparameters"]]
    figure = Figure(figsize=(7.0, 4.5), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(1, 1, 1)
    values = list(x_values) if x_values else []
    for v in sorted({r["hyperparameters"][x] for r in done}, key=lambda v: (str(type(v)), v)):
        if v not in values:
            values.append(v)
    categorical = len(values) <= 12 or any(isinstance(v, str) for v in values)
    if categorical and values:
        position = {v: i for i, v in enumerate(values)}
        ax.set_xticks(range(len(values)))
        ax.set_xticklabels([_label(v) for v in values])
        ax.set_xlim(-0.5, len(values) - 0.5)
    groups = {}
    for r in done:
        key = r["hyperparameters"].get(color_by) if color_by else None
        groups.setdefault(key, []).append(r)
    markers = "osD^v<>p"
    where = {}
    for i, (key, members) in enumerate(sorted(groups.items(), key=lambda kv: str(kv[0]))):
        # Spread the groups a little so points with the same x stay visible.
        offset = (i - (len(groups) - 1) / 2) * 0.1 if categorical else 0.0
        xs, ys = [], []
        for r in members:
            v = r["hyperparameters"][x]
            xs.append((position[v] if categorical else v) + offset)
            ys.append(100.0 * r["score"])
            where[r["trial_id"]] = (xs[-1], ys[-1])
        label = f"{color_by} = {_label(key)}" if color_by else "trial"
        ax.scatter(xs, ys, s=40, marker=markers[i % len(markers)], alpha=0.85, label=label,
                   zorder=3)
    if done:
        best = best_trial(rows, direction)
        if best["trial_id"] in where:
            bx, by = where[best["trial_id"]]
            ax.scatter([bx], [by], s=220, marker="o", facecolor="none", edgecolor="crimson",
                       linewidth=1.8, zorder=4, label=f"best: trial {best['trial_id']}")
            ax.annotate(f"{by:.1f}%", (bx, by), textcoords="offset points", xytext=(10, 8),
                        color="crimson", fontsize=9)
        ys = [100.0 * r["score"] for r in done]
        pad = max(2.0, 0.08 * (max(ys) - min(ys)))
        ax.set_ylim(min(ys) - pad, max(ys) + 2 * pad)
        ax.legend(fontsize=8, loc="best", framealpha=0.85)
    else:
        ax.text(0.5, 0.5, "no completed trial", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel(x)
    ax.set_ylabel("validation balanced accuracy (%)")
    ax.set_title(title or f"objective vs {x}", fontsize=11)
    ax.text(0.01, 0.98, f"{len(done)} completed trial{'s' if len(done) != 1 else ''}",
            transform=ax.transAxes, ha="left", va="top", fontsize=8, color="0.35")
    ax.grid(True, alpha=0.3, zorder=0)
    figure.tight_layout()
    figure.savefig(path)
    return path
