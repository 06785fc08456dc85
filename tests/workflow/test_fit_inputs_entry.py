"""Inputs checked where they enter: CRS, class rasters, misaligned files, footprints, empty maps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin

from geoagb.features import RasterFeatures
from geoagb.features._raster import aggregate
from geoagb.raster import categorical_reason, odd_grids, utm_epsg
from geoagb.workflow import fit_bundle

UTM19S = "EPSG:32719"
FAST = dict(model="rf", n_estimators=20, n_splits=3, n_repeats=1, random_state=0)


def _tif(path, arr, crs=UTM19S, transform=None, nodata=None, dtype="float32", colormap=None):
    transform = transform or from_origin(300000, 6200400, 10, 10)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[1],
        height=arr.shape[0],
        count=1,
        dtype=dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as d:
        d.write(arr.astype(dtype), 1)
        if colormap:
            d.write_colormap(1, colormap)
    return str(path)


def _plots(path, n=30, seed=0, x0=300000.0, y0=6200400.0, span=380.0):
    rng = np.random.default_rng(seed)
    pd.DataFrame(
        {
            "x": x0 + rng.uniform(20, span, n),
            "y": y0 - rng.uniform(20, span, n),
            "agb": rng.uniform(10, 300, n),
        }
    ).to_csv(path, index=False)
    return str(path)


def _fit(tmp_path, rasters, **kw):
    lines: list[str] = []
    plots = _plots(tmp_path / "plots.csv")
    b = fit_bundle(plots, rasters, crs=UTM19S, echo=lines.append, **{**FAST, **kw})
    return b, "\n".join(lines)


# ---- the matrix of bad inputs: value, rule and fix in the message -------------------------------
def _geographic(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    _tif(
        d / "img.tif",
        np.ones((120, 120)),
        "EPSG:4326",
        from_origin(-71.5, -34.5, 1 / 1200, 1 / 1200),
    )
    return str(d)


def _misaligned(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    rng = np.random.default_rng(1)
    for name, x0 in (("a", 300000), ("b", 300005), ("c", 300000)):
        _tif(
            d / f"{name}.tif", rng.normal(size=(40, 40)), transform=from_origin(x0, 6200400, 10, 10)
        )
    return str(d)


@pytest.mark.parametrize(
    "make, fragments",
    [
        (
            _geographic,
            ["img.tif is in a geographic CRS (EPSG:4326", "EPSG:32719", "gdalwarp", "zone 19S"],
        ),
        (
            _misaligned,
            [
                "'b' differs from 'a' in transform",
                "(odd file: ",
                "b.tif)",
                "align the odd file(s) to 'a'",
            ],
        ),
    ],
    ids=["geographic-chile", "misaligned-b"],
)
def test_bad_inputs_refused_at_fit_naming_the_file(tmp_path, make, fragments):
    with pytest.raises(ValueError) as err:
        _fit(tmp_path, make(tmp_path))
    for frag in fragments:
        assert frag in str(err.value)
    assert "32648" not in str(err.value)


@pytest.mark.parametrize(
    "lon, lat, epsg",
    [
        (-71.0, -35.0, 32719),
        (105.0, 25.0, 32648),
        (-180.0, 10.0, 32601),
        (179.9, -1.0, 32760),
        (3.0, 0.0, 32631),
    ],
)
def test_utm_epsg_zone_from_longitude_and_hemisphere(lon, lat, epsg):
    assert utm_epsg(lon, lat) == epsg


def test_odd_grid_is_the_minority_not_the_first(tmp_path):
    g = dict(crs=UTM19S, transform=from_origin(0, 0, 10, 10), width=4, height=3)
    ref, odd = odd_grids({"a_first_but_odd": {**g, "width": 5}, "b": g, "c": g})
    assert ref == "b" and list(odd) == ["a_first_but_odd"]
    ref, odd = odd_grids({"x": g, "y": {**g, "height": 9}})  # a tie: the first listed wins
    assert ref == "x" and list(odd) == ["y"]


# ---- class rasters ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, arr, dtype, colormap, why",
    [
        ("landcover", np.arange(1600) % 2, "uint8", None, "class word"),
        ("zones", np.arange(1600) % 5, "uint8", None, "5 distinct integer codes"),
        (
            "zones",
            np.arange(1600) % 2,
            "uint8",
            {0: (0, 0, 0, 255), 1: (0, 255, 0, 255)},
            "colour table",
        ),
        ("crown", np.arange(1600) % 2, "uint8", None, None),  # 0/1 cover: numeric
        ("dem", np.arange(1600) % 400, "int16", None, None),  # 400 codes: numeric
        ("landcover", (np.arange(1600) % 5).astype(float), "float32", None, None),  # float: numeric
    ],
)
def test_categorical_rule(tmp_path, name, arr, dtype, colormap, why):
    path = _tif(tmp_path / f"{name}.tif", arr.reshape(40, 40), dtype=dtype, colormap=colormap)
    got = categorical_reason(path, name, dtype)
    assert (got is None) if why is None else (why in got)


def test_class_raster_left_out_with_a_note_unless_named(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    rng = np.random.default_rng(2)
    _tif(d / "chm.tif", rng.uniform(0, 30, (40, 40)))
    _tif(d / "landcover.tif", rng.integers(1, 5, (40, 40)), dtype="uint8")
    b, out = _fit(tmp_path, str(d), footprint=20)
    assert b.feature_names == ["chm"]
    assert "landcover.tif is left out of the features: it is a class raster" in out
    b2, _ = _fit(tmp_path, str(d), footprint=20, bands="chm,landcover")
    assert b2.feature_names == ["chm", "landcover"]


# ---- footprints ---------------------------------------------------------------------------------
def test_partial_footprint_by_hand_on_a_3x3_window(tmp_path):
    v = np.arange(1.0, 10.0)  # the 3x3 window 1..9
    arr = np.full((10, 10), 50.0, dtype="float32")
    arr[3:6, 3:6] = v.reshape(3, 3)
    arr[4, 4] = -9999  # the centre pixel (5) is nodata: 8 of 9 valid
    arr[0:3, 0:3] = -9999  # a second plot whose window is all nodata but one pixel (1 of 9)
    arr[0, 0] = 7.0
    path = _tif(tmp_path / "chm.tif", arr, transform=from_origin(0, 10, 1, 1), nodata=-9999)
    stats = {"m": "mean", "s": "sd", "lo": "min", "hi": "max", "med": "median", "p25": "p25"}
    rf = RasterFeatures(
        {"chm": path}, indices=None, bands=[], extra={k: ("chm", 1, s) for k, s in stats.items()}
    )
    with pytest.warns(UserWarning, match="1 of 2 plots have nodata"):
        X = rf.at_points(np.array([[4.5, 5.5], [1.5, 8.5]]), footprint=3.0)
    valid = np.array([1, 2, 3, 4, 6, 7, 8, 9.0])
    # by hand: mean 40/8 = 5; sd = sqrt(sum((v-5)^2)/8) = sqrt(60/8); median of 8 = (4+6)/2
    # = 5; p25 (linear) at rank 0.25*7 = 1.75 -> 2 + 0.75*(3-2) = 2.75
    assert X.loc[0, "m"] == pytest.approx(5.0)
    assert X.loc[0, "s"] == pytest.approx(np.sqrt(60 / 8))
    assert (X.loc[0, "lo"], X.loc[0, "hi"]) == (1.0, 9.0)
    assert X.loc[0, "med"] == pytest.approx(5.0)
    assert X.loc[0, "p25"] == pytest.approx(2.75)
    assert np.sqrt(((valid - 5) ** 2).mean()) == pytest.approx(np.sqrt(60 / 8))
    assert X.loc[1].isna().all()  # 1 of 9 valid < 50 %
    assert X.attrs["valid_share"] == pytest.approx([8 / 9, 1 / 9])
    assert X.attrs["min_valid_share"] == 0.5


def test_aggregate_threshold_is_inclusive_at_half():
    vals = np.array([[[1.0, 3.0, np.nan, np.nan], [1.0, np.nan, np.nan, np.nan]]])  # 2/4, 1/4
    out = aggregate(vals, ["mean"])
    assert out[0, 0] == 2.0 and np.isnan(out[0, 1])


def test_chm_with_4pct_nodata_keeps_plots_and_reports_partial_footprints(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 30, (800, 800))
    a[rng.random(a.shape) < 0.04] = -9999
    _tif(d / "chm.tif", a, transform=from_origin(300000, 6200400, 0.5, 0.5), nodata=-9999)
    b, out = _fit(tmp_path, str(d), footprint=20)
    assert len(b.plots) == 30 and b.plots["chm"].notna().all()  # before: 0 of 30 usable
    assert "30 of 30 plots have partial footprints (worst 9" in out
    assert "at least 50% of the footprint must be valid" in out
    fp = b.manifest["footprint"]
    assert (fp["side_m"], fp["n_partial"], fp["n_below_min_valid"]) == (20.0, 30, 0)
    assert 0.9 < fp["worst_valid_share"] < 1 and fp["min_valid_share"] == 0.5


def test_no_footprint_warns_once(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    _tif(d / "chm.tif", np.random.default_rng(4).uniform(0, 30, (40, 40)))
    _, out = _fit(tmp_path, str(d))
    assert out.count("warning: no footprint given") == 1
    assert "--footprint 25.83" in out
    _, out = _fit(tmp_path, str(d), footprint=20)
    assert "no footprint given" not in out


# ---- map --------------------------------------------------------------------------------------
def test_map_with_no_valid_cell_is_an_error_and_leaves_no_file(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    _tif(d / "chm.tif", np.random.default_rng(5).uniform(0, 30, (40, 40)))
    b, _ = _fit(tmp_path, str(d), footprint=10)
    e = tmp_path / "empty"
    e.mkdir()
    _tif(e / "chm.tif", np.full((40, 40), -9999.0), nodata=-9999)
    out = tmp_path / "agb.tif"
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="would have no valid cell"):
        b.predict_map(str(e), out, return_std=False)
    assert not out.exists()
    assert not list(tmp_path.glob("agb*.tif*"))


def test_map_refuses_a_geographic_raster_with_its_utm_zone(tmp_path):
    d = tmp_path / "r"
    d.mkdir()
    _tif(d / "chm.tif", np.random.default_rng(6).uniform(0, 30, (40, 40)))
    b, _ = _fit(tmp_path, str(d), footprint=10)
    g = tmp_path / "g"
    g.mkdir()
    _tif(
        g / "chm.tif", np.ones((40, 40)), "EPSG:4326", from_origin(-71.5, -34.5, 1 / 1200, 1 / 1200)
    )
    with pytest.raises(ValueError, match="EPSG:32719"):
        b.predict_map(str(g), tmp_path / "m.tif", return_std=False)
