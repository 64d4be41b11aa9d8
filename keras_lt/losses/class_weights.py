"""Class counts and the class weights computed from them.

Every component that needs the class distribution takes the training split's
per-class counts once (see DESIGN.md: nothing recounts them from a batch).
This module validates them and turns them into weights, normalised so that
they sum to the number of classes C (the convention of the class-balanced and
LDAM-DRW reference code).
"""

import numpy as np


def validate_class_counts(class_counts, name="class_counts"):
    """Returns `class_counts` as a 1-D int64 numpy array, or raises ValueError.

    Counts must be a non-empty sequence of positive integers (an integer-valued
    float such as 5000.0 is accepted).
    """
    try:
        counts = np.asarray(class_counts, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` must be a sequence of positive integers, got {class_counts!r}."
        ) from error
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 1-D sequence of per-class counts, "
            f"got shape {counts.shape}."
        )
    if not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
        raise ValueError(f"`{name}` must hold integers, got {counts.tolist()}.")
    if np.any(counts <= 0):
        bad = np.flatnonzero(counts <= 0).tolist()
        raise ValueError(
            f"`{name}` must be positive: classes {bad} have a count of zero or "
            "less. Drop empty classes from the label space first."
        )
    return counts.astype(np.int64)


def _as_number(value, name):
    """`value` as a float, or a ValueError that names the argument."""
    if isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)):
        raise ValueError(f"`{name}` must be a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` must be a number, got {value!r}.") from error


def validate_beta(beta, name="beta"):
    beta = _as_number(beta, name)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"`{name}` must lie in [0, 1), got {beta}.")
    return beta


def validate_non_negative(value, name):
    value = _as_number(value, name)
    if not 0.0 <= value < np.inf:  # also rejects NaN
        raise ValueError(f"`{name}` must be a finite number >= 0, got {value}.")
    return value


def validate_positive(value, name):
    value = _as_number(value, name)
    if not 0.0 < value < np.inf:  # also rejects NaN
        raise ValueError(f"`{name}` must be a finite number > 0, got {value}.")
    return value


def normalize_weights(weights):
    """Scales `weights` so that they sum to their number (C)."""
    weights = np.asarray(weights, dtype=np.float64)
    return weights * (weights.size / weights.sum())


def effective_number_weights(class_counts, beta=0.9999):
    """Class-balanced weights from the effective number of samples.

    E_n = (1 - beta^n) / (1 - beta);  w_c = 1 / E_{n_c}, normalised to sum to C.
    beta = 0 gives equal weights; beta -> 1 tends to inverse frequency.

    Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
    CVPR 2019, eq. (3)-(4).
    """
    counts = validate_class_counts(class_counts)
    beta = validate_beta(beta)
    if beta == 0.0:
        return np.ones(counts.size)
    # 1 - beta^n computed as -expm1(n log beta): exact for beta near 1 and large n.
    effective_num = -np.expm1(counts * np.log(beta)) / (1.0 - beta)
    return normalize_weights(1.0 / effective_num)


def inverse_frequency_weights(class_counts, power=1.0):
    """Re-weighting by a power of the inverse frequency: w_c ∝ n_c^(-power).

    power = 1 is inverse frequency, 0.5 inverse square root, 0 no weighting.
    Normalised to sum to C.
    """
    counts = validate_class_counts(class_counts)
    power = validate_non_negative(power, "power")
    return normalize_weights(counts.astype(np.float64) ** (-power))
