"""Runs one `run_search` in its own process (the distributed and resume tests).

    python tests/tuning/search_process.py '<json settings>'

The settings are the keyword arguments of `run_search` plus "config" (the
`TrainConfig` fields); KerasTuner's role comes from the environment
(KERASTUNER_TUNER_ID, ...). Prints one line `RESULT {json}`: the role, the
best trial and the trials this process trained.
"""

import json
import os
import sys


def main():
    settings = json.loads(sys.argv[1])
    from keras_lt.training.config import TrainConfig
    from keras_lt.tuning.search import run_search

    config = TrainConfig(**settings.pop("config"))
    result = run_search(config, **settings)
    me = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
    mine = sorted(r["trial_id"] for r in result.trials if r["tuner_id"] == me)
    print("RESULT " + json.dumps({
        "role": result.role, "tuner_id": me, "best_trial_id": result.best_trial_id,
        "best_score": result.best_score, "best_values": result.best_values,
        "num_trials": len(result.trials), "trained": mine,
    }), flush=True)


if __name__ == "__main__":
    main()
