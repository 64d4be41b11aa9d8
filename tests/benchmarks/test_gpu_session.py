"""benchmarks/gpu_session.sh --between: what goes to .gpu/resume/ between two GPU calls."""

import os
import subprocess
import tarfile

SCRIPT = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "benchmarks", "gpu_session.sh")


def make_run(root, name, finished):
    folder = root / name
    (folder / "checkpoint").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "checkpoint" / "checkpoint.npz").write_bytes(b"not read here")
    if finished:
        (folder / "report.json").write_text("{}")


def test_between_keeps_only_unfinished_runs(tmp_path):
    results = tmp_path / "results"
    make_run(results, "cifar10-step100-ib-e200-s0-jax", finished=False)
    make_run(results, "cifar10-step100-mfw-drw-e200-s0-jax", finished=False)
    make_run(results, "cifar10-exp100-cb-softmax-e200-s0-jax", finished=True)
    (results / "session.log").write_text("")
    archive = tmp_path / "gpu-results.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(results, arcname=".")
    gpu = tmp_path / "gpu"
    stale = gpu / "resume" / "cifar10-step100-ldam-drw-e200-s0-jax"
    stale.mkdir(parents=True)  # finished in an earlier call: must not run again

    out = subprocess.run(
        ["bash", SCRIPT, "--between", str(archive), str(tmp_path / "runs")],
        env={**os.environ, "GPU_DIR": str(gpu)},
        capture_output=True, text=True, check=True,
    ).stdout

    assert sorted(os.listdir(gpu / "resume")) == [
        "cifar10-step100-ib-e200-s0-jax",
        "cifar10-step100-mfw-drw-e200-s0-jax",
    ]
    assert os.path.isfile(gpu / "resume" / "cifar10-step100-ib-e200-s0-jax" / "checkpoint" / "checkpoint.npz")
    assert out.splitlines()[-1] == 'JOBS="step:ib step:mfw-drw"'
    assert os.path.isfile(tmp_path / "runs" / "cifar10-exp100-cb-softmax-e200-s0-jax" / "report.json")
