import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from rasterio.windows import Window

from geoagb.features import RasterFeatures, glcm_texture, spectral_indices, terrain

from ._rasters import CRS, X0, Y0, pixel_centres, write_scene, write_tif

RECIPE = dict(
    indices=["ndvi", "evi", "savi"],
    textures=dict(band="nir", window=5, levels=16),
    terrain=["elevation", "slope", "aspect", "profile_curvature", "tpi", "relief", "twi", "hli"],
    extra={"height_mean": ("chm", 1), "height_p95": ("chm", 1, "p95"), "crown_cover": ("crown", 1)},
    bands=["red", "nir"],
    terrain_options=dict(tpi_radius=3.0, relief_radius=2.0),
)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="module")
def rf(scene):
    return RasterFeatures(scene[0], **RECIPE)


def test_recipe_names_halo_and_grid(rf):
    names = rf.feature_names
    assert names[:5] == ["red", "nir", "ndvi", "evi", "savi"]
    assert "nir_glcm5_entropy" in names and names[-3:] == [
        "height_mean",
        "height_p95",
        "crown_cover",
    ]
    assert rf.halo == 3  # tpi radius 3 > glcm 2 > relief 2
    g = rf.grid
    assert (g["width"], g["height"], g["resolution"]) == (56, 48, 1.0)
    assert g["transform"].c == X0 and str(g["crs"]) == CRS


def test_points_equal_direct_array_indexing(rf, scene):
    _, f = scene
    rows, cols = np.array([0, 10, 47, 20]), np.array([0, 33, 55, 7])
    df = rf.at_points(pixel_centres(rows, cols))
    img = f["image"].astype(float)
    np.testing.assert_array_equal(df["red"], img[2, rows, cols])
    np.testing.assert_array_equal(df["height_mean"], f["chm"].astype(float)[rows, cols])
    np.testing.assert_array_equal(df["crown_cover"], f["crown"][rows, cols])
    ind = spectral_indices({"blue": img[0], "red": img[2], "nir": img[3]}, names=["ndvi", "evi"])
    np.testing.assert_allclose(df["ndvi"], ind["ndvi"][rows, cols], rtol=1e-12)
    np.testing.assert_allclose(df["evi"], ind["evi"][rows, cols], rtol=1e-12)


def test_whole_raster_window_equals_the_array_functions(rf, scene):
    """The halo machinery (edges included) gives what the whole-array functions give."""
    _, f = scene
    full = rf.on_window(Window(0, 0, 56, 48))
    names = rf.feature_names
    dem = f["dem"].astype(float)
    t = terrain(
        dem,
        1.0,
        ["elevation", "slope", "aspect", "profile_curvature", "tpi", "relief", "twi"],
        tpi_radius=3.0,
        relief_radius=2.0,
    )
    for v, arr in t.items():
        np.testing.assert_allclose(full[names.index(v)], arr, rtol=2e-6, atol=1e-5, err_msg=v)
    lo, hi = rf._texture_range(rf._tex[0])
    g = glcm_texture(
        f["image"][3].astype(float),
        window=5,
        levels=16,
        vmin=lo,
        vmax=hi,
        features=["mean", "entropy", "correlation"],
    )
    for k, arr in g.items():
        np.testing.assert_allclose(full[names.index(f"nir_glcm5_{k}")], arr, rtol=2e-6, err_msg=k)


@pytest.mark.parametrize("win", [Window(0, 0, 56, 48), Window(13, 7, 17, 22), Window(50, 40, 6, 8)])
def test_sub_windows_equal_the_same_pixels_of_the_whole(rf, win):
    whole = rf.on_window(Window(0, 0, 56, 48))
    part = rf.on_window(win)
    r, c = int(win.row_off), int(win.col_off)
    np.testing.assert_array_equal(part, whole[:, r : r + part.shape[1], c : c + part.shape[2]])


@pytest.mark.parametrize(
    "k,win", [(4, Window(0, 0, 56, 48)), (3, Window(5, 9, 18, 21)), (2, Window(46, 36, 10, 12))]
)
def test_same_recipe_same_numbers(rf, k, win):
    """on_window(out_resolution) == at_points(output cell centres, footprint=out_resolution)."""
    blk = rf.on_window(win, out_resolution=float(k))
    nr, nc = blk.shape[1:]
    rows, cols = np.mgrid[0:nr, 0:nc]
    centre_r = win.row_off + rows.ravel() * k + (k - 1) / 2
    centre_c = win.col_off + cols.ravel() * k + (k - 1) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = rf.at_points(pixel_centres(centre_r, centre_c), footprint=float(k))
    pts = df.to_numpy().T.reshape(-1, nr, nc).astype(np.float32)
    np.testing.assert_array_equal(pts, blk)
    # and the cell statistics are what numpy gives on the pixel blocks
    px = rf.on_window(win).astype(float)
    names = rf.feature_names
    b = px[names.index("height_p95"), :k, :k]
    assert blk[names.index("height_p95"), 0, 0] == pytest.approx(np.percentile(b, 95), rel=1e-6)
    b = px[names.index("ndvi"), -k:, -k:]
    assert blk[names.index("ndvi"), -1, -1] == pytest.approx(b.mean(), rel=1e-6)


def test_footprint_mean_over_the_plot_square(rf, scene):
    _, f = scene
    # a 25.83 m plot centred at a pixel centre covers 25 x 25 pixels (|d| <= 12.915 m)
    df = rf.at_points(pixel_centres([20], [30]), footprint=25.83)
    assert df["height_mean"].iloc[0] == pytest.approx(
        f["chm"].astype(float)[8:33, 18:43].mean(), rel=1e-12
    )
    # centred on a pixel corner: 26 x 26 pixels
    xy = np.array([[X0 + 30.0, Y0 - 20.0]])
    df = rf.at_points(xy, footprint=25.83)
    assert df["height_mean"].iloc[0] == pytest.approx(
        f["chm"].astype(float)[7:33, 17:43].mean(), rel=1e-12
    )
    assert df["height_p95"].iloc[0] == pytest.approx(
        np.percentile(f["chm"].astype(float)[7:33, 17:43], 95)
    )


def test_plots_in_another_crs_are_reprojected(rf):
    xy = pixel_centres([5, 30, 40], [10, 20, 50])
    gdf = gpd.GeoDataFrame(
        {"id": [1, 2, 3]}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS, index=[7, 8, 9]
    )
    native = rf.at_points(gdf, footprint=3.0)
    lonlat = rf.at_points(gdf.to_crs("EPSG:4326"), footprint=3.0)
    assert list(lonlat.index) == [7, 8, 9]
    pd.testing.assert_frame_equal(native, lonlat)
    table = rf.at_points(
        pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}, index=[7, 8, 9]), footprint=3.0
    )
    pd.testing.assert_frame_equal(native, table)


def test_nodata_and_outside_plots_are_nan_and_counted(tmp_path):
    src, f = write_scene(tmp_path, crown_nodata_at=(10, 10))
    rf = RasterFeatures(src, indices=["ndvi"], extra={"crown_cover": ("crown", 1)})
    xy = np.vstack([pixel_centres([10, 10, 30], [10, 14, 30]), [[X0 - 50.0, Y0 + 50.0]]])
    # plot 0's 5 x 5 footprint has one nodata crown pixel: 24 of 25 valid (>= 50 %), kept
    with pytest.warns(UserWarning, match=r"1 of 4 plots have nodata.*crown_cover \(1\)"):
        df = rf.at_points(xy, footprint=5.0)
    crown0 = np.delete(f["crown"][8:13, 8:13].ravel(), 12)  # without the centre (10, 10)
    assert df["crown_cover"].iloc[0] == pytest.approx(crown0.mean())
    assert np.isfinite(df["ndvi"].iloc[0])
    assert df["crown_cover"].iloc[1] == pytest.approx(f["crown"][8:13, 12:17].mean())
    assert df.iloc[3].isna().all()
    blk = rf.on_window(Window(-2, -2, 6, 6))  # partly outside the raster
    assert np.isnan(blk[:, :2, :]).all() and np.isfinite(blk[:, 2:, 2:]).all()


def test_grid_mismatch_raises_with_the_fix(tmp_path, scene):
    src, f = scene
    shifted = write_tif(tmp_path / "chm_shift.tif", f["chm"], x0=X0 + 0.5)
    with pytest.raises(
        ValueError, match=r"'chm' differs from 'image' in transform.*gdalwarp.*-tap"
    ):
        RasterFeatures({**src, "chm": shifted}, indices=["ndvi"])
    other = write_tif(tmp_path / "chm_crs.tif", f["chm"], crs="EPSG:32649")
    with pytest.raises(ValueError, match=r"CRS .*32649.*reproject"):
        RasterFeatures({**src, "chm": other}, indices=["ndvi"])
    small = write_tif(tmp_path / "chm_small.tif", f["chm"][:-1])
    with pytest.raises(ValueError, match="size 56x47 vs 56x48"):
        RasterFeatures({**src, "chm": small}, indices=["ndvi"])


def test_recipe_errors(scene):
    src, _ = scene
    with pytest.raises(ValueError, match=r"band 'swir2' \(for nbr\) 'swir2' not found"):
        RasterFeatures(src, indices=["nbr"])
    with pytest.raises(ValueError, match="DEM source named 'dem'"):
        RasterFeatures({"image": src["image"]}, terrain=["slope"])
    with pytest.raises(ValueError, match="percentile"):
        RasterFeatures(src, extra={"h": ("chm", 1, "p999")})
    rf = RasterFeatures(src, indices=["ndvi"])
    with pytest.raises(ValueError, match="whole multiple"):
        rf.on_window(Window(0, 0, 10, 10), out_resolution=2.5)
    with pytest.raises(ValueError, match="whole number of 3x3"):
        rf.on_window(Window(0, 0, 10, 9), out_resolution=3.0)


def test_pc1_texture_shares_one_projection_across_tiles(scene):
    src, _ = scene
    rf = RasterFeatures(
        src,
        indices=None,
        textures=dict(band="pc1", window=3, levels=8, features=["mean", "contrast"]),
    )
    assert rf.feature_names == ["pc1_glcm3_mean", "pc1_glcm3_contrast"]
    whole = rf.on_window(Window(0, 0, 56, 48))
    np.testing.assert_array_equal(rf.on_window(Window(20, 10, 9, 9)), whole[:, 10:19, 20:29])
    assert np.isfinite(whole).all() and whole[0].std() > 0


def test_geographic_rasters_refuse_metric_work(tmp_path, scene):
    _, f = scene
    dem = write_tif(tmp_path / "dem_ll.tif", f["dem"], res=1e-5, crs="EPSG:4326", x0=105.0, y0=24.8)
    with pytest.raises(ValueError, match="geographic.*gdalwarp"):
        RasterFeatures({"dem": dem}, indices=None, terrain=["slope"])
    rf = RasterFeatures({"dem": dem}, indices=None, extra={"z": ("dem", 1)})
    with pytest.raises(ValueError, match="footprint=30.0 is in metres"):
        rf.at_points(np.array([[105.0001, 24.7999]]), footprint=30.0)
    assert rf.at_points(np.array([[105.0000015, 24.7999985]]))["z"].iloc[0] == pytest.approx(
        float(f["dem"][0, 0])
    )
    with pytest.raises(ValueError, match="unknown terrain option"):
        RasterFeatures(
            {"dem": dem}, indices=None, terrain=["elevation"], terrain_options={"radius": 3}
        )
