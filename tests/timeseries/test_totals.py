"""Annual totals and sinks: hand computations, scipy references, files vs memory, polygons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from geoagb.timeseries import annual_totals, carbon_sink_trend, write_stack

GRID = dict(transform=(1000.0, 0.0, 500_000.0, 0.0, -1000.0, 2_800_000.0), crs="EPSG:32648")


def _stacks(seed=0, T=6, H=10, W=12):
    rng = np.random.default_rng(seed)
    a = rng.uniform(20, 80, (T, H, W)).astype(np.float32)
    a[2, 0, 0] = np.nan
    return a, (0.25 * a).astype(np.float32), (0.1 * a).astype(np.float32), np.arange(2010, 2010 + T)


def test_totals_by_hand():
    a, b, sd, years = _stacks()
    reg = np.zeros(a.shape[1:], int)
    reg[:, 6:] = 1
    reg[0, 11] = -1
    t = annual_totals(a, b, regions=reg, region_names=["w", "e"], years=years, agbc_sd=sd, **GRID)
    assert set(t["region"]) == {"w", "e", "all"} and len(t) == 3 * 6
    m = reg == 1
    row = t[(t.region == "e") & (t.year == 2013)].iloc[0]
    ai, bi, si = a[3][m].astype(float), b[3][m].astype(float), sd[3][m].astype(float)
    assert row.n_cells == m.sum() and row.area_ha == m.sum() * 100.0
    assert row.agbc_TgC == pytest.approx(ai.sum() * 100 / 1e6, rel=1e-9)
    assert row.total_TgC == pytest.approx((ai + bi).sum() * 100 / 1e6, rel=1e-9)
    assert row.total_sd_TgC == pytest.approx(np.sqrt((si**2).sum()) * 100 / 1e6, rel=1e-9)
    assert row.total_sd_TgC_correlated == pytest.approx(si.sum() * 100 / 1e6, rel=1e-9)
    w12 = t[(t.region == "w") & (t.year == 2012)].iloc[0]
    assert w12.n_cells == (reg == 0).sum() - 1  # the NaN cell is not counted
    al = t[t.region == "all"].set_index("year")
    sub = t[t.region != "all"].groupby("year")
    np.testing.assert_allclose(al["total_TgC"], sub["total_TgC"].sum())
    np.testing.assert_allclose(
        al["total_sd_TgC"], np.sqrt(sub["total_sd_TgC"].apply(lambda v: (v**2).sum()))
    )


def test_files_and_polygons_equal_arrays(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    a, b, sd, years = _stacks(1)
    pa = write_stack(tmp_path / "a.tif", a, years, **GRID)
    pb = write_stack(tmp_path / "b.tif", b, years, **GRID)
    reg = np.zeros(a.shape[1:], int)
    reg[:, 6:] = 1
    mem = annual_totals(a, b, regions=reg, years=years, **GRID)
    polys = gpd.GeoDataFrame(
        {"name": ["0", "1"]},
        geometry=[
            box(500_000, 2_790_000, 506_000, 2_800_000),
            box(506_000, 2_790_000, 512_000, 2_800_000),
        ],
        crs=GRID["crs"],
    )
    fil = annual_totals(pa, pb, regions=polys, memory_mb=0.001)
    key = ["region", "year"]
    pd.testing.assert_frame_equal(
        fil.sort_values(key).reset_index(drop=True),
        mem.sort_values(key).reset_index(drop=True),
        rtol=1e-9,
    )


def test_sink_matches_scipy_and_propagated_sd_closed_form():
    rng = np.random.default_rng(2)
    years = np.arange(2002, 2022)
    rows = []
    for reg, b in (("gain", 0.4), ("loss", -0.3)):
        y = 20 + b * (years - 2002) + rng.normal(0, 0.2, years.size)
        rows.append(
            pd.DataFrame(
                {
                    "region": reg,
                    "year": years,
                    "total_TgC": y,
                    "total_sd_TgC": 0.5 + 0.01 * (years - 2002),
                    "total_sd_TgC_correlated": 0.1 * y,
                }
            )
        )
    tot = pd.concat(rows)
    s = carbon_sink_trend(tot, alpha=0.1)
    g = tot[tot.region == "loss"]
    lr = stats.linregress(g.year, g.total_TgC)
    q = stats.t.ppf(0.95, years.size - 2)
    row = s.loc["loss"]
    assert row.sink_TgC_per_yr == pytest.approx(lr.slope) and row.p_value == pytest.approx(
        lr.pvalue
    )
    assert row.ci_low == pytest.approx(lr.slope - q * lr.stderr)
    assert row.ci_high == pytest.approx(lr.slope + q * lr.stderr)
    ts = stats.theilslopes(g.total_TgC, g.year, alpha=0.9)
    assert (row.theil_sen_TgC_per_yr, row.theil_sen_ci_low, row.theil_sen_ci_high) == pytest.approx(
        (ts.slope, ts.low_slope, ts.high_slope)
    )
    w = (years - years.mean()) / np.sum((years - years.mean()) ** 2)
    sd = g.total_sd_TgC.to_numpy()
    assert row.sink_sd_map_independent_years == pytest.approx(np.sqrt(np.sum(w**2 * sd**2)))
    assert row.sink_sd_map_correlated_years == pytest.approx(abs(np.sum(w * sd)))
    # a 10 % error shared by every cell and year moves the sink by 10 % of its least-squares slope
    assert row.sink_sd_map_fully_correlated == pytest.approx(0.1 * abs(lr.slope))
    assert s.loc["gain", "ci_low"] < 0.4 < s.loc["gain", "ci_high"]


def test_errors_name_the_fix():
    a, _, _, years = _stacks()
    with pytest.raises(ValueError, match="cell area is unknown"):
        annual_totals(a, years=years)
    with pytest.raises(ValueError, match="no column 'total_TgC'"):
        carbon_sink_trend(pd.DataFrame({"region": ["a"], "year": [1]}))


def test_constant_sd_adds_to_the_cell_sd():
    a, b, sd, years = _stacks(3)
    t1 = annual_totals(a, b, years=years, agbc_sd=sd, bgbc_sd=2.0, **GRID)
    t2 = annual_totals(
        a, b, years=years, agbc_sd=sd, bgbc_sd=np.where(np.isfinite(a), 2.0, np.nan), **GRID
    )
    np.testing.assert_allclose(t1["total_sd_TgC"], t2["total_sd_TgC"])
    row = t1.iloc[0]
    assert row.total_sd_TgC_correlated == pytest.approx(
        (sd[0].astype(float) + 2.0).sum() * 100 / 1e6, rel=1e-9
    )


def test_stacks_of_different_years_are_refused_or_intersected(tmp_path):
    # BGBC 2003-2012 next to AGBC 2002-2011: paired by position, 2003 BGBC would sit on 2002 AGBC
    a, b, _, _ = _stacks(4, T=10)
    pa = write_stack(tmp_path / "agbc.tif", a, range(2002, 2012), **GRID)
    pb = write_stack(tmp_path / "bgbc.tif", b, range(2003, 2013), **GRID)
    with pytest.raises(ValueError) as err:
        annual_totals(pa, pb)
    msg = str(err.value)
    assert "bgbc holds the years 2003-2012 but agbc 2002-2011" in msg
    assert "common years are 2003-2011" in msg and "align='intersect'" in msg
    t = annual_totals(pa, pb, align="intersect")
    assert t["year"].tolist() == list(range(2003, 2012))
    # 2005: AGBC layer 3 (2005) with BGBC layer 2 (2005), cells finite in both, 100 ha each
    ok = np.isfinite(a[3]) & np.isfinite(b[2])
    want = (a[3][ok].astype(float) + b[2][ok]).sum() * 100 / 1e6
    assert t.set_index("year").loc[2005, "total_TgC"] == pytest.approx(want, rel=1e-9)
    # an array's layers take the years of agbc; a file's years must agree with years= too
    with pytest.raises(ValueError, match="bgbc holds the years 2003-2012 but agbc 2002-2011"):
        annual_totals(a, pb, years=range(2002, 2012), **GRID)
    with pytest.raises(ValueError, match="align='both'"):
        annual_totals(pa, pb, align="both")


def test_companion_file_without_years_needs_years(tmp_path):
    a, b, _, years = _stacks(5)
    pa = write_stack(tmp_path / "agbc.tif", a, years, **GRID)
    pb = write_stack(tmp_path / "bgbc.tif", b, [f"layer_{i}" for i in range(6)], **GRID)
    with pytest.raises(ValueError, match=r"bgbc file bgbc.tif are \['layer_0'"):
        annual_totals(pa, pb)
    t = annual_totals(pa, pb, years=years)  # years= names the layers of the undated file
    ok = np.isfinite(a[1])
    row = t.set_index("year").loc[2011]
    assert row.total_TgC == pytest.approx((a[1][ok] + b[1][ok]).astype(float).sum() * 1e-4)


def test_sink_of_too_short_series():
    two = pd.DataFrame({"region": "a", "year": [2020, 2021], "total_TgC": [10.0, 11.0]})
    with pytest.raises(ValueError, match=r"at least 3 years .* 'a' 2 \(2020-2021\)"):
        carbon_sink_trend(two)
    # one region long enough, one not: full frame, NaN for the short one, and a warning
    tot = pd.DataFrame(
        {
            "region": ["a"] * 4 + ["b"] * 4,
            "year": [2000, 2001, 2002, 2003] * 2,
            "total_TgC": [10.0, 10.5, 11.1, 11.4, 5.0, np.nan, np.nan, 6.0],
        }
    )
    with pytest.warns(UserWarning, match=r"'b' 2 \(2000, 2003\); their sink columns are NaN"):
        s = carbon_sink_trend(tot, sd_column=None)
    assert s.loc["b", "n_years"] == 2 and s.loc["a", "n_years"] == 4
    assert s.loc["b"].drop("n_years").isna().all()
    assert s.loc["a", "sink_TgC_per_yr"] == pytest.approx(0.48)  # least squares by hand
    # residuals -0.03 -0.01 0.11 -0.07: SSE 0.018, se = sqrt(SSE / (n - 2) / sum (t - tbar)^2)
    assert s.loc["a", "ci_low"] == pytest.approx(
        0.48 - stats.t.ppf(0.975, 2) * np.sqrt(0.018 / 2 / 5)
    )
