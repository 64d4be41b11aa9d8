"""One export decorator: registers a public object for `.keras` serialization.

Copied in spirit from keras-hub's `api_export.py`: every public class of
keras_lt is registered under the package name "keras_lt", so a saved model
that uses it loads with `keras.saving.load_model(path)` and no
`custom_objects`.
"""

import keras


def keras_lt_export(name):
    """Registers the decorated class or function as `keras_lt>{name}`."""

    def decorator(obj):
        return keras.saving.register_keras_serializable(package="keras_lt", name=name)(obj)

    return decorator
