"""Bundles: a hand-built one written and read back, and the refusals of save and load."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from geoagb import __version__
from geoagb.workflow import Bundle, load_bundle, save_bundle
from geoagb.workflow._bundle import is_bundle

from .conftest import FEATURES, METRICS


def test_round_trip_keeps_every_table_and_the_model(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "rf.geoagb")
    assert path == tmp_path / "rf.geoagb" and tiny_bundle.path == path
    back = load_bundle(path)
    assert isinstance(back, Bundle) and back.path == path
    assert back.manifest == tiny_bundle.manifest
    pd.testing.assert_frame_equal(back.plots, tiny_bundle.plots)
    pd.testing.assert_frame_equal(back.qc, tiny_bundle.qc)
    pd.testing.assert_frame_equal(back.cv, tiny_bundle.cv)
    np.testing.assert_array_equal(
        back.model.predict(back.X()), tiny_bundle.model.predict(tiny_bundle.X())
    )


def test_scores_are_the_manifest_numbers(tiny_bundle):
    scores = tiny_bundle.scores()
    assert list(scores.index) == ["spatial", "random"]
    for scheme, shift in (("spatial", 0.0), ("random", 0.05)):
        for i, m in enumerate(METRICS):
            row = scores.loc[scheme]
            assert row[f"validation_{m}_mean"] == round(0.1 * (i + 1) + shift, 3)
            assert row[f"validation_{m}_sd"] == round(0.01 * (i + 1), 3)
            assert row[f"pooled_{m}"] == round(0.1 * (i + 1) + shift + 0.005, 3)
        assert row["n_folds"] == 3
    assert scores.shape == (2, 4 * len(METRICS) + 1)


def test_properties_read_the_manifest(tiny_bundle):
    b = tiny_bundle
    assert (b.target, b.unit, b.label) == ("agb", "Mg/ha", "Random forest")
    assert b.feature_names == FEATURES and b.model_columns == FEATURES
    assert b.crs.to_epsg() == 32648 and b.block_size == 500.0
    assert b.recipe == {"bands": ["red", "nir"], "indices": ["ndvi"], "terrain": ["elevation"]}
    assert list(b.X().columns) == FEATURES and len(b.X()) == 30
    assert repr(b) == (
        "Bundle(Random forest of agb (Mg/ha) on 30 plots, 2 features, spatial 3-fold CV, "
        f"500 m blocks; geoagb {__version__})"
    )


def test_save_refuses_another_suffix(tiny_bundle, tmp_path):
    with pytest.raises(ValueError) as err:
        save_bundle(tiny_bundle, tmp_path / "rf.zip")
    assert str(err.value) == (
        f"bundle path {str(tmp_path / 'rf.zip')!r} must end in .geoagb, e.g. 'rf.geoagb', so "
        "that geoagb map knows it."
    )
    assert not (tmp_path / "rf.zip").exists()


def _rewrite(src, dst, drop=(), **changes):
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w") as zo:
        for item in zi.namelist():
            if item in drop:
                continue
            data = zi.read(item)
            if item == "manifest.json" and changes:
                m = json.loads(data)
                m.update(changes)
                data = json.dumps(m)
            zo.writestr(item, data)
    return dst


def test_load_refusals_are_one_line(tiny_bundle, tmp_path):
    good = save_bundle(tiny_bundle, tmp_path / "good.geoagb")
    missing = tmp_path / "none.geoagb"
    with pytest.raises(FileNotFoundError, match="does not exist; write one with geoagb fit"):
        load_bundle(missing)
    cases = {
        "incomplete": (
            _rewrite(good, tmp_path / "a.geoagb", drop=("qc.csv", "cv.csv")),
            "is an incomplete model bundle: it lacks qc.csv, cv.csv; write it again with "
            "geoagb fit.",
        ),
        "format": (
            _rewrite(good, tmp_path / "b.geoagb", format=2),
            f"has bundle format 2; this geoagb ({__version__}) reads format 1: refit with "
            "geoagb fit.",
        ),
        "version": (
            _rewrite(good, tmp_path / "c.geoagb", geoagb_version="0.0.1"),
            f"was written by geoagb 0.0.1, this is geoagb {__version__}: features and models may "
            "differ between versions; refit with this version or install geoagb==0.0.1 to use it.",
        ),
        "field": (
            _rewrite(good, tmp_path / "d.geoagb", unit=""),
            ": manifest field unit is '' (text), expected a non-empty string; write the bundle "
            "again with geoagb fit.",
        ),
    }
    for name, (path, tail) in cases.items():
        with pytest.raises(ValueError) as err:
            load_bundle(path)
        assert str(err.value) == f"{path}{'' if tail[0] == ':' else ' '}{tail}", name
    # an old version can still be read on request
    assert load_bundle(cases["version"][0], check_version=False).unit == "Mg/ha"
    text = tmp_path / "e.geoagb"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match=r"is not a geoagb model bundle \(not a zip archive"):
        load_bundle(text)


def test_is_bundle(tiny_bundle, tmp_path):
    good = save_bundle(tiny_bundle, tmp_path / "good.geoagb")
    assert is_bundle(good) and is_bundle(tmp_path / "absent.geoagb")  # by suffix
    zipped = _rewrite(good, tmp_path / "renamed.zip")
    assert is_bundle(zipped)
    assert not is_bundle(_rewrite(good, tmp_path / "other.zip", drop=("manifest.json",)))
    (tmp_path / "plain.txt").write_text("x")
    assert not is_bundle(tmp_path / "plain.txt")
