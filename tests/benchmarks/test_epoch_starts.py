"""benchmarks/epoch_starts.py: the per-epoch clock it reads `fit` with (no timing asserted)."""

import numpy as np

from . import load_benchmark

epoch_starts = load_benchmark("epoch_starts")


def test_clock_sees_every_step_of_every_epoch_and_gaps_are_first_step_minus_median():
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    clock = epoch_starts.EpochClock()
    x, y = np.zeros((20, 3), "float32"), np.zeros((20, 2), "float32")
    model.fit(x, y, batch_size=5, epochs=3, verbose=0, callbacks=[clock.callback])
    assert [len(e["steps"]) for e in clock.epochs] == [4, 4, 4]
    for e in clock.epochs:
        assert 0 < sum(e["steps"]) <= e["wall"] + 1e-6
    # Worked by hand: steps after the first of epochs 1-2 are 1, 2, 3 and 5, 6, 7 s -> median 4.
    clock.epochs = [{"steps": [9.0, 9, 9, 9], "wall": 36.0},
                    {"steps": [10.0, 1, 2, 3], "wall": 16.0},
                    {"steps": [4.5, 5, 6, 7], "wall": 22.5}]
    summary = clock.summary()
    assert summary["median_step_s"] == 4.0
    assert summary["start_gaps_s"] == [6.0, 0.5]
    assert summary["epoch_walls_s"] == [16.0, 22.5]
