#!/usr/bin/env bash
# Issue 7 on one lent GPU machine, in one call of about 5-8 minutes.
#
# Three 200-epoch runs side by side on the one GPU, on the same long-tailed images:
#   (a) the CIFAR-10-LT ldam-drw recipe on JAX (recipes/cifar10_lt.py, per-epoch
#       test monitor on): a full-length row and the speed target (the whole
#       200-epoch recipe in at most 5 minutes on one H100: report.json's
#       train_seconds);
#   (b) the PyTorch port of the reference loop (benchmarks/torch_ldam_drw.py):
#       the figure of the papers' own loop on this copy of CIFAR-10 on the GPU,
#       beside its CPU run (71.09; keras_lt 71.61, the paper 77.03);
#   (c) the PyTorch port of the IB reference loop (benchmarks/torch_ib.py): the
#       same for ib (CPU: 69.56 last, 73.26 best; keras_lt 68.06, the paper 78.26).
#
# 1. Here, on a CPU machine, in the repository root (needs network to PyPI):
#        bash benchmarks/gpu_session.sh --prepare
#    puts keras's missing wheels (the GPU image has JAX and torch, not keras)
#    and the CIFAR-10 archive into .gpu/ (git-ignored, about 25 MB).
# 2. With the device tool: run(command="bash benchmarks/gpu_session.sh",
#    carry=[".gpu"], timeout_s=600). Each run writes a log, its JSON results
#    and the recipe run's config/report/history under $OUT (they come back).
# 3. Back here: copy the returned folder to runs/gpu/, then
#        python benchmarks/reproduce.py --collect --collect-from runs/gpu
#    and commit benchmarks/records/ and benchmarks/RESULTS.md; the torch
#    figures go into RESULTS.md's LDAM-DRW and IB A/B sections.
#
# Settings (environment): EPOCHS (200), SEED (0), RATIO (100), DEVICE (cuda, for
# the torch loop), DATA (a CIFAR-10 image folder; default: .gpu's archive
# unpacked), WORK (run folders, /tmp/keras_lt_gpu), LIMIT (seconds per run, 540).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
    set -e
    mkdir -p .gpu/whl
    keras_version=$(python3 -c "from importlib.metadata import version; print(version('keras'))")
    for pkg in "keras==$keras_version" namex optree; do
        python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
            --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
            --platform manylinux2014_x86_64 -d .gpu/whl "$pkg"
    done
    cp ../shared/datasets/cifar10-images.tar.gz .gpu/
    du -sh .gpu
    exit 0
fi

EPOCHS=${EPOCHS:-200}
SEED=${SEED:-0}
RATIO=${RATIO:-100}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/keras_lt_gpu}
LIMIT=${LIMIT:-540}
OUT=${OUT:-runs/gpu}
mkdir -p "$OUT" "$WORK"

if ls .gpu/whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/keras_lt_site .gpu/whl/*.whl || exit 1
    export PYTHONPATH=/tmp/keras_lt_site:$PWD
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -z "${DATA:-}" ]; then
    DATA=.gpu/data/cifar10
    [ -d "$DATA" ] || { mkdir -p .gpu/data && tar -xzf .gpu/cifar10-images.tar.gz -C .gpu/data; } || exit 1
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    || echo "no nvidia-smi: $(nproc) CPUs"

name=cifar10-exp${RATIO}-ldam-drw-e${EPOCHS}-s${SEED}-jax
recipe="KERAS_BACKEND=jax python recipes/cifar10_lt.py --method ldam-drw --imbalance exp \
--ratio $RATIO --epochs $EPOCHS --seed $SEED --data-dir .data/cifar10 --quiet"
started=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
# Both processes share the GPU: JAX takes part of the memory, not 75 %.
(
    start=$(date +%s)
    XLA_PYTHON_CLIENT_MEM_FRACTION=0.4 KERAS_BACKEND=jax timeout "$LIMIT" \
        python3 recipes/cifar10_lt.py --method ldam-drw --imbalance exp --ratio "$RATIO" \
        --epochs "$EPOCHS" --seed "$SEED" --data-dir "$DATA" --output-dir "$WORK" \
        --run-name "$name" --quiet
    echo "keras_lt recipe: exit $?, $(( $(date +%s) - start )) s wall"
) > "$OUT/keras-ldam-drw.log" 2>&1 &
# One PyTorch reference loop (benchmarks/torch_<method>.py) for the whole schedule.
torch_reference() {
    local method=$1 start
    start=$(date +%s)
    KERAS_BACKEND=torch timeout "$LIMIT" python3 "benchmarks/torch_${method}.py" \
        --data-dir "$DATA" --ratio "$RATIO" --epochs "$EPOCHS" --seed "$SEED" --device "$DEVICE" \
        --checkpoint "$WORK/torch-${method//_/-}.pt" \
        --json "$OUT/torch-${method//_/-}-e${EPOCHS}-s${SEED}.json"
    echo "torch ${method} reference loop: exit $?, $(( $(date +%s) - start )) s wall"
}
torch_reference ldam_drw > "$OUT/torch-ldam-drw.log" 2>&1 &
torch_reference ib > "$OUT/torch-ib.log" 2>&1 &
wait

mkdir -p "$OUT/$name"
for f in config.json report.json history.json; do
    [ -f "$WORK/$name/$f" ] && cp "$WORK/$name/$f" "$OUT/$name/"
done
# What reproduce.py reads besides the report: the command and the device.
KERAS_BACKEND=jax python3 - "$OUT/$name/reproduce.json" "$recipe" "$started" <<'PY'
import datetime, json, socket, sys
import jax
device = jax.devices()[0]
kind = "GPU: " + device.device_kind if device.platform == "gpu" else "CPU"
json.dump({"command": sys.argv[2] + "  # run by benchmarks/gpu_session.sh", "device": kind,
           "host": socket.gethostname(), "started": sys.argv[3],
           "finished": datetime.datetime.now(datetime.timezone.utc).replace(
               microsecond=0).isoformat()}, open(sys.argv[1], "w"), indent=2)
PY
tail -n 3 "$OUT/keras-ldam-drw.log" "$OUT/torch-ldam-drw.log"
python3 - "$OUT/$name/report.json" <<'EOF'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except OSError:
    sys.exit("no report.json: the recipe did not finish")
print(f"keras_lt ldam-drw: top-1 {100 * report['top1']:.2f}, "
      f"{report['run']['train_seconds']:.0f} s for {report['run']['epochs']} epochs "
      f"({report['run']['backend']})")
EOF
