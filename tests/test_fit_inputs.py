"""Inputs named where they enter (issue 24): why plots are dropped before fitting, numeric flags,
the map's output suffix, the truth about numba's cache, unreadable plot files, and the CLI's
one-line errors.

A 56 x 48 m scene (1 m pixels, EPSG:32648) and 40 plots at pixel centres are written once per
module; every case edits a copy of the plot table so that the expected counts are known by
construction.
"""

from __future__ import annotations

import errno
import importlib.util
import zipfile

import numpy as np
import pandas as pd
import pytest
import rasterio
from pyproj import Transformer

from geoagb.cli import main
from geoagb.cli._args import fraction, int_at_least, n_jobs, positive_float

from .features._rasters import X0, Y0, pixel_centres, write_scene

H, W, N = 48, 56, 40
FAST = ["--block-size", "10", "--n-estimators", "10"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Rasters (image/chm/crown/dem) and 40 plots; crown is nodata under plots 0 and 1."""
    d = tmp_path_factory.mktemp("fit_inputs")
    rng = np.random.default_rng(0)
    rows = rng.integers(3, H - 3, N)
    cols = rng.integers(3, W - 3, N)
    (d / "r").mkdir()
    _, f = write_scene(d / "r", h=H, w=W, crown_nodata_at=(rows[:2], cols[:2]))
    xy = pixel_centres(rows, cols)
    agb = 20 + 8 * f["chm"][rows, cols] + rng.normal(0, 5, N)
    plots = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "agb": agb})
    plots.to_csv(d / "plots.csv", index=False)
    return {"dir": d, "rasters": d / "r", "plots": plots, "rows": rows, "cols": cols}


def _csv(scene, tmp_path, name="p.csv", **columns):
    p = scene["plots"].copy()
    for k, v in columns.items():
        p[k] = v
    p.to_csv(tmp_path / name, index=False)
    return str(tmp_path / name)


def _fit_error(capsys, argv):
    """Run ``geoagb fit`` expecting one error line; returns (error line, stdout)."""
    assert main(["fit", *argv]) == 2
    cap = capsys.readouterr()
    err = cap.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("geoagb: error: "), err
    return err[0], cap.out


# ---- 1. why plots are dropped before fitting ----------------------------------------------------
def test_each_drop_reason_is_counted_and_named(scene, tmp_path):
    """2 plots with crown nodata, 3 moved 1 km east, 2 empty, 2 text and 2 negative targets."""
    from geoagb.workflow import fit_bundle

    p = scene["plots"].copy()
    p["agb"] = p["agb"].astype(object)
    p.loc[[2, 3, 4], "x"] += 1000.0  # outside the rasters
    p.loc[[5, 6], "agb"] = np.nan
    p.loc[[7, 8], "agb"] = "150 Mg"  # ("n/a" would be read as NaN)
    p.loc[[9, 10], "agb"] = [-5.0, -1.0]
    p.to_csv(tmp_path / "mixed.csv", index=False)
    lines = []
    b = fit_bundle(
        tmp_path / "mixed.csv",
        scene["rasters"],
        block_size=10.0,
        n_estimators=10,
        echo=lines.append,
        random_state=0,
        qc="drop",
    )
    text = "\n".join(lines)
    assert "9 of 40 plots are left out before fitting:" in text
    for count, reason in [
        (3, "outside the rasters"),
        (2, "missing target"),
        (2, "non-numeric target"),
        (2, "missing feature"),
    ]:
        assert f"      {count} {reason}: " in text, reason
    # a negative AGB is the imagery check's sign rule (agb is non-negative), named as such
    assert "2 negative target" in text and "left them out (qc='drop')" in text
    assert "crown 2" in text and "'150 Mg'" in text
    assert "the rasters span x 500,000 to 500,056, y 2,749,952 to 2,750,000" in text
    info = b.manifest["qc"]
    assert (
        info["dropped_by_reason"].items()
        >= {
            "outside the rasters": 3,
            "missing target": 2,
            "non-numeric target": 2,
            "missing feature": 2,
            "negative target": 2,
        }.items()
    )
    assert info["n_incomplete"] == 9 and info["flagged_by_reason"]["negative target"] == 2
    qc = b.qc
    assert qc.loc[9, "detail"] == "agb = -5 < 0" and qc.loc[7, "detail"] == "agb = '150 Mg'"
    assert qc.loc[2, "detail"] == f"at x {X0 + 1000 + (scene['cols'][2] + 0.5):,.0f}, y " + (
        f"{Y0 - (scene['rows'][2] + 0.5):,.0f}"
    )
    assert b.manifest["plots"]["n_used"] == 40 - len(qc)


def test_a_negative_target_is_kept_without_the_imagery_check(scene, tmp_path):
    """An ordination axis has negative values: qc=False keeps every complete plot."""
    from geoagb.workflow import fit_bundle

    axis = scene["plots"]["agb"].to_numpy() - scene["plots"]["agb"].mean()
    path = _csv(scene, tmp_path, axis=axis)
    b = fit_bundle(
        path,
        scene["rasters"],
        target="axis",
        unit="",
        qc=False,
        block_size=10.0,
        n_estimators=10,
        echo=lambda s: None,
        random_state=0,
    )
    assert b.manifest["qc"]["dropped_by_reason"] == {"missing feature": 2}  # crown nodata only
    used = b.plots["axis"].to_numpy()
    assert len(used) == 38 and (used < 0).sum() == (np.delete(axis, [0, 1]) < 0).sum() > 0


@pytest.mark.parametrize(
    ("case", "fragments"),
    [
        ("off", ["(40 outside the rasters)", "x 600,00", "check the plots' CRS (--crs)"]),
        ("crs", ["(40 outside the rasters)", "read in EPSG:3857", "in EPSG:32648"]),
        ("nan", ["(40 missing target)", "fill 'agb' or name the target column with --target"]),
        ("text", ["(40 non-numeric target)", "give numbers (Mg/ha) in 'agb'"]),
    ],
)
def test_all_plots_unusable_names_the_cause_and_the_flag(scene, tmp_path, capsys, case, fragments):
    """The five causes that all printed 'only 0 complete plots with positive agb remain ...
    Lower cv' now each name themselves, the numbers of plots, and a flag (never cv=)."""
    p = scene["plots"]
    extra = []
    if case == "off":
        path = _csv(scene, tmp_path, x=p["x"] + 100_000.0)  # 100 km east
    elif case == "crs":
        path, extra = _csv(scene, tmp_path), ["--crs", "EPSG:3857"]  # UTM metres called 3857
    elif case == "nan":
        path = _csv(scene, tmp_path, agb=np.nan)
    else:
        path = _csv(scene, tmp_path, agb="high")
    err, out = _fit_error(capsys, [path, str(scene["rasters"]), *extra, *FAST])
    assert err.startswith("geoagb: error: only 0 of 40 plots can be used")
    assert "5-fold CV needs at least 10" in err and "lower --folds." in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert "cv=" not in err and "n_splits" not in err and "qc=" not in err
    assert "40 of 40 plots are left out before fitting:" in out
    if case in ("off", "crs"):  # both CRSs and both extents
        assert "the rasters span x 500,000 to 500,056, y 2,749,952 to 2,750,000" in out


def test_a_negative_agb_everywhere_names_the_sign_rule_and_the_flag(scene, tmp_path, capsys):
    """38 usable plots, all with agb < 0: agb is non-negative, so the sign rule flags every one
    and the error names the count and the --signed / --qc off flags."""
    path = _csv(scene, tmp_path, agb=-scene["plots"]["agb"])
    err, _ = _fit_error(capsys, [path, str(scene["rasters"]), *FAST])
    assert err.startswith("geoagb: error: only 0 of 38 usable plots have agb >= 0 (38 negative")
    assert "ordination axis) pass --signed, or skip the check with --qc off." in err, err


def test_library_error_names_parameters(scene, tmp_path):
    from geoagb.workflow import fit_bundle

    path = _csv(scene, tmp_path, agb=np.nan)
    with pytest.raises(ValueError, match=r"lower n_splits=\.") as info:
        fit_bundle(path, scene["rasters"], block_size=10.0, random_state=0, echo=lambda s: None)
    assert "target=" in str(info.value) and "--" not in str(info.value)


@pytest.mark.parametrize("value", [0.0, 50.0])
def test_a_constant_target_is_named_with_its_value(scene, tmp_path, capsys, value):
    path = _csv(scene, tmp_path, agb=value)
    err, _ = _fit_error(capsys, [path, str(scene["rasters"]), *FAST])
    assert f"the target 'agb' is constant: all 38 usable plots have agb = {value:g} Mg/ha" in err
    assert "--target." in err and "variance" not in err


# ---- 2. numeric flags ---------------------------------------------------------------------------
def test_flag_types_by_hand():
    assert int_at_least(1)("3") == 3 and int_at_least(2)("2") == 2
    assert positive_float("0.5") == 0.5 and fraction("1") == 1.0 and fraction("0.47") == 0.47
    assert n_jobs("-1") == -1 and n_jobs("4") == 4
    for parse, text in [
        (int_at_least(1), "0"),
        (int_at_least(1), "-5"),
        (int_at_least(1), "2.5"),
        (positive_float, "0"),
        (positive_float, "nan"),
        (positive_float, "inf"),
        (fraction, "0"),
        (fraction, "1.01"),
        (n_jobs, "0"),
        (n_jobs, "-2"),
    ]:
        with pytest.raises(Exception, match=repr(text)):
            parse(text)


@pytest.mark.parametrize(
    ("argv", "flag", "rule"),
    [
        (["fit", "p.csv", "r", "--n-estimators", "0"], "--n-estimators", "whole number >= 1"),
        (["fit", "p.csv", "r", "--n-estimators", "-5"], "--n-estimators", "whole number >= 1"),
        (["fit", "p.csv", "r", "--folds", "1"], "--folds", "whole number >= 2"),
        (["fit", "p.csv", "r", "--block-size", "0"], "--block-size", "> 0"),
        (["fit", "p.csv", "r", "--footprint", "-30"], "--footprint", "> 0"),
        (["fit", "p.csv", "r", "--map-resolution", "nan"], "--map-resolution", "> 0"),
        (["fit", "p.csv", "r", "--jobs", "0"], "--jobs", "-1 for all cores"),
        (["fit", "p.csv", "r", "--seed", "-1"], "--seed", "whole number >= 0"),
        (["map", "m.geoagb", "r", "o.tif", "--resolution", "0"], "--resolution", "> 0"),
        (["map", "m.geoagb", "r", "o.tif", "--window-size", "0"], "--window-size", ">= 1"),
        (["map", "m.geoagb", "r", "o.tif", "--memory-mb", "-1"], "--memory-mb", "> 0"),
        (
            ["map", "m.geoagb", "r", "o.tif", "--carbon-fraction", "1.5"],
            "--carbon-fraction",
            "(0, 1]",
        ),
        (["report", "m.geoagb", "--carbon-fraction", "0"], "--carbon-fraction", "(0, 1]"),
        (["timeseries", "trend", "s.tif", "o.tif", "--alpha", "1"], "--alpha", "(0, 1)"),
        (["timeseries", "trend", "s.tif", "o.tif", "--memory-mb", "0"], "--memory-mb", "> 0"),
    ],
)
def test_numeric_flags_out_of_range_are_refused_before_any_work(capsys, argv, flag, rule):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"error: argument {flag}: {argv[argv.index(flag) + 1]!r} is not" in err and rule in err


def test_n_estimators_is_checked_in_the_library():
    from geoagb.workflow import make_model

    assert make_model("xgboost").n_estimators == 300  # None: the default
    assert make_model("rf", n_estimators=7).n_estimators == 7
    for bad in (0, -5, 2.5):
        with pytest.raises(ValueError, match=rf"n_estimators={bad!r} must be a whole number >= 1"):
            make_model("xgboost", n_estimators=bad)


# ---- 3. the map's output suffix ---------------------------------------------------------------
def test_map_output_suffix_must_say_geotiff(scene, tmp_path, capsys):
    from sklearn.linear_model import LinearRegression

    from geoagb.mapping import predict_raster
    from geoagb.raster import check_geotiff_path

    assert check_geotiff_path("a/agb.TIFF").suffix == ".TIFF"
    model = LinearRegression().fit(pd.DataFrame({"chm": [1.0, 2.0, 3.0]}), [1.0, 2.0, 3.0])
    chm = str(scene["rasters"] / "chm.tif")
    for name in ("agb.png", "agb.zarr", "agb"):
        with pytest.raises(ValueError, match=r"out_path=.* use \.tif or \.tiff, e\.g\. 'agb\.tif'"):
            predict_raster(model, {"chm": chm}, tmp_path / name, progress=False)
        assert not (tmp_path / name).exists()
    out = predict_raster(
        model, {"chm": chm}, tmp_path / "agb.tiff", return_std=False, progress=False
    )
    with rasterio.open(out) as ds:
        assert ds.driver == "GTiff"
    assert main(["map", "model.geoagb", str(scene["rasters"]), str(tmp_path / "out.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("geoagb: error: OUT=") and "ends in '.png'" in err and "\n" not in err


# ---- 4. geoagb compile tells where (and whether) it cached -------------------------------------
def _kernel_module(folder, name):
    (folder / f"{name}.py").write_text(
        "from geoagb._numba import njit\n\n\n@njit(cache=True)\ndef twice(x):\n    return 2 * x\n"
    )
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.twice(3) == 6
    return module.twice


def test_compile_says_when_nothing_could_be_cached(tmp_path, monkeypatch):
    import numba

    from geoagb._compile import cache_message, kernel_cache

    blocked = tmp_path / "a_file"
    blocked.write_text("")
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked / "cache"))  # numba's user-wide folder
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "__pycache__").write_text("")  # no __pycache__ folder can be made next to the module
    twice = _kernel_module(ro, "geoagb_kern_ro")
    state = kernel_cache([twice])
    assert state == {"folders": [], "uncached": ["twice"]}
    msg = cache_message(1.25, state)
    assert msg.startswith("compiled in 1.2 s, but not cached (1 kernels: twice): ")
    assert "is not writable" in msg and "set NUMBA_CACHE_DIR" in msg and "cached in" not in msg

    monkeypatch.setattr(numba.config, "CACHE_DIR", str(blocked / "numba"))  # unwritable
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(blocked / "numba"))
    ok = tmp_path / "ok"
    ok.mkdir()
    twice = _kernel_module(ok, "geoagb_kern_ok")
    state = kernel_cache([twice])
    assert state == {"folders": [str(ok / "__pycache__")], "uncached": []}
    msg = cache_message(0.5, state)
    assert msg.startswith(f"compiled and cached in 0.5 s (numba cache: {ok / '__pycache__'})")
    assert "NUMBA_CACHE_DIR=" in msg and "is not writable" in msg


def test_compile_cli_names_the_cache_folder(capsys):
    import geoagb.applicability._nndm as nndm

    assert main(["compile", "applicability"]) == 0
    out = capsys.readouterr().out
    assert "compiled and cached in" in out and str(nndm._nndm_kernel._cache.cache_path) in out


# ---- 5. unreadable plot files and other tracebacks ----------------------------------------------
def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def test_unreadable_plot_files_are_one_line(scene, tmp_path, capsys):
    r = str(scene["rasters"])
    (tmp_path / "text.gpkg").write_text("x,y,agb\n1,2,3\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("x,y,agb\n")
    (tmp_path / "junk.parquet").write_bytes(b"\x00\x01not parquet" * 10)
    for name, fragment in [
        ("text.gpkg", "is not a GeoPackage: it is a text file starting 'x,y,agb'; if it is a CSV"),
        ("empty.csv", "is empty (0 bytes)"),
        ("header.csv", "holds no rows"),
        ("junk.parquet", "could not be read as a Parquet file" if _has("pyarrow") else "pyarrow"),
    ]:
        err, _ = _fit_error(capsys, [str(tmp_path / name), r])
        assert fragment in err and (name in err or "pyarrow" in fragment), (name, err)


def test_metre_columns_declared_as_degrees(scene, tmp_path, capsys):
    path = _csv(scene, tmp_path)
    err, _ = _fit_error(capsys, [path, str(scene["rasters"]), "--crs", "EPSG:4326"])
    x, y = scene["plots"]["x"], scene["plots"]["y"]
    assert f"span x {x.min():,.0f} to {x.max():,.0f}, y {y.min():,.0f} to {y.max():,.0f}" in err
    assert "outside longitude -180..180 / latitude -90..90" in err and "look like metres" in err
    assert "--crs 'EPSG:32648' (the rasters' CRS)" in err
    # real lon/lat in EPSG:4326 still work: projected to UTM and onto the rasters
    from geoagb.workflow import read_plots

    lon, lat = Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True).transform(
        scene["plots"]["x"], scene["plots"]["y"]
    )
    pd.DataFrame({"lon": lon, "lat": lat, "agb": 1.0}).to_csv(tmp_path / "ll.csv", index=False)
    g = read_plots(tmp_path / "ll.csv", raster_crs="EPSG:32648", echo=lambda s: None)
    np.testing.assert_allclose(g["x"], scene["plots"]["x"], atol=1e-6)
    assert g.attrs["source_crs"].startswith("EPSG:4326")


def test_a_band_name_xgboost_refuses_is_named_at_fit(scene, tmp_path, capsys):
    """'nir [842 nm]' fails inside XGBoost; fit names the band, its file and the fix; a random
    forest fits and maps with the same name."""
    import shutil

    r2 = tmp_path / "r2"
    shutil.copytree(scene["rasters"], r2)
    with rasterio.open(r2 / "image.tif", "r+") as ds:
        ds.set_band_description(4, "nir [842 nm]")
    err, _ = _fit_error(capsys, [str(scene["dir"] / "plots.csv"), str(r2), *FAST])
    assert "feature 'nir [842 nm]' (band 4 of image.tif, described 'nir [842 nm]')" in err
    assert "set_band_description(4, 'nir')" in err and "--model 'rf'" in err
    out = tmp_path / "m.geoagb"
    argv = [str(scene["dir"] / "plots.csv"), str(r2), "--model", "rf", "--out", str(out), *FAST]
    assert main(["fit", *argv]) == 0
    assert main(["map", str(out), str(r2), str(tmp_path / "m.tif"), "--no-std"]) == 0
    from geoagb.workflow import load_bundle

    b = load_bundle(out)
    assert "nir [842 nm]" in b.feature_names
    with rasterio.open(tmp_path / "m.tif") as ds:
        agb = ds.read(1)
    # the map at the plots (1 m cells, the pixel under each plot) equals the model on the
    # features stored for those plots: the same names reach the same bands
    kept = b.plots.index.to_numpy()
    pred = b.model.predict(b.plots[b.feature_names])
    np.testing.assert_allclose(
        agb[scene["rows"][kept], scene["cols"][kept]], pred, rtol=1e-5, atol=1e-4
    )


# ---- 6. the CLI's error handling ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "fragment"),
    [
        (
            OSError(errno.ENOSPC, "No space left on device", "/data/agb.tif"),
            "No space left on device (/data/agb.tif); free space on that disk",
        ),
        (PermissionError(errno.EACCES, "Permission denied", "/x"), "check the permissions"),
        (zipfile.BadZipFile("File is not a zip file"), "File is not a zip file"),
        (KeyError("feature_names"), "missing key 'feature_names': a file or table lacks"),
        (rasterio.errors.WindowError("bad window"), "bad window"),
        (FileNotFoundError("plots.gpkg does not exist."), "plots.gpkg does not exist."),
    ],
)
def test_expected_errors_print_one_line(monkeypatch, capsys, error, fragment):
    import geoagb.cli._demo as comp  # the CLI calls compile_kernels from here

    def fail(*a, **k):
        raise error

    monkeypatch.setattr(comp, "compile_kernels", fail)
    assert main(["compile"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("geoagb: error: ") and fragment in err[0], err
    with pytest.raises(type(error)):
        main(["--debug", "compile"])


def test_a_bug_keeps_its_traceback(monkeypatch, capsys):
    import geoagb.cli._demo as comp  # the CLI calls compile_kernels from here

    def bug(*a, **k):
        return [][1]  # a real bug: not an input problem

    monkeypatch.setattr(comp, "compile_kernels", bug)
    with pytest.raises(IndexError):
        main(["compile"])
    err = capsys.readouterr().err
    assert "geoagb: internal error (IndexError): a bug in geoagb" in err
