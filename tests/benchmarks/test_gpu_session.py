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


FAKE_PYTHON = """#!/usr/bin/env bash
# The recipe is faked (no training): its run folder gets a config and a report
# at once, while reading a checkpoint's epoch takes 2 s, so that each run ends
# before the next one is launched (a loaded machine's order of events).
case $2 in */checkpoint.npz) sleep 2 ;; esac
if [ "$1" = recipes/cifar10_lt.py ]; then
    while [ $# -gt 0 ]; do
        case $1 in --output-dir) out=$2 ;; --run-name) name=$2 ;; esac
        shift
    done
    mkdir -p "$out/$name"
    echo '{}' > "$out/$name/config.json"
    echo '{"top1": 0.5, "run": {"train_seconds": 1.0}}' > "$out/$name/report.json"
    exit 0
fi
exec {real} "$@"
"""


def test_the_device_column_says_how_many_runs_shared_the_gpu(tmp_path):
    # A run's train time is its speed only when it ran alone: reproduce.json says so.
    import json
    import shutil
    import sys

    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python3").write_text(FAKE_PYTHON.replace("{real}", sys.executable))
    (shim / "nvidia-smi").write_text("#!/usr/bin/env bash\necho 'NVIDIA Test GPU'\n")
    for f in shim.iterdir():
        f.chmod(0o755)
    gpu, data = tmp_path / "gpu", tmp_path / "data"
    gpu.mkdir()
    data.mkdir()
    work, out = tmp_path / "work", tmp_path / "out"
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}", "GPU_DIR": str(gpu),
           "DATA": str(data), "WORK": str(work), "OUT": str(out), "THROUGHPUT": "",
           "BUDGET": "300", "EPOCHS": "3", "JOBS": "exp:erm exp:focal step:rs"}
    root = os.path.dirname(os.path.dirname(SCRIPT))
    subprocess.run(["bash", SCRIPT], cwd=root, env=env, capture_output=True, text=True,
                   check=True, timeout=120)
    devices = {}
    for name in os.listdir(work / "results"):
        meta = work / "results" / name / "reproduce.json"
        if meta.exists():
            devices[name] = json.loads(meta.read_text())["device"]
    assert devices == {
        "cifar10-exp100-ldam-drw-e3-s0-jax": "GPU: NVIDIA Test GPU, alone",
        "cifar10-exp100-erm-e3-s0-jax": "GPU: NVIDIA Test GPU, 3 runs sharing it",
        "cifar10-exp100-focal-e3-s0-jax": "GPU: NVIDIA Test GPU, 3 runs sharing it",
        "cifar10-step100-rs-e3-s0-jax": "GPU: NVIDIA Test GPU, 3 runs sharing it",
    }
    shutil.rmtree(work)
