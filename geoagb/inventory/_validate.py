"""Input checks shared by the inventory functions (errors name the value, the rule and the fix)."""

from __future__ import annotations

import numpy as np

__all__ = ["as_float_array", "check_nonnegative", "check_positive"]


def as_float_array(values, name: str) -> np.ndarray:
    """``values`` as a float array; NaN and infinities are refused with the offending rows."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric; got {values!r:.80}.") from exc
    bad = ~np.isfinite(arr)
    if bad.any():
        where = np.flatnonzero(bad.ravel())[:5].tolist()
        raise ValueError(
            f"{name} has {int(bad.sum())} NaN or infinite value(s) (first positions {where}); "
            "drop or fill incomplete records before converting them."
        )
    return arr


def _report(arr, mask, name, rule, fix):
    pos = np.flatnonzero(mask.ravel())
    vals = arr.ravel()[pos[:5]].tolist()
    raise ValueError(
        f"{name} must be {rule}; got {vals}{' ...' if pos.size > 5 else ''} at position(s) "
        f"{pos[:5].tolist()}{' ...' if pos.size > 5 else ''}. {fix}"
    )


def check_positive(values, name: str, fix: str = "") -> np.ndarray:
    """Finite and > 0."""
    arr = as_float_array(values, name)
    if (arr <= 0).any():
        _report(arr, arr <= 0, name, "> 0", fix)
    return arr


def check_nonnegative(values, name: str, fix: str = "") -> np.ndarray:
    """Finite and >= 0."""
    arr = as_float_array(values, name)
    if (arr < 0).any():
        _report(arr, arr < 0, name, ">= 0", fix)
    return arr
