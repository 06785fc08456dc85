"""The carbon unit rule: the largest of MgC, GgC, TgC with at most four integer digits."""

from __future__ import annotations

import pytest

from geoagb.workflow._units import carbon_unit, format_carbon, format_number


@pytest.mark.parametrize(
    "total,unit",
    [
        (0.0, ("MgC", 1.0)),
        (9_999.0, ("MgC", 1.0)),
        (10_000.0, ("GgC", 1e3)),  # 10.0 GgC: five digits in MgC is one too many
        (9_999_999.0, ("GgC", 1e3)),
        (1e7, ("TgC", 1e6)),
        (-25_000.0, ("GgC", 1e3)),  # a loss is shown in the unit of its size
        (3.2e13, ("TgC", 1e6)),  # beyond TgC: still TgC (32,000,000 TgC)
        (float("nan"), ("MgC", 1.0)),
        (float("inf"), ("MgC", 1.0)),
    ],
)
def test_carbon_unit_boundaries(total, unit):
    assert carbon_unit(total) == unit


@pytest.mark.parametrize(
    "value,text",
    [
        (1234.5, "1,234"),  # >= 100: no decimals; an exact .5 rounds to even
        (1235.5, "1,236"),
        (99.94, "99.9"),  # 10 to 100: one decimal
        (99.96, "100.0"),  # ... chosen before rounding
        (10.04, "10.0"),
        (9.996, "10.00"),  # two decimals below 10, even when rounding reaches 10
        (-0.125, "-0.12"),
        (0.0, "0"),
        (float("nan"), "nan"),
    ],
)
def test_format_number_digits(value, text):
    assert format_number(value) == text


def test_format_carbon_by_hand():
    # 123,456 MgC = 123.456 GgC: no decimals at or above 100
    assert format_carbon(123_456.0) == "123 GgC"
    assert format_carbon(45_678_900.0) == "45.7 TgC"
    assert format_carbon(8_765.4) == "8,765 MgC"
    assert format_carbon(-2_500.0) == "-2,500 MgC"
    # a table stated in one unit: small regions keep the unit of the total
    assert format_carbon(750.0, ("TgC", 1e6)) == "0.00 TgC"
    assert format_carbon(7_500.0, ("GgC", 1e3)) == "7.50 GgC"
