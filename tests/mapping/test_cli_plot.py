"""The `geoagb map` sub-command and the quick-look figures."""

from __future__ import annotations

import argparse

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestRegressor

from geoagb.cli._map import add_map_command, parse_mask
from geoagb.mapping import (
    agb_class_frequencies,
    carbon_stock,
    fit_power_law,
    plot_agb_map,
    plot_class_frequencies,
    plot_power_law,
    predict_raster,
)

from .conftest import read, write_raster


def _parser():
    p = argparse.ArgumentParser(prog="geoagb")
    add_map_command(p.add_subparsers(dest="command", required=True))
    return p


@pytest.fixture(scope="module")
def rf():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "ndvi": rng.random(100),
            "height_mean": rng.random(100) * 25,
            "elevation": rng.random(100) * 300 + 800,
        }
    )
    return RandomForestRegressor(n_estimators=5, random_state=0).fit(
        X, 100 * X.ndvi + 2 * X.height_mean
    )


@pytest.mark.parametrize("fmt", ["joblib", "skops"])
def test_map_command_equals_predict_raster(feature_stack, rf, tmp_path, capsys, fmt):
    path, arr = feature_stack
    model = tmp_path / f"rf.{fmt}"
    if fmt == "joblib":
        joblib.dump(rf, model)
    else:
        import skops.io as sio

        sio.dump(rf, model)
    lc = np.ones(arr.shape[1:], np.uint8)
    lc[:, :20] = 3
    lcp = write_raster(tmp_path / "lc.tif", lc, res=2.0)
    args = _parser().parse_args(
        [
            "map",
            str(model),
            path,
            str(tmp_path / "cli.tif"),
            "--resolution",
            "4",
            "--mask",
            f"{lcp}:1,2",
            "--carbon",
            "--quiet",
        ]
        + (["--trust"] if fmt == "joblib" else [])  # a forest in skops is on the allow-list
    )
    assert args.func(args) == 0
    ref = predict_raster(
        rf, path, tmp_path / "ref.tif", resolution=4, mask=(lcp, [1, 2]), progress=False
    )
    for b in (1, 2):
        np.testing.assert_array_equal(read(tmp_path / "cli.tif", b), read(ref, b))
    assert np.isnan(read(ref)[:, :10]).all()
    out = capsys.readouterr().out
    from geoagb.workflow._units import format_carbon

    mg = carbon_stock(ref).loc["all", "stock_MgC"]
    assert f"carbon stock: {format_carbon(mg)}" in out and "bands agb, agb_std" in out


def test_skops_with_a_function_is_refused_without_trust(rf, tmp_path, feature_stack):
    import skops.io as sio
    from sklearn.compose import TransformedTargetRegressor

    X = pd.DataFrame({n: np.random.default_rng(1).random(50) for n in rf.feature_names_in_})
    model = TransformedTargetRegressor(rf, func=np.log1p, inverse_func=np.expm1)
    model.fit(X, 1 + X["ndvi"])
    sio.dump(model, tmp_path / "m.skops")
    argv = ["map", str(tmp_path / "m.skops"), feature_stack[0], str(tmp_path / "o.tif"), "--quiet"]
    args = _parser().parse_args(argv)
    with pytest.raises(
        ValueError,
        match=r"FunctionNode \(numpy.(log1p|expm1), .*calls a function named by the file",
    ):
        args.func(args)
    assert not (tmp_path / "o.tif").exists()
    args = _parser().parse_args(argv + ["--trust"])
    assert args.func(args) == 0
    ref = predict_raster(model, feature_stack[0], tmp_path / "ref.tif", progress=False)
    np.testing.assert_array_equal(read(tmp_path / "o.tif", 1), read(ref, 1))


def test_parse_mask():
    assert parse_mask(None) is None
    assert parse_mask(["lc.tif:1,2", "cloud.tif", "c:/data/m.tif:0"]) == [
        ("lc.tif", [1.0, 2.0]),
        "cloud.tif",
        ("c:/data/m.tif", [0.0]),
    ]


def test_quicklook_figures_show_the_map_numbers(tmp_path):
    rng = np.random.default_rng(0)
    agb = rng.gamma(4, 25, (30, 40)).astype(np.float32)
    sd = (0.1 * agb).astype(np.float32)
    p = write_raster(
        tmp_path / "agb.tif", np.stack([agb, sd]), res=30.0, descriptions=["agb", "agb_std"]
    )
    fig = plot_agb_map(p)
    ax_agb, ax_sd = fig.axes[0], fig.axes[1]
    np.testing.assert_allclose(np.asarray(ax_agb.images[0].get_array()), agb, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ax_sd.images[0].get_array()), sd, rtol=1e-6)
    assert f"mean {agb.mean():.1f} Mg/ha" in ax_agb.get_title()
    assert ax_agb.images[0].get_extent()[1] == pytest.approx(
        500 + 1.2
    )  # km: x0 = 500 km, 40 x 30 m
    small = plot_agb_map(p, std=False, max_size=10)
    assert np.asarray(small.axes[0].images[0].get_array()).shape == (8, 10)
    table = agb_class_frequencies(p)
    bars = [r.get_height() for r in plot_class_frequencies(table).axes[0].patches]
    np.testing.assert_allclose(bars, table["area_pct"].to_numpy())
    h = rng.uniform(2, 30, 200)
    fit = fit_power_law(h, 3 * h**1.4)
    line = plot_power_law(fit).axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), 3 * line.get_xdata() ** 1.4, rtol=1e-6)
