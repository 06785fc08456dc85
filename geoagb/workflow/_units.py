"""The carbon unit rule shared by the report, the demo and ``geoagb map --carbon``.

A carbon total is shown in the largest of MgC, GgC (1e3 Mg) and TgC (1e6 Mg) in which it
has at most four digits before the decimal point, so that a table of regions is read in one
unit, stated once: 9,425 MgC, 12.4 GgC, 37.1 TgC.
"""

from __future__ import annotations

import math

__all__ = ["carbon_unit", "format_carbon", "format_number"]

_UNITS = (("MgC", 1.0), ("GgC", 1e3), ("TgC", 1e6))


def carbon_unit(total_MgC: float) -> tuple[str, float]:
    """``(unit, divisor)`` for a carbon total in MgC (see the module docstring).

    Examples
    --------
    >>> carbon_unit(9_425.0), carbon_unit(12_400.0), carbon_unit(3.71e7)
    (('MgC', 1.0), ('GgC', 1000.0), ('TgC', 1000000.0))
    """
    v = abs(float(total_MgC)) if math.isfinite(float(total_MgC)) else 0.0
    for unit, div in _UNITS:
        if v / div < 10_000:
            return unit, div
    return _UNITS[-1]


def format_number(v: float) -> str:
    """Three significant digits at least, no exponent, thousands separated: 9,425 / 12.4 / 3.71.

    Examples
    --------
    >>> [format_number(v) for v in (9425.4, 12.44, 3.714, 0.0)]
    ['9,425', '12.4', '3.71', '0']
    """
    v = float(v)
    if not math.isfinite(v):
        return "nan"
    a = abs(v)
    decimals = 0 if a >= 100 or a == 0 else (1 if a >= 10 else 2)
    return f"{v:,.{decimals}f}"


def format_carbon(value_MgC: float, unit: tuple[str, float] | None = None) -> str:
    """A carbon amount in MgC as text in its unit (or the given ``(unit, divisor)``).

    Examples
    --------
    >>> format_carbon(9_425.2), format_carbon(12_400.0), format_carbon(500.0, ("GgC", 1e3))
    ('9,425 MgC', '12.4 GgC', '0.50 GgC')
    """
    unit, div = unit or carbon_unit(value_MgC)
    return f"{format_number(float(value_MgC) / div)} {unit}"
