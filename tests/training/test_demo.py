"""The embedded default job (`keras-lt` with no arguments) finishes and reports."""

import json
import os
import subprocess
import sys

from keras_lt.training.demo import DEMO_METHODS, SUMMARY_FILE


def test_default_job_runs_from_a_fresh_folder(tmp_path):
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "keras_lt.cli"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "balanced test accuracy" in done.stdout
    summary = json.loads((tmp_path / "saved_models" / SUMMARY_FILE).read_text())
    assert [row["method"] for row in summary["rows"]] == list(DEMO_METHODS)
    for row in summary["rows"]:
        run_dir = tmp_path / "saved_models" / f"digits-exp20-{row['method']}-e30-s0"
        for name in ("model.keras", "report.json", "config.json", "per_class_accuracy.png"):
            assert (run_dir / name).exists(), (run_dir, name)
        report = json.loads((run_dir / "report.json").read_text())
        assert report["top1"] == row["top1"]
        # The shot groups suit the demo's counts: every group has classes.
        assert all(report["groups"][g]["num_classes"] > 0 for g in ("many", "medium", "few"))
    # What the demo is for: the long-tail method beats cross-entropy on the rare classes.
    erm, lt = summary["rows"]
    assert lt["few"] > erm["few"]


def test_a_second_demo_retrains_its_folders_without_an_overwrite_notice(tmp_path, capsys):
    from keras_lt.training.demo import run_demo

    for _ in range(2):
        run_demo(methods=("erm",), epochs=1, output_dir=str(tmp_path), verbose=0)
    assert "training afresh" not in capsys.readouterr().err
