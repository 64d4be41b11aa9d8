"""benchmarks/summary_plot.py: which runs become points, and the PNG."""

import json
import os

from . import load_benchmark, saved_run_settings

summary_plot = load_benchmark("summary_plot")


def _write(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f)


def _record(records, name, method, epochs, top1, best=None, imbalance="exp", **variant):
    _write(os.path.join(records, f"{name}.json"), {
        "dataset": "cifar10", "imbalance": imbalance, "ratio": 100.0, "method": method,
        "epochs": epochs, "result": {"top1": top1, "epochs": epochs, "best": best}, **variant})


def _lossless(records, name, method, seed, top1=None, val=None, epochs=200, **settings):
    folder = os.path.join(records, "lossless", name)
    _write(os.path.join(folder, "config.json"), {
        "method": method, "imbalance": "exp", "seed": seed, "epochs": epochs, **settings})
    if top1 is not None:
        _write(os.path.join(folder, "report.json"), {"top1": top1})
    if val is not None:
        _write(os.path.join(folder, "history.json"), {
            "epochs": list(range(1, len(val) + 1)), "logs": {"val_accuracy": val}})


def test_points_are_the_full_length_runs_once_each(tmp_path):
    records = str(tmp_path / "records")
    _record(records, "a", "ldam-drw", 200, 71.61)
    _record(records, "b", "ldam-drw", 200, 71.07, best=[72.26, 168])  # another backend
    _record(records, "c", "erm", 20, 43.52)  # shortened: not a point
    _record(records, "d", "cdt", 200, 68.74, best=[69.32, 191], imbalance="step")
    # The same run twice on the original pixels (with and without the monitor):
    # one point, its best epoch from the monitored copy.
    _lossless(records, "ib-s0", "ib", 0, top1=0.7317)
    _lossless(records, "ib-s0-monitor", "ib", 0, top1=0.7317, val=[0.5, 0.7791, 0.7317])
    _lossless(records, "ib-s1-partial", "ib", 1, val=[0.6, 0.7697])  # no report: no point
    _lossless(records, "erm-short", "erm", 0, top1=0.30, epochs=10)
    # ib-focal of its defaults (the reference code's focal q) and with q = p_y (set,
    # or from before the setting existed): two lines, the JPEG run on the variant's.
    _lossless(records, "ibf-s0", "ib-focal", 0, top1=0.7286, focal_probability="softmax")
    _lossless(records, "ibf-old-s1", "ib-focal", 1, top1=0.7301, **saved_run_settings())
    _lossless(records, "ibf-qw-s0", "ib-focal", 0, top1=0.7701,
              focal_probability="class_weighted")
    _record(records, "e", "ib-focal", 200, 68.60, variant="q = p_y")
    points = summary_plot.collect_points(records)
    jpeg, png = summary_plot.COPIES
    assert sorted(points) == [("exp", "ib", ""), ("exp", "ib-focal", ""),
                              ("exp", "ib-focal", "q = p_y"), ("exp", "ldam-drw", ""),
                              ("step", "cdt", "")]
    assert points[("exp", "ldam-drw", "")][jpeg] == [(71.61, None), (71.07, (72.26, 168))]
    assert points[("step", "cdt", "")][jpeg] == [(68.74, (69.32, 191))]
    assert points[("exp", "ib", "")][png] == [(73.17, (77.91, 2))]
    assert points[("exp", "ib", "")][jpeg] == []
    assert points[("exp", "ib-focal", "")] == {jpeg: [], png: [(77.01, None)]}
    assert points[("exp", "ib-focal", "q = p_y")] == {jpeg: [(68.60, None)],
                                                      png: [(72.86, None), (73.01, None)]}

    out = tmp_path / "summary.png"
    keys = summary_plot.plot(points, str(out))
    # exp rows first, each imbalance by its paper figure (ldam-drw 77.03 < ib 78.26
    # < ib-focal 79.76), the variant after its method.
    assert keys == [("exp", "ldam-drw", ""), ("exp", "ib", ""), ("exp", "ib-focal", ""),
                    ("exp", "ib-focal", "q = p_y"), ("step", "cdt", "")]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cb_focal_at_beta_0_sits_on_the_focal_figure(tmp_path):
    # cui19's sigmoid focal loss (cb-focal, beta 0) is judged against the focal row's
    # 70.38, so it is drawn after focal (70.38) and before rs (71.22), not beside
    # cb-focal (74.57).
    records = str(tmp_path / "records")
    _lossless(records, "focal-s0", "focal", 0, top1=0.6917)
    _lossless(records, "sigmoid-focal-s0", "cb-focal", 0, top1=0.6950, beta=0.0)
    _lossless(records, "rs-s0", "rs", 0, top1=0.6979)
    _lossless(records, "cbf-s0", "cb-focal", 0, top1=0.7472)
    points = summary_plot.collect_points(records)
    assert points[("exp", "cb-focal", "beta 0.0")][summary_plot.COPIES[1]] == [(69.5, None)]
    keys = summary_plot.plot(points, str(tmp_path / "summary.png"))
    assert keys == [("exp", "focal", ""), ("exp", "cb-focal", "beta 0.0"), ("exp", "rs", ""),
                    ("exp", "cb-focal", "")]
