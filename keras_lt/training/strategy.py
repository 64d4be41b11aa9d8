"""`--strategy`: one device, all local devices, or several workers.

    none         the default device placement (one process, no distribution)
    mirrored     TensorFlow: tf.distribute.MirroredStrategy over all local
                 devices. JAX: keras.distribution.DataParallel over all local
                 devices (the batch is split across them).
    multiworker  TensorFlow: tf.distribute.MultiWorkerMirroredStrategy, the
                 cluster read from the TF_CONFIG environment variable (one
                 process per worker, worker 0 the chief). On JAX, several hosts
                 go through keras.distribution.initialize() instead, which this
                 command does not drive; it says so.

`distribution(name)` returns a `Distribution` whose `scope()` wraps model
building and compiling, and which knows whether this process is the chief
(the one that writes the saved model and the report).
"""

import contextlib
import json
import os

from keras_lt.training.config import STRATEGIES


class Distribution:
    """A strategy choice: `scope()`, `is_chief`, `num_replicas`, `worker_index`."""

    def __init__(self, name, tf_strategy=None, worker_index=0, num_workers=1):
        self.name = name
        self.tf_strategy = tf_strategy
        self.worker_index = worker_index
        self.num_workers = num_workers

    @property
    def is_chief(self):
        return self.worker_index == 0

    @property
    def num_replicas(self):
        if self.tf_strategy is not None:
            return self.tf_strategy.num_replicas_in_sync
        return 1

    def scope(self):
        if self.tf_strategy is not None:
            return self.tf_strategy.scope()
        return contextlib.nullcontext()

    def prepare(self, model, sample_batch):
        """Works around two bugs of Keras 3's TensorFlow trainer under
        MultiWorkerMirroredStrategy (keras-team/keras#20585, open); a no-op
        for the other strategies.

        1. `fit` builds the optimizer and metric state from a first batch that
           it averages across replicas with `strategy.reduce`, which cannot
           reduce an (x, y) tuple under this strategy. Here the state is built
           from a local batch (`sample_batch()`, called only here) inside the
           strategy's scope, and the model's own symbolic build, which would
           only repeat it, is skipped.
        2. Each step's logs are averaged with `strategy.reduce("MEAN", v,
           axis=0)`, which fails on the scalar logs. The steps here return
           each log as a vector of one element, which that reduction turns
           back into the scalar mean over replicas.
        """
        if self.name != "multiworker":
            return
        import keras

        with self.scope():
            model._symbolic_build(data_batch=sample_batch())
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

        def as_vectors(step):
            def wrapped(data):
                return {k: keras.ops.reshape(v, (1,)) for k, v in step(data).items()}

            return wrapped

        model.train_step = as_vectors(model.train_step)
        model.test_step = as_vectors(model.test_step)

    def __repr__(self):
        return (f"Distribution({self.name!r}, replicas={self.num_replicas}, "
                f"worker={self.worker_index}/{self.num_workers})")


def _tf_config_worker():
    """(index, number of workers) of this process from TF_CONFIG, or a ValueError."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise ValueError(
            "--strategy multiworker reads the cluster from the TF_CONFIG environment "
            "variable, which is not set. Example for worker 0 of two on one machine: "
            'TF_CONFIG=\'{"cluster": {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}, '
            '"task": {"type": "worker", "index": 0}}\''
        )
    try:
        tf_config = json.loads(raw)
        workers = tf_config["cluster"]["worker"]
        task = tf_config["task"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG is not a valid cluster description ({error}): {raw}") from None
    if task.get("type") not in ("worker", "chief"):
        raise ValueError(f"TF_CONFIG task type must be 'worker' or 'chief', got {task!r}.")
    index = int(task.get("index", 0))
    if task.get("type") == "worker" and "chief" in tf_config["cluster"]:
        index += 1  # an explicit chief is worker 0 of the writers
    return index, len(workers) + len(tf_config["cluster"].get("chief", []))


def distribution(name="none", backend=None):
    """The `Distribution` for `--strategy name` on the current Keras backend."""
    import keras

    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}.")
    backend = backend or keras.backend.backend()
    if name == "none":
        return Distribution(name)
    if backend == "tensorflow":
        import tensorflow as tf

        if name == "mirrored":
            return Distribution(name, tf.distribute.MirroredStrategy())
        index, num_workers = _tf_config_worker()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return Distribution(name, strategy, worker_index=index, num_workers=num_workers)
    if backend == "jax":
        if name == "mirrored":
            keras.distribution.set_distribution(keras.distribution.DataParallel())
            return Distribution(name)
        raise ValueError(
            "--strategy multiworker uses TensorFlow's MultiWorkerMirroredStrategy and "
            "needs KERAS_BACKEND=tensorflow. On JAX, start every host with "
            "keras.distribution.initialize(...) and use --strategy mirrored, which then "
            "spans all devices of all hosts."
        )
    raise ValueError(
        f"--strategy {name} is not supported on the {backend!r} backend; "
        "use KERAS_BACKEND=tensorflow or jax."
    )
