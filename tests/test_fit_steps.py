"""The steps of ``fit_bundle`` one at a time, on inputs small enough to count by hand (issue 25):
plot quality control, the block-size choice, the maps' default resolution and the manifest.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from affine import Affine
from sklearn.linear_model import LinearRegression

from geoagb.workflow._fit_manifest import _manifest
from geoagb.workflow._fit_qc import _drop_reasons, _QCResult, _quality_control
from geoagb.workflow._fit_steps import (
    _BlockChoice,
    _choose_block_size,
    _CVOutcome,
    _FinalFit,
    _FitInputs,
    _FitOptions,
    _map_resolution,
    _read_inputs,
    usable_block_size,
)

from .features._rasters import CRS, X0, Y0, pixel_centres, write_scene


def _grid(transform, h=20, w=20):
    """A raster's RasterInfo as far as the steps read it."""
    return SimpleNamespace(height=h, width=w, transform=transform, crs=CRS)


def _qc_inputs():
    """12 plots on a 20 x 20 m grid of 1 m pixels; plots 0-4 unusable, one reason each
    (plot 1 is both outside and without a target: the first reason counts), plot 5 negative.
    """
    xy = pixel_centres(np.arange(12), np.arange(12))
    xy[[0, 1], 0] += 100.0  # east of the rasters
    raw = pd.Series([10.0 + i for i in range(12)], dtype=object)
    raw[[1, 2]] = np.nan
    raw[3] = "lots"
    raw[5] = -3.0
    index = pd.RangeIndex(12, name="plot")
    gdf = gpd.GeoDataFrame(
        {"x": xy[:, 0], "y": xy[:, 1], "agb": raw.to_numpy()},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=CRS,
        index=index,
    )
    table = pd.DataFrame(
        {"x": xy[:, 0], "y": xy[:, 1], "ndvi": np.linspace(0.2, 0.8, 12), "elevation": 900.0},
        index=index,
    )
    table.loc[4, "ndvi"] = np.nan
    table["agb"] = pd.to_numeric(gdf["agb"], errors="coerce")
    infos = {"image": _grid(Affine(1.0, 0.0, X0, 0.0, -1.0, Y0))}
    inputs = _FitInputs("plots.csv", {}, infos, gdf, None, {}, ["ndvi", "elevation"])
    return inputs, table


def test_quality_control_counts_each_reason_and_keeps_the_rest():
    inputs, table = _qc_inputs()
    lines = []
    qc = _quality_control(inputs, table, _FitOptions(qc=False, n_splits=2), lines.append)
    assert qc.info["dropped_by_reason"] == {
        "outside the rasters": 2,
        "missing target": 1,
        "non-numeric target": 1,
        "missing feature": 1,
    }
    assert qc.info["n_incomplete"] == qc.info["n_dropped"] == 5 and qc.info["rule"] is None
    assert qc.data.index.tolist() == list(range(5, 12))  # the negative plot 5 is kept (qc=False)
    assert qc.data["agb"].tolist() == [-3.0] + [10.0 + i for i in range(6, 12)]
    assert qc.table["reason"].tolist() == [
        "outside the rasters",
        "outside the rasters",
        "missing target",
        "non-numeric target",
        "missing feature",
    ]
    assert qc.table.loc[3, "detail"] == "agb = 'lots'"
    assert qc.table.loc[4, "detail"] == "missing ndvi"
    assert qc.table.loc[0, "x"] == X0 + 100.5 and qc.table.loc[4, "y"] == Y0 - 4.5
    assert lines[0] == "    5 of 12 plots are left out before fitting:"
    # plot centres x 500,002.5 (plot 2) to 500,101.5 (plot 1), y 2,749,988.5 to 2,749,999.5
    assert lines[1] == (
        "      2 outside the rasters: the plots span x 500,002 to 500,102, y 2,749,988 to "
        "2,750,000 in EPSG:32648 (WGS 84 / UTM zone 48N); the rasters span x 500,000 to "
        "500,020, y 2,749,980 to 2,750,000 there"
    )
    assert lines[2:] == [
        "      1 missing target: agb is empty (NaN)",
        "      1 non-numeric target: agb holds text such as 'lots'",
        "      1 missing feature: nodata in the rasters at the plot: ndvi 1",
    ]
    # 7 usable plots are too few for 4 folds (8 needed): the error counts every reason
    with pytest.raises(ValueError) as info:
        _quality_control(inputs, table, _FitOptions(qc=False, n_splits=4), lambda s: None)
    assert str(info.value).startswith(
        "only 7 of 12 plots can be used (2 outside the rasters; 1 missing target; "
        "1 non-numeric target; 1 missing feature) and 4-fold CV needs at least 8 (the plots span"
    )


def test_drop_reasons_first_reason_wins_and_never_look_at_the_sign():
    inputs, table = _qc_inputs()
    outside = pd.Series([True, True] + [False] * 10, index=table.index)
    raw, names = inputs.gdf["agb"], inputs.feature_names
    reason = _drop_reasons(table, raw, "agb", names, outside)
    assert reason.tolist()[:5] == [
        "outside the rasters",
        "outside the rasters",
        "missing target",
        "non-numeric target",
        "missing feature",
    ]
    assert table.loc[5, "agb"] == -3.0 and (reason.iloc[5:] == "").all()  # sign: imagery check


def test_block_size_step_keeps_a_given_size_and_refuses_what_cannot_fold():
    """20 plots on a 5 x 4 grid of 10 m (extent 40 m x 30 m); agb = 3 + 2 ndvi exactly."""
    i = np.arange(20)
    xy = np.column_stack([X0 + 10.0 * (i % 5), Y0 - 10.0 * (i // 5)])
    ndvi = np.random.default_rng(0).uniform(0.1, 0.9, 20)
    Xcv = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "ndvi": ndvi})
    yv = 3.0 + 2.0 * ndvi
    lines = []
    opts = _FitOptions(block_size=25.0, n_splits=3)
    block = _choose_block_size(LinearRegression(), Xcv, yv, opts, lines.append)
    assert block.used == 25.0 and block.given and block.suggestion is None  # < 30 plots
    assert np.allclose(block.residuals, 0.0, atol=1e-9)  # a line fits a line out of fold too
    assert lines == ["    block size 25 m (given)"]
    # 25 m blocks: 2 columns x 2 rows occupied; 1000 m: one block, fewer than 3 folds
    with pytest.raises(ValueError, match=r"^block_size=1000 m leaves fewer than 3 occupied "):
        _choose_block_size(LinearRegression(), Xcv, yv, replace(opts, block_size=1000.0), print)
    with pytest.raises(ValueError, match=r"^20 plots are too few to suggest a block size"):
        _choose_block_size(LinearRegression(), Xcv, yv, replace(opts, block_size=None), print)
    # 100 m shrinks by 20 % steps: 4 blocks first at 100 * 0.8**6 = 26.2144 m (3 at most before)
    assert usable_block_size(xy, 100.0, 3) == pytest.approx(100.0 * 0.8**6)


def test_map_resolution_is_the_footprint_in_whole_pixels():
    ref = _grid(Affine(10.0, 0.0, X0, 0.0, -10.0, Y0))
    assert _map_resolution(ref, None, None) == 10.0  # a pixel
    assert _map_resolution(ref, 26.0, None) == 30.0  # 2.6 pixels -> 3
    assert _map_resolution(ref, 24.0, None) == 20.0  # 2.4 pixels -> 2
    assert _map_resolution(ref, 4.0, None) == 10.0  # at least one pixel
    assert _map_resolution(ref, 26.0, 50.0) == 50.0  # given wins
    with pytest.raises(ValueError, match=r"map_resolution=15 m .* 10 m pixels; use e.g. 20\.$"):
        _map_resolution(ref, None, 15.0)


def test_manifest_fields_from_hand_built_records(tmp_path):
    (tmp_path / "r").mkdir()
    write_scene(tmp_path / "r", h=48, w=56)
    xy = pixel_centres(np.arange(3, 43), np.arange(5, 45))
    plots = tmp_path / "plots.csv"
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "agb": np.arange(40.0)}).to_csv(plots, index=False)
    opts = _FitOptions(model="rf", bands="red,nir", indices="ndvi", command="geoagb fit ...")
    inputs = _read_inputs(plots, tmp_path / "r", opts, lambda s: None)
    assert inputs.feature_names == ["red", "nir", "ndvi"] and len(inputs.gdf) == 40
    data = pd.DataFrame({"ndvi": np.linspace(0, 1, 30), "agb": np.arange(30.0)})
    qc_table = pd.DataFrame({"reason": ["missing target"] * 2})
    qc = _QCResult(data, qc_table, {"rule": None, "n_dropped": 2})
    block = _BlockChoice(25.0, True, None, np.zeros(30))
    summary = {"validation_r2_mean": 0.5, "n_folds": 5}
    cv = _CVOutcome([12.5, 25.0, 50.0], None, None, pd.DataFrame(), "spatial", summary, summary)
    fitted = LinearRegression().fit(data[["ndvi"]], data["agb"])
    final = _FinalFit(fitted, ["ndvi"], False, None)
    m = _manifest(inputs, opts, qc, block, cv, final, map_resolution=2.0, t0=time.perf_counter())
    assert m["model"] == {
        "kind": "rf",
        "label": "Random forest",
        "class": "sklearn.linear_model._base.LinearRegression",
        "n_estimators": 300,
        "secondary": None,
    }
    assert m["plots"] == {
        "file": "plots.csv",
        "n_read": 40,
        "n_used": 30,
        "n_dropped": 2,
        "id_column": None,
    }
    assert m["rasters"]["sources"] == {"image": "image.tif"}  # the only raster the recipe reads
    assert (m["rasters"]["width"], m["rasters"]["height"], m["rasters"]["resolution_m"]) == (
        56,
        48,
        1.0,
    )
    assert m["block_size"] == {"used_m": 25.0, "given": True}
    assert m["cv"]["block_sizes_m"] == [12.5, 25.0, 50.0] and m["cv"]["n_splits"] == 5
    assert (m["map_resolution_m"], m["footprint_m"], m["command"]) == (2.0, None, "geoagb fit ...")
    assert m["inputs_sha256"]["plots"] == hashlib.sha256(plots.read_bytes()).hexdigest()
    # the input hash follows the options that decide the bundle, not the command line
    again = _manifest(
        inputs, replace(opts, command="x"), qc, block, cv, final, map_resolution=2.0, t0=0.0
    )
    other = _manifest(
        inputs, replace(opts, random_state=1), qc, block, cv, final, map_resolution=2.0, t0=0.0
    )
    assert again["input_hash"] == m["input_hash"] != other["input_hash"]
