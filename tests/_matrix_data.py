"""Tiny data and estimator factories for the integration matrix (``test_integration_matrix.py``).

Everything here is small on purpose (90 plots, 6 features, 12 boosted trees, 8 forest trees,
3 folds, 1-epoch networks on 8 x 8 patches): the matrix checks that the pieces compose, not
that the models are good.

Input kinds (how the same plots reach an estimator):

* ``gdf``: a GeoDataFrame whose only coordinates are its point geometry (no x / y columns);
* ``df``: a plain DataFrame with ``x`` and ``y`` columns (the default names);
* ``utm@cv`` / ``utm@fn`` / ``utm@est``: a DataFrame whose coordinates are ``x_utm`` and
  ``y_utm``, named once: on the splitter, on the function call, or on the estimator;
* ``utm``: the same DataFrame in plain scikit-learn code, where nothing propagates names, so
  the splitter and the estimator (or ``DropCoordinates``) both name them;
* ``array``: plain arrays; the splitter gets ``coords=<(n, 2) array>``; plain learners get the
  features only, coordinate-aware estimators get ``[x, y, features...]`` with ``coords=(0, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

N_PLOTS = 60
FEATURES = ["ndvi", "evi", "elevation", "slope", "height_mean", "crown_cover"]
UTM = ("x_utm", "y_utm")
BLOCK = 15_000.0  # metres; the plots span about 57 km, so about 16 blocks for 3 folds
N_SPLITS = 3
SEED = 0


# ---------------------------------------------------------------------------------- plots
@cache
def plots():
    from geoagb.datasets import make_plots

    return make_plots(N_PLOTS, random_state=SEED)


def target() -> np.ndarray:
    return plots()["agb"].to_numpy(dtype=float)


def xy() -> np.ndarray:
    return plots()[["x", "y"]].to_numpy(dtype=float)


@dataclass(frozen=True)
class Kind:
    name: str
    frame: str  # "gdf", "df", "utm" or "array"
    cv_names: tuple | None = None  # coordinate names given to the splitter
    fn_names: tuple | None = None  # ... to spatial_cross_validate / block_size_sensitivity
    est_names: tuple | None = None  # ... to the coordinate-aware estimator / DropCoordinates

    @property
    def is_array(self) -> bool:
        return self.frame == "array"

    @property
    def coord_names(self) -> tuple:
        """The coordinate column names of this kind's frame (geometry for a GeoDataFrame)."""
        return {"df": ("x", "y"), "utm": UTM}.get(self.frame, ())


KINDS = {
    k.name: k
    for k in [
        Kind("gdf", "gdf"),
        Kind("df", "df"),
        Kind("utm@cv", "utm", cv_names=UTM),
        Kind("utm@fn", "utm", fn_names=UTM),
        Kind("utm@est", "utm", est_names=UTM),
        Kind("utm", "utm", cv_names=UTM, est_names=UTM),  # plain scikit-learn: name both
        Kind("array", "array"),
    ]
}


def X_for(kind: Kind, aware: bool):
    """The samples of ``kind``; ``aware``: for a coordinate-aware estimator (array: with x, y)."""
    p = plots()
    if kind.frame == "gdf":
        return p[FEATURES + ["geometry"]].copy()
    if kind.frame == "df":
        return pd.DataFrame(p[["x", "y"] + FEATURES])
    if kind.frame == "utm":  # coordinates last, under other names
        return pd.DataFrame(p[FEATURES + ["x", "y"]]).rename(columns={"x": UTM[0], "y": UTM[1]})
    F = p[FEATURES].to_numpy(dtype=float)
    return np.column_stack([xy(), F]) if aware else F


def col(kind: Kind, name: str):
    """How an estimator of ``kind`` names column ``name`` (a position for arrays)."""
    return 2 + FEATURES.index(name) if kind.is_array else name


def splitter(kind: Kind, n_splits=N_SPLITS, block_size=BLOCK):
    from geoagb.model_selection import SpatialBlockKFold

    coords = xy() if kind.is_array else kind.cv_names
    return SpatialBlockKFold(
        n_splits=n_splits, block_size=block_size, random_state=SEED, coords=coords
    )


# ---------------------------------------------------------------------------------- estimators
RK_METHODS = ["auto", "simple", "ordinary", "cokriging", "cokriging_full"]
PLAIN = ["xgb", "rf"]
AWARE = [f"rk-{m}" for m in RK_METHODS] + ["kr", "kr-drift"]
TABULAR = PLAIN + AWARE


def xgb():
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=12, max_depth=3, learning_rate=0.3, n_jobs=1, random_state=SEED
    )


def rf():
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=8, max_depth=6, n_jobs=1, random_state=SEED)


def make_estimator(key: str, kind: Kind, *, wrap: bool = False):
    """Estimator ``key`` set up for input ``kind``.

    ``wrap=True`` (plain scikit-learn code): a plain learner on a DataFrame becomes
    ``make_pipeline(DropCoordinates(coords=...), learner)``; on an array it stays bare (the
    array holds no coordinates). Coordinate-aware estimators are never wrapped.
    """
    from sklearn.pipeline import make_pipeline

    from geoagb.base import DropCoordinates
    from geoagb.kriging import KrigingRegressor, ResidualKrigingRegressor

    coords = (0, 1) if kind.is_array else kind.est_names
    if key in PLAIN:
        learner = xgb() if key == "xgb" else rf()
        if wrap and not kind.is_array:
            names = kind.est_names or kind.cv_names
            return make_pipeline(DropCoordinates(coords=names), learner)
        return learner
    if key.startswith("rk-"):
        m = key[3:]
        secondary = col(kind, "elevation") if m.startswith("cokriging") else None
        return ResidualKrigingRegressor(
            xgb(),
            method=m,
            secondary=secondary,
            n_neighbors=16,
            cv=3,
            coords=coords,
            random_state=SEED,
        )
    if key == "kr":
        return KrigingRegressor(n_neighbors=16, coords=coords, random_state=SEED)
    if key == "kr-drift":
        return KrigingRegressor(
            n_neighbors=16, drift=col(kind, "elevation"), coords=coords, random_state=SEED
        )
    raise KeyError(key)


def grid_for(key: str, model) -> dict:
    """A 2-candidate grid whose second candidate is the factory's default."""
    from sklearn.pipeline import Pipeline

    prefix = f"{model.steps[-1][0]}__" if isinstance(model, Pipeline) else ""
    if key == "xgb":
        return {f"{prefix}max_depth": [2, 3]}
    if key == "rf":
        return {f"{prefix}max_depth": [3, 6]}
    return {"n_neighbors": [8, 16]}


DEFAULT_CANDIDATE = 1  # index of the factory's own parameters in grid_for's lists


def learner_of(est):
    """The fitted plain learner inside ``est`` (None for kriging alone)."""
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        est = est.steps[-1][1]
    if type(est).__name__ == "KrigingRegressor":  # kriging alone (its trend is no learner)
        return None
    if hasattr(est, "learner_features"):  # residual kriging (not a forest's estimator_ template)
        return est.estimator_
    if hasattr(est, "kriger_"):
        return None
    return est


# ---------------------------------------------------------------------------------- rasters
def tabular_stack(path, res=6_000.0, shape=(10, 10), x0=500_000.0, y0=2_810_000.0):
    """A float32 GeoTIFF of the FEATURES whose first N_PLOTS cells hold the plots' features
    (row-major) and the rest NaN; returns ``(path, cells)`` where ``cells`` is the DataFrame
    ``x, y, FEATURES`` of the valid cells (cell centres, float32 values as float64)."""
    import rasterio
    from rasterio.transform import from_origin

    h, w = shape
    F = plots()[FEATURES].to_numpy(dtype=np.float32)
    arr = np.full((len(FEATURES), h * w), np.nan, dtype=np.float32)
    arr[:, : len(F)] = F.T
    arr = arr.reshape(len(FEATURES), h, w)
    prof = dict(
        driver="GTiff",
        width=w,
        height=h,
        count=len(FEATURES),
        dtype="float32",
        crs="EPSG:32648",
        transform=from_origin(x0, y0, res, res),
        nodata=np.nan,
    )
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(arr)
        ds.descriptions = tuple(FEATURES)
    r, c = np.divmod(np.arange(len(F)), w)
    cells = pd.DataFrame({"x": x0 + (c + 0.5) * res, "y": y0 - (r + 0.5) * res})
    for j, name in enumerate(FEATURES):
        cells[name] = F[:, j].astype(np.float64)
    return str(path), cells, (r, c)


# ---------------------------------------------------------------------------------- deep
DEEP_TINY = {
    "CSMFNetRegressor": dict(width=4, n_stages=2, d_k=8, head=(16,)),
    "PatchResNetRegressor": dict(width=4, n_stages=2, head=(16,)),
    "CNNTransformerRegressor": dict(
        width=4, d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, head=(16,)
    ),
    "AlexNetRegressor": dict(width=4, head=(16,)),
    "VGGRegressor": dict(width=4, head=(16,)),
    "PixelMLPRegressor": dict(head=(16,)),
}
DEEP_N = 36
DEEP_SIZE = 8
DEEP_BLOCK = 700.0  # metres; toy plots span 2 km


def make_deep(name: str, **kw):
    import geoagb.deep as deep

    params = dict(
        DEEP_TINY[name],
        max_epochs=1,
        batch_size=16,
        validation_fraction=0.0,
        patience=None,
        verbose=0,
        device="cpu",
        random_state=SEED,
    )
    params.update(kw)
    return getattr(deep, name)(**params)


@cache
def deep_data():
    from geoagb.deep._toy import toy_patches

    return toy_patches(DEEP_N, size=DEEP_SIZE, random_state=SEED)


def deep_splitter():
    from geoagb.model_selection import SpatialBlockKFold

    return SpatialBlockKFold(n_splits=N_SPLITS, block_size=DEEP_BLOCK, random_state=SEED)


def patch_scene(folder, n_side=3):
    """Rasters tiled from ``n_side**2`` toy patches (1 m pixels): an ``image`` GeoTIFF with bands
    blue, green, red, nir and single-band ``crown`` and ``height`` GeoTIFFs. Returns the sources
    dict and the PatchSet of the tiles in row-major order: at ``resolution=DEEP_SIZE`` the patch
    of output cell (i, j) is exactly tile ``i * n_side + j``."""
    import rasterio
    from rasterio.transform import from_origin

    from geoagb.deep import PatchSet

    X, _ = deep_data()
    s = DEEP_SIZE
    tiles = X.data[: n_side * n_side]
    C = tiles.shape[1]
    mosaic = np.zeros((C, n_side * s, n_side * s), np.float32)
    for k, t in enumerate(tiles):
        i, j = divmod(k, n_side)
        mosaic[:, i * s : (i + 1) * s, j * s : (j + 1) * s] = t
    x0, y0 = 500_000.0, 2_750_000.0 + n_side * s
    out = {}
    bands = list(X.bands)
    groups = {"image": bands[:4], "crown": ["crown"], "height": ["height"]}
    for name, names in groups.items():
        idx = [bands.index(b) for b in names]
        path = str(folder / f"{name}.tif")
        prof = dict(
            driver="GTiff",
            width=n_side * s,
            height=n_side * s,
            count=len(idx),
            dtype="float32",
            crs="EPSG:32648",
            transform=from_origin(x0, y0, 1.0, 1.0),
            nodata=np.nan,
        )
        with rasterio.open(path, "w", **prof) as ds:
            ds.write(mosaic[idx])
            if len(idx) > 1:
                ds.descriptions = tuple(names)
        out[name] = path
    centres = np.array(
        [[x0 + (j + 0.5) * s, y0 - (i + 0.5) * s] for i in range(n_side) for j in range(n_side)]
    )
    return out, PatchSet(
        tiles.copy(), bands=bands, coords=centres, crs="EPSG:32648", resolution=1.0
    )
