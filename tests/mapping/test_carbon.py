"""Carbon stocks, sinks, zonal statistics and class frequencies against hand sums."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from geoagb.mapping import agb_class_frequencies, carbon_sink, carbon_stock, zonal_statistics
from geoagb.raster import block_mean

from .conftest import CRS, X0, Y0, write_raster

H, W, RES = 40, 50, 30.0
CELL_HA = RES * RES / 10_000  # 0.09 ha


@pytest.fixture
def agb_map(tmp_path):
    rng = np.random.default_rng(5)
    agb = rng.gamma(4, 25, (H, W)).astype(np.float32)
    sd = (0.2 * agb + 3).astype(np.float32)
    agb[3:6, 7:9] = np.nan
    sd[3:6, 7:9] = np.nan
    p = write_raster(
        tmp_path / "agb.tif",
        np.stack([agb, sd]),
        res=RES,
        nodata=np.nan,
        descriptions=["agb", "agb_std"],
    )
    return p, agb.astype(np.float64), sd.astype(np.float64)


def test_stock_whole_map_matches_hand_sums(agb_map):
    p, agb, sd = agb_map
    s = carbon_stock(p, carbon_fraction=0.47)
    row = s.loc["all"]
    ok = np.isfinite(agb)
    mgc = np.sum(agb[ok]) * CELL_HA * 0.47
    assert row["n_cells"] == ok.sum()
    assert row["area_ha"] == pytest.approx(ok.sum() * CELL_HA)
    assert row["stock_MgC"] == pytest.approx(mgc, rel=1e-9)
    assert row["stock_TgC"] == pytest.approx(mgc / 1e6, rel=1e-9)
    assert row["stock_PgC"] == pytest.approx(mgc / 1e9, rel=1e-9)
    assert row["density_MgC_ha"] == pytest.approx(np.mean(agb[ok]) * 0.47)
    assert row["stock_sd_MgC"] == pytest.approx(
        np.sqrt(np.sum(sd[ok] ** 2)) * CELL_HA * 0.47, rel=1e-9
    )
    assert row["stock_sd_MgC_correlated"] == pytest.approx(
        np.sum(sd[ok]) * CELL_HA * 0.47, rel=1e-9
    )
    # root:shoot adds belowground carbon = 0.35 x aboveground
    r = carbon_stock(p, carbon_fraction=0.5, root_shoot=0.35).loc["all"]
    assert r["aboveground_MgC"] == pytest.approx(np.sum(agb[ok]) * CELL_HA * 0.5)
    assert r["belowground_MgC"] == pytest.approx(0.35 * r["aboveground_MgC"])
    assert r["stock_MgC"] == pytest.approx(1.35 * np.sum(agb[ok]) * CELL_HA * 0.5)


def test_units_on_a_province_sized_map(tmp_path):
    # 100 x 100 cells of 1 km = 1e6 ha at 100 Mg/ha: 1e8 Mg biomass, 4.7e7 MgC = 47 TgC = 0.047 PgC
    p = write_raster(tmp_path / "big.tif", np.full((100, 100), 100.0, np.float32), res=1000.0)
    row = carbon_stock(p).loc["all"]
    assert row["area_ha"] == pytest.approx(1e6)
    assert row["stock_TgC"] == pytest.approx(47.0)
    assert row["stock_PgC"] == pytest.approx(0.047)
    assert "stock_sd_MgC" not in row  # no std band


def test_stock_by_polygons_and_total(agb_map):
    p, agb, sd = agb_map
    x1, y1 = X0 + W * RES, Y0 - H * RES
    # "west" is made of two polygons; the split lines fall on cell edges
    regions = gpd.GeoDataFrame(
        {"name": ["west", "east", "west"]},
        geometry=[
            box(X0, Y0 - 20 * RES, X0 + 20 * RES, Y0),
            box(X0 + 20 * RES, y1, x1, Y0),
            box(X0, y1, X0 + 20 * RES, Y0 - 20 * RES),
        ],
        crs=CRS,
    )
    s = carbon_stock(p, regions, by="name")
    assert list(s.index) == ["west", "east", "total"]
    west, east = agb[:, :20], agb[:, 20:]
    assert s.loc["west", "stock_MgC"] == pytest.approx(np.nansum(west) * CELL_HA * 0.47)
    assert s.loc["east", "stock_MgC"] == pytest.approx(np.nansum(east) * CELL_HA * 0.47)
    assert s.loc["total", "stock_MgC"] == pytest.approx(carbon_stock(p).loc["all", "stock_MgC"])
    assert s.loc["total", "stock_sd_MgC"] == pytest.approx(
        carbon_stock(p).loc["all", "stock_sd_MgC"]
    )
    assert s.loc["total", "mean_agb_Mg_ha"] == pytest.approx(np.nanmean(agb))
    # regions in another CRS are reprojected to the map's
    s2 = carbon_stock(p, regions.to_crs("EPSG:3857"), by="name")
    assert s2.loc["east", "n_cells"] == pytest.approx(s.loc["east", "n_cells"], abs=W)


def test_stock_by_elevation_bands_from_a_finer_dem(agb_map, tmp_path):
    p, agb, _ = agb_map
    rng = np.random.default_rng(9)
    dem = (500 + 1500 * rng.random((H * 3, W * 3))).astype(np.float32)  # 10 m DEM
    dp = write_raster(tmp_path / "dem.tif", dem, res=10.0)
    edges = [0, 900, 1000, 1100, 3000]
    s = carbon_stock(p, regions=dp, edges=edges)
    cell_elev = block_mean(dem.astype(np.float64), 3)  # mean elevation of each 30 m cell
    band = np.digitize(cell_elev, edges) - 1
    assert list(s.index) == ["0-900", "900-1000", "1000-1100", "1100-3000", "total"]
    for k, name in enumerate(s.index[:-1]):
        sel = (band == k) & np.isfinite(agb)
        assert s.loc[name, "n_cells"] == sel.sum()
        assert s.loc[name, "stock_MgC"] == pytest.approx(agb[sel].sum() * CELL_HA * 0.47, rel=1e-6)


def test_zonal_statistics_with_a_zone_raster(agb_map, tmp_path):
    p, agb, sd = agb_map
    zones = (np.arange(W)[None, :] // 17 + 3 * (np.arange(H)[:, None] >= 25)).astype(np.int16)
    zp = write_raster(tmp_path / "zones.tif", zones, res=RES, nodata=-1)
    z = zonal_statistics(p, zp)
    for code in np.unique(zones):
        v = agb[(zones == code) & np.isfinite(agb)]
        row = z.loc[str(code)]
        assert row["n_cells"] == v.size
        assert row["mean"] == pytest.approx(v.mean())
        assert row["sd"] == pytest.approx(v.std(), rel=1e-6)
        assert (row["min"], row["max"]) == (pytest.approx(v.min()), pytest.approx(v.max()))
    zs = zonal_statistics(p, zones.astype(int), band="agb_std")
    assert zs.loc["0", "sum"] == pytest.approx(np.nansum(sd[zones == 0]))


def test_carbon_sink_matches_hand_difference(agb_map, tmp_path):
    p0, agb0, sd0 = agb_map
    agb1 = agb0 + 12.0
    agb1[0, :5] = np.nan  # not mapped at t1: excluded at both dates
    sd1 = sd0 * 1.1
    p1 = write_raster(
        tmp_path / "agb1.tif",
        np.stack([agb1, sd1]).astype(np.float32),
        res=RES,
        nodata=np.nan,
        descriptions=["agb", "agb_std"],
    )
    s = carbon_sink(p0, p1, years=(2015, 2020), carbon_fraction=0.47)
    both = np.isfinite(agb0) & np.isfinite(agb1)
    k = CELL_HA * 0.47 / 1e6
    assert s.loc["all", "stock_t0_TgC"] == pytest.approx(agb0[both].sum() * k, rel=1e-6)
    assert s.loc["all", "change_TgC"] == pytest.approx(12.0 * both.sum() * k, rel=1e-5)
    assert s.loc["all", "sink_TgC_per_yr"] == pytest.approx(12.0 * both.sum() * k / 5, rel=1e-5)
    assert s.loc["all", "density_change_MgC_ha_yr"] == pytest.approx(12.0 * 0.47 / 5, rel=1e-5)
    sd_hand = np.sqrt(np.sum(sd0[both] ** 2 + sd1[both] ** 2)) * k / 5
    assert s.loc["all", "sink_sd_TgC_per_yr"] == pytest.approx(sd_hand, rel=1e-5)
    other = write_raster(tmp_path / "shifted.tif", agb1, res=RES, x0=X0 + RES)
    with pytest.raises(ValueError, match="different grids"):
        carbon_sink(p0, other, years=5)
    with pytest.raises(ValueError, match="must be > 0"):
        carbon_sink(p0, p1, years=(2020, 2015))


def test_class_frequencies_match_histogram(agb_map):
    p, agb, _ = agb_map
    f = agb_class_frequencies(p)
    v = agb[np.isfinite(agb)]
    counts, _ = np.histogram(v, bins=[0, 50, 100, 150, 200, 250, np.inf])
    assert list(f.index) == ["0-50", "50-100", "100-150", "150-200", "200-250", ">=250"]
    np.testing.assert_array_equal(f["n_cells"].to_numpy(), counts)
    np.testing.assert_allclose(f["area_pct"].to_numpy(), 100 * counts / v.size)
    np.testing.assert_allclose(f["area_ha"].to_numpy(), counts * CELL_HA)
    share = [
        v[(v >= lo) & (v < hi)].sum() / v.sum() * 100 for lo, hi in [(0, 50), (50, 100), (100, 150)]
    ]
    np.testing.assert_allclose(f["agb_pct"].to_numpy()[:3], share)
    g = agb_class_frequencies(p, bins=[50, 100])
    assert list(g.index) == ["50-100", "outside"]
    assert g["n_cells"].sum() == v.size


def test_geographic_maps_and_bad_factors_are_refused(tmp_path):
    p = write_raster(
        tmp_path / "geo.tif", np.ones((4, 4), np.float32), res=0.01, crs="EPSG:4326", x0=100, y0=25
    )
    with pytest.raises(ValueError, match="geographic"):
        carbon_stock(p)
    q = write_raster(tmp_path / "ok.tif", np.ones((4, 4), np.float32), res=30.0)
    with pytest.raises(ValueError, match="carbon_fraction"):
        carbon_stock(q, carbon_fraction=47)
    with pytest.raises(ValueError, match="root_shoot"):
        carbon_stock(q, root_shoot=-0.1)
