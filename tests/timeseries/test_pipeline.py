"""The whole chain on the synthetic default data: planted trends, disturbances and sinks recovered."""

from __future__ import annotations

import numpy as np
import pytest

from geoagb.timeseries import (
    BelowgroundModel,
    annual_totals,
    calibrate_vod,
    carbon_sink_trend,
    scale_by_cover,
    trend_map,
    trend_recovery,
)


@pytest.fixture(scope="module")
def chain(series_truth):
    s, tr = series_truth
    sc = scale_by_cover(
        s.benchmark,
        s.tree_cover,
        s.short_cover,
        base_year=s.base_year,
        years=s.years,
        short_ratio=s.short_ratio,
        benchmark_sd=s.benchmark_sd,
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
    feats = ["agbc", "mat", "map"]
    bgb = BelowgroundModel(agb_feature="agbc", n_estimators=40, random_state=0).fit(
        s.records[feats], s.records["bgbc"]
    )
    bg = bgb.predict_stack(cal.agbc, s.covariates, progress=False)
    return s, tr, sc, cal, bg


def test_planted_trends_recovered(chain):
    s, tr, sc, cal, _ = chain
    res = trend_map(cal.agbc, s.years, progress=False)
    rec = trend_recovery(res, tr.trend)
    assert rec["sign_correct_pct"] >= 95.0
    assert rec["false_positive_pct"] < 10.0  # stable land: about alpha
    for code in (0, 1, 2):  # gains and losses are found
        assert trend_recovery(res, tr.trend, s.regions == code)["pct_significant"] > 95.0
    linear = np.isin(s.regions, [0, 1, 3])
    assert trend_recovery(res, tr.trend, linear)["slope_mae"] < 0.1  # MgC/ha/yr, trends up to 2
    # without VOD the densification is missed (flat covers): calibration is what finds it
    raw = trend_map(sc.agbc, s.years, breakpoint=False, progress=False)
    assert trend_recovery(raw, tr.trend, s.regions == 1)["pct_significant"] < 20.0


def test_disturbance_years_recovered(chain):
    s, tr, _, cal, _ = chain
    res = trend_map(cal.agbc, s.years, progress=False)
    dist = np.isfinite(tr.disturbance_year)
    found = res.breakpoint_p[dist] < 0.05
    assert found.mean() > 0.95
    assert np.mean(res.breakpoint_year[dist][found] == tr.disturbance_year[dist][found]) > 0.95
    assert np.mean(res.breakpoint_p[~dist & (s.regions == 3)] < 0.05) < 0.05


def test_sinks_recovered(chain):
    s, tr, sc, cal, bg = chain
    tot = annual_totals(
        cal.agbc,
        bg,
        regions=s.regions,
        region_names=s.region_names,
        years=s.years,
        agbc_sd=sc.agbc_sd,
        **s.grid,
    )
    sink = carbon_sink_trend(tot)
    for name in ("afforestation", "densification", "disturbance"):
        assert sink.loc[name, "sink_TgC_per_yr"] == pytest.approx(
            tr.sink_TgC_per_yr[name], rel=0.15
        )
    assert abs(sink.loc["stable", "sink_TgC_per_yr"]) < 0.05 * abs(
        tr.sink_TgC_per_yr["afforestation"]
    )
