"""Issue 13: every silent failure is a clear error or warning, nothing is left on disk, and the
command line speaks in one line.

``CASES`` is the table: one row per bad input, with the callable that builds and uses it, the
exception or warning it must raise, and a fragment of the message (value, rule or fix). The
kill tests run ``geoagb map`` in a subprocess and stop it with SIGKILL / SIGTERM mid-write.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from sklearn.linear_model import LinearRegression

from geoagb._io import is_part_file, part_path, remove_stale_parts
from geoagb.cli import main
from geoagb.mapping import explain_raster, predict_raster

ROOT = Path(__file__).resolve().parents[1]


# ---- tiny inputs ------------------------------------------------------------------------------
def _raster(path, arr, names, crs="EPSG:32648", res=1.0, x0=500_000.0, y0=2_750_000.0):
    arr = np.asarray(arr, dtype="float32")
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype="float32",
        crs=crs,
        nodata=np.nan,
        transform=from_origin(x0, y0, res, res),
    ) as ds:
        ds.write(arr)
        ds.descriptions = tuple(names)
    return str(path)


def _stack(d, fill=None):
    arr = np.random.default_rng(0).random((2, 20, 20))
    if fill is not None:
        arr[:] = fill
    return _raster(Path(d) / ("nan.tif" if fill is not None else "stack.tif"), arr, ["a", "b"])


def _named_model():
    return LinearRegression().fit(pd.DataFrame({"a": [0, 1, 2.0], "b": [1, 0, 3.0]}), [1, 2, 3.0])


def _bare_model():
    return LinearRegression().fit(np.array([[0, 1], [1, 0], [2, 3.0]]), [1, 2, 3.0])


def _predict(d, model=None, features=None, out="agb.tif", **kw):
    return predict_raster(
        model or _named_model(),
        features or _stack(d),
        Path(d) / out,
        return_std=False,
        progress=False,
        **kw,
    )


# ---- deep helpers (tiny network, fitted once) -------------------------------------------------
@pytest.fixture(scope="module")
def deep():
    pytest.importorskip("torch")
    from geoagb.deep import PixelMLPRegressor
    from geoagb.deep._toy import toy_patches

    X, y = toy_patches(16, size=8, random_state=0)
    est = PixelMLPRegressor(head=(8,), max_epochs=2, verbose=0, random_state=0).fit(X, y)
    return est, X, y


def _with_empty_patch(X, row=3):
    from geoagb.deep import PatchSet

    data = X.data.copy()
    data[row] = np.nan
    return PatchSet(data, X.bands, coords=X.coords)


def _fresh(deep):
    from sklearn.base import clone

    return clone(deep[0])


def _predict_empty(deep):
    est, X, _ = deep
    p = est.predict(_with_empty_patch(X))
    assert np.isnan(p[3]) and np.isfinite(np.delete(p, 3)).all()


def _eval_other_size(deep):
    from geoagb.deep._toy import toy_patches

    Xv, yv = toy_patches(8, size=10, random_state=1)
    _fresh(deep).fit(deep[1], deep[2], eval_set=(Xv, yv))


def _truncated(deep, d):
    from geoagb.deep import load_model

    p = Path(d) / "m.pt"
    deep[0].save(p)
    (Path(d) / "cut.pt").write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    load_model(Path(d) / "cut.pt")


def _not_a_model(deep, d):
    import torch

    from geoagb.deep import load_model

    torch.save({"weights": torch.zeros(3)}, Path(d) / "other.pt")
    load_model(Path(d) / "other.pt")


def _mixed_sizes():
    from geoagb.deep import PatchSet

    PatchSet([np.zeros((2, 8, 8)), np.zeros((2, 8, 8)), np.zeros((2, 10, 10))], ["red", "nir"])


def _geo_features(d):
    from rasterio.windows import Window

    from geoagb.features import RasterFeatures

    geo = _raster(
        Path(d) / "geo.tif",
        np.ones((2, 20, 20)),
        ["a", "b"],
        crs="EPSG:4326",
        res=1e-5,
        x0=105.0,
        y0=25.0,
    )
    RasterFeatures({"g": geo}, indices=None, bands=["a", "b"]).on_window(
        Window(0, 0, 10, 10), out_resolution=30
    )


# ---- the table --------------------------------------------------------------------------------
# (id, callable(tmp_path, deep) -> None, exception or warning class, message fragment)
CASES = [
    # patch models: silent before
    (
        "fit_all_nan_patch",
        lambda d, m: _fresh(m).fit(_with_empty_patch(m[1]), m[2]),
        ValueError,
        "row 3: all bands",
    ),
    (
        "predict_all_nan_patch",
        lambda d, m: _predict_empty(m),
        UserWarning,
        "their prediction is NaN",
    ),
    (
        "eval_set_other_size",
        lambda d, m: _eval_other_size(m),
        ValueError,
        "eval_set patches are 10x10 px but the training patches are 8x8 px",
    ),
    # patch models: obscure before
    (
        "patchset_mixed_sizes",
        lambda d, m: _mixed_sizes(),
        ValueError,
        "patch(es) [2] are ['2x10x10']",
    ),
    ("load_truncated", lambda d, m: _truncated(m, d), ValueError, "not a torch zip archive"),
    (
        "load_not_a_model",
        lambda d, m: _not_a_model(m, d),
        ValueError,
        "is not a geoagb patch-model file",
    ),
    (
        "save_missing_folder",
        lambda d, m: m[0].save(Path(d) / "no" / "m.pt"),
        FileNotFoundError,
        "/no) does not exist; create it first",
    ),
    (
        "save_into_folder",
        lambda d, m: m[0].save(d),
        ValueError,
        "is a folder, but a file name is needed",
    ),
    # mapping: silent before
    (
        "map_all_nan_stack",
        lambda d, m: _predict(d, features=_stack(d, fill=np.nan)),
        UserWarning,
        "have no valid pixel (all NaN or nodata)",
    ),
    (
        "map_all_false_mask",
        lambda d, m: _predict(d, mask=np.zeros((20, 20), bool)),
        UserWarning,
        "the mask array is all False",
    ),
    (
        "map_mask_selects_nothing",
        lambda d, m: _predict(
            d, mask=(_raster(Path(d) / "lc.tif", np.ones((20, 20)), ["lc"]), [7])
        ),
        UserWarning,
        "has no pixel equal to [7.0]",
    ),
    (
        "map_bare_array_model",
        lambda d, m: _predict(d, model=_bare_model()),
        ValueError,
        "pass feature_names=[...]",
    ),
    (
        "map_feature_names_count",
        lambda d, m: _predict(d, model=_bare_model(), feature_names=["a", "b", "c"]),
        ValueError,
        "feature_names has 3 names",
    ),
    (
        "map_feature_names_differ",
        lambda d, m: _predict(d, feature_names=["b", "a"]),
        ValueError,
        "differs from the columns LinearRegression was fitted on",
    ),
    ("map_out_is_folder", lambda d, m: _predict(d, out="."), ValueError, "is a folder"),
    (
        "map_out_folder_missing",
        lambda d, m: _predict(d, out="no/agb.tif"),
        FileNotFoundError,
        "does not exist; create it first",
    ),
    (
        "explain_out_is_folder",
        lambda d, m: explain_raster(_named_model(), _stack(d), d, progress=False),
        ValueError,
        "is a folder",
    ),
    # mapping: obscure before
    (
        "map_geographic_resolution",
        lambda d, m: _predict(
            d,
            features=_raster(
                Path(d) / "g.tif",
                np.ones((2, 20, 20)),
                ["a", "b"],
                crs="EPSG:4326",
                res=1e-5,
                x0=105.0,
                y0=25.0,
            ),
            resolution=30,
        ),
        ValueError,
        "the raster CRS EPSG:4326 is geographic",
    ),
    ("features_geographic_resolution", lambda d, m: _geo_features(d), ValueError, "is geographic"),
]

_DEEP = {
    "fit_all_nan_patch",
    "predict_all_nan_patch",
    "eval_set_other_size",
    "load_truncated",
    "load_not_a_model",
    "save_missing_folder",
    "save_into_folder",
}


@pytest.mark.parametrize("name, build, kind, fragment", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_a_clear_message(name, build, kind, fragment, tmp_path, request):
    m = request.getfixturevalue("deep") if name in _DEEP else None
    if issubclass(kind, Warning):
        with pytest.warns(kind) as rec:
            build(tmp_path, m)
        assert any(fragment in str(w.message) for w in rec), [str(w.message) for w in rec]
    else:
        with pytest.raises(kind) as err:
            build(tmp_path, m)
        assert fragment in str(err.value)
    # bad input never leaves anything behind
    assert not [p for p in tmp_path.rglob("*") if is_part_file(p)]


def test_output_checks_come_before_any_work(tmp_path, monkeypatch):
    """A folder as OUT is refused before the model file is even opened."""
    import geoagb.cli._map as cli

    called = []
    monkeypatch.setattr(cli, "load_estimator_file", lambda *a, **k: called.append(a))
    assert main(["map", "model.joblib", _stack(tmp_path), str(tmp_path), "--quiet"]) == 2
    assert called == []


def test_feature_names_match_bands_by_name(tmp_path):
    """A bare-array model mapped with feature_names gets its columns by name: band order in the
    stack (b, a) differs from the fitted order (a, b) and the map is still right."""
    rng = np.random.default_rng(1)
    a, b = rng.random((20, 20)), rng.random((20, 20))
    stack = _raster(tmp_path / "ba.tif", np.stack([b, a]), ["b", "a"])
    model = LinearRegression().fit(
        np.array([[0, 0], [1, 0], [0, 1.0]]), [0, 100.0, 1.0]
    )  # 100 a + b
    out = predict_raster(
        model,
        stack,
        tmp_path / "agb.tif",
        return_std=False,
        progress=False,
        feature_names=["a", "b"],
    )
    with rasterio.open(out) as ds:
        np.testing.assert_allclose(ds.read(1), 100 * a + b, rtol=1e-5)


def test_residual_kriging_round_trips_through_skops_and_pickle(plots600):
    import pickle

    import skops.io as sio

    from geoagb.kriging import ResidualKrigingRegressor, Variogram

    plots, _ = plots600 if isinstance(plots600, tuple) else (plots600, None)
    X, y = plots.drop(columns="agb").iloc[:150], plots["agb"].iloc[:150]
    v = Variogram.from_params(model="spherical", psill=300.0, range=3000.0, nugget=50.0)
    for kw in (dict(method="ordinary"), dict(method="cokriging", secondary="elevation")):
        rk = ResidualKrigingRegressor(
            LinearRegression(), variogram=v, n_neighbors=16, correction="full", **kw
        ).fit(X, y)
        ref = rk.predict(X.iloc[:40], return_std=True)
        blob = sio.dumps(rk)
        back = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
        again = pickle.loads(pickle.dumps(rk))
        for other in (back, again):
            out = other.predict(X.iloc[:40], return_std=True)
            np.testing.assert_array_equal(out[0], ref[0])
            np.testing.assert_array_equal(out[1], ref[1])


# ---- the command line: one line, exit 2 ---------------------------------------------------------
def _cli_cases(d):
    stack = _stack(d)
    joblib.dump(_named_model(), Path(d) / "m.joblib")
    joblib.dump(
        LinearRegression().fit(pd.DataFrame({"a": [0, 1.0], "zz": [1, 0.0]}), [1, 2.0]),
        Path(d) / "zz.joblib",
    )
    (Path(d) / "notes.tif").write_text("not a raster")
    (Path(d) / "bad.joblib").write_bytes(b"hello")
    m = str(Path(d) / "m.joblib")
    return [
        (["demo", "--steps", "foo"], "unknown demo step(s) foo; the steps are features, cv"),
        (
            [
                "map",
                str(Path(d) / "zz.joblib"),
                stack,
                str(Path(d) / "o.tif"),
                "--quiet",
                "--no-std",
                "--trust",
            ],
            "fitted on column(s) ['zz'] that the mapping features do not provide",
        ),
        (
            ["map", m, str(Path(d) / "notes.tif"), str(Path(d) / "o.tif"), "--quiet", "--trust"],
            "notes.tif",
        ),
        (
            ["map", str(Path(d) / "missing.joblib"), stack, str(Path(d) / "o.tif")],
            "missing.joblib does not exist",
        ),
        (
            ["map", str(Path(d) / "bad.joblib"), stack, str(Path(d) / "o.tif"), "--trust"],
            "could not be read as a joblib/pickle file",
        ),
        (["map", m, stack, str(Path(d) / "nofolder" / "o.tif")], "does not exist; create it first"),
        (["map", m, stack, str(Path(d) / "o.tif")], "runs any code it holds"),
    ]


def test_cli_user_errors_are_one_line(tmp_path, capsys):
    for argv, fragment in _cli_cases(tmp_path):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("geoagb: error: "), err
        assert fragment in err[0], (fragment, err[0])
    with pytest.raises(ValueError, match="unknown demo step"):  # --debug: the real exception
        main(["--debug", "demo", "--steps", "foo"])
    with pytest.raises(ValueError, match="unknown demo step"):
        main(["demo", "--steps", "foo", "--debug"])


def test_cli_help_lists_steps_and_defaults(capsys):
    for argv in (["demo", "--help"], ["map", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    out = " ".join(capsys.readouterr().out.split())
    assert "from: features, cv, kriging, explain, deep, mapping" in out
    for default in ("(default: 512.0)", "0.47 for AGB in Mg/ha", "(default: None)"):
        assert default in out


# ---- nothing left behind -----------------------------------------------------------------------
def test_stale_part_files_of_dead_processes_only_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    mine = part_path(tmp_path / "agb.tif")
    theirs = mine.with_name(mine.name.replace(f".{os.getpid()}-", f".{dead.pid}-"))
    for p in (mine, theirs):
        p.write_bytes(b"x")
    assert remove_stale_parts(tmp_path) == [theirs]
    assert mine.exists() and not theirs.exists()


def test_folder_mode_ignores_part_and_hidden_files(tmp_path):
    from geoagb.cli._map import parse_features

    _stack(tmp_path)
    part_path(tmp_path / "agb.tif").write_bytes(b"x")
    (tmp_path / ".hidden.tif").write_bytes(b"x")
    assert list(parse_features(str(tmp_path))) == ["stack"]


def test_a_failed_demo_step_leaves_no_file(tmp_path, monkeypatch):
    """Demo outputs are staged: a step that fails after writing leaves neither the file nor
    its staging folder; a step that succeeds puts its files in --out."""
    from geoagb._demo import _cv, run_demo

    def half_done(ctx):
        ctx.path("cv_table.csv").write_text("a,b\n")
        raise KeyError("boom")

    monkeypatch.setattr(_cv, "run", half_done)
    with pytest.raises(KeyError):
        run_demo(tmp_path, steps=["cv"], echo=lambda s: None)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(
        _cv,
        "run",
        lambda ctx: ctx.echo(f"wrote {ctx.path('t.csv')}") or ctx.path("t.csv").write_text("ok"),
    )
    lines = []
    run_demo(tmp_path, steps=["cv"], echo=lines.append)
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
    assert f"wrote {tmp_path / 't.csv'}" in lines  # messages name the final place


def _wait_for_part(folder, proc, exclude=(), timeout=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        parts = [p for p in Path(folder).iterdir() if is_part_file(p) and p not in exclude]
        if parts:
            return parts[0]
        if proc.poll() is not None:
            raise AssertionError(
                f"geoagb map ended (rc {proc.returncode}) before writing: {proc.stderr.read()}"
            )
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("no part file appeared")


def test_kill_and_terminate_during_map_leave_nothing_behind(tmp_path):
    """SIGKILL mid-write: the earlier map is intact, the part file is removed by the next run;
    SIGTERM mid-write: exit 143 and no part file at all."""
    rng = np.random.default_rng(0)
    stack = _raster(tmp_path / "stack.tif", rng.random((2, 256, 512)), ["a", "b"])
    joblib.dump(_named_model(), tmp_path / "m.joblib")
    out = tmp_path / "agb.tif"
    out.write_bytes(b"an earlier good map")
    cmd = [
        sys.executable,
        "-m",
        "geoagb.cli",
        "map",
        str(tmp_path / "m.joblib"),
        stack,
        str(out),
        "--window-size",
        "16",
        "--no-std",
        "--quiet",
        "--memory-mb",
        "64",
        "--trust",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")

    p = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    stale = _wait_for_part(tmp_path, p)
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert out.read_bytes() == b"an earlier good map"
    assert stale.exists()  # nobody could clean up after SIGKILL...

    p = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    _wait_for_part(tmp_path, p, exclude=(stale,))
    assert not stale.exists()  # ...the next write into the folder did
    p.send_signal(signal.SIGTERM)
    rc = p.wait(30)
    assert rc == 143, p.stderr.read()
    assert "terminated" in p.stderr.read()
    assert out.read_bytes() == b"an earlier good map"
    assert not [q for q in tmp_path.iterdir() if is_part_file(q)]
