"""The full-length runs on CIFAR-10's original pixels, as committed records.

A run of the recipe on the image folder that benchmarks/cifar10_lossless.py
builds (`--data-dir .data/cifar10-png`) is kept as a folder of
benchmarks/records/lossless/: the run folder's config.json, report.json and,
for runs with the per-epoch test monitor, history.json. These runs are not the
setting issue 7 names (the JPEG copy in ../shared/datasets), so RESULTS.md's
main table leaves them out; `reproduce.py --collect` shows them in a table of
their own and `summary_plot.py` draws them beside the JPEG rows.

One run may have two folders (stopped, then continued with the monitor on
under another name): folders whose settings, backend and test report (top-1 and
every class's accuracy) agree are one run here, with the history of the
monitored folder. Two runs of one seed that differ anywhere stay two.

A run with a method setting other than its recipe's default for the same data,
method and length (ib-focal with `--focal-probability softmax`, or a config.json
written before the setting existed, when that was how ib-focal trained; mfw or
mfw-drw with `--mfw-beta 0.1`) is a variant: it keeps its method's paper figure
(unless reproduce.PAPER_METHOD_OF_VARIANT names another: cb-focal at beta 0 is
cui19's sigmoid focal loss, judged against the focal row) but is named apart
(`variant`) and is compared only with a JPEG row of the same variant
(reproduce.py's records carry one too).
"""

import glob
import json
import os


def read_json(path):
    """The JSON file at `path` (the records are written by the recipes; a broken one raises)."""
    with open(path) as f:
        return json.load(f)


# How a variant setting is shown where its recipe flag and value would not say
# what it changes: ib-focal's focal term with q = p_y instead of p_y^{w_y}.
VARIANT_NAMES = {("focal_probability", "softmax"): "q = p_y"}
# What fixes a run's recipe defaults: its data, method and length.
RECIPE = ("dataset", "method", "imbalance", "ratio", "minority_fraction", "epochs")


def differences_from_recipe(settings, recipe, keys):
    """The keys among `keys` whose value in `settings` (a dict) differs from the
    one `TrainConfig.from_dict(recipe).resolve()` gives; a key `settings` lacks
    is not compared. Values are compared as JSON would hold them (a tuple equals
    its list, 2 equals 2.0). reproduce.py's `recipe_differences` calls it too."""
    from keras_lt.training.config import TrainConfig

    plain = lambda value: json.loads(json.dumps(value))  # noqa: E731
    defaults = TrainConfig.from_dict(recipe).resolve().to_dict()
    return [key for key in keys if key in settings and plain(settings[key]) != plain(defaults[key])]


def variant_of(config):
    """'' for a run of its recipe's defaults, else the method settings in which
    `config` (a config.json's dict) differs from them, each as its recipe flag
    and value ("mfw-beta 0.1", or the name `VARIANT_NAMES` gives), joined by ", ".

    The defaults are those `TrainConfig.resolve()` gives the same dataset (cifar10
    when `config` names none, as `load_runs` reads it), imbalance, ratio, method
    and epochs; a setting `config` leaves null is the default, and one it lacks
    because it was written before the setting existed counts as the value its run
    trained with. `config` itself is not resolved: a hand-written one that does
    not resolve (milestones past its last epoch) still gets its variant named.
    """
    from keras_lt.training.config import with_settings_before_they_existed
    from keras_lt.training.methods import ALL_HYPERPARAMETERS

    config = with_settings_before_they_existed(config)
    settings = {key: value for key, value in config.items() if value is not None}
    recipe = {"dataset": "cifar10", **{key: settings[key] for key in RECIPE if key in settings}}
    return ", ".join(VARIANT_NAMES.get((key, settings[key]), f"{key.replace('_', '-')} {settings[key]}")
                     for key in differences_from_recipe(settings, recipe, ALL_HYPERPARAMETERS))


def _group_pct(report, group):
    accuracy = ((report.get("groups") or {}).get(group) or {}).get("accuracy")
    return None if accuracy is None else round(100 * accuracy, 2)


def load_runs(records_dir, epochs=200):
    """The finished `epochs`-epoch runs in `<records_dir>/lossless/`, one dict per
    run, sorted by dataset, imbalance, ratio, method, variant, seed, backend and top-1:

        dataset, imbalance, ratio, method, variant (`variant_of`), seed, backend,
        top1 (last epoch, %), many and medium (%), history (the history.json of a
        folder with the per-epoch test monitor, or None), folders (the record
        folders' names).

    Its best test epoch is `best_test_epoch(history, "val_accuracy")` (reproduce):
    val_accuracy is the column every monitored history here has whole (the first
    108 epochs of ib seed 0 were parsed from a log without val_bal_acc); on the
    balanced test split it equals val_bal_acc.

    A folder without report.json (stopped before its last epoch) is left out.
    """
    runs = {}
    for folder in sorted(glob.glob(os.path.join(records_dir, "lossless", "*"))):
        report_path = os.path.join(folder, "report.json")
        if not os.path.exists(report_path):
            continue
        config = read_json(os.path.join(folder, "config.json"))
        if config.get("epochs") != epochs:
            continue
        report = read_json(report_path)
        history_path = os.path.join(folder, "history.json")
        history = read_json(history_path) if os.path.exists(history_path) else None
        if history is not None and not (history.get("logs") or {}).get("val_accuracy"):
            history = None  # trained without the per-epoch test monitor
        top1 = round(100 * report["top1"], 2)
        per_class = tuple(c.get("accuracy") for c in report.get("per_class") or [])
        key = (config.get("dataset", "cifar10"), config["imbalance"],
               float(config.get("ratio", 100)), config["method"], variant_of(config),
               config["seed"], config.get("backend") or "", top1, per_class)
        run = runs.setdefault(key, {
            "dataset": key[0], "imbalance": key[1], "ratio": key[2], "method": key[3],
            "variant": key[4], "seed": key[5], "backend": config.get("backend"), "top1": top1,
            "many": _group_pct(report, "many"), "medium": _group_pct(report, "medium"),
            "history": None, "folders": []})
        run["folders"].append(os.path.basename(folder))
        run["history"] = run["history"] or history
    return [runs[key] for key in sorted(runs)]
