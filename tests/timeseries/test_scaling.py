"""Forest-fraction scaling: closed forms, the no-cover rule, files vs memory."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from geoagb.timeseries import scale_by_cover

GRID = dict(transform=(1000.0, 0.0, 500_000.0, 0.0, -1000.0, 2_800_000.0), crs="EPSG:32648")


def test_noise_free_covers_recover_truth_exactly(series_truth):
    s, truth = series_truth
    rng = np.random.default_rng(0)
    T, H, W = s.tree_cover.shape
    d = rng.uniform(40, 120, (H, W))
    tc = rng.uniform(0.1, 0.8, (T, H, W))
    sv = (1 - tc) * rng.uniform(0, 0.6, (T, H, W))
    agbc = d * (tc + 0.2 * sv)
    r = scale_by_cover(
        agbc[5], tc, sv, base_year=2007, years=s.years, short_ratio=0.2, progress=False
    )
    np.testing.assert_allclose(r.agbc, agbc, rtol=1e-5)
    np.testing.assert_allclose(r.density, d, rtol=1e-5)
    assert r.n_filled == 0 and r.n_nan == 0


def test_base_year_range_uses_the_mean_cover():
    tc = np.array([0.2, 0.4, 0.6])[:, None, None] * np.ones((3, 1, 2))
    r = scale_by_cover(
        np.full((1, 2), 40.0), tc, base_year=(2000, 2001), years=[2000, 2001, 2002], progress=False
    )
    # base cover = mean(0.2, 0.4) = 0.3 -> 133.33 MgC/ha per unit cover
    np.testing.assert_allclose(r.agbc[:, 0, 0], 40.0 / 0.3 * np.array([0.2, 0.4, 0.6]), rtol=1e-6)


def test_cells_without_base_cover_take_the_regional_ratio_estimator():
    bench = np.array([[30.0, 60.0, 5.0, np.nan], [80.0, 40.0, 0.0, 20.0]])
    tc0 = np.array([[0.3, 0.5, 0.01, 0.5], [0.8, 0.2, 0.0, 0.4]])
    tc = np.stack([tc0, tc0 + 0.1])
    regions = np.array([[0, 0, 0, 0], [1, 1, 1, -1]])
    r = scale_by_cover(
        bench,
        tc,
        base_year=2010,
        years=[2010, 2011],
        regions=regions,
        region_names=["a", "b"],
        progress=False,
    )
    d0, d1 = (30 + 60) / (0.3 + 0.5), (80 + 40) / (0.8 + 0.2)  # ratio estimators, covered cells
    assert r.regional_density["a"] == pytest.approx(d0) and r.regional_density[
        "b"
    ] == pytest.approx(d1)
    assert r.regional_density["all"] == pytest.approx(
        (30 + 60 + 80 + 40 + 20) / (0.3 + 0.5 + 0.8 + 0.2 + 0.4)
    )
    assert r.n_filled == 2 and r.n_nan == 1  # (0, 2), (1, 2); (0, 3) has no benchmark
    assert r.agbc[1, 0, 2] == pytest.approx(d0 * 0.11, rel=1e-6)
    assert r.agbc[1, 1, 2] == pytest.approx(d1 * 0.1, rel=1e-6)
    assert r.agbc[1, 1, 3] == pytest.approx(
        20 / 0.4 * 0.5, rel=1e-6
    )  # outside regions, own density
    # a bare cell outside every region takes the map-wide density
    reg2 = regions.copy()
    reg2[0, 2] = -1
    r2 = scale_by_cover(bench, tc, base_year=2010, years=[2010, 2011], regions=reg2, progress=False)
    assert r2.agbc[1, 0, 2] == pytest.approx(r2.regional_density["all"] * 0.11, rel=1e-6)
    assert np.isnan(r.agbc[:, 0, 3]).all()


def test_sd_scales_with_cover():
    tc = np.array([[[0.5]], [[0.25]]])
    r = scale_by_cover(
        np.array([[50.0]]),
        tc,
        base_year=1,
        years=[1, 2],
        benchmark_sd=np.array([[5.0]]),
        progress=False,
    )
    np.testing.assert_allclose(r.agbc_sd[:, 0, 0], [5.0, 2.5])


def test_percent_cover_and_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="looks like percent"):
        scale_by_cover(
            np.ones((2, 2)), np.full((2, 2, 2), 60.0), base_year=1, years=[1, 2], progress=False
        )
    with pytest.raises(ValueError, match="short_ratio=2"):
        scale_by_cover(
            np.ones((2, 2)),
            np.full((2, 2, 2), 0.5),
            base_year=1,
            years=[1, 2],
            short_ratio=2,
            progress=False,
        )
    with pytest.raises(ValueError, match="year 3 is not in tree_cover"):
        scale_by_cover(
            np.ones((2, 2)), np.full((2, 2, 2), 0.5), base_year=3, years=[1, 2], progress=False
        )


def test_files_windowed_equal_memory(tmp_path, series_truth):
    s, _ = series_truth
    p = s.to_files(tmp_path / "in")
    kw = dict(base_year=s.base_year, short_ratio=s.short_ratio, progress=False)
    mem = scale_by_cover(
        s.benchmark,
        s.tree_cover,
        s.short_cover,
        years=s.years,
        regions=s.regions,
        benchmark_sd=s.benchmark_sd,
        **kw,
    )
    out = scale_by_cover(
        p["benchmark"],
        p["tree_cover"],
        p["short_cover"],
        regions=p["regions"],
        benchmark_sd=p["benchmark_sd"],
        out=tmp_path / "agbc.tif",
        out_sd=tmp_path / "sd.tif",
        window_size=16,
        **kw,
    )
    with rasterio.open(out.path) as ds:
        assert ds.descriptions == tuple(str(y) for y in s.years) and ds.units[0] == "MgC/ha"
        np.testing.assert_allclose(ds.read(), mem.agbc, rtol=1e-6)
    with rasterio.open(out.sd_path) as ds:
        np.testing.assert_allclose(ds.read(), mem.agbc_sd, rtol=1e-6)
    assert out.agbc is None
    np.testing.assert_allclose(
        out.regional_density.to_numpy(), mem.regional_density.to_numpy(), rtol=1e-6
    )


def test_failed_write_leaves_no_file(tmp_path):
    tc = np.full((2, 4, 4), 0.5)
    tc[1, 3, 3] = 7.0  # percent-like value found in the write pass of the second window
    with pytest.raises(ValueError):
        scale_by_cover(
            np.ones((4, 4)),
            tc,
            base_year=1,
            years=[1, 2],
            out=tmp_path / "a.tif",
            window_size=2,
            progress=False,
            **GRID,
        )
    assert list(tmp_path.iterdir()) == []


def test_short_cover_of_other_years_is_refused(tmp_path):
    from geoagb.timeseries import write_stack

    grid = GRID
    tc = write_stack(tmp_path / "tc.tif", np.full((2, 2, 2), 0.5), [2010, 2011], **grid)
    sv = write_stack(tmp_path / "sv.tif", np.full((2, 2, 2), 0.2), [2011, 2012], **grid)
    bench = np.full((2, 2), 40.0)
    with pytest.raises(ValueError, match="short_cover holds the years 2011-2012 but tree_cover"):
        scale_by_cover(bench, tc, sv, base_year=2010, progress=False)
    sv = write_stack(tmp_path / "sv2.tif", np.full((2, 2, 2), 0.2), [2010, 2011], **grid)
    r = scale_by_cover(bench, tc, sv, base_year=2010, short_ratio=0.5, progress=False)
    np.testing.assert_allclose(r.agbc, 40.0)  # same cover each year: the benchmark density
