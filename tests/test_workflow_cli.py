"""geoagb fit -> map -> report through the command line, on a tiny scene (issue 14).

One module fixture runs the demo's user path (the mapping step: plot file + raster folder ->
fit_bundle -> Bundle.predict_map -> write_report) on a 300 m scene; the tests then run the
commands the demo printed through ``geoagb.cli.main`` and check that they reproduce the demo's
bundle and map bit for bit, that the map equals ``predict_raster`` with the bundle's model and the
demo recipe, that a bundle survives a round trip, that the report is one self-contained HTML
file, and that a bundle from another version or with a missing raster gives one-line errors.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio

from geoagb.cli import main


class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.tags, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(a)
        if tag in ("script", "link", "iframe") or (tag == "a" and "href" in a):
            self.links.append(tag)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.descriptions, ds.transform, ds.crs


def _one_line_error(capsys, argv, fragment):
    assert main(argv) == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("geoagb: error: "), err
    assert fragment in err[0], (fragment, err[0])
    return err[0]


def test_demo_step_prints_three_commands_and_writes_everything(demo):
    d, cmds = demo["dir"], demo["commands"]
    assert [c.split()[1] for c in cmds] == ["fit", "map", "report"]
    for name in ("plots.gpkg", "model.geoagb", "agb.tif", "agb.png", "report.html"):
        assert (d / name).stat().st_size > 1000, name
    from geoagb._demo._features import RECIPE
    from geoagb.workflow import load_config
    from geoagb.workflow._recipe import _clean

    assert load_config(d / "recipe.toml") == _clean(RECIPE)  # the recipe file reads back
    text = "\n".join(demo["lines"])
    assert "projected to the local UTM zone, EPSG:32648" in text  # lon/lat GeoPackage in
    stock = demo["ctx"].data["carbon_stock"]["stock_MgC"]
    assert stock < 10_000 and f"carbon stock: {stock:,.0f} MgC" in text  # the unit rule


def test_cli_fit_map_report_reproduce_the_demo_bit_for_bit(demo, tmp_path, capsys):
    """The printed commands, run through geoagb.cli.main into another folder, give the demo's
    model (same CV, same predictions) and the demo's map, bit for bit."""
    from geoagb._demo._features import RECIPE
    from geoagb.features import RasterFeatures
    from geoagb.mapping import predict_raster
    from geoagb.workflow import load_bundle

    d, scene = demo["dir"], demo["scene"]
    fit, mapc, rep = (shlex.split(c)[1:] for c in demo["commands"])
    swap = {
        str(d / "model.geoagb"): str(tmp_path / "m.geoagb"),
        str(d / "agb.tif"): str(tmp_path / "agb.tif"),
        str(d / "report.html"): str(tmp_path / "r.html"),
    }
    fit, mapc, rep = ([swap.get(a, a) for a in argv] for argv in (fit, mapc, rep))
    assert main(fit) == 0
    assert main(mapc) == 0
    assert main(rep) == 0
    out = capsys.readouterr().out
    assert (
        "block size" in out and "wrote" in out and "\r" not in out
    )  # no progress bar off a terminal
    ours, theirs = load_bundle(tmp_path / "m.geoagb"), load_bundle(d / "model.geoagb")
    assert ours.manifest["cv"] == theirs.manifest["cv"]
    assert ours.manifest["input_hash"] == theirs.manifest["input_hash"]
    np.testing.assert_array_equal(ours.model.predict(ours.X()), theirs.model.predict(theirs.X()))
    a, b = _read(tmp_path / "agb.tif"), _read(d / "agb.tif")
    assert a[1] == b[1] == ("agb", "agb_std") and a[2] == b[2] and a[3] == b[3]
    np.testing.assert_array_equal(a[0], b[0])
    # ... and equals predict_raster with the bundle's model and the demo's (unfrozen) recipe
    direct = predict_raster(
        theirs.model,
        RasterFeatures(scene.sources, **RECIPE),
        tmp_path / "direct.tif",
        resolution=30.0,
        mask=(scene.sources["landcover"], [1, 2]),
        progress=False,
    )
    np.testing.assert_array_equal(_read(direct)[0], b[0])
    assert np.isfinite(b[0][0]).mean() > 0.5

    p = _Imgs()
    p.feed((tmp_path / "r.html").read_text())
    assert not p.links  # self-contained: no script, link, href
    flagged = int(theirs.qc["flagged"].sum())  # the QC figure is drawn when a plot is flagged
    assert len(p.imgs) == 10 + (flagged > 0)
    for img in p.imgs:
        assert img["src"].startswith("data:image/png;base64,")
        assert theirs.label in img["title"] and theirs.cv_label in img["title"], img["title"]
    titles = " | ".join(i["title"] for i in p.imgs)
    for what in (
        "spatial test fold",
        "Variogram",
        "Block-size sensitivity",
        "Spatial block CV vs random",
        "Predicted (out of fold)",
        "SHAP values",
        "SHAP dependence",
        "Map of agb",
    ):
        assert what in titles, what
    html = (tmp_path / "r.html").read_text()
    assert "± 1 sd over the 5 folds" in html or "± 1 standard deviation" in html
    assert "carbon stock (MgC)" in html  # unit chosen once for the table


def test_bundle_round_trip(demo, tmp_path):
    import geoagb
    from geoagb.workflow import Bundle, load_bundle

    fitted = demo["ctx"].data["bundle"]
    back = geoagb.load_bundle(demo["dir"] / "model.geoagb")
    assert isinstance(back, Bundle) and back.manifest == json.loads(json.dumps(fitted.manifest))
    np.testing.assert_array_equal(back.model.predict(back.X()), fitted.model.predict(fitted.X()))
    pd.testing.assert_frame_equal(
        back.plots, fitted.plots, check_index_type=False, check_names=False
    )
    pd.testing.assert_frame_equal(back.cv, fitted.cv)
    assert int(back.qc["dropped"].sum()) == fitted.manifest["plots"]["n_dropped"]
    m = back.manifest
    assert m["target"] == "agb" and m["unit"] == "Mg/ha" and "32648" in m["crs_name"]
    assert back.feature_names == fitted.feature_names and m["versions"]["skops"]
    assert len(m["input_hash"]) == 64
    assert set(m["inputs_sha256"]["rasters"]) == {"chm", "crown", "dem", "image"}
    assert m["block_size"]["used_m"] > 0 and "nugget_to_sill" in m["block_size"]
    # the texture quantisation range is frozen into the stored recipe
    assert len(m["recipe"]["textures"][0]["range"]) == 2
    # the manifest's pooled scores are means over fold seeds (tests/workflow/test_fit_repeats.py);
    # the stored out-of-fold predictions are the first seed's, inside the seeds' range
    from geoagb.metrics import r2

    p, sp = back.plots, m["cv"]["spatial"]
    assert sp["pooled_r2_min"] <= r2(p["agb"], p["oof_spatial"]) <= sp["pooled_r2_max"]
    back.save(tmp_path / "again.geoagb")
    again = load_bundle(tmp_path / "again.geoagb")
    np.testing.assert_array_equal(again.model.predict(again.X()), fitted.model.predict(fitted.X()))


def _rewrite(src, dst, **manifest_changes):
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w") as zo:
        for item in zi.namelist():
            data = zi.read(item)
            if item == "manifest.json":
                m = json.loads(data)
                m.update(manifest_changes)
                data = json.dumps(m).encode()
            zo.writestr(item, data)


def test_wrong_version_missing_raster_and_bad_inputs_are_one_line_errors(demo, tmp_path, capsys):
    d, scene = demo["dir"], demo["scene"]
    rasters = Path(scene.sources["image"]).parent
    old = tmp_path / "old.geoagb"
    _rewrite(d / "model.geoagb", old, geoagb_version="0.0.1")
    _one_line_error(
        capsys,
        ["map", str(old), str(rasters), str(tmp_path / "a.tif")],
        "was written by geoagb 0.0.1, this is geoagb",
    )
    _one_line_error(capsys, ["report", str(old)], "was written by geoagb 0.0.1")
    partial = tmp_path / "rasters"
    partial.mkdir()
    for k in ("image", "dem", "crown"):
        os.symlink(scene.sources[k], partial / Path(scene.sources[k]).name)
    _one_line_error(
        capsys,
        ["map", str(d / "model.geoagb"), str(partial), str(tmp_path / "a.tif")],
        "reads raster(s) chm (at fit: chm.tif)",
    )
    assert not (tmp_path / "a.tif").exists()
    broken = tmp_path / "broken.geoagb"
    with zipfile.ZipFile(d / "model.geoagb") as zi, zipfile.ZipFile(broken, "w") as zo:
        zo.writestr("manifest.json", zi.read("manifest.json"))
    _one_line_error(
        capsys,
        ["map", str(broken), str(rasters), str(tmp_path / "a.tif")],
        "incomplete model bundle: it lacks model.skops",
    )
    _one_line_error(
        capsys,
        [
            "fit",
            str(d / "plots.gpkg"),
            str(rasters),
            "--target",
            "biomass",
            "--out",
            str(tmp_path / "x.geoagb"),
        ],
        "target column 'biomass' not in plots.gpkg",
    )
    _one_line_error(
        capsys,
        ["fit", str(d / "plots.gpkg"), str(rasters), "--out", str(tmp_path / "x.zip")],
        "must end in .geoagb",
    )
    _one_line_error(
        capsys,
        [
            "fit",
            str(d / "plots.gpkg"),
            str(tmp_path / "nothing"),
            "--out",
            str(tmp_path / "x.geoagb"),
        ],
        "does not exist",
    )


def test_the_demo_bundle_loads_without_trust(demo):
    from geoagb._untrusted import GEOAGB_TYPES, audit_skops
    from geoagb.workflow import load_bundle

    b = load_bundle(demo["dir"] / "model.geoagb")
    assert b.model.__class__.__module__.startswith("sklearn.")
    with zipfile.ZipFile(demo["dir"] / "model.geoagb") as z:
        names = audit_skops(z.read("model.skops"))
    assert set(names) <= set().union(*GEOAGB_TYPES.values())


def test_read_plots_from_csv_in_any_crs(demo, tmp_path):
    from pyproj import Transformer

    from geoagb.workflow import read_plots

    scene = demo["scene"]
    pl = scene.plots
    lon, lat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True).transform(
        pl["x"], pl["y"]
    )
    pd.DataFrame({"Longitude": lon, "Latitude": lat, "agb": pl["agb"]}).to_csv(
        tmp_path / "ll.csv", index=False
    )
    lines = []
    g = read_plots(tmp_path / "ll.csv", target="agb", raster_crs="EPSG:32648", echo=lines.append)
    assert g.crs.to_epsg() == 32648 and any("EPSG:4326" in s for s in lines)
    np.testing.assert_allclose(g[["x", "y"]].to_numpy(), pl[["x", "y"]].to_numpy(), atol=1e-6)
    # x/y columns without a CRS: taken in the rasters' CRS, said in a line
    pd.DataFrame({"e": pl["x"], "n": pl["y"], "agb": pl["agb"]}).to_csv(
        tmp_path / "xy.csv", index=False
    )
    lines = []
    g = read_plots(tmp_path / "xy.csv", x="e", y="n", raster_crs="EPSG:32648", echo=lines.append)
    np.testing.assert_array_equal(g["x"].to_numpy(), pl["x"].to_numpy())
    assert any("rasters' CRS" in s for s in lines)
    # polygon footprints in another projected CRS -> centroids in the rasters' CRS
    sq = pl.copy()
    sq = sq.set_geometry(sq.geometry.buffer(12.9, cap_style="square")).to_crs("EPSG:3857")
    files = [tmp_path / "sq.fgb"]
    sq.to_file(files[0])
    try:
        import pyarrow  # noqa: F401  (GeoParquet needs it)

        sq.to_parquet(tmp_path / "sq.parquet")
        files.append(tmp_path / "sq.parquet")
    except ImportError:
        pass
    for f in files:
        lines = []
        g = read_plots(f, target="agb", raster_crs="EPSG:32648", echo=lines.append)
        g = g.set_index("plot_id").loc[pl["plot_id"]]  # FlatGeobuf reorders features
        np.testing.assert_allclose(g[["x", "y"]].to_numpy(), pl[["x", "y"]].to_numpy(), atol=1e-3)
        assert any("centroids" in s for s in lines) and any("EPSG:3857" in s for s in lines)


def test_carbon_unit_rule():
    from geoagb.workflow import carbon_unit, format_carbon

    assert carbon_unit(9_999.0) == ("MgC", 1.0) and carbon_unit(10_000.0) == ("GgC", 1e3)
    assert carbon_unit(9_999_000.0) == ("GgC", 1e3) and carbon_unit(1e7) == ("TgC", 1e6)
    assert format_carbon(2.5e9) == "2,500 TgC" and format_carbon(123_456.0) == "123 GgC"


def test_import_geoagb_stays_light():
    code = (
        "import sys, geoagb; f = geoagb.load_bundle; "
        "sys.exit(any(m in sys.modules for m in ('torch', 'xgboost', 'matplotlib', 'geopandas')))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_residual_kriging_bundle_loads_under_the_allow_list_and_maps(demo, tmp_path, capsys):
    """rk-ok: the bundle's kriging types (geoagb.kriging, gstools covariance models) pass the
    allow-list, and the map (with the kriged residual band) equals predict_raster's."""
    from geoagb.mapping import predict_raster
    from geoagb.workflow import fit_bundle, load_bundle

    d, scene = demo["dir"], demo["scene"]
    rasters = Path(scene.sources["image"]).parent
    fit_bundle(
        d / "plots.gpkg",
        rasters,
        tmp_path / "rk.geoagb",
        model="rk-ok",
        config=d / "recipe.toml",
        footprint=scene.plot_size_m,
        map_resolution=30.0,
        block_size=100.0,
        n_splits=3,
        qc=False,
        n_estimators=20,
        echo=lambda s: None,
        random_state=0,
    )
    b = load_bundle(tmp_path / "rk.geoagb")
    assert b.manifest["coordinate_aware"] and b.model_columns[:2] == ["x", "y"]
    assert b.manifest["kriging"]["method"] in ("none", "simple", "ordinary")
    assert main(["map", str(tmp_path / "rk.geoagb"), str(rasters), str(tmp_path / "rk.tif")]) == 0
    a = _read(tmp_path / "rk.tif")
    assert a[1] == ("agb", "agb_std", "residual")
    ref = predict_raster(
        b.model, b.features(rasters), tmp_path / "ref.tif", resolution=30.0, progress=False
    )
    np.testing.assert_array_equal(_read(ref)[0], a[0])
    # the same rasters in another CRS are refused for a model that reads coordinates
    b.manifest["rasters"]["crs_wkt"] = "EPSG:3857"
    with pytest.raises(ValueError, match="reads coordinates"):
        b.features(rasters)
