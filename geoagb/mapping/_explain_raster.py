"""SHAP maps: per-feature (or per-group) contributions to the AGB prediction, wall to wall.

For every mapped cell the features are computed as in :func:`predict_raster` and explained with
:func:`geoagb.explain.explain`; band ``j`` of the output holds the SHAP value (Mg/ha) of feature
``j`` (or the sum over a group of features: SHAP values are additive, so a group's value is the
contribution of the whole group). The bands plus the explanation's base value add up to the
model's prediction in each cell, so the map shows *where* each driver raises or lowers AGB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .._io import check_output_path
from ..raster import as_feature_source, geotiff_profile, output_grid, plan_windows
from ._dask import check_client
from ._masks import normalize_mask
from ._predict import resolve_window_size, write_windows
from ._tabular import TabularTask

__all__ = ["explain_raster"]


def _default_explainer():
    try:
        from ..explain import explain
    except ImportError as err:  # pragma: no cover - the explain sub-package ships with geoagb
        raise ImportError(
            "explain_raster needs geoagb.explain.explain; pass explainer=<callable(estimator, X)> "
            "returning an object with .values (n x p) and .feature_names."
        ) from err
    return explain


class ExplainTask(TabularTask):
    """Window task writing explanation values instead of predictions."""

    def __init__(
        self,
        estimator,
        source,
        *,
        grid,
        mask_items,
        explainer,
        groups=None,
        explain_kw=None,
        nodata=np.nan,
        feature_names=None,
    ):
        super().__init__(
            estimator,
            source,
            grid,
            mask_items,
            return_std=False,
            nodata=nodata,
            feature_names=feature_names,
        )
        self.explainer = explainer
        self.groups = groups
        self.explain_kw = dict(explain_kw or {})
        self.band_names: list[str] = []
        self._index: list[np.ndarray] = []
        self.base_value = None

    @property
    def bytes_per_cell(self) -> float:
        # SHAP values (and, for trees, the path bookkeeping) cost several times the features
        return super().bytes_per_cell + 8.0 * 8 * len(self.columns)

    def explain(self, X):
        ex = self.explainer(self.estimator, X, **self.explain_kw)
        values = np.asarray(ex.values, dtype=float)
        if values.ndim != 2 or values.shape[0] != len(X):
            raise ValueError(
                f"the explainer returned values of shape {values.shape} for {len(X)} cells; it must "
                "return an object whose .values has shape (n_cells, n_features)."
            )
        return ex, values

    def set_names(self, feature_names: Sequence[str]) -> None:
        """Fix the output bands from the explanation's feature names and the groups."""
        names = [str(n) for n in feature_names]
        if self.groups is None:
            self.band_names = names
            self._index = [np.array([i]) for i in range(len(names))]
        else:
            used: set[str] = set()
            bands, index = [], []
            for g, members in self.groups.items():
                members = [members] if isinstance(members, str) else list(members)
                missing = [m for m in members if m not in names]
                if missing:
                    raise ValueError(
                        f"group {g!r} lists {missing}, which the explanation does not have "
                        f"(its features: {names})."
                    )
                dup = used.intersection(members)
                if dup:
                    raise ValueError(
                        f"features {sorted(dup)} are in more than one group; groups must not overlap."
                    )
                used.update(members)
                bands.append(str(g))
                index.append(np.array([names.index(m) for m in members]))
            rest = [i for i, n in enumerate(names) if n not in used]
            if rest:
                bands.append("other")
                index.append(np.array(rest))
            self.band_names, self._index = bands, index
        self.units = ["Mg/ha"] * len(self.band_names)
        self.feature_names = names

    def predict(self, X):
        ex, values = self.explain(X)
        if list(map(str, ex.feature_names)) != self.feature_names:
            raise RuntimeError(
                f"the explainer returned features {list(ex.feature_names)} in one window and "
                f"{self.feature_names} in another; it must be deterministic."
            )
        return [values[:, idx].sum(axis=1) for idx in self._index]


def explain_raster(
    estimator,
    features,
    out_path,
    *,
    resolution: float | None = None,
    groups: Mapping[str, Sequence[str]] | None = None,
    mask=None,
    window_size: int | None = None,
    client=None,
    nodata: float = np.nan,
    memory_mb: float = 512.0,
    progress: bool | None = None,
    explainer: Callable | None = None,
    feature_names: Sequence[str] | None = None,
    **explain_kw,
) -> Path:
    """Write SHAP rasters: one band per feature (or per group of features), Mg/ha.

    Parameters
    ----------
    estimator : fitted tabular estimator (or residual kriging)
    features : RasterFeatures, path, list of paths, or dict name -> path
        As in :func:`predict_raster`.
    out_path : str or Path
        Multi-band GeoTIFF; band descriptions are the feature (or group) names. Written
        atomically (temporary file renamed on success).
    resolution : float, optional
        Output cell size, metres (a multiple of the input pixel size).
    groups : dict name -> list of feature names, optional
        Sum SHAP values over groups, e.g. ``{"spectral": ["ndvi", "evi"], "terrain":
        ["elevation", "slope"]}``; features in no group are summed into a band ``other``.
    mask, window_size, client, nodata, memory_mb, progress
        As in :func:`predict_raster`.
    explainer : callable, optional
        ``explainer(estimator, X, **explain_kw)`` returning an object with ``.values`` (n x p)
        and ``.feature_names``. Default :func:`geoagb.explain.explain`.
    feature_names : sequence of str, optional
        Names of the fitted columns of a model fitted on a bare array, in order; as in
        :func:`predict_raster`.
    **explain_kw
        Passed to the explainer (e.g. ``background=``).

    Returns
    -------
    Path
        ``out_path``. The explanation's base value, when it has one, is stored in the tag
        ``geoagb_base_value``: base value + sum of the bands = the model's prediction.
    """
    check_output_path(out_path)  # a folder / missing folder is refused before any work
    explainer = _default_explainer() if explainer is None else explainer
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    source = as_feature_source(features)
    grid = output_grid(source.grid, resolution)
    task = ExplainTask(
        estimator,
        source,
        grid=grid,
        mask_items=normalize_mask(mask, grid),
        explainer=explainer,
        groups=groups,
        explain_kw=explain_kw,
        nodata=nodata,
        feature_names=feature_names,
    )
    if client is not None:
        check_client(client)
    size = resolve_window_size(task, window_size, memory_mb)
    windows = plan_windows(grid.width, grid.height, size)
    # learn the output bands from a small explanation of the first cells that have data
    for win in windows:
        valid, X = task.cells(task.read(win))
        if X is not None:
            ex, _ = task.explain(X.iloc[:2] if hasattr(X, "iloc") else X[:2])
            task.set_names(ex.feature_names)
            base = getattr(ex, "base_values", getattr(ex, "expected_value", None))
            if base is not None:
                task.base_value = float(np.mean(base))
            break
    else:
        raise ValueError(
            "no cell of the raster has valid features inside the mask; nothing to explain."
        )
    tags = dict(
        geoagb_product="SHAP values",
        geoagb_estimator=type(estimator).__name__,
        geoagb_resolution_m=grid.resolution,
    )
    if task.base_value is not None:
        tags["geoagb_base_value"] = task.base_value
    profile = geotiff_profile(grid, len(task.band_names), nodata, window_size=size)
    return write_windows(
        task,
        windows,
        out_path,
        profile,
        tags,
        memory_mb=memory_mb,
        client=client,
        progress=progress,
        desc="explain_raster",
    )
