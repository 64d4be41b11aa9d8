"""benchmarks/throughput.py: the "+kerasbn" models and the shared machine helpers (no timing)."""

import importlib

import keras
import pytest

from keras_lt.models import FusedBatchNormalization

from . import load_benchmark

throughput = load_benchmark("throughput")


def _batch_norms(model):
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.BatchNormalization)]


def test_bare_kerasbn_is_built_with_keras_unfused_batch_norm_and_bare_with_the_fused_one():
    basic_block = importlib.import_module("keras_lt.models.basic_block")
    cifar_resnet = importlib.import_module("keras_lt.models.cifar_resnet")
    originals = (basic_block.batch_norm, cifar_resnet.batch_norm)

    unfused = _batch_norms(throughput._bare_model(8, keras_bn=True))
    assert len(unfused) == 31  # ResNet-32: the stem and two per block (15 blocks)
    assert all(type(bn) is keras.layers.BatchNormalization for bn in unfused)
    assert not any(isinstance(bn, FusedBatchNormalization) for bn in unfused)
    assert {(bn.momentum, bn.epsilon) for bn in unfused} == {
        (basic_block.BN_MOMENTUM, basic_block.BN_EPSILON)}
    assert (basic_block.batch_norm, cifar_resnet.batch_norm) == originals  # patch undone

    fused = _batch_norms(throughput._bare_model(8))
    assert len(fused) == 31
    assert all(type(bn) is FusedBatchNormalization for bn in fused)


def test_method_names_and_profile_have_the_kerasbn_rows_only():
    assert throughput.method_list("erm+kerasbn,bare-kerasbn,ib") == [
        "bare", "erm", "erm+kerasbn", "bare-kerasbn", "ib"]
    with pytest.raises(SystemExit):
        throughput.method_list("erm+fusedbn")
    for threads in (None, 1):
        variants = throughput.profile_variants(2, threads)
        models = {m for *_, names in variants for m in names}
        assert models == {"bare", "bare-kerasbn"}
        for label, backend, *_, names in variants:
            if "bare-kerasbn" in names:
                assert backend == "tensorflow", label


def test_keras_bn_option_replaces_fused_bn():
    args = throughput.parse_args(["--keras-bn"])
    assert args.keras_bn
    with pytest.raises(SystemExit):
        throughput.parse_args(["--fused-bn"])


def test_wait_for_quiet_is_shared_and_waits_for_the_load(monkeypatch):
    machine_load = importlib.import_module("machine_load")  # as throughput.py imported it
    reproduce = load_benchmark("reproduce")
    assert throughput.wait_for_quiet is machine_load.wait_for_quiet
    assert reproduce.cpu_model is throughput.cpu_model is machine_load.cpu_model
    assert reproduce.usable_cores is machine_load.usable_cores

    loads, slept = [4.0, 3.0, 1.0], []
    monkeypatch.setattr(machine_load, "load1", lambda: loads.pop(0))
    monkeypatch.setattr(machine_load.time, "sleep", slept.append)
    assert machine_load.wait_for_quiet(2.5, 600, interval=60, log=lambda *a: None) == (1.0, True)
    assert slept == [60, 60]

    monkeypatch.setattr(machine_load, "load1", lambda: 4.0)
    assert machine_load.wait_for_quiet(2.5, 0, log=lambda *a: None) == (4.0, False)


def test_machine_line_names_the_accelerator_a_backend_trained_on():
    # The section said "CPU only" whatever the device: wrong for a GPU session's run.
    assert throughput.accelerators([{"device": "cpu"}, {"device": "cpu:cpu"}]) == "CPU only"
    assert throughput.accelerators([{"device": "gpu:NVIDIA H200"}, {"device": "cpu"}]) \
        == "on gpu:NVIDIA H200"
