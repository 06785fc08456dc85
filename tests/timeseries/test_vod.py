"""VOD calibration: the mappings, the method choice and the recalibrated series."""

from __future__ import annotations

import numpy as np
import pytest

from geoagb.timeseries import LinearMapping, QuantileMapping, calibrate_vod, scale_by_cover


def test_mappings_closed_forms():
    v = np.linspace(0.1, 0.9, 50)
    lin = LinearMapping().fit(v, 5 + 100 * v)
    assert lin.slope == pytest.approx(100) and lin.intercept == pytest.approx(5)
    a = 150 * (1 - np.exp(-3 * v))  # saturating, monotone
    qm = QuantileMapping(50).fit(v, a)
    np.testing.assert_allclose(qm.predict(v), a, rtol=1e-12)
    k = 5  # 10 % of 49 intervals, rounded
    hi_slope = (a[-1] - a[-1 - k]) / (v[-1] - v[-1 - k])
    assert qm.predict([1.0])[0] == pytest.approx(a[-1] + hi_slope * 0.1)
    # quantile mapping only uses the marginals: shuffling the pairs changes nothing
    rng = np.random.default_rng(0)
    np.testing.assert_allclose(
        QuantileMapping(50).fit(rng.permutation(v), a).predict(v), a, rtol=1e-12
    )


def _toy(relation, noise, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(2000, 2012)
    base = rng.uniform(10, 150, (1, 30, 30))
    truth = base * (1 + 0.03 * (t - 2005))[:, None, None]
    vod = relation(truth) + noise * rng.standard_normal(truth.shape)
    return t, np.repeat(base, t.size, axis=0), vod, truth


def test_method_choice_follows_cross_validated_rmse():
    sat = lambda a: 0.1 + 0.8 * (1 - np.exp(-a / 60.0))  # noqa: E731
    t, flat, vod, truth = _toy(sat, 0.0)
    rep = calibrate_vod(
        flat, vod, np.zeros((30, 30), int), years=t, base_year=2005, random_state=0
    ).report
    assert rep.loc["0", "method"] == "quantile"  # curvature: regression is biased
    assert rep.loc["0", "cv_rmse_quantile"] < 0.2 * rep.loc["0", "cv_rmse_linear"]
    assert rep.loc["0", "ks_quantile"] < rep.loc["0", "ks_linear"]
    t, flat, vod, truth = _toy(lambda a: 0.005 * a, 0.15)  # linear, very noisy VOD
    rep = calibrate_vod(
        flat, vod, np.zeros((30, 30), int), years=t, base_year=2005, random_state=0
    ).report
    assert rep.loc["0", "method"] == "linear"  # noise: regression shrinks, QM does not


def test_calibration_recovers_densification_and_leaves_other_regions(series_truth):
    s, truth = series_truth
    sc = scale_by_cover(
        s.benchmark,
        s.tree_cover,
        s.short_cover,
        base_year=s.base_year,
        years=s.years,
        short_ratio=s.short_ratio,
        progress=False,
    )
    cal = calibrate_vod(
        sc.agbc,
        s.vod,
        s.regions,
        years=s.years,
        base_year=s.base_year,
        region_names=s.region_names,
        calibrate=["densification"],
        random_state=0,
    )
    dens = s.regions == 1
    err_before = np.abs(sc.agbc[:, dens] - truth.agbc[:, dens]).mean()
    err_after = np.abs(cal.agbc[:, dens] - truth.agbc[:, dens]).mean()
    assert err_after < 0.75 * err_before
    rep = cal.report
    assert list(rep.index) == s.region_names and rep["calibrated"].tolist() == [
        False,
        True,
        False,
        False,
    ]
    true_trend = np.mean(truth.trend[dens])
    assert abs(rep.loc["densification", "trend_before"]) < 0.1 * true_trend  # covers miss it
    assert rep.loc["densification", "trend_after"] == pytest.approx(true_trend, rel=0.15)
    assert rep.loc["densification", "rmse_after"] < rep.loc["densification", "rmse_before"]
    np.testing.assert_array_equal(cal.agbc[:, ~dens], sc.agbc[:, ~dens])
    # agreement numbers by hand for the uncalibrated region "stable"
    f = cal.mappings["stable"]
    m = s.regions == 3
    other = s.years != s.base_year
    ref = f.predict(s.vod[other][:, m].astype(float))
    ser = sc.agbc[other][:, m].astype(float)
    assert rep.loc["stable", "rmse_before"] == pytest.approx(
        np.sqrt(np.mean((ser - ref) ** 2)), rel=1e-6
    )
    assert rep.loc["stable", "bias_before"] == pytest.approx(np.mean(ser - ref), rel=1e-5, abs=1e-6)
    assert rep.loc["stable", "r_before"] == pytest.approx(
        np.corrcoef(ser.ravel(), ref.ravel())[0, 1], rel=1e-6
    )


def test_bad_inputs():
    a = np.ones((3, 4, 4))
    with pytest.raises(ValueError, match="same shape"):
        calibrate_vod(a, np.ones((3, 4, 5)), np.zeros((4, 4), int), years=[1, 2, 3], base_year=2)
    with pytest.raises(ValueError, match="names no region"):
        calibrate_vod(a, a, np.zeros((4, 4), int), years=[1, 2, 3], base_year=2, calibrate=["x"])
    with pytest.raises(ValueError, match="methods="):
        calibrate_vod(a, a, np.zeros((4, 4), int), years=[1, 2, 3], base_year=2, methods=("cubic",))
