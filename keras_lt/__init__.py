"""keras_lt: Keras 3 tools for long-tailed (class-imbalanced) classification."""

__version__ = "0.1.0"
