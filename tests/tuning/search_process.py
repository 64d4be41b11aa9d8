"""Runs one `run_search` in its own process (the distributed and resume tests).

    python tests/tuning/search_process.py '<json settings>'

The settings are the keyword arguments of `run_search` plus "config" (the
`TrainConfig` fields) and "logical_cpus" (split the CPU into that many
TensorFlow devices, for `strategy="mirrored"`); KerasTuner's role comes from the environment
(KERASTUNER_TUNER_ID, ...). Prints one line `RESULT {json}`: the role, the
best trial and the trials this process trained.
"""

import json
import os
import sys
import time

STARTED = time.time()


def main():
    settings = json.loads(sys.argv[1])
    logical_cpus = settings.pop("logical_cpus", None)
    if logical_cpus:  # before TensorFlow initialises: N logical CPU devices
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * logical_cpus)
    from keras_lt.training.config import TrainConfig
    from keras_lt.tuning.search import run_search

    imported = time.time()

    config = TrainConfig(**settings.pop("config"))
    result = run_search(config, **settings)
    me = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    mine = sorted(r["trial_id"] for r in result.trials if r["tuner_id"] == me)
    print("RESULT " + json.dumps({
        "role": result.role, "tuner_id": me, "best_trial_id": result.best_trial_id,
        "best_score": result.best_score, "best_values": result.best_values,
        "num_trials": len(result.trials), "trained": mine,
        "import_seconds": round(imported - STARTED, 1),
        "search_seconds": round(time.time() - imported, 1),
    }), flush=True)


if __name__ == "__main__":
    main()
    os._exit(0)  # skip TensorFlow's slow interpreter teardown
