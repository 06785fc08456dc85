"""Mann-Kendall, Theil-Sen and Pettitt: against pymannkendall, scipy and hand calculations."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from geoagb.timeseries import UntestedWarning, mann_kendall, pettitt, sens_slope, trend_map

mk = pytest.importorskip("pymannkendall")

FIELDS = {
    "s": "s",
    "var_s": "var_s",
    "Tau": "tau",
    "z": "z",
    "p": "p_value",
    "slope": "slope",
    "intercept": "intercept",
}


def _series(kind, n=20, count=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, n)).cumsum(axis=1) + 0.05 * np.arange(n)
    if kind == "ties":
        x = np.round(x)  # many ties, also tied pairwise slopes
    elif kind == "heavy_ties":
        x = np.round(x / 4.0)
    return x


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered:RuntimeWarning"
)  # pymannkendall, constant series
@pytest.mark.parametrize("kind", ["continuous", "ties", "heavy_ties"])
@pytest.mark.parametrize(
    "test,hamed_rao,lag",
    [
        ("original_test", False, None),
        ("hamed_rao_modification_test", True, None),
        ("hamed_rao_modification_test", True, 3),
    ],
)
def test_matches_pymannkendall(kind, test, hamed_rao, lag):
    x = _series(kind)
    res = mann_kendall(x.T, hamed_rao=hamed_rao, lag=lag)  # (T, n_series): one call, vectorised
    kw = {} if lag is None else {"lag": lag}
    for i, row in enumerate(x):
        ref = getattr(mk, test)(row, **kw)
        for theirs, ours in FIELDS.items():
            a, b = float(getattr(ref, theirs)), float(res[ours][i])
            if np.isnan(a):  # Hamed-Rao can make var(S) negative: both give NaN
                assert np.isnan(b)
            else:
                assert b == pytest.approx(a, abs=1e-10, rel=1e-10), (theirs, i)
        assert bool(res["significant"][i]) == bool(ref.h)


def test_sens_slope_matches_pymannkendall_and_scipy():
    x = _series("ties", count=40, seed=1)
    slope, icpt = sens_slope(x.T)
    for i, row in enumerate(x):
        ref = mk.sens_slope(row)
        assert slope[i] == pytest.approx(ref.slope, abs=1e-10)
        assert icpt[i] == pytest.approx(ref.intercept, abs=1e-10)
        assert slope[i] == pytest.approx(stats.theilslopes(row).slope, abs=1e-10)


def test_missing_years_match_pymannkendall_original_test():
    x = _series("continuous", count=20, seed=2)
    x[:, [3, 11]] = np.nan
    res = mann_kendall(x.T)
    for i, row in enumerate(x):
        ref = mk.original_test(row)
        for theirs, ours in FIELDS.items():
            assert float(res[ours][i]) == pytest.approx(float(getattr(ref, theirs)), abs=1e-10)


def test_uneven_years_use_true_time_and_tau_matches_scipy():
    t = np.array([2000, 2001, 2003, 2004, 2008, 2009, 2010, 2015])
    y = 3.0 + 0.5 * (t - 2000)  # exact line, uneven sampling
    r = mann_kendall(y, t)
    assert r.slope == pytest.approx(0.5) and r.intercept == pytest.approx(3.0)
    rng = np.random.default_rng(5)
    y = rng.normal(size=t.size)  # no ties: tau-a = tau-b
    assert mann_kendall(y, t).tau == pytest.approx(stats.kendalltau(t, y).statistic, abs=1e-12)


def test_hand_calculation_with_ties():
    x = [1.0, 2.0, 2.0, 3.0]
    # S: pairs (1,2)+ (1,2)+ (1,3)+ (2,2)0 (2,3)+ (2,3)+ = 5; var = (4*3*13 - 2*1*9) / 18 = 138/18
    r = mann_kendall(x)
    assert r.s == 5.0 and r.var_s == pytest.approx(138 / 18)
    assert r.z == pytest.approx(4 / np.sqrt(138 / 18))
    assert r.p_value == pytest.approx(2 * stats.norm.sf(4 / np.sqrt(138 / 18)))


def test_too_short_series_are_nan_and_errors_name_the_rule():
    stack = np.full((10, 2), 1.0)
    stack[:, 0] = np.arange(10.0)
    stack[3:, 1] = np.nan  # 3 finite values < min_years=4
    r = mann_kendall(stack)
    assert np.isfinite(r.slope[0]) and np.isnan(r.slope[1]) and not r.significant[1]
    with pytest.raises(ValueError, match="years has 3 values"):
        mann_kendall(np.arange(10.0), years=[1, 2, 3])
    with pytest.raises(ValueError, match="alpha=1.5"):
        mann_kendall(np.arange(10.0), alpha=1.5)
    with pytest.raises(ValueError, match="strictly increasing"):
        mann_kendall(np.arange(3.0), years=[2001, 2001, 2002])


@pytest.mark.parametrize("fill", [np.inf, -np.inf])
def test_inf_is_a_missing_year_like_nan(fill):
    x = _series("continuous", count=20, seed=8)
    x_fill, x_nan = x.copy(), x.copy()
    x_fill[:, [4, 13]], x_nan[:, [4, 13]] = fill, np.nan
    x_fill[::3, -1], x_nan[::3, -1] = fill, np.nan  # and a missing last year in some series
    ours, with_nan = mann_kendall(x_fill.T), mann_kendall(x_nan.T)
    for i, row in enumerate(x_nan):
        ref = mk.original_test(row[np.isfinite(row)])  # pymannkendall on the finite values
        for theirs in ("s", "var_s", "Tau", "z", "p"):
            assert float(ours[FIELDS[theirs]][i]) == pytest.approx(
                float(getattr(ref, theirs)), abs=1e-10
            )
        # slopes use the true years of the values around the gaps (pymannkendall with NaN)
        ref_gaps = mk.sens_slope(row)
        assert float(ours.slope[i]) == pytest.approx(ref_gaps.slope, abs=1e-10)
        assert float(ours.intercept[i]) == pytest.approx(ref_gaps.intercept, abs=1e-10)
        assert ours.n_years[i] == np.isfinite(row).sum()
    # counted as a value, the inf would have won every comparison
    row = x_fill[1]
    huge = np.where(np.isinf(row), np.sign(fill) * 1e12, row)
    assert mann_kendall(huge).s != ours.s[1]
    for field in ours:
        np.testing.assert_array_equal(ours[field], with_nan[field])
    # the change point and the trend map treat it the same way
    t = np.arange(2002, 2022)
    for a, b in zip(pettitt(x_fill.T, t).values(), pettitt(x_nan.T, t).values()):
        np.testing.assert_array_equal(a, b)
    stack_fill = x_fill.T.reshape(20, 4, 5)
    m_fill = trend_map(stack_fill, t, progress=False)
    m_nan = trend_map(x_nan.T.reshape(20, 4, 5), t, progress=False)
    for band in m_fill.bands:
        np.testing.assert_array_equal(m_fill.bands[band], m_nan.bands[band])
    assert m_fill.n_years[0, 0] == 17  # 20 years, 3 of them inf


def test_no_series_tested_says_why():
    with pytest.warns(UntestedWarning, match=r"3 time step\(s\) but min_years=4"):
        r = mann_kendall([1.0, 2.0, 3.0])
    assert np.isnan(r.slope) and not r.significant
    stack = np.full((6, 2, 2), np.nan)
    stack[:2, 0, 0] = [1.0, 2.0]  # 2 finite values < min_years=4; the other 3 cells empty
    with pytest.warns(UntestedWarning, match="of 4 series, 3 have no finite value") as rec:
        mann_kendall(stack)
    assert rec[0].message.counts == dict(n_series=4, n_empty=3, n_short=1, n_steps=6, min_years=4)
    with pytest.warns(UntestedWarning, match="1 have 1 to 3 finite values"):
        pettitt(stack)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one tested series: no warning
        stack[:, 1, 1] = np.arange(6.0)
        assert mann_kendall(stack).slope[1, 1] == 1.0


def test_trend_map_refuses_too_few_years_and_warns_on_empty_cells():
    t = np.arange(2019, 2022)
    with pytest.raises(ValueError, match=r"3 layer\(s\) \(2019-2021\) but min_years=8"):
        trend_map(np.ones((3, 2, 2)), t, progress=False)
    t = np.arange(2002, 2012)
    stack = np.full((10, 2, 3), np.nan, np.float32)
    stack[:5, 0, :2] = 1.0  # 2 cells with 5 finite years (< 8), 4 cells all NaN
    stack[:, 1, 2] = np.inf  # inf is missing too
    with pytest.warns(UntestedWarning, match="of 6 pixels, 4 have no finite value") as rec:
        res = trend_map(stack, t, progress=False)
    assert rec[0].message.counts["n_short"] == 2
    assert all(np.isnan(b).all() for b in res.bands.values())
    stack[:, 1, 1] = np.arange(10.0)  # one testable cell: the map is silent again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert trend_map(stack, t, progress=False).slope[1, 1] == 1.0


def _pettitt_loop(x):
    n = len(x)
    U = [
        sum(np.sign(x[i] - x[j]) for i in range(k + 1) for j in range(k + 1, n))
        for k in range(n - 1)
    ]
    k = int(np.argmax(np.abs(U)))
    K = abs(U[k])
    return k, K, min(1.0, 2 * np.exp(-6 * K**2 / (n**3 + n**2)))


def test_pettitt_matches_double_sum_definition():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(25, 18))
    x[:, 9:] += rng.uniform(-2, 2, size=(25, 1))
    x[::4] = np.round(x[::4])  # ties
    res = pettitt(x.T, years=np.arange(2000, 2018))
    for i, row in enumerate(x):
        k, K, p = _pettitt_loop(row)
        assert res.breakpoint_year[i] == 2000 + k + 1
        assert res.breakpoint_k[i] == K and res.breakpoint_p[i] == pytest.approx(p, abs=1e-12)
        assert res.breakpoint_shift[i] == pytest.approx(
            np.median(row[k + 1 :]) - np.median(row[: k + 1])
        )


def test_detrended_pettitt_dates_a_step_inside_a_trend():
    rng = np.random.default_rng(4)
    t = np.arange(2002, 2022)
    steps = rng.integers(2007, 2017, 300)  # >= 5 years each side (Pettitt's power)
    x = (
        80
        - 0.8 * (t[:, None] - 2002)
        - 25.0 * (t[:, None] >= steps)
        + rng.normal(0, 1.0, (t.size, 300))
    )
    raw, det = pettitt(x, t), pettitt(x, t, detrend=True)
    assert np.mean(det.breakpoint_year == steps) > 0.97
    assert np.mean(raw.breakpoint_year == steps) < 0.5  # the trend hides the step from ranks
    assert np.all(det.breakpoint_p < 0.05)
    assert np.median(det.breakpoint_shift) == pytest.approx(-25.0, abs=0.5)
    # a trend without a step is not taken for a break
    y = 80 - 0.8 * (t[:, None] - 2002) + rng.normal(0, 1.0, (t.size, 300))
    assert np.mean(pettitt(y, t, detrend=True).breakpoint_p < 0.05) < 0.05


def test_trend_map_chunks_equal_one_call_and_file_equals_memory(tmp_path):
    rng = np.random.default_rng(6)
    t = np.arange(2002, 2022)
    stack = (rng.normal(size=(t.size, 37, 23)).cumsum(axis=0)).astype(np.float32)
    stack[:, 0, 0] = np.nan
    whole = mann_kendall(stack.astype(np.float64), t, min_years=8)
    res = trend_map(
        stack,
        t,
        chunk_rows=5,
        progress=False,
        transform=(1000, 0, 5e5, 0, -1000, 3e6),
        crs="EPSG:32648",
    )
    np.testing.assert_allclose(res.slope, whole.slope, rtol=1e-6)
    np.testing.assert_allclose(res.p_value, whole.p_value, rtol=1e-5, atol=1e-12)
    assert np.isnan(res.slope[0, 0]) and np.isnan(res.significant[0, 0])
    det = pettitt(stack.astype(np.float64), t, detrend=True)
    np.testing.assert_array_equal(res.breakpoint_year, det.breakpoint_year)
    out = trend_map(
        stack,
        t,
        tmp_path / "trend.tif",
        memory_mb=0.05,
        progress=False,
        transform=(1000, 0, 5e5, 0, -1000, 3e6),
        crs="EPSG:32648",
    )
    import rasterio

    from geoagb.timeseries import TREND_BANDS

    with rasterio.open(out) as ds:
        assert ds.descriptions == TREND_BANDS and ds.units[0] == "MgC/ha/yr"
        for i, b in enumerate(TREND_BANDS, 1):
            np.testing.assert_array_equal(ds.read(i), res.bands[b])
    assert not list(tmp_path.glob(".*part*"))  # atomic write: no temporary left


def test_threads_give_the_same_map():
    rng = np.random.default_rng(7)
    stack = rng.normal(size=(15, 80, 60)).cumsum(axis=0)
    one = trend_map(stack, progress=False)
    two = trend_map(stack, n_jobs=2, chunk_rows=50, progress=False)
    for b in one.bands:
        np.testing.assert_array_equal(one.bands[b], two.bands[b])
    with pytest.raises(ValueError, match="n_jobs=0"):
        trend_map(stack, n_jobs=0, progress=False)
