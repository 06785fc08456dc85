import numpy as np
import pytest

from geoagb.applicability import aoa_threshold, cast_threshold, upper_whisker
from geoagb.applicability._stats import ecdf, fivenum

from ._reference import r_boxplot_upper


def test_fivenum_matches_r():
    # R: fivenum(1:6) = 1 2 3.5 5 6; fivenum(c(1, 2, 3, 4, 100)) = 1 2 3 4 100
    assert fivenum([1, 2, 3, 4, 5, 6]).tolist() == [1, 2, 3.5, 5, 6]
    assert fivenum([4, 1, 100, 3, 2]).tolist() == [1, 2, 3, 4, 100]
    # R: fivenum(1:7) = 1 2.5 4 5.5 7
    assert fivenum(np.arange(1, 8)).tolist() == [1, 2.5, 4, 5.5, 7]


def test_thresholds_by_hand():
    x = [1, 2, 3, 4, 100]
    assert upper_whisker(x) == 4.0  # hinges 2, 4 -> fence 7 -> largest inside 4
    assert cast_threshold(x) == 7.0  # type-7 Q1 2, Q3 4 -> 4 + 1.5 * 2
    assert cast_threshold([1, 2, 3, 4]) == 4.0  # fence 3.25 + 1.5 * 1.5 = 5.5 > max -> max
    assert aoa_threshold([0.0, 1.0, np.nan, 2.0], "cast") == 2.0  # NaN ignored
    assert aoa_threshold(np.arange(101.0), 0.9) == pytest.approx(90.0)


def test_upper_whisker_equals_r_boxplot_on_random_samples():
    rng = np.random.default_rng(3)
    for n in (5, 6, 7, 30, 101):
        x = rng.lognormal(size=n)
        assert upper_whisker(x) == pytest.approx(r_boxplot_upper(x))


def test_threshold_rule_errors():
    with pytest.raises(ValueError, match="'cast'"):
        aoa_threshold([1.0, 2.0], "max")
    with pytest.raises(ValueError, match="all DI values are NaN"):
        aoa_threshold([np.nan], "cast")


def test_ecdf():
    x, p = ecdf([2.0, np.nan, 1.0])
    assert x.tolist() == [1.0, 2.0] and p.tolist() == [0.5, 1.0]
