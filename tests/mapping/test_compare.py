"""Map comparison, evaluation at plots and the AGB = a H^b consistency fit."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geoagb.mapping import (
    canopy_height_consistency,
    compare_maps,
    evaluate_against_plots,
    fit_power_law,
)
from geoagb.metrics import agb_scores
from geoagb.raster import block_mean

from .conftest import CRS, X0, Y0, read, write_raster


def test_compare_maps_matches_numpy_across_windows(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.gamma(4, 25, (600, 530)).astype(np.float32)  # more than one 512-cell window
    b = (0.8 * a + rng.normal(0, 15, a.shape) + 10).astype(np.float32)
    a[100:110, 200:300] = np.nan
    b[500:520, :] = np.nan
    pa = write_raster(tmp_path / "a.tif", a, res=30.0, nodata=np.nan)
    pb = write_raster(tmp_path / "b.tif", b, res=30.0, nodata=np.nan)
    c = compare_maps(pa, pb, tmp_path / "diff.tif")
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok].astype(float) - b[ok]
    assert c.n == ok.sum()
    assert c.mean_difference == pytest.approx(d.mean(), rel=1e-9)
    assert c.sd_difference == pytest.approx(d.std(), rel=1e-9)
    assert c.rmse == pytest.approx(np.sqrt(np.mean(d**2)), rel=1e-9)
    assert c.r == pytest.approx(np.corrcoef(a[ok], b[ok])[0, 1], rel=1e-9)
    assert (c.mean_a, c.mean_b) == (pytest.approx(a[ok].mean()), pytest.approx(b[ok].mean()))
    diff = read(c.difference_path)
    np.testing.assert_allclose(diff[ok], d, rtol=1e-6)
    assert np.isnan(diff[~ok]).all()


def test_compare_maps_resamples_b_onto_a_and_masks(tmp_path):
    rng = np.random.default_rng(2)
    a = rng.gamma(4, 25, (20, 24)).astype(np.float32)  # 60 m
    b = rng.gamma(4, 25, (40, 48)).astype(np.float32)  # 30 m
    pa = write_raster(tmp_path / "a.tif", a, res=60.0)
    pb = write_raster(tmp_path / "b.tif", b, res=30.0)
    m = np.ones(a.shape, bool)
    m[:5] = False
    c = compare_maps(pa, pb, mask=m)
    bb = block_mean(b.astype(np.float64), 2)  # average of the four 30 m cells
    d = (a.astype(float) - bb)[m]
    assert c.n == m.sum()
    assert c.mean_difference == pytest.approx(d.mean(), rel=1e-5)
    assert c.sd_difference == pytest.approx(d.std(), rel=1e-5)


def test_evaluate_against_plots_samples_the_right_cells(tmp_path):
    rng = np.random.default_rng(3)
    agb = rng.gamma(4, 25, (30, 40)).astype(np.float32)
    agb[0, 0] = np.nan
    p = write_raster(tmp_path / "agb.tif", agb, res=30.0, nodata=np.nan, descriptions=["agb"])
    rows = rng.integers(0, 30, 60)
    cols = rng.integers(0, 40, 60)
    rows[:2], cols[:2] = 0, 0  # two plots on the nodata cell
    x = X0 + 30 * cols + rng.uniform(0.1, 29.9, 60)
    y = Y0 - 30 * rows - rng.uniform(0.1, 29.9, 60)
    obs = agb[rows, cols] * rng.uniform(0.7, 1.3, 60)
    plots = pd.DataFrame(
        {"x": np.r_[x, X0 - 500], "y": np.r_[y, Y0], "agb": np.r_[obs, 100.0]}
    )  # + 1 outside
    ev = evaluate_against_plots(p, plots)
    keep = np.arange(2, 60)
    expect = agb_scores(obs[keep], agb[rows[keep], cols[keep]])
    assert ev.scores["n"] == 58
    for k, v in expect.items():
        assert ev.scores[k] == pytest.approx(v, rel=1e-6)
    np.testing.assert_allclose(
        ev.pairs["mapped"].to_numpy(), agb[rows[keep], cols[keep]], rtol=1e-6
    )
    assert ev.binned["n"].sum() == 58
    gdf = gpd.GeoDataFrame(plots.iloc[:60], geometry=gpd.points_from_xy(x, y), crs=CRS).to_crs(
        "EPSG:4326"
    )
    ev2 = evaluate_against_plots(p, gdf.drop(columns=["x", "y"]))
    assert ev2.scores["rmse"] == pytest.approx(ev.scores["rmse"], rel=1e-6)


def test_power_law_recovers_known_a_and_b():
    rng = np.random.default_rng(4)
    h = rng.uniform(2, 35, 4000)
    exact = fit_power_law(h, 3.2 * h**1.35)
    assert (exact.a, exact.b, exact.r2) == (
        pytest.approx(3.2, rel=1e-7),
        pytest.approx(1.35, rel=1e-7),
        pytest.approx(1.0),
    )
    y = 3.2 * h**1.35 + rng.normal(0, 8, h.size)
    fit = fit_power_law(h, y)
    assert fit.a == pytest.approx(3.2, rel=0.06) and fit.b == pytest.approx(1.35, rel=0.02)
    pred = fit.a * h**fit.b
    ok = y > 0
    r2_hand = 1 - np.sum((y[ok] - pred[ok]) ** 2) / np.sum((y[ok] - y[ok].mean()) ** 2)
    assert fit.r2 == pytest.approx(r2_hand, rel=1e-9)
    ll = fit_power_law(h, y, method="loglog")
    b, loga = np.polyfit(np.log(h[ok]), np.log(y[ok]), 1)
    assert (ll.a, ll.b) == (pytest.approx(np.exp(loga)), pytest.approx(b))


@pytest.mark.parametrize("stat", ["mean", "max", "p95"])
def test_canopy_height_consistency_recovers_a_and_b_from_rasters(tmp_path, stat):
    rng = np.random.default_rng(6)
    k, h, w = 10, 12, 15  # 3 m CHM, 30 m AGB map
    chm = rng.uniform(1, 30, (h * k, w * k)).astype(np.float32)
    blocks = chm.reshape(h, k, w, k).transpose(0, 2, 1, 3).reshape(h, w, -1).astype(np.float64)
    hcell = {
        "mean": blocks.mean(-1),
        "max": blocks.max(-1),
        "p95": np.percentile(blocks, 95, axis=-1),
    }[stat]
    agb = (2.5 * hcell**1.6).astype(np.float32)
    agb[0, 0] = np.nan
    pa = write_raster(tmp_path / "agb.tif", agb, res=30.0, nodata=np.nan)
    pc = write_raster(tmp_path / "chm.tif", chm, res=3.0)
    fit = canopy_height_consistency(pa, pc, stat=stat)
    assert fit.n == h * w - 1
    assert fit.a == pytest.approx(2.5, rel=1e-4) and fit.b == pytest.approx(1.6, rel=1e-4)
    assert fit.r2 == pytest.approx(1.0, abs=1e-8)
    m = np.zeros((h, w), bool)
    m[:, :5] = True
    assert canopy_height_consistency(pa, pc, stat=stat, mask=m).n == h * 5 - 1
