"""Argument checks shared across keras_lt (numpy only: no backend import)."""

import operator


def whole_number(value, name, minimum=0):
    """`value` as an int >= `minimum`, or a ValueError that names the argument.

    Integer-valued floats (5000.0) and numpy integers pass; booleans, strings,
    fractions, NaN and infinities do not.
    """
    number = None
    if not isinstance(value, (bool, str, bytes)):
        try:
            number = operator.index(value)  # ints exactly, however large
        except TypeError:
            try:
                number = float(value)
            except (TypeError, ValueError, OverflowError):
                number = None
    if isinstance(number, float) and not number.is_integer():
        number = None
    if number is None or number < minimum:
        kind = {0: "a non-negative integer", 1: "a positive integer"}.get(
            minimum, f"an integer >= {minimum}")
        raise ValueError(f"`{name}` must be {kind}, got {value!r}.")
    return int(number)
