"""Does the input pipeline keep up with training? Images/s of each path vs a ResNet-32 step.

Measures, on CIFAR-10-LT (ratio 100, 12,406 training images; from an image
folder given with --data-dir, else synthetic 32x32 data of the same size):

  in-memory path (any backend):
    host      ArrayDataset batches alone (slicing + dtype conversion)
    device    the pad-crop-flip layers alone, compiled (tf.function / jax.jit)
    both      one after the other, batch by batch (what the path delivers)
  tf.data path (TensorFlow installed):
    arrays    make_tf_dataset(arrays, augment="cifar")
    files     make_tf_dataset(JPEG files, augment="cifar"), with --data-dir
  consumer:
    step      ResNet-32 `train_on_batch` (SGD momentum, batch 128), compiled
    fit       `model.fit(ArrayDataset)` with the augmentation inside the
              model against the same model stepping on one fixed batch
              (interleaved runs): the overhead of the pipeline in training.

The requirement: every path delivers at least 5x the images/s that the
training step consumes. Usage (CPU; the Keras backend from the flag):

    python benchmarks/input_pipeline.py --data-dir .data/cifar10 [--backend jax]

Timings are wall-clock medians of --repeats runs after a warm-up; on a
shared machine they are noisy, and the script prints the load average.
"""

import argparse
import json
import os
import statistics
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=None, help="CIFAR-10 image folder (train/, test/).")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"),
                        choices=["tensorflow", "jax", "torch"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=60, help="batches per pipeline measurement")
    parser.add_argument("--steps", type=int, default=8, help="ResNet-32 steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-steps", type=int, default=8,
                        help="steps of the end-to-end fit measurement (0 skips it)")
    parser.add_argument("--fit-repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    return parser.parse_args(argv)


def median_rate(fn, images, repeats):
    """Median images/s of `fn()` (which processes `images` images) over `repeats` runs."""
    fn()  # warm-up: compilation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return images / statistics.median(times)


def load_data(data_dir):
    import numpy as np

    from keras_lt.data import LabeledArrays, load_long_tailed, make_imbalanced

    if data_dir:
        data = load_long_tailed("cifar10", data_dir=data_dir, imbalance="exp", ratio=100, seed=0)
        return data.train, data.info["source"]
    rng = np.random.RandomState(0)
    y = np.tile(np.arange(10), 5000)
    idx, _ = make_imbalanced(y, "exp", 100, seed=0)
    x = rng.randint(0, 256, (len(idx), 32, 32, 3), dtype=np.uint8)
    return LabeledArrays(x, y[idx]), "synthetic uint8 32x32"


def resnet32(num_classes=10):
    """ResNet-32 from keras_lt.models when present, else a minimal inline copy."""
    import keras

    try:
        from keras_lt.models.cifar_resnet import resnet32 as backbone_fn

        backbone = backbone_fn(input_shape=(32, 32, 3))
        source = "keras_lt.models.cifar_resnet.resnet32"
    except ImportError:
        backbone, source = _inline_resnet32(), "inline ResNet-32"
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), backbone, keras.layers.Dense(num_classes)]
    )
    return model, source


def _inline_resnet32():
    import keras
    from keras import layers

    inputs = keras.Input((32, 32, 3))

    def conv_bn(x, filters, strides):
        x = layers.Conv2D(filters, 3, strides, padding="same", use_bias=False)(x)
        return layers.BatchNormalization()(x)

    x = layers.ReLU()(conv_bn(inputs, 16, 1))
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(5):
            strides = 2 if stage and not block else 1
            y = layers.ReLU()(conv_bn(x, filters, strides))
            y = conv_bn(y, filters, 1)
            if strides != 1 or x.shape[-1] != filters:
                x = layers.Conv2D(filters, 1, strides, use_bias=False)(x)
            x = layers.ReLU()(layers.Add()([x, y]))
    return keras.Model(inputs, layers.GlobalAveragePooling2D()(x))


def compiled_augmentation(augment, backend):
    """`fn(x) -> augmented x`, compiled like the train step compiles it."""
    import keras

    augment.build((None, 32, 32, 3))
    if backend == "tensorflow":
        import tensorflow as tf

        fn = tf.function(lambda x: augment(x, training=True))
        return lambda x: fn(x).numpy()
    if backend == "jax":
        import jax

        trainable = [v.value for v in augment.trainable_variables]
        state = {"nt": [v.value for v in augment.non_trainable_variables]}

        @jax.jit
        def step(non_trainable, x):
            return augment.stateless_call(trainable, non_trainable, x, training=True)

        def run(x):
            out, state["nt"] = step(state["nt"], x)
            return out.block_until_ready()

        return run
    return lambda x: keras.ops.convert_to_numpy(augment(x, training=True))


def main(argv=None):
    import gc

    args = parse_args(argv)
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from keras_lt.data import ArrayDataset, cifar_augmentation, list_image_folder
    from keras_lt.data import make_imbalanced, make_tf_dataset

    results = {
        "backend": keras.backend.backend(),
        "cpu_count": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "batch_size": args.batch_size,
    }
    t0 = time.perf_counter()
    train, source = load_data(args.data_dir)
    results["data"] = f"CIFAR-10-LT rho=100, {len(train)} images ({source})"
    results["load_seconds"] = round(time.perf_counter() - t0, 2)
    bs, nb = args.batch_size, args.batches
    images = bs * nb

    # In-memory path: host side, device side, both.
    ds = ArrayDataset(train, batch_size=bs, seed=0, dtype="uint8", drop_remainder=True)
    nb = min(nb, len(ds))
    images = bs * nb

    def host():
        for i in range(nb):
            ds[i]

    augment = compiled_augmentation(cifar_augmentation(seed=0), results["backend"])
    batch_x = ds[0][0]

    def device():
        for _ in range(nb):
            augment(batch_x)

    def both():
        for i in range(nb):
            augment(ds[i][0])

    results["in_memory_host_images_per_s"] = median_rate(host, images, args.repeats)
    results["in_memory_device_images_per_s"] = median_rate(device, images, args.repeats)
    results["in_memory_images_per_s"] = median_rate(both, images, args.repeats)

    # tf.data path.
    try:
        import tensorflow  # noqa: F401

        have_tf = True
    except ImportError:
        have_tf = False
    if have_tf:
        tfds_arrays = iter(make_tf_dataset(train, batch_size=bs, augment="cifar", seed=0))

        def tf_arrays():
            for _ in range(nb):
                next(tfds_arrays)

        results["tf_data_arrays_images_per_s"] = median_rate(tf_arrays, images, args.repeats)
        if args.data_dir:
            files = list_image_folder(os.path.join(_folder(args.data_dir), "train"))
            idx, _ = make_imbalanced(files.y, "exp", 100, seed=0)
            files = files.subset(idx)
            tf_files_it = iter(make_tf_dataset(files, batch_size=bs, augment="cifar", seed=0))

            def tf_files():
                for _ in range(nb):
                    next(tf_files_it)

            results["tf_data_files_images_per_s"] = median_rate(tf_files, images, args.repeats)
            del tf_files_it
        del tfds_arrays  # stop the background prefetching before timing the model

    gc.collect()

    # Consumer: the ResNet-32 training step.
    model, model_source = resnet32()
    results["model"] = model_source
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x = np.asarray(batch_x, dtype="float32")
    y = ds[0][1]

    def steps():
        for _ in range(args.steps):
            model.train_on_batch(x, y)

    results["resnet32_step_images_per_s"] = median_rate(steps, bs * args.steps, args.repeats)
    step = results["resnet32_step_images_per_s"]
    for key in [k for k in results if k.endswith("_images_per_s") and not k.startswith("resnet")]:
        results[key.replace("_images_per_s", "_over_step")] = results[key] / step

    # End to end: fit on ArrayDataset with the augmentation in the model,
    # against the same compiled model stepping on one fixed batch
    # (train_on_batch), interleaved so that load changes hit both alike.
    if args.fit_steps:
        inputs = keras.Input((32, 32, 3))
        h = cifar_augmentation(seed=0)(inputs)
        fit_model = keras.Model(inputs, model(h))
        fit_model.compile(
            optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        subset = train.subset(np.arange(bs * args.fit_steps))
        fit_ds = ArrayDataset(subset, batch_size=bs, seed=0, dtype="uint8")

        def fixed_batch():
            start = time.perf_counter()
            for _ in range(args.fit_steps):
                fit_model.train_on_batch(x, y)
            return time.perf_counter() - start

        class EpochTimer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.last = time.perf_counter() - self.start

        def fit_epoch():
            # Two epochs per fit call; time the second (a steady-state epoch,
            # with its fresh iterator, as in a long training run).
            timer = EpochTimer()
            fit_model.fit(fit_ds, epochs=2, verbose=0, shuffle=False, callbacks=[timer])
            return timer.last

        fit_epoch()
        fixed_batch()
        fixed_times, fit_times = [], []
        for _ in range(args.fit_repeats):
            fixed_times.append(fixed_batch())
            fit_times.append(fit_epoch())
        n = bs * args.fit_steps
        results["step_with_aug_fixed_batch_images_per_s"] = n / statistics.median(fixed_times)
        results["fit_with_pipeline_images_per_s"] = n / statistics.median(fit_times)
        # Median of the paired ratios: each pair ran back to back.
        results["fit_overhead_vs_fixed_batch"] = (
            statistics.median(f / g for f, g in zip(fit_times, fixed_times)) - 1.0
        )

    results["load_average_after"] = os.getloadavg()
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


def _folder(data_dir):
    for root in (data_dir, os.path.join(data_dir, "cifar10")):
        if os.path.isdir(os.path.join(root, "train")):
            return root
    raise SystemExit(f"{data_dir!r} has no train/ folder")


def report(results):
    print(f"backend {results['backend']}, {results['cpu_count']} CPUs, "
          f"load average before {results['load_average_before'][0]:.2f}, "
          f"after {results['load_average_after'][0]:.2f}")
    print(f"data: {results['data']} (read in {results['load_seconds']} s); model: {results['model']}")
    step = results["resnet32_step_images_per_s"]
    print(f"{'measurement':36s} {'images/s':>10s} {'x step':>8s}")
    print(f"{'ResNet-32 train step (consumer)':36s} {step:10.0f} {1.0:8.2f}")
    for key, label in [
        ("in_memory_host_images_per_s", "in-memory: ArrayDataset batches"),
        ("in_memory_device_images_per_s", "in-memory: pad-crop-flip layers"),
        ("in_memory_images_per_s", "in-memory: both (the path)"),
        ("tf_data_arrays_images_per_s", "tf.data: arrays + augmentation"),
        ("tf_data_files_images_per_s", "tf.data: JPEG files + augmentation"),
    ]:
        if key in results:
            print(f"{label:36s} {results[key]:10.0f} {results[key] / step:8.2f}")
    if "fit_with_pipeline_images_per_s" in results:
        fixed = results["step_with_aug_fixed_batch_images_per_s"]
        fit = results["fit_with_pipeline_images_per_s"]
        print(f"{'step with aug layers, fixed batch':36s} {fixed:10.0f} {fixed / step:8.2f}")
        print(f"{'fit(ArrayDataset), aug in model':36s} {fit:10.0f} {fit / step:8.2f}"
              f"   pipeline overhead in fit {100 * results['fit_overhead_vs_fixed_batch']:+.1f} %")
    paths = [k for k in ("in_memory_images_per_s", "tf_data_arrays_images_per_s",
                         "tf_data_files_images_per_s") if k in results]
    ok = all(results[k] >= 5 * step for k in paths)
    print("requirement (every path >= 5x the step):", "met" if ok else "NOT met")


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
