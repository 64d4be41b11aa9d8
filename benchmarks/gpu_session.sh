#!/usr/bin/env bash
# Issue 7 on one lent GPU machine, in one call of at most BUDGET (560) seconds.
# Phases 0 and 1 have both been run (2026-11-30, 2026-12-04): a later session skips
# them and gives its 900 s of device time to the rows not yet run (the default
# JOBS; its first four: three step-100 rows and exp-100 ib-focal, whose recipe
# default changed on 2026-12-06 to the reference code's focal q), in two calls:
#   THROUGHPUT= PHASE1_SECONDS=240 BUDGET=570 SHARE_PERCENT=400 MAX_JOBS=4 bash ...
#   then `--between` (below) puts the unfinished runs into .gpu/resume/ and prints
#   their JOBS for the second call, at once (the machine goes back after 30 s idle):
#   THROUGHPUT= PHASE1_SECONDS=240 BUDGET=<budget_left_s - 60> JOBS="<those>" bash ...
# At the rate measured below (~25,000 images a second for four at once) the step
# rows should reach about epoch 140 in the first call and need ~200 s in the second
# (an estimate, not yet run).
# Measured so on 2026-12-04 (step:ldam-drw step:cdt exp:rs exp:rw): the exp rows took
# 420 s each, the step rows (25,250 images) reached epochs 165 and 170, and the second
# call (BUDGET=270) finished them from their checkpoints in 123 s. Four at once train
# only ~10 % more images a second than two (two exp rows: 217 s; one alone: 259 s):
# the host, not the GPU, is the limit.
#
# Phase 1, alone on the GPU: the CIFAR-10-LT exp-100 ldam-drw recipe on JAX
#   (recipes/cifar10_lt.py, per-epoch test monitor on), 200 epochs: a full-length
#   row and the speed target (the whole 200-epoch recipe in at most 5 minutes on
#   one H100: report.json's train_seconds, measured with nothing else running).
# Phase 2, side by side on the GPU in the time left: more full-length rows, first
#   the step-100 ones (25,250 training images: ~4.4 h a row on the 2-core CPU, so
#   the GPU is their only chance), then exp-100 methods not yet run, then the
#   PyTorch port of the reference loop (benchmarks/torch_ldam_drw.py) on the GPU.
#   A job costs T1 x (its images / 12,406) x (its epochs left / 200), T1 the
#   phase-1 time; jobs are taken in order while their costs (at most the time left
#   each) add up to at most 2.5 x the time left (runs side by side share a GPU that
#   one ResNet-32 leaves mostly idle: two ran as fast as one). A step-100 row
#   (~9 min) does not fit one call: it runs as far as it gets, its checkpoint comes
#   back in the archive, and the next call continues it from .gpu/resume/.
#
# 1. Here, on a CPU machine, in the repository root (needs network to PyPI):
#        bash benchmarks/gpu_session.sh --prepare
#    puts keras's missing wheels (the GPU image has JAX and torch, not keras)
#    and the CIFAR-10 archive into .gpu/ (git-ignored, about 25 MB).
# 2. With the device tool: run(command="bash benchmarks/gpu_session.sh 2>&1 |
#    tee $OUT/session.log", carry=[".gpu"], timeout_s=600). Everything comes back
#    as two files under $OUT: session.log and gpu-results.tar.gz (each run's
#    folder with config, report, history and reproduce.json; the logs; the torch
#    JSON). Measured on an H200 (2026-11-30): phase 1 took 271 s, a machine start
#    about 30 s; two recipes side by side ran as fast as one alone.
# 3. Back here: mkdir -p runs/gpu && tar -xzf <files_at>/gpu-results.tar.gz -C runs/gpu
#        python benchmarks/reproduce.py --collect --collect-from runs/ab --collect-from runs/gpu
#    and commit benchmarks/records/ and benchmarks/RESULTS.md. A run that came back
#    unfinished (checkpoint/ in its folder, "NOT FINISHED" in session.log) goes to
#    .gpu/resume/ for the next call: `bash benchmarks/gpu_session.sh --between
#    <files_at>/gpu-results.tar.gz runs/gpuN` unpacks, copies and prints JOBS.
#
# Phase 0 (first, alone, at most THROUGHPUT_LIMIT=200 s): benchmarks/throughput.py on
#   JAX for the THROUGHPUT methods (erm,ldam-drw,ib,mfw,cdt; bare and erm always),
#   its section in RESULTS-throughput.md inside the archive, to append to RESULTS.md.
#
# Settings (environment): EPOCHS (200), SEED (0), BUDGET (seconds for the whole
# script, 560), JOBS (phase-2 queue, "imbalance:method" or "torch:ldam_drw"),
# MAX_JOBS (phase-2 jobs at most, 8), SHARE_PERCENT (phase-2 capacity in percent of
# the time left, 250), PARTIAL (1: start rows that cannot finish in this call), PHASE1_SECONDS (skip phase 1, assume it took this long),
# DEVICE (cuda, for the torch loop), DATA (a CIFAR-10 image folder; default:
# .gpu's archive unpacked), WORK (/tmp/keras_lt_gpu).
set -uo pipefail
cd "$(dirname "$0")/.."

# Between two calls (the machine goes back after 30 s idle, so this is one command):
#   bash benchmarks/gpu_session.sh --between <files_at>/gpu-results.tar.gz runs/gpuN
# unpacks the archive into runs/gpuN, puts the runs that came back unfinished (and
# only those) into .gpu/resume/, and prints the JOBS value for the next call.
if [ "${1:-}" = "--between" ]; then
    set -e
    archive=$2 runs=$3 resume=${GPU_DIR:-.gpu}/resume
    mkdir -p "$runs"
    tar -xzf "$archive" -C "$runs"
    rm -rf "$resume" && mkdir -p "$resume"
    jobs=""
    for folder in "$runs"/cifar10-*; do
        [ -d "$folder/checkpoint" ] && [ ! -f "$folder/report.json" ] || continue
        cp -r "$folder" "$resume/"
        # cifar10-step100-ib-e200-s0-jax -> step:ib
        job=$(basename "$folder" | sed -E 's/^cifar10-(exp|step)100-(.+)-e[0-9]+-s[0-9]+-jax$/\1:\2/')
        jobs="$jobs${jobs:+ }$job"
    done
    echo "unfinished, in $resume: ${jobs:-none}"
    echo "JOBS=\"$jobs\""
    exit 0
fi

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

T0=$(date +%s)
EPOCHS=${EPOCHS:-200}
SEED=${SEED:-0}
BUDGET=${BUDGET:-560}
# The default queue: the 13 rows of the 28 with no full-length run yet (2026-12-04),
# two headline step-100 methods and the last exp-100 row first. This script runs its
# queue as given (reproduce.py's plan runner skips recorded rows; this does not):
# keep the queue to rows not yet run.
JOBS=${JOBS:-"step:ib step:mfw-drw exp:ib-focal step:erm step:ib-focal step:ldam step:focal step:cb-focal step:cb-softmax step:rs step:rw step:ib-cb step:mfw"}
MAX_JOBS=${MAX_JOBS:-8}
PARTIAL=${PARTIAL:-1}
THROUGHPUT=${THROUGHPUT-erm,ldam-drw,ib,mfw,cdt}
THROUGHPUT_LIMIT=${THROUGHPUT_LIMIT:-200}
THROUGHPUT_ARGS=${THROUGHPUT_ARGS:---steps 20}
DEVICE=${DEVICE:-cuda}
WORK=${WORK:-/tmp/keras_lt_gpu}
OUT=${OUT:-runs/gpu-out}
RES=$WORK/results
mkdir -p "$OUT" "$RES"
left() { echo $(( BUDGET - ($(date +%s) - T0) )); }

GPU_DIR=${GPU_DIR:-.gpu}  # what travels with `carry` (another folder in the tests)
if ls "$GPU_DIR"/whl/*.whl > /dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/keras_lt_site "$GPU_DIR"/whl/*.whl || exit 1
    export PYTHONPATH=/tmp/keras_lt_site:$PWD${PYTHONPATH:+:$PYTHONPATH}
else
    export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
if [ -z "${DATA:-}" ]; then
    DATA=$GPU_DIR/data/cifar10
    [ -d "$DATA" ] || { mkdir -p "$GPU_DIR"/data && tar -xzf "$GPU_DIR"/cifar10-images.tar.gz -C "$GPU_DIR"/data; } || exit 1
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    || echo "no nvidia-smi: $(nproc) CPUs"
# What reproduce.py shows in its device column ("GPU: NVIDIA H200").
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
DEVICE_KIND=${GPU_NAME:+GPU: $GPU_NAME}
DEVICE_KIND=${DEVICE_KIND:-CPU}
# Runs stopped in an earlier call (their folders, checkpoint/ inside) continue.
if [ -d "$GPU_DIR"/resume ]; then
    cp -r "$GPU_DIR"/resume/. "$WORK/" && echo "resuming: $(ls "$GPU_DIR"/resume | tr '\n' ' ')"
fi
echo "setup: $(( $(date +%s) - T0 )) s"

# done_epochs NAME: epochs a run folder's checkpoint holds (0 without one).
done_epochs() {
    python3 - "$WORK/$1/checkpoint/checkpoint.npz" <<'PY' 2>/dev/null || echo 0
import json, sys
import numpy as np
print(json.loads(bytes(np.load(sys.argv[1])["meta"]).decode())["epoch"])
PY
}

# How many runs share the GPU in phase 2 (written once all are launched; each job
# reads it when it ends, minutes later, for its device column).
SHARING_FILE=$RES/phase2-sharing

# keras_recipe IMBALANCE METHOD SECONDS MEMORY_FRACTION PHASE: one recipe run on JAX,
# its folder (config, report, history, reproduce.json) and log into $RES.
keras_recipe() {
    local imb=$1 method=$2 limit=$3 mem=$4 phase=$5 name start started rc resumed_at sharing
    name=cifar10-${imb}100-${method}-e${EPOCHS}-s${SEED}-jax
    resumed_at=$(done_epochs "$name")  # 0 unless a checkpoint came from .gpu/resume/
    started=$(date -u +%Y-%m-%dT%H:%M:%S+00:00)
    start=$(date +%s)
    XLA_PYTHON_CLIENT_MEM_FRACTION=$mem KERAS_BACKEND=jax timeout "$limit" \
        python3 recipes/cifar10_lt.py --method "$method" --imbalance "$imb" --ratio 100 \
        --epochs "$EPOCHS" --seed "$SEED" --data-dir "$DATA" --output-dir "$WORK" \
        --run-name "$name" --resume --quiet > "$RES/$name.log" 2>&1
    rc=$?
    mkdir -p "$RES/$name"
    for f in config.json report.json history.json; do
        [ -f "$WORK/$name/$f" ] && cp "$WORK/$name/$f" "$RES/$name/"
    done
    # Stopped before the end: its checkpoint comes back, for .gpu/resume/ next time.
    [ -f "$WORK/$name/report.json" ] || cp -r "$WORK/$name/checkpoint" "$RES/$name/" 2>/dev/null
    sharing=1
    if [ "$phase" = 2 ]; then
        # The count is written once every job is launched: on a loaded machine a
        # short run can end before that (it then read "?").
        for _ in $(seq 60); do [ -f "$SHARING_FILE" ] && break; sleep 1; done
        sharing=$(cat "$SHARING_FILE" 2>/dev/null || echo "?")
    fi
    python3 - "$RES/$name/reproduce.json" "$imb" "$method" "$started" "$rc" \
        "$EPOCHS" "$SEED" "$DEVICE_KIND" "$resumed_at" "$sharing" <<'PY'
import datetime, json, socket, sys
out, imb, method, started, rc, epochs, seed, kind, resumed_at, sharing = sys.argv[1:]
if kind != "CPU":  # the train time of a run that shared the GPU is not its speed alone
    kind += ", alone" if sharing == "1" else f", {sharing} runs sharing it"
command = (f"KERAS_BACKEND=jax python recipes/cifar10_lt.py --method {method} --imbalance {imb} "
           f"--ratio 100 --epochs {epochs} --seed {seed} --data-dir .data/cifar10 --quiet"
           "  # run by benchmarks/gpu_session.sh")
json.dump({"command": command, "device": kind, "host": socket.gethostname(),
           "started": started, "returncode": int(rc),
           "resumed": int(resumed_at) > 0, "resumed_at_epoch": int(resumed_at),
           "finished": datetime.datetime.now(datetime.timezone.utc).replace(
               microsecond=0).isoformat()}, open(out, "w"), indent=2)
PY
    python3 - "$WORK/$name" "$rc" "$(( $(date +%s) - start ))" "$(done_epochs "$name")" <<'PY'
import json, os, sys
folder, rc, wall, epoch = sys.argv[1:]
try:
    r = json.load(open(os.path.join(folder, "report.json")))
    print(f"{os.path.basename(folder)}: top-1 {100 * r['top1']:.2f}, train "
          f"{r['run']['train_seconds']:.0f} s, {wall} s wall")
except OSError:
    print(f"{os.path.basename(folder)}: NOT FINISHED (exit {rc}, {wall} s wall, epoch {epoch})")
PY
}

torch_reference() {
    local method=$1 limit=$2 start rc
    start=$(date +%s)
    KERAS_BACKEND=torch timeout "$limit" python3 "benchmarks/torch_${method}.py" \
        --data-dir "$DATA" --ratio 100 --epochs "$EPOCHS" --seed "$SEED" --device "$DEVICE" \
        --checkpoint "$WORK/torch-${method//_/-}.pt" \
        --json "$RES/torch-${method//_/-}-e${EPOCHS}-s${SEED}.json" > "$RES/torch-${method//_/-}.log" 2>&1
    rc=$?
    echo "torch ${method} reference loop: exit $rc, $(( $(date +%s) - start )) s wall"
    tail -n 2 "$RES/torch-${method//_/-}.log"
}

pack() {
    tar -czf "$OUT/gpu-results.tar.gz" -C "$RES" . && echo "packed: $(du -h "$OUT/gpu-results.tar.gz" | cut -f1)"
}

# Phase 0, alone: training images per second per method on JAX on this GPU
# (benchmarks/throughput.py, issue 7's throughput table; THROUGHPUT="" skips it).
if [ -n "$THROUGHPUT" ]; then
    p0=$(date +%s)
    KERAS_BACKEND=jax timeout "$THROUGHPUT_LIMIT" python3 benchmarks/throughput.py --backends jax \
        --methods "$THROUGHPUT" --torch-python none --max-wait 30 $THROUGHPUT_ARGS \
        --results "$RES/RESULTS-throughput.md" --json "$RES/throughput-gpu.json" \
        --note "benchmarks/gpu_session.sh on ${GPU_NAME:-CPU}" \
        > "$RES/throughput.log" 2>&1
    echo "throughput: exit $?, $(( $(date +%s) - p0 )) s"
    tail -n 25 "$RES/throughput.log"
    pack
fi

# Phase 1: alone (PHASE1_SECONDS=T skips it, taking T as its time).
if [ -n "${PHASE1_SECONDS:-}" ]; then
    T1=$PHASE1_SECONDS
else
    p1=$(date +%s)
    keras_recipe exp ldam-drw $(( $(left) - 30 )) 0.5 1
    T1=$(( $(date +%s) - p1 ))
    echo "phase 1: $T1 s; $(left) s left"
    pack
fi

# Phase 2: side by side, as many as the time left allows.
room=$(( $(left) - 35 ))
capacity=$(( room * ${SHARE_PERCENT:-250} / 100 ))
used=0
n=0
rm -f "$SHARING_FILE"
for job in $JOBS; do
    imb=${job%%:*}
    method=${job#*:}
    if [ "$imb" = step ]; then cost=$(( T1 * 25250 / 12406 )); else cost=$T1; fi
    if [ "$imb" != torch ]; then
        name=cifar10-${imb}100-${method}-e${EPOCHS}-s${SEED}-jax
        [ -f "$WORK/$name/report.json" ] && continue
        cost=$(( cost * (EPOCHS - $(done_epochs "$name")) / EPOCHS ))
    fi
    [ "$n" -ge "$MAX_JOBS" ] && break
    # One that cannot finish in time runs as far as it gets (PARTIAL=1) and comes
    # back with its checkpoint; the torch loop's does not come back.
    if [ "$cost" -ge "$room" ]; then
        [ "$PARTIAL" = 1 ] && [ "$imb" != torch ] || continue
        cost=$room
    fi
    [ $(( used + cost )) -gt "$capacity" ] && continue
    used=$(( used + cost ))
    n=$(( n + 1 ))
    echo "phase 2 job $n: $job (cost ~$cost s)"
    if [ "$imb" = torch ]; then
        torch_reference "$method" "$room" > "$RES/phase2-$n.txt" 2>&1 &
    else
        keras_recipe "$imb" "$method" "$room" 0.1 2 > "$RES/phase2-$n.txt" 2>&1 &
    fi
done
echo "$n" > "$SHARING_FILE"
wait
cat "$RES"/phase2-*.txt 2>/dev/null
echo "phase 2: $n jobs; total $(( $(date +%s) - T0 )) s"
pack
