"""Argument types of the command line: numbers checked where they enter.

Each is an ``argparse`` ``type=``: a value out of range is refused by the parser before any work,
with one line that says the value, the rule and an example (``--n-estimators 0``: "'0' is not a
whole number >= 1; give one, e.g. 300").
"""

from __future__ import annotations

import argparse
import math

__all__ = [
    "int_at_least",
    "positive_float",
    "non_negative_float",
    "fraction",
    "unit_fraction",
    "open_fraction",
    "n_jobs",
]


def int_at_least(low: int, example: str = ""):
    """Argparse ``type=``: a whole number ``>= low`` (``example`` is added to the error)."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number >= {low}; give one{example}"
            )
        return value

    parse.__name__ = f"int >= {low}"
    return parse


def _float(text, rule: str, ok) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and ok(value)):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number {rule}")
    return value


def positive_float(text) -> float:
    """Argparse ``type=``: a finite number ``> 0`` (metres, MiB)."""
    return _float(text, "> 0; give a positive size (metres, MiB)", lambda v: v > 0)


def fraction(text) -> float:
    """Argparse ``type=``: a number in ``(0, 1]`` (a carbon fraction, e.g. 0.47)."""
    return _float(text, "in (0, 1]; give a fraction, e.g. 0.47", lambda v: 0 < v <= 1)


def unit_fraction(text) -> float:
    """Argparse ``type=``: a number in ``[0, 1]`` (a cover fraction, e.g. 0.05)."""
    return _float(text, "in [0, 1]; give a fraction, e.g. 0.05", lambda v: 0 <= v <= 1)


def non_negative_float(text) -> float:
    """Argparse ``type=``: a finite number ``>= 0`` (a ratio, e.g. 0.1)."""
    return _float(text, ">= 0; give e.g. 0.1", lambda v: v >= 0)


def open_fraction(text) -> float:
    """Argparse ``type=``: a number in ``(0, 1)`` (a significance level, e.g. 0.05)."""
    return _float(text, "in (0, 1); give e.g. 0.05", lambda v: 0 < v < 1)


def n_jobs(text) -> int:
    """Argparse ``type=``: threads, a whole number ``>= 1``, or ``-1`` for all cores."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of threads; give a whole number >= 1, or -1 for all cores"
        )
    return value
