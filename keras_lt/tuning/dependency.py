"""KerasTuner is an optional dependency of keras_lt (the "tuning" extra).

Everything in `keras_lt.tuning` that needs it imports it through
`import_keras_tuner()`, so that `import keras_lt` and `keras-lt --help` work
without it and a missing install fails with one clear line.
"""

INSTALL_HINT = 'pip install "keras_lt[tuning]"  (or: pip install keras-tuner)'


def import_keras_tuner():
    """Returns the `keras_tuner` module, or raises ImportError naming the extra."""
    try:
        import keras_tuner
    except ImportError as error:
        raise ImportError(
            f"keras_lt.tuning needs KerasTuner, which is not installed: {INSTALL_HINT}. "
            f"({error})"
        ) from error
    return keras_tuner
