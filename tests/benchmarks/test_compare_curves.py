"""benchmarks/compare_curves.py: reading both loops' histories and drawing them."""

import json

import pytest

from . import load_benchmark

compare_curves = load_benchmark("compare_curves")


def _write(path, data):
    path.write_text(json.dumps(data))
    return str(path)


def test_reads_keras_history_in_percent_with_gaps(tmp_path):
    path = _write(tmp_path / "history.json", {
        "epochs": [1, 2, 3],
        "logs": {"accuracy": [0.5, 0.75, 0.875], "val_accuracy": [None, 0.25, 0.625]}})
    epochs, train, test = compare_curves.keras_curves(path)
    assert epochs == [1, 2, 3]
    assert train == [50.0, 75.0, 87.5]
    assert test == [None, 25.0, 62.5]


def test_keras_history_without_monitor_is_refused(tmp_path):
    path = _write(tmp_path / "history.json", {"epochs": [1], "logs": {"accuracy": [0.5]}})
    with pytest.raises(SystemExit, match="no val_accuracy"):
        compare_curves.keras_curves(path)


def test_reads_torch_rows_tested_on_some_epochs(tmp_path):
    path = _write(tmp_path / "torch.json", {"history": [
        {"epoch": 1, "lr": 0.02, "loss": 2.0, "train_acc": 0.25},
        {"epoch": 2, "lr": 0.04, "loss": 1.0, "train_acc": 0.5, "test_acc": 0.375}]})
    assert compare_curves.torch_curves(path) == ([1, 2], [25.0, 50.0], [None, 37.5])


def test_main_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    keras = _write(tmp_path / "history.json", {
        "epochs": [1, 2], "logs": {"accuracy": [0.5, 0.6], "val_accuracy": [0.4, 0.45]}})
    torch = _write(tmp_path / "torch.json", {"history": [
        {"epoch": 1, "train_acc": 0.5, "test_acc": 0.42}, {"epoch": 2, "train_acc": 0.6}]})
    out = tmp_path / "curves.png"
    compare_curves.main(["--keras", keras, "--torch", torch, "--paper", "44.0", "--out", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
