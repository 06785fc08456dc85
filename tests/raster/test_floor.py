"""The raster floor: one source protocol, one grid check, one cell area, nothing imported above."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

import geoagb.raster as raster
from geoagb.features import RasterFeatures, XarrayFeatures
from geoagb.raster import (
    RasterSource,
    RasterStack,
    XarrayStack,
    cell_area_ha,
    check_same_grid,
    grid_differences,
    output_grid,
    read_sources,
    same_grid,
)

UTM = CRS.from_epsg(32648)
TR = Affine(10, 0, 500000, 0, -10, 2750000)


def _tif(path, data, transform=TR, names=None):
    data = np.asarray(data, dtype="float32")
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1],
        count=data.shape[0], dtype="float32", crs=UTM, transform=transform, nodata=-9999,
    ) as dst:  # fmt: skip
        dst.write(data)
        for i, n in enumerate(names or [], 1):
            dst.set_band_description(i, n)
    return str(path)


def test_every_feature_source_is_a_raster_source(tmp_path):
    rng = np.random.default_rng(0)
    img = rng.random((4, 8, 8)).astype("float32")
    path = _tif(tmp_path / "img.tif", img, names=["blue", "green", "red", "nir"])
    stack = RasterStack(path)
    recipe = RasterFeatures({"image": path}, indices=["ndvi"])
    sources = [stack, recipe]
    xr = pytest.importorskip("xarray")
    pytest.importorskip("rioxarray")
    da = xr.DataArray(
        img,
        dims=("band", "y", "x"),
        coords={
            "band": ["blue", "green", "red", "nir"],
            "y": 2750000 - 5 - 10 * np.arange(8.0),
            "x": 500000 + 5 + 10 * np.arange(8.0),
        },
    ).rio.write_crs("EPSG:32648")
    sources += [XarrayStack(da), XarrayFeatures({"image": da}, indices=["ndvi"])]
    for s in sources:
        assert isinstance(s, RasterSource), type(s).__name__
        assert raster.as_feature_source(s) is s
    assert not isinstance(object(), RasterSource)
    # GeoTIFF and xarray bands reach the same numbers through the protocol (edges padded NaN)
    win = Window(-1, 6, 4, 4)
    a, b = stack.on_window(win), sources[2].on_window(win)
    np.testing.assert_array_equal(a, b)
    assert np.isnan(a[:, :, 0]).all() and np.isnan(a[:, 2:, :]).all()
    np.testing.assert_array_equal(a[:, :2, 1:], img[:, 6:8, 0:3])
    # the recipe and its xarray twin: NDVI = (nir - red) / (nir + red), hand-computed
    ndvi = (img[3] - img[2]) / (img[3] + img[2])
    for s in (recipe, sources[3]):
        np.testing.assert_allclose(s.on_window(Window(0, 0, 8, 8))[0], ndvi, rtol=1e-6)


def test_grid_checks_agree(tmp_path):
    p1 = _tif(tmp_path / "a.tif", np.zeros((1, 4, 5)))
    p2 = _tif(tmp_path / "b.tif", np.zeros((1, 4, 5)), transform=TR * Affine.translation(1, 0))
    infos = read_sources({"a": p1, "b": p2})
    g1, g2 = raster.grid_dict(infos["a"]), raster.grid_dict(infos["b"])
    assert grid_differences(g1, g1) == [] and same_grid(g1, g1)
    diff = grid_differences(g1, g2)
    assert len(diff) == 1 and diff[0].startswith("transform (10.0, 0.0, 500010.0")
    assert not same_grid(g1, g2)
    with pytest.raises(ValueError, match=r"'b' differs from 'a' in transform"):
        check_same_grid(infos)
    # a missing CRS matches any CRS for same_grid, never for check_same_grid
    assert same_grid(g1, {**g1, "crs": None})
    assert grid_differences(g1, {**g1, "crs": None}, strict_crs=True) == [f"CRS None vs {UTM}"]


def test_one_cell_area():
    grid = output_grid(dict(crs=UTM, transform=TR, width=9, height=9), 30)
    assert cell_area_ha(grid) == pytest.approx(0.09)  # 30 m x 30 m = 900 m2
    assert cell_area_ha(dict(crs=UTM, transform=TR)) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="geographic"):
        cell_area_ha(dict(crs=CRS.from_epsg(4326), transform=TR))


def test_the_floor_imports_nothing_above_it():
    above = {"features", "mapping", "timeseries", "applicability", "workflow"}
    for f in Path(raster.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                first = (node.module or "").split(".")[0]
                assert node.level == 1 or first not in above, f"{f.name} imports {node.module}"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("geoagb."):
                assert node.module.split(".")[1] not in above, f"{f.name} imports {node.module}"
