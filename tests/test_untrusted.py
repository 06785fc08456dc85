"""Loading a model file or bundle from someone else never runs code from it (issue 24).

Each payload below is first shown to be live: handed to skops with the file's own untrusted
list as ``trusted`` (what geoagb did before), it acts on the machine in a subprocess. Then geoagb
must refuse it before any constructor runs and leave no trace. Zip bombs are refused from the
central directory, before a byte is inflated.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from geoagb._untrusted import (
    GEOAGB_TYPES,
    UntrustedFileError,
    audit_skops,
    load_pickle,
    load_skops,
    open_zip,
)
from geoagb.cli import main
from geoagb.mapping import load_estimator_file
from geoagb.workflow import load_bundle


# ---- payloads ----------------------------------------------------------------------------------
def _json(value):
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
        "__id__": abs(hash(json.dumps(value))) % 10**12,
    }


def _reduce(module, name, *args, loader="ConstructorFromReduceNode"):
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": loader,
        "content": {
            "__class__": "tuple",
            "__module__": "builtins",
            "__loader__": "TupleNode",
            "content": [_json(a) for a in args],
            "__id__": 1,
        },
        "__id__": 2,
        "protocol": 2,
        "_skops_version": sio.__version__ if hasattr(sio, "__version__") else "0.16.0",
    }


def _skops(schema: dict, extra: dict | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("schema.json", json.dumps(schema))
        for k, v in (extra or {}).items():
            z.writestr(k, v)
    return buf.getvalue()


def _payloads(marker: Path):
    """name -> (skops bytes, how to tell it ran)."""
    code = f"open({str(marker / 'ran')!r}, 'w').write('x')"
    victim = marker / "victim"
    return {
        "runstring": (
            _skops(_reduce("numpy.testing._private.utils", "runstring", code, {})),
            marker / "ran",
        ),
        "subprocess": (
            _skops(
                _reduce(
                    "sklearn.utils._testing",
                    "assert_run_python_script_without_output",
                    code,
                )
            ),
            marker / "ran",
        ),
        "delete-folder": (
            _skops(_reduce("sklearn.utils._testing", "_delete_folder", str(victim))),
            victim,
        ),
    }


def _run_old_way(blob: bytes, cwd: Path) -> None:
    """What geoagb did before: trust the file's own list of untrusted types (in a subprocess)."""
    f = cwd / "payload.skops"
    f.write_bytes(blob)
    script = (
        "import skops.io as sio, sys\n"
        "b = open(sys.argv[1], 'rb').read()\n"
        "try:\n    sio.loads(b, trusted=sio.get_untrusted_types(data=b))\n"
        "except Exception:\n    pass\n"
    )
    subprocess.run([sys.executable, "-c", script, str(f)], check=True, cwd=cwd, timeout=120)
    f.unlink()


def _swap_model(bundle: Path, out: Path, blob: bytes, **members) -> Path:
    with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = blob if info.filename == "model.skops" else src.read(info.filename)
            dst.writestr(info.filename, members.get(info.filename, data))
    return out


@pytest.mark.parametrize("name", ["runstring", "subprocess", "delete-folder"])
def test_payloads_are_live_but_refused_before_anything_runs(name, tmp_path, demo):
    live, safe = tmp_path / "live", tmp_path / "safe"
    for d in (live, safe):
        d.mkdir()
        (d / "victim").mkdir()
    blob, trace = _payloads(live)[name]
    _run_old_way(blob, live)
    ran = trace.exists() if name != "delete-folder" else not trace.exists()
    assert ran, "the payload did not act when trusted: the test would prove nothing"

    blob, trace = _payloads(safe)[name]
    before = sorted(p.name for p in safe.rglob("*"))
    with pytest.raises(UntrustedFileError, match="ConstructorFromReduceNode") as err:
        load_skops(blob, path="m.skops")
    assert "\n" not in str(err.value) and "--trust" in str(err.value)
    bundle = _swap_model(demo["dir"] / "model.geoagb", safe / "evil.geoagb", blob)
    with pytest.raises(UntrustedFileError, match="calls a function named by the file"):
        load_bundle(bundle)
    (safe / "m.skops").write_bytes(blob)
    with pytest.raises(UntrustedFileError):
        load_estimator_file(safe / "m.skops")
    bundle.unlink()
    (safe / "m.skops").unlink()
    assert sorted(p.name for p in safe.rglob("*")) == before  # no trace, victim folder intact


@pytest.mark.parametrize(
    "node",
    [
        # a type constructed with __new__ + __setstate__ that geoagb never writes
        {
            "__class__": "Popen",
            "__module__": "subprocess",
            "__loader__": "ObjectNode",
            "content": {
                "__class__": "dict",
                "__module__": "builtins",
                "__loader__": "DictNode",
                "content": {},
                "__id__": 5,
            },
        },
        # a function reference (os.system) held as an attribute
        {
            "__class__": "system",
            "__module__": "os",
            "__loader__": "FunctionNode",
            "content": {"module_path": "os", "function": "system"},
        },
        # numpy's own namespace is not trusted by prefix any more
        {
            "__class__": "runstring",
            "__module__": "numpy.testing._private.utils",
            "__loader__": "TypeNode",
        },
    ],
    ids=["object", "function", "type"],
)
def test_types_outside_the_allow_list_are_named(node):
    schema = {
        "__class__": "list",
        "__module__": "builtins",
        "__loader__": "ListNode",
        "content": [node],
        "__id__": 9,
        "protocol": 2,
        "_skops_version": "0.16.0",
    }
    with pytest.raises(UntrustedFileError) as err:
        audit_skops(_skops(schema), path="m.skops")
    msg = str(err.value)
    assert f"{node['__module__']}.{node['__class__']}" in msg and "root.content[0]" in msg


def test_pickle_needs_trust_and_runs_nothing_without_it(tmp_path):
    marker = tmp_path / "made-by-pickle"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    for suffix in (".pkl", ".joblib", ".pickle"):
        f = tmp_path / f"m{suffix}"
        f.write_bytes(pickle.dumps(Evil()))
        with pytest.raises(UntrustedFileError, match="runs any code it holds"):
            load_estimator_file(f)
        assert not marker.exists()
    load_pickle(tmp_path / "m.pkl", trusted=True)  # the payload is live: trust runs it
    assert marker.is_dir()


def test_cli_map_refuses_a_pickle_without_trust(tmp_path, capsys):
    import joblib

    joblib.dump(np.arange(5), tmp_path / "a.joblib")
    assert main(["map", str(tmp_path / "a.joblib"), str(tmp_path), str(tmp_path / "o.tif")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--trust" in err[0], err
    # with --trust, an array is named for what it is instead of 'is not an estimator instance'
    with pytest.raises(ValueError, match="holds a numpy.ndarray, not a fitted model"):
        load_estimator_file(tmp_path / "a.joblib", trusted=True)


def test_tampered_tree_is_refused_before_scikit_learn_reads_it():
    from sklearn.ensemble import RandomForestRegressor

    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    rf = RandomForestRegressor(n_estimators=2, max_depth=3, random_state=0).fit(X, X[:, 0])
    blob = sio.dumps(rf)
    back = load_skops(blob)  # the untampered forest loads and predicts the same
    np.testing.assert_array_equal(back.predict(X), rf.predict(X))
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        schema = json.loads(z.read("schema.json"))
        members = {n: z.read(n) for n in z.namelist() if n != "schema.json"}

    def tree(n):
        if isinstance(n, dict):
            if n.get("__loader__") == "TreeNode":
                return n
            n = list(n.values())
        if isinstance(n, list):
            for v in n:
                if (t := tree(v)) is not None:
                    return t
        return None

    fname = tree(schema)["content"]["content"]["nodes"]["file"]
    for field, value in (("left_child", 10**6), ("feature", 7)):
        nodes = np.load(io.BytesIO(members[fname]))
        nodes[field][0] = value
        buf = io.BytesIO()
        np.save(buf, nodes)
        bad = _skops(schema, {**members, fname: buf.getvalue()})
        with pytest.raises(UntrustedFileError, match="points outside the tree"):
            load_skops(bad)


def test_zip_bombs_are_refused_before_inflating(tmp_path, demo):
    zeros = bytes(64 << 20)  # 64 MiB of zeros deflate to about 64 KiB: a 1000-fold ratio
    bomb = _skops({"__class__": "list"}, {"big.npy": zeros})
    assert len(bomb) < 1 << 20
    with pytest.raises(UntrustedFileError, match="inflates .*-fold"):
        audit_skops(bomb)
    with pytest.raises(UntrustedFileError, match="model.skops' inflates"):
        load_bundle(_swap_model(demo["dir"] / "model.geoagb", tmp_path / "b.geoagb", zeros))
    from geoagb._untrusted import ZipLimits

    with pytest.raises(UntrustedFileError, match="more than the limit of 1,000"):
        open_zip(_skops({}, {"a": b"x" * 2000}), limits=ZipLimits(member_bytes=1000))
    with pytest.raises(UntrustedFileError, match="holds 3 members"):
        open_zip(_skops({}, {"a": b"", "b": b""}), limits=ZipLimits(members=2))


def test_corrupted_and_truncated_bundles_give_one_line(tmp_path, demo):
    good = (demo["dir"] / "model.geoagb").read_bytes()
    (tmp_path / "cut.geoagb").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="not a geoagb model bundle"):
        load_bundle(tmp_path / "cut.geoagb")
    bad = bytearray(good)
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        info = z.getinfo("plots.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    bad[start : start + 8] = b"\x00" * 8  # flip bytes inside the deflated plots.csv
    (tmp_path / "flip.geoagb").write_bytes(bytes(bad))
    with pytest.raises(ValueError) as err:
        load_bundle(tmp_path / "flip.geoagb")
    assert "plots.csv" in str(err.value) and "\n" not in str(err.value)


def test_models_geoagb_fit_writes_pass_the_audit_exactly():
    """Every estimator ``geoagb fit`` can write loads without trust and predicts the same; the
    allow-list holds no type these models do not use (beyond scalar and container kinds)."""
    from geoagb.datasets import make_plots
    from geoagb.kriging import ResidualKrigingRegressor
    from geoagb.workflow._fit import MODELS, make_model

    plots = make_plots(n_plots=120, random_state=0)
    X = pd.DataFrame(plots.drop(columns=["agb", "geometry"]))
    y = plots["agb"].to_numpy()
    used = set()
    fitted = [make_model(k, n_estimators=4, secondary="elevation", random_state=0) for k in MODELS]
    fitted.append(
        ResidualKrigingRegressor(
            make_model("xgboost", n_estimators=4, random_state=0), method="ordinary"
        )
    )
    for m in fitted:
        Xm = X if isinstance(m, ResidualKrigingRegressor) else X.drop(columns=["x", "y"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the variogram of 120 random plots is not identified
            m.fit(Xm, y)
        blob = sio.dumps(m)
        used |= set(audit_skops(blob))
        back = load_skops(blob)
        np.testing.assert_array_equal(back.predict(Xm), m.predict(Xm))
    objects = GEOAGB_TYPES["ObjectNode"]
    unused = (
        objects
        - used
        - {
            "geoagb.kriging._ok.OrdinaryKriging",  # OrdinaryKriging / KrigingRegressor alone
            "geoagb.kriging._regressor.KrigingRegressor",
            "geoagb.base.DropCoordinates",
        }
    )
    assert unused == set(), unused
