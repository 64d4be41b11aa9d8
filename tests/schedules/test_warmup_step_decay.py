"""WarmupStepDecay against the reference code's formula, written out in numpy."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras

from keras_lt.schedules import WarmupStepDecay, scale_milestones


def reference_lr_per_epoch(epoch, base=0.1):
    """kaidic/LDAM-DRW cifar_train.py `adjust_learning_rate` (0-based epoch)."""
    epoch = epoch + 1
    if epoch <= 5:
        return base * epoch / 5
    if epoch > 180:
        return base * 0.0001
    if epoch > 160:
        return base * 0.01
    return base


def schedule_values(schedule, steps):
    return np.asarray(keras.ops.convert_to_numpy(schedule(np.asarray(steps))), np.float64)


def test_epoch_warmup_matches_reference_code_for_every_step():
    steps_per_epoch = 3
    schedule = WarmupStepDecay(0.1, steps_per_epoch=steps_per_epoch)
    steps = np.arange(200 * steps_per_epoch)
    expected = [reference_lr_per_epoch(t // steps_per_epoch) for t in steps]
    np.testing.assert_allclose(schedule_values(schedule, steps), expected, rtol=1e-6)
    # Spot values named in the papers.
    values = schedule_values(schedule, [0, 14, 15, 479, 480, 539, 540, 599])
    np.testing.assert_allclose(
        values, [0.02, 0.1, 0.1, 0.1, 0.001, 0.001, 0.00001, 0.00001], rtol=1e-6
    )


def test_step_warmup_is_linear_and_meets_the_staircase_at_epoch_ends():
    spe, warm = 4, 5
    step_form = WarmupStepDecay(0.1, steps_per_epoch=spe, warmup="step")
    epoch_form = WarmupStepDecay(0.1, steps_per_epoch=spe, warmup="epoch")
    steps = np.arange(40 * spe)
    got = schedule_values(step_form, steps)
    expected = np.where(steps < warm * spe, 0.1 * (steps + 1) / (warm * spe), 0.1)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    last_steps = np.arange(1, warm + 1) * spe - 1
    np.testing.assert_allclose(
        got[last_steps], schedule_values(epoch_form, last_steps), rtol=1e-6
    )
    np.testing.assert_allclose(got[warm * spe :], schedule_values(epoch_form, steps)[warm * spe :])


def test_inaturalist_schedule_and_no_warmup():
    spe = 2
    schedule = WarmupStepDecay(
        0.2, steps_per_epoch=spe, warmup_epochs=5, milestones=(30, 60, 80),
        factors=(0.1, 0.01, 0.001),
    )
    epochs = np.arange(90)
    expected = np.select(
        [epochs < 5, epochs < 30, epochs < 60, epochs < 80],
        [0.2 * (epochs + 1) / 5, 0.2, 0.02, 0.002],
        0.0002,
    )
    np.testing.assert_allclose(schedule_values(schedule, epochs * spe + 1), expected, rtol=1e-6)

    flat = WarmupStepDecay(0.1, steps_per_epoch=10, warmup_epochs=0, milestones=(2,), factors=(0.1,))
    np.testing.assert_allclose(schedule_values(flat, [0, 19, 20]), [0.1, 0.1, 0.01], rtol=1e-6)


def test_config_round_trip_and_serialization():
    schedule = WarmupStepDecay(
        0.2, steps_per_epoch=7, warmup_epochs=3, milestones=(10, 20), factors=(0.1, 0.01),
        warmup="step",
    )
    clone = WarmupStepDecay.from_config(schedule.get_config())
    assert clone.get_config() == schedule.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, WarmupStepDecay)
    steps = np.arange(200)
    np.testing.assert_allclose(schedule_values(restored, steps), schedule_values(schedule, steps))
    # Inside an optimizer config, as a saved .keras model stores it.
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    again = keras.optimizers.SGD.from_config(optimizer.get_config())
    assert isinstance(again._learning_rate, WarmupStepDecay)


def test_optimizer_iterations_drive_the_schedule_in_fit():
    x = np.random.default_rng(0).normal(size=(12, 3)).astype("float32")
    y = np.zeros((12, 1), "float32")
    schedule = WarmupStepDecay(0.1, steps_per_epoch=3, warmup_epochs=2, milestones=(3,), factors=(0.5,))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(schedule), "mse")
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(
            float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        )
    )
    model.fit(x, y, batch_size=4, epochs=5, shuffle=False, verbose=0, callbacks=[record])
    np.testing.assert_allclose(seen, [0.05, 0.1, 0.1, 0.05, 0.05], rtol=1e-6)
    assert int(model.optimizer.iterations) == 15


def test_scale_milestones():
    assert scale_milestones((160, 180), epochs=30) == (24, 27)
    assert scale_milestones((160, 180), epochs=200) == (160, 180)
    assert scale_milestones((30, 60, 80), epochs=45, reference_epochs=90) == (15, 30, 40)
    with pytest.raises(ValueError, match="collide"):
        scale_milestones((160, 180), epochs=2)
    # Out of order or outside the reference schedule: said so, not "collide" or
    # silently scaled past the run ((160, 250) of 200 gave (24, 38) of 30).
    for bad in ((180, 160), (160, 250), (-10, 180), (160.5, 180)):
        with pytest.raises(ValueError, match="milestones"):
            scale_milestones(bad, epochs=30)
    with pytest.raises(ValueError, match="`epochs` must be a positive integer"):
        scale_milestones((160, 180), epochs="30")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "steps_per_epoch"),
        ({"steps_per_epoch": 0}, "steps_per_epoch"),
        ({"steps_per_epoch": 5, "milestones": (180, 160)}, "increasing"),
        ({"steps_per_epoch": 5, "factors": (0.1,)}, "same length"),
        ({"steps_per_epoch": 5, "warmup": "cosine"}, "warmup"),
        ({"steps_per_epoch": 5, "base_learning_rate": 0.0}, "base_learning_rate"),
        # Silently truncated or accepted before: 160.7 -> 160, 2.7 -> 2, inf.
        ({"steps_per_epoch": 5, "milestones": (160.7, 180)}, "`milestones` must be a non-negative integer"),
        ({"steps_per_epoch": 5, "warmup_epochs": 2.7}, "`warmup_epochs` must be a non-negative integer"),
        ({"steps_per_epoch": 5, "base_learning_rate": float("inf")}, "finite"),
        ({"steps_per_epoch": 5, "factors": (float("inf"), 0.1)}, "finite"),
        ({"steps_per_epoch": 5, "milestones": 160, "factors": 0.1}, "sequence"),
        # Accepted before: a numeric string as a count of steps or epochs (a boolean was
        # refused before too).
        ({"steps_per_epoch": "5"}, "`steps_per_epoch` must be a positive integer"),
        ({"steps_per_epoch": True}, "`steps_per_epoch` must be a positive integer"),
        ({"steps_per_epoch": 5, "warmup_epochs": "5"}, "`warmup_epochs` must be a non-negative integer"),
        ({"steps_per_epoch": 5, "milestones": ("160", "180")}, "`milestones` must be a non-negative integer"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WarmupStepDecay(**kwargs)


def test_schedule_and_coupled_sgd_on_jax():
    """The same schedule values and a jitted fit step on JAX (subprocess)."""
    script = textwrap.dedent(
        """
        import numpy as np, keras
        from keras_lt.schedules import WarmupStepDecay, sgd_optimizer
        s = WarmupStepDecay(0.1, steps_per_epoch=3)
        steps = np.arange(600)
        got = np.asarray(keras.ops.convert_to_numpy(s(steps)))
        epoch = steps // 3 + 1
        ref = np.where(epoch <= 5, 0.1 * epoch / 5,
              np.where(epoch > 180, 1e-5, np.where(epoch > 160, 1e-3, 0.1)))
        np.testing.assert_allclose(got, ref, rtol=1e-6)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(sgd_optimizer(steps_per_epoch=2, warmup_epochs=1, milestones=(1,), factors=(0.5,)),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        x = np.ones((8, 3), "float32"); y = np.zeros(8, "int32")
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        assert int(model.optimizer.iterations) == 4
        assert abs(float(model.optimizer.learning_rate) - 0.05) < 1e-7
        print("OK")
        """
    )
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and "OK" in out.stdout, out.stderr[-3000:]
