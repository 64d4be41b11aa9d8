"""Training images per second of the CIFAR-10-LT recipe, per method and backend.

    python benchmarks/throughput.py                      # TF and JAX on CPU + torch reference
    python benchmarks/throughput.py --backends jax --methods erm,ib,mfw --no-write
    python benchmarks/throughput.py --torch-python /other/venv/bin/python
    python benchmarks/throughput.py --threads 1 --torch-channels-last   # busy machine
    python benchmarks/throughput.py --backends tensorflow --keras-bn   # gain of the fused batch norm
    python benchmarks/throughput.py --profile [--threads 1]   # CPU configurations, bare model

What it measures: for each Keras backend (each in its own subprocess with
KERAS_BACKEND set) and each method, the training step of the model exactly as
`recipes/cifar10_lt.py` builds and compiles it (keras_lt.training.experiment:
ResNet-32, the method's head, loss and feature weakening, the pad-crop-flip
and normalisation layers inside the model, the papers' SGD with its schedule
and weight decay, the BalancedAccuracy and accuracy metrics), on one resident
batch of 128 CIFAR-10-LT-shaped images (`train_on_batch`, the compiled train
function). Methods whose loss switches phase (DRW, IB, delayed CDT) are timed
in their last phase: the callbacks are applied for the last epoch first. Two
more rows per backend:

    bare       keras.Sequential(resnet32 backbone, Dense(10)), cross-entropy,
               the same optimizer, no metrics, no augmentation: the Keras
               counterpart of the torch reference loop;
    erm        the recipe's erm step; every other row's overhead is against it.

and, run with `--torch-python` (a python that has torch; default: this one if
it imports torch), benchmarks/torch_reference.py: the plain PyTorch ResNet-32
loop, the CPU target ("the fastest backend as fast per image as torch").

Timing: every model is built and compiled, then `--warmup` untimed steps
(trace and compile); then `--rounds` rounds run `--steps` steps of every
method in turn (interleaved, so a busy moment of a shared machine hits all
methods alike); the median over rounds of the per-step wall time gives
images/s = batch / step time. The process CPU time per step (all threads) is
reported too: on a shared machine it is the steadier figure.

The machine must be quiet: before each backend (and the torch loop) the
script waits, up to `--max-wait` seconds, until the 1-minute load average is
at most `--max-load`, and records the load before and after every
measurement. A figure taken above the limit is marked "(busy)".

On a busy machine (other jobs on the cores) wall-clock figures of multi-
threaded processes are not comparable (torch's OpenMP threads spin and stall
when a core is taken); `--threads 1` runs every process on one thread, and its
CPU time per step, the work of a step, compares backends and torch fairly.

Batch norm: keras_lt's ResNets use `keras_lt.models.FusedBatchNormalization`
(Keras's layer whose TensorFlow training pass is one FusedBatchNormV3 op), so
every row above is built with it. `--keras-bn` adds, on TensorFlow, the rows
"bare-kerasbn" and "<method>+kerasbn": the same models built with Keras's own
unfused `keras.layers.BatchNormalization` (moments + normalisation, about ten
element-wise ops and their gradients), which measure what the fused layer
gains (RESULTS.md, "CPU speed"). On JAX and torch the fused layer is Keras's
layer, so such rows would only repeat the others.

The machine helpers (CPU model, cores, load average, the wait for a quiet
machine) are benchmarks/machine_load.py, shared with reproduce.py.

At the end it appends a dated section to benchmarks/RESULTS.md (unless
`--no-write`): command, machine (CPU model, cores), versions, load averages,
images/s and overhead per method and backend, and the fastest backend against
the torch loop.

benchmarks/step_time.py (the models engineer's) times the losses alone on a
`LongTailModel` with a fixed plain SGD, CPU-time ratios against cross-entropy;
this script measures what a user of the recipe gets, in images/s, per backend.
It reuses step_time's `StepTimer`.
"""

import argparse
import contextlib
import datetime
import importlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "RESULTS.md")

if HERE not in sys.path:  # also when loaded by path (tests) rather than run
    sys.path.insert(0, HERE)
from machine_load import (cpu_model, load1, load_averages, usable_cores,  # noqa: E402
                          wait_for_quiet)

# Methods with distinct training steps (rw, rs, erm-drw and cb-softmax are
# erm's step with other weights or another sampler; --methods all adds them).
DEFAULT_METHODS = ("erm", "focal", "cb-sigmoid", "cb-focal", "ldam-drw", "cdt",
                   "ib", "ib-focal", "mfw", "mfw-drw")
BACKENDS = ("tensorflow", "jax")


# ----------------------------------------------------------------- worker


def parse_worker_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--backend", required=True)
    parser.add_argument("--methods", required=True)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "true", "false"])
    parser.add_argument("--tf-threads", default=None,
                        help="TF intra,inter op threads, e.g. 2,1 (default: TF's)")
    parser.add_argument("--json", required=True)
    return parser.parse_args(argv)


def _synthetic_data(batch_size, seed=0):
    """A LongTailedData with CIFAR-10-LT (exp, rho 100) counts and random
    uint8 images: what experiment.build_model needs (shape, statistics,
    counts), without reading the dataset."""
    import numpy as np

    from keras_lt.data import LabeledArrays, imbalanced_counts
    from keras_lt.data.long_tailed import LongTailedData

    counts = np.asarray(imbalanced_counts(5000, 10, "exp", 100), dtype=np.int64)
    rng = np.random.default_rng(seed)
    n = max(batch_size, 1024)
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    y = np.arange(n) % 10
    names = [str(c) for c in range(10)]
    train = LabeledArrays(x, y, names)
    return LongTailedData(train=train, test=train, val=None, counts=counts, class_names=names,
                          train_indices=np.arange(n), info={"source": "synthetic"})


KERAS_BN_SUFFIX = "+kerasbn"
BARE_KERAS_BN = "bare-kerasbn"
# The modules whose `batch_norm` builds the batch norms of keras_lt's ResNets
# (cifar_resnet and resnet18 import it from basic_block by name). By path: the
# package exports `keras_lt.models.cifar_resnet`, the function, under the name.
BATCH_NORM_MODULES = ("keras_lt.models.basic_block", "keras_lt.models.cifar_resnet",
                      "keras_lt.models.resnet18")


@contextlib.contextmanager
def keras_batch_norm():
    """While active, keras_lt's ResNets are built with Keras's own unfused
    `keras.layers.BatchNormalization` (momentum and epsilon as
    basic_block.BN_MOMENTUM / BN_EPSILON) instead of the default
    FusedBatchNormalization: the "+kerasbn" rows."""
    import keras

    modules = [importlib.import_module(name) for name in BATCH_NORM_MODULES]
    basic_block = modules[0]

    def batch_norm(name):
        return keras.layers.BatchNormalization(
            momentum=basic_block.BN_MOMENTUM, epsilon=basic_block.BN_EPSILON, name=name)

    saved = [module.batch_norm for module in modules]
    try:
        for module in modules:
            module.batch_norm = batch_norm
        yield
    finally:
        for module, original in zip(modules, saved):
            module.batch_norm = original


def _recipe_model(method_name, data, batch_size):
    """The recipe's compiled model for `method_name`, in its last phase
    ("<method>+kerasbn": built with Keras's unfused BatchNormalization)."""
    if method_name.endswith(KERAS_BN_SUFFIX):
        with keras_batch_norm():
            return _recipe_model(method_name[:-len(KERAS_BN_SUFFIX)], data, batch_size)
    from keras_lt.training import experiment
    from keras_lt.training.config import TrainConfig
    from keras_lt.training.methods import get_method

    config = TrainConfig(dataset="cifar10", method=method_name, batch_size=batch_size,
                         verbose=0).resolve()
    method = get_method(method_name)
    steps = -(-int(data.counts.sum()) // batch_size)
    model = experiment.build_model(config, method, data)
    experiment.compile_model(config, method, model, data.counts, steps)
    for callback in method.build_callbacks(config, data.counts):
        callback.set_model(model)
        callback.on_epoch_begin(config.epochs - 1)
    return model


def _bare_model(batch_size, keras_bn=False):
    """ResNet-32 + Dense(10), cross-entropy, the recipe's SGD ("bare"); with
    `keras_bn`, its batch norms are Keras's unfused layer ("bare-kerasbn")."""
    import keras

    from keras_lt.models import build_backbone, classification_head
    from keras_lt.schedules import sgd_optimizer

    with keras_batch_norm() if keras_bn else contextlib.nullcontext():
        backbone = build_backbone("resnet32", (32, 32, 3))
    model = keras.Sequential([backbone, classification_head(10)], name="bare")
    model.compile(optimizer=sgd_optimizer(-(-12406 // batch_size)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def worker_main(argv):
    args = parse_worker_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.tf_threads and args.backend == "tensorflow":
        import tensorflow as tf

        intra, inter = (int(v) for v in args.tf_threads.split(","))
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    import numpy as np

    import keras

    sys.path.insert(0, HERE)
    from step_time import StepTimer  # the models engineer's timing primitive

    jit = {"auto": "auto", "true": True, "false": False}[args.jit_compile]
    names = args.methods.split(",")
    data = _synthetic_data(args.batch_size)
    rng = np.random.default_rng(1)
    x = keras.ops.convert_to_tensor(
        rng.integers(0, 256, size=(args.batch_size, 32, 32, 3)).astype("float32"))
    y = keras.ops.convert_to_tensor((np.arange(args.batch_size) % 10).astype("int32"))

    timers, compile_s = {}, {}
    for name in names:
        keras.utils.set_random_seed(0)
        if name in ("bare", BARE_KERAS_BN):
            model = _bare_model(args.batch_size, keras_bn=name == BARE_KERAS_BN)
        else:
            model = _recipe_model(name, data, args.batch_size)
        if jit != "auto":
            model.jit_compile = jit
        timer = StepTimer(model, x, y)
        start = time.perf_counter()
        timer.run(args.warmup)
        compile_s[name] = time.perf_counter() - start
        timers[name] = timer
        print(f"  [{args.backend}] built and warmed {name:12s} {compile_s[name]:6.1f} s "
              f"(jit_compile={model.jit_compile})", file=sys.stderr, flush=True)

    samples = {name: [] for name in names}
    load_before = load_averages()
    for r in range(args.rounds):
        for name in names:
            t = timers[name].run(args.steps)
            samples[name].append(t if isinstance(t, tuple) else (t, float("nan")))
    load_after = load_averages()

    rows = {}
    for name in names:
        wall = [s[0] for s in samples[name]]
        cpu = [s[1] for s in samples[name]]
        median = statistics.median(wall)
        rows[name] = {
            "wall_ms": 1000 * median,
            "cpu_ms": 1000 * statistics.median(cpu),
            "images_per_s": args.batch_size / median,
            "spread": (max(wall) - min(wall)) / median,
            "warmup_s": compile_s[name],
            "jit_compile": bool(timers[name].model.jit_compile),
        }
    result = {
        "backend": args.backend,
        "device": _device(args.backend),
        "versions": _versions(args.backend),
        "jit_compile": args.jit_compile,
        "tf_threads": args.tf_threads,
        "batch_size": args.batch_size,
        "warmup": args.warmup, "steps": args.steps, "rounds": args.rounds,
        "load_before": load_before, "load_after": load_after,
        "rows": rows,
    }
    with open(args.json, "w") as f:
        json.dump(result, f, indent=2)
    return 0


def _device(backend):
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        return f"{d.platform}:{getattr(d, 'device_kind', '')}"
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return f"gpu:{gpus[0].name}" if gpus else "cpu"
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            return f"gpu:{torch.cuda.get_device_name(0)}"
    return "cpu"


def _versions(backend):
    import keras

    out = {"keras": keras.__version__, "python": platform.python_version()}
    if backend == "jax":
        import jax
        import jaxlib

        out.update(jax=jax.__version__, jaxlib=jaxlib.__version__)
    elif backend == "tensorflow":
        import tensorflow as tf

        out["tensorflow"] = tf.__version__
    elif backend == "torch":
        import torch

        out["torch"] = torch.__version__
    return out


# ----------------------------------------------------------------- driver


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default=None,
                        help="comma-separated Keras backends (default: tensorflow,jax, and "
                        "torch when it is installed)")
    parser.add_argument("--methods", default="default",
                        help="'default' (" + ",".join(DEFAULT_METHODS) + "), 'all' (every "
                        "recipe method) or a comma-separated list; bare and erm always run; "
                        "'bare-kerasbn' and '<method>+kerasbn' build the ResNet with Keras's "
                        "unfused BatchNormalization instead of keras_lt's fused one")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per model")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--jit-compile", default="auto", choices=["auto", "true", "false"],
                        help="Keras jit_compile of every model (auto: Keras's choice, "
                        "XLA on JAX, none on TF on CPU)")
    parser.add_argument("--tf-threads", default=None, help="TF intra,inter op threads")
    parser.add_argument("--torch-python", default=None,
                        help="python with torch for the reference loop (default: this one "
                        "if it has torch); 'none' skips it")
    parser.add_argument("--torch-channels-last", action="store_true",
                        help="also time the torch loop in NHWC memory format")
    parser.add_argument("--max-load", type=float, default=2.5,
                        help="wait until the 1-minute load average is at most this")
    parser.add_argument("--max-wait", type=float, default=1200,
                        help="seconds to wait for a quiet machine before measuring anyway")
    parser.add_argument("--results", default=RESULTS, help="RESULTS.md to append to")
    parser.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")
    parser.add_argument("--json", default=None, help="also write every figure to this file")
    parser.add_argument("--note", default=None, help="a line added to the RESULTS.md section")
    parser.add_argument("--profile", action="store_true",
                        help="instead: the bare model under each CPU configuration (XLA on/off, "
                        "fused or Keras batch norm, threads, XLA CPU flags) and torch NCHW/NHWC")
    parser.add_argument("--keras-bn", action="store_true",
                        help="on TensorFlow, also every method (and bare) built with Keras's "
                        "unfused keras.layers.BatchNormalization instead of keras_lt's "
                        "FusedBatchNormalization (rows '<method>+kerasbn', 'bare-kerasbn'): "
                        "the gain of the fused layer")
    parser.add_argument("--threads", type=int, default=None, choices=[1],
                        help="run every backend (and torch) on one thread (also with "
                        "--profile); its CPU time per step is then the work of the step, a "
                        "comparison that holds on a busy machine (no thread oversubscription "
                        "or spin-waiting)")
    return parser.parse_args(argv)


def method_list(spec):
    from keras_lt.training.methods import METHODS

    if spec == "default":
        names = list(DEFAULT_METHODS)
    elif spec == "all":
        names = list(METHODS)
    else:
        names = [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [n for n in names if n.removesuffix(KERAS_BN_SUFFIX) not in METHODS
               and n not in ("bare", BARE_KERAS_BN)]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {list(METHODS)}")
    names = [n for n in names if n not in ("bare", "erm")]
    return ["bare", "erm"] + names


def find_torch_python(choice):
    if choice == "none":
        return None
    if choice:
        return choice
    try:
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            return sys.executable
    except (ImportError, ValueError):
        pass
    return None


def _run(cmd, env=None, log=print):
    log("  $ " + " ".join(shlex.quote(c) for c in cmd))
    proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    if proc.returncode:
        log(proc.stdout[-4000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return proc.stdout


def measure_backend(backend, methods, args, env_extra=None, jit_compile=None, tf_threads=None,
                    log=print):
    """Runs the worker for one backend (own process); returns its result dict."""
    load, quiet = wait_for_quiet(args.max_load, args.max_wait, log=log)
    jit_compile = jit_compile or args.jit_compile
    tf_threads = tf_threads or args.tf_threads
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--backend", backend,
               "--methods", ",".join(methods), "--batch-size", str(args.batch_size),
               "--warmup", str(args.warmup), "--steps", str(args.steps),
               "--rounds", str(args.rounds), "--jit-compile", jit_compile, "--json", out]
        if tf_threads:
            cmd += ["--tf-threads", tf_threads]
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
        env.update(env_extra or {})
        if env_extra:
            log("  env: " + " ".join(f"{k}={v}" for k, v in env_extra.items()))
        started = time.time()
        _run(cmd, env=env, log=log)
        with open(out) as f:
            result = json.load(f)
    result["quiet"] = quiet and max(result["load_before"][0], result["load_after"][0]) <= args.max_load
    result["load_waited"] = load
    result["env"] = env_extra or {}
    result["seconds"] = round(time.time() - started, 1)
    return result


# Configurations of the CPU profile (--profile): (label, backend, extra
# environment, jit_compile, TF intra,inter threads, models). "bare" is
# ResNet-32 + Dense with cross-entropy and the recipe's optimizer, no metrics
# or augmentation, with keras_lt's FusedBatchNormalization (one fused op per
# batch norm on TensorFlow; Keras's layer on JAX and torch); "bare-kerasbn" the
# same with Keras's unfused BatchNormalization (TensorFlow configurations only).
def profile_variants(cores, threads=None):
    """(label, backend, env, jit_compile, tf intra,inter threads, models) of the
    profile; `threads` 1: every configuration on one thread (see --threads)."""
    if threads == 1:
        one = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        xla1 = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        return [
            ("tensorflow, 1 thread", "tensorflow", one, "auto", "1,1",
             ["bare", BARE_KERAS_BN]),
            ("tensorflow, 1 thread, jit_compile=True (XLA)", "tensorflow", one, "true", "1,1",
             ["bare", BARE_KERAS_BN]),
            ("jax, 1 thread", "jax", dict(one, XLA_FLAGS=xla1), "auto", None, ["bare"]),
            ("jax, 1 thread, --xla_cpu_use_onednn=true", "jax",
             dict(one, XLA_FLAGS=xla1 + " --xla_cpu_use_onednn=true"), "auto", None, ["bare"]),
            ("jax, 1 thread, --xla_cpu_use_xnnpack=true", "jax",
             dict(one, XLA_FLAGS=xla1 + " --xla_cpu_use_xnnpack=true"), "auto", None, ["bare"]),
            ("keras torch backend, 1 thread", "torch", one, "auto", None, ["bare"]),
        ]
    return [
        ("tensorflow (default: no XLA on CPU)", "tensorflow", {}, "auto", None,
         ["bare", BARE_KERAS_BN]),
        ("tensorflow, jit_compile=True (XLA)", "tensorflow", {}, "true", None,
         ["bare", BARE_KERAS_BN]),
        (f"tensorflow, intra-op {cores} / inter-op 1 threads", "tensorflow", {}, "auto",
         f"{cores},1", ["bare", BARE_KERAS_BN]),
        ("tensorflow, TF_ENABLE_ONEDNN_OPTS=0", "tensorflow",
         {"TF_ENABLE_ONEDNN_OPTS": "0"}, "auto", None, ["bare"]),
        ("jax (XLA, default flags)", "jax", {}, "auto", None, ["bare"]),
        ("jax, XLA_FLAGS=--xla_cpu_use_onednn=true", "jax",
         {"XLA_FLAGS": "--xla_cpu_use_onednn=true"}, "auto", None, ["bare"]),
        ("jax, XLA_FLAGS=--xla_cpu_use_xnnpack=true", "jax",
         {"XLA_FLAGS": "--xla_cpu_use_xnnpack=true"}, "auto", None, ["bare"]),
        ("jax, XLA_FLAGS=--xla_cpu_multi_thread_eigen=false", "jax",
         {"XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false"}, "auto", None, ["bare"]),
        ("keras torch backend", "torch", {}, "auto", None, ["bare"]),
    ]


def single_thread_settings(backend):
    """(environment, TF intra,inter threads) that keep a backend on one thread."""
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if backend == "jax":
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env, "1,1" if backend == "tensorflow" else None


def run_profile(args, log=print):
    """The bare model under every profile configuration, then torch NCHW and NHWC."""
    have_torch = find_torch_python(None) == sys.executable
    rows = []
    for label, backend, env, jit, threads, models in profile_variants(usable_cores(),
                                                                       args.threads):
        if backend == "torch" and not have_torch:
            continue
        log(f"{label}:")
        try:
            result = measure_backend(backend, models, args, env_extra=env, jit_compile=jit,
                                     tf_threads=threads, log=log)
        except SystemExit as error:
            log(f"  failed: {error}")
            continue
        for model, cell in result["rows"].items():
            rows.append({"label": label, "model": model, "backend": backend, **cell,
                         "load": (result["load_before"][0], result["load_after"][0]),
                         "quiet": result["quiet"]})
    python = find_torch_python(args.torch_python)
    torch_results = []
    if python:
        for channels_last in (False, True):
            log(f"torch reference ({'NHWC' if channels_last else 'NCHW'}):")
            torch_results.append(measure_torch(python, args, channels_last=channels_last,
                                               threads=args.threads, log=log))
    return rows, torch_results


def format_profile(rows, torch_results, args, command, when):
    title = "CPU profile" + (", one thread" if args.threads == 1 else "")
    lines = [f"### {title}, {when:%Y-%m-%d %H:%M} UTC", ""]
    lines.append(f"Command: `{command}`  ")
    lines.append(f"Machine: {cpu_model()}, {usable_cores()} cores (nproc); "
                 f"ResNet-32 + Dense(10), cross-entropy, the recipe's SGD, batch "
                 f"{args.batch_size}, no metrics, no augmentation (\"bare\"); "
                 f"{args.warmup} warm-up steps, median of {args.rounds} rounds x {args.steps} "
                 "steps.")
    lines += ["", "| configuration | model | images/s | CPU ms/step | load before/after |",
              "|---|---|---:|---:|---|"]
    for r in rows:
        busy = "" if r["quiet"] else " (busy)"
        lines.append(f"| {r['label']} | {r['model']} | {r['images_per_s']:.1f} | "
                     f"{r['cpu_ms']:.0f} | {r['load'][0]:.2f} / {r['load'][1]:.2f}{busy} |")
    for t in torch_results:
        busy = "" if t["quiet"] else " (busy)"
        fmt = "NHWC (channels_last)" if t["channels_last"] else "NCHW"
        lines.append(f"| torch reference {t['torch']}, {fmt}, {t['threads']} threads | "
                     f"plain loop | {t['images_per_s']:.1f} | {t['cpu_ms']:.0f} | "
                     f"{t['load_before'][0]:.2f} / {t['load_after'][0]:.2f}{busy} |")
    if args.note:
        lines += ["", args.note]
    lines.append("")
    return "\n".join(lines)


def measure_torch(python, args, channels_last=False, threads=None, log=print):
    wait_for_quiet(args.max_load, args.max_wait, log=log)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "torch.json")
        cmd = [python, os.path.join(HERE, "torch_reference.py"), "--batch-size",
               str(args.batch_size), "--warmup", str(args.warmup), "--steps", str(args.steps),
               "--rounds", str(args.rounds), "--json", out]
        if channels_last:
            cmd.append("--channels-last")
        if threads:
            cmd += ["--threads", str(threads)]
        load_before = load_averages()
        _run(cmd, log=log)
        with open(out) as f:
            result = json.load(f)
    result["load_before"] = load_before
    result["load_after"] = load_averages()
    result["quiet"] = max(load_before[0], result["load_after"][0]) <= args.max_load
    return result


def overhead(rows, name, key="wall_ms"):
    return rows[name][key] / rows["erm"][key] - 1.0


def accelerators(results):
    """'CPU only', or the accelerators the backends trained on ('gpu:NVIDIA H200')."""
    found = sorted({r.get("device", "cpu") for r in results} - {"cpu", "cpu:cpu"})
    return "on " + ", ".join(found) if found else "CPU only"


def format_section(results, torch_results, args, command, when):
    """The dated RESULTS.md section (markdown) for one throughput run."""
    backends = [r["backend"] for r in results]
    methods = []
    for r in results:
        methods += [m for m in r["rows"] if m not in methods]
    lines = [f"### Throughput, {when:%Y-%m-%d %H:%M} UTC", ""]
    lines.append(f"Command: `{command}`  ")
    lines.append(f"Machine: {cpu_model()}, {usable_cores()} cores (nproc), "
                 f"{platform.system()} {platform.release()}; {accelerators(results)}.  ")
    versions = {}
    for r in results:
        versions.update(r["versions"])
    for t in torch_results:
        versions["torch"] = t["torch"]
    lines.append("Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".  ")
    if args.threads == 1:
        lines.append("**One thread** per process (TF intra/inter 1, XLA without the Eigen "
                     "thread pool, OMP_NUM_THREADS=1, torch.set_num_threads(1)): compare the "
                     "CPU ms per step (the work of a step), which holds on a busy machine.  ")
    lines.append(f"ResNet-32, batch {args.batch_size}, `train_on_batch` on one resident batch; "
                 f"{args.warmup} warm-up steps excluded, median of {args.rounds} rounds x "
                 f"{args.steps} steps (methods interleaved); images/s from wall time.")
    if args.note:
        lines += ["", args.note]
    lines += [""]
    header = "| method |"
    rule = "|---|"
    for b in backends:
        header += f" {b} images/s | {b} overhead vs erm | {b} CPU ms/step |"
        rule += "---:|---:|---:|"
    lines += [header, rule]
    for name in methods:
        row = f"| {name} |"
        for r in results:
            cell = r["rows"].get(name)
            if cell is None:
                row += " — | — | — |"
                continue
            ov = "—" if name == "erm" else f"{overhead(r['rows'], name):+.1%}"
            if name.startswith("bare"):
                ov = f"({ov})"
            row += f" {cell['images_per_s']:.1f} | {ov} | {cell['cpu_ms']:.0f} |"
        lines.append(row)
    lines.append("")
    for r in results:
        busy = "" if r["quiet"] else " (busy: above the load limit)"
        lines.append(f"- {r['backend']} ({r['device']}, jit_compile {r['rows']['erm']['jit_compile']}"
                     f"): load average {r['load_before'][0]:.2f} before, "
                     f"{r['load_after'][0]:.2f} after{busy}; warm-up of erm "
                     f"{r['rows']['erm']['warmup_s']:.0f} s.")
    for t in torch_results:
        busy = "" if t["quiet"] else " (busy: above the load limit)"
        fmt = "NHWC" if t["channels_last"] else "NCHW"
        lines.append(f"- torch reference (benchmarks/torch_reference.py, {fmt}, {t['threads']} "
                     f"threads): {t['images_per_s']:.1f} images/s, {t['cpu_ms']:.0f} CPU ms/step; "
                     f"load {t['load_before'][0]:.2f} before, {t['load_after'][0]:.2f} after{busy}.")
    if results and torch_results:
        best = max(results, key=lambda r: r["rows"]["erm"]["images_per_s"])
        ref = max(torch_results, key=lambda t: t["images_per_s"])
        erm, bare = best["rows"]["erm"]["images_per_s"], best["rows"]["bare"]["images_per_s"]
        lines.append(
            f"- Wall clock: fastest backend {best['backend']}: recipe erm {erm:.1f} images/s = "
            f"{erm / ref['images_per_s']:.2f} x torch, bare {bare:.1f} images/s = "
            f"{bare / ref['images_per_s']:.2f} x torch ({ref['images_per_s']:.1f}). "
            "Target: >= 1.00.")
        lean = min(results, key=lambda r: r["rows"]["bare"]["cpu_ms"])
        cheap = min(torch_results, key=lambda t: t["cpu_ms"])
        lines.append(
            f"- CPU time per step: least for {lean['backend']}: bare "
            f"{lean['rows']['bare']['cpu_ms']:.0f} ms, recipe erm "
            f"{lean['rows']['erm']['cpu_ms']:.0f} ms, against torch "
            f"{cheap['cpu_ms']:.0f} ms ({'NHWC' if cheap['channels_last'] else 'NCHW'}): "
            f"torch / bare = {cheap['cpu_ms'] / lean['rows']['bare']['cpu_ms']:.2f}, "
            f"torch / erm = {cheap['cpu_ms'] / lean['rows']['erm']['cpu_ms']:.2f} "
            "(>= 1: Keras does less work per image).")
    lines.append("")
    return "\n".join(lines)


THROUGHPUT_HEADING = "## Throughput (benchmarks/throughput.py)"


def append_section(path, section):
    """Appends a dated section at the end of RESULTS.md (under one heading)."""
    text = ""
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    if not text:
        text = "# Benchmark results\n"
    if THROUGHPUT_HEADING not in text:
        text = text.rstrip("\n") + "\n\n" + THROUGHPUT_HEADING + "\n\n" + (
            "Appended by each run, newest last; images/s are training images per second "
            "(wall clock) on this project's shared 2-core CPU machines, with the load "
            "average at the time.\n")
    text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--worker" in argv:
        return worker_main(argv)
    args = parse_args(argv)
    sys.path.insert(0, ROOT)
    methods = method_list(args.methods)
    if args.backends is None:
        backends = list(BACKENDS)
        if find_torch_python(None) == sys.executable:
            backends.append("torch")
    else:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    command = "python benchmarks/throughput.py " + " ".join(shlex.quote(a) for a in argv)
    when = datetime.datetime.now(datetime.timezone.utc)
    print(f"{cpu_model()}, {usable_cores()} cores; load {load1():.2f}; methods {methods}")

    if args.profile:
        rows, torch_results = run_profile(args)
        section = format_profile(rows, torch_results, args, command, when)
        print()
        print(section)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"command": command, "date": when.isoformat(), "rows": rows,
                           "torch": torch_results}, f, indent=2)
        if not args.no_write:
            append_section(args.results, section)
            print(f"appended to {args.results}")
        return 0

    results = []
    for backend in backends:
        print(f"{backend}:")
        env, tf_threads = single_thread_settings(backend) if args.threads == 1 else ({}, None)
        names = list(methods)
        if args.keras_bn and backend == "tensorflow":
            unfused = [BARE_KERAS_BN] + [m + KERAS_BN_SUFFIX for m in methods
                                         if m not in ("bare", BARE_KERAS_BN)
                                         and not m.endswith(KERAS_BN_SUFFIX)]
            names += [n for n in unfused if n not in names]
        results.append(measure_backend(backend, names, args, env_extra=env,
                                       tf_threads=tf_threads))
    torch_results = []
    python = find_torch_python(args.torch_python)
    if python:
        print("torch reference:")
        torch_results.append(measure_torch(python, args, threads=args.threads))
        if args.torch_channels_last:
            torch_results.append(measure_torch(python, args, channels_last=True,
                                               threads=args.threads))
    else:
        print("torch reference: no python with torch (see --torch-python); skipped")

    section = format_section(results, torch_results, args, command, when)
    print()
    print(section)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "date": when.isoformat(), "cpu": cpu_model(),
                       "cores": usable_cores(), "backends": results, "torch": torch_results},
                      f, indent=2)
    if not args.no_write:
        append_section(args.results, section)
        print(f"appended to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
