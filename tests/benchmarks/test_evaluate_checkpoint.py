"""benchmarks/evaluate_checkpoint.py: a run's checkpoint scored as the run scores itself."""

import json

import pytest

from keras_lt.training.config import TrainConfig
from keras_lt.training.experiment import train

from . import load_benchmark

evaluate_checkpoint = load_benchmark("evaluate_checkpoint")


def test_checkpoint_of_the_last_epoch_scores_the_runs_own_report(tmp_path):
    # After its last epoch a run's checkpoint holds the weights its report was
    # computed with, so rebuilding the model and restoring must give that report.
    config = TrainConfig(dataset="digits", method="mfw-drw", epochs=4, batch_size=16,
                         output_dir=str(tmp_path), verbose=0, monitor=False)
    _, report, run_dir = train(config)
    out = tmp_path / "epoch.json"
    result = evaluate_checkpoint.main([run_dir, "--json", str(out)])
    assert result["epochs_done"] == 4
    assert result["top1"] == pytest.approx(report["top1"])
    accuracies = lambda r: [c["accuracy"] for c in r["per_class"]]  # noqa: E731
    assert accuracies(result) == pytest.approx(accuracies(report))
    assert result["top1"] > 0.3  # trained: an unrestored model scores ~0.1 (10 classes)
    assert json.loads(out.read_text())["top1"] == pytest.approx(report["top1"])


def test_a_run_without_checkpoint_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        evaluate_checkpoint.main([str(tmp_path)])
