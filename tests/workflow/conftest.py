"""A hand-built, minimal valid bundle manifest and the tiny bundle that goes with it."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from sklearn.ensemble import RandomForestRegressor

from geoagb import __version__
from geoagb.workflow import Bundle

FEATURES = ["ndvi", "elevation"]
METRICS = ("r2", "rmse", "mae", "r", "overall_bias")


def _cv_scores(shift: float) -> dict:
    """Every number the schema asks of ``cv.spatial`` / ``cv.random`` (hand-made values)."""
    out = {}
    for i, m in enumerate(METRICS):
        out[f"validation_{m}_mean"] = round(0.1 * (i + 1) + shift, 3)
        out[f"validation_{m}_sd"] = round(0.01 * (i + 1), 3)
        out[f"pooled_{m}"] = round(0.1 * (i + 1) + shift + 0.005, 3)
        out[f"train_{m}_mean"] = round(0.1 * (i + 1) + shift + 0.2, 3)
    out["n_folds"] = 3
    return out


MANIFEST = {
    "format": 1,
    "geoagb_version": __version__,
    "created": "2024-05-01T12:00:00",
    "model": {"label": "Random forest", "class": "sklearn.ensemble.RandomForestRegressor"},
    "target": "agb",
    "unit": "Mg/ha",
    "crs_wkt": CRS.from_epsg(32648).to_wkt(),
    "crs_name": "WGS 84 / UTM zone 48N",
    "feature_names": FEATURES,
    "model_columns": FEATURES,
    "recipe": {"bands": ["red", "nir"], "indices": ["ndvi"], "terrain": ["elevation"]},
    "map_resolution_m": 30.0,
    "rasters": {"sources": {"image": "image.tif", "dem": "dem.tif"}, "resolution_m": 10.0},
    "plots": {"file": "plots.csv", "n_read": 32, "n_used": 30, "n_dropped": 2},
    "qc": {"rule": "mad", "features": ["ndvi"], "threshold": 3.5},
    "block_size": {"used_m": 500.0, "given": True},
    "cv": {
        "n_splits": 3,
        "label": "spatial 3-fold CV, 500 m blocks",
        "spatial": _cv_scores(0.0),
        "random": _cv_scores(0.05),
    },
    "input_hash": "0123456789abcdef" * 4,
}


@pytest.fixture
def manifest():
    """A fresh copy of the minimal manifest that validate_manifest accepts."""
    return copy.deepcopy(MANIFEST)


@pytest.fixture(scope="module")
def tiny_bundle():
    """30 plots in UTM metres, two features, a 5-tree random forest; 2 plots dropped by QC."""
    rng = np.random.default_rng(7)
    n = 30
    plots = pd.DataFrame(
        {
            "x": 500_000.0 + rng.uniform(0, 3_000, n),
            "y": 2_800_000.0 + rng.uniform(0, 3_000, n),
            "ndvi": rng.uniform(0.2, 0.9, n).round(4),
            "elevation": rng.uniform(200, 900, n).round(1),
        },
        index=pd.Index([f"p{i:02d}" for i in range(n)], name="plot_id"),
    )
    plots["agb"] = (40 + 180 * plots["ndvi"] + 0.05 * plots["elevation"]).round(2)
    model = RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0)
    model.fit(plots[FEATURES], plots["agb"])
    plots["oof_spatial"] = model.predict(plots[FEATURES])
    plots["fold_spatial"] = np.arange(n) % 3
    qc = pd.DataFrame(
        {"reason": ["ndvi outlier", "missing feature"], "detail": ["ndvi=1.7", "elevation"]},
        index=pd.Index(["p30", "p31"], name="plot_id"),
    )
    cv = pd.DataFrame(
        {
            "scheme": ["spatial", "spatial", "random", "random"],
            "block_size": [500.0, 500.0, np.nan, np.nan],
            "fold": [0, 0, 0, 0],
            "set": ["train", "validation", "train", "validation"],
            "n": [20, 10, 20, 10],
            "r2": [0.91, 0.42, 0.93, 0.61],
            "rmse": [8.25, 21.5, 7.75, 17.125],
        }
    )
    return Bundle(model=model, manifest=copy.deepcopy(MANIFEST), plots=plots, qc=qc, cv=cv)
