"""TreeSHAP for tree models: XGBoost's own, shap's TreeExplainer, and the leaf-table path.

Each function takes the model, the samples as a float array ``(n, p)`` already checked against the
fitted features, and returns ``(values (n, p) float64, base (n,) float64, interactions or None,
method)``. Everything is computed in row batches so that working memory stays bounded.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from .._progress import show_progress
from ._ensemble import Unsupported, leaf_paths_from_xgboost

__all__ = ["is_xgboost", "xgboost_tree_shap", "shap_tree_explainer", "tree_explainer_or_none"]

#: Rows per batch for SHAP values when not given (n x p float32 per batch).
_VALUES_BATCH = 50_000


def is_xgboost(model) -> bool:
    """True for an ``xgboost.XGBModel`` (XGBRegressor, ...) or an ``xgboost.Booster``."""
    try:
        import xgboost
    except ImportError:  # pragma: no cover
        return False
    return isinstance(model, (xgboost.XGBModel, xgboost.Booster))


def _booster(model):
    import xgboost

    return model if isinstance(model, xgboost.Booster) else model.get_booster()


def _iteration_range(model):
    """What ``predict`` uses: the best iteration after early stopping, else all trees."""
    try:
        best = model.best_iteration
    except AttributeError:
        best = None
    return (0, int(best) + 1) if best is not None else (0, 0)


def booster_device(booster) -> str:
    """The booster's ``device`` parameter ("cpu", "cuda", "cuda:0", ...)."""
    try:
        cfg = json.loads(booster.save_config())
        return str(cfg["learner"]["generic_param"].get("device", "cpu"))
    except Exception:  # pragma: no cover - config layout of other versions
        return "cpu"


def _dmatrix(x, model, names):
    import xgboost

    missing = getattr(model, "missing", np.nan)
    nthread = getattr(model, "n_jobs", None)
    return xgboost.DMatrix(
        x,
        missing=np.nan if missing is None else missing,
        feature_names=names,
        nthread=-1 if nthread is None else nthread,
    )


def _batches(n, size, progress, desc):
    starts = range(0, n, max(int(size), 1))
    if show_progress(progress) and len(starts) > 1:
        from tqdm.auto import tqdm

        return tqdm(starts, desc=desc, unit="batch")
    return starts


def _native_interactions(booster, model, x, names, it, batch_size, progress):
    n, p = x.shape
    if batch_size is None:
        batch_size = max(1, (64 << 20) // (4 * (p + 1) ** 2))
    values = np.empty((n, p), dtype=np.float64)
    base = np.empty(n, dtype=np.float64)
    inter = np.empty((n, p, p), dtype=np.float32)
    for s in _batches(n, batch_size, progress, "SHAP interactions (xgboost)"):
        phi = booster.predict(
            _dmatrix(x[s : s + batch_size], model, names),
            pred_interactions=True,
            iteration_range=it,
            validate_features=False,
        )
        if phi.ndim != 3:
            raise ValueError(
                "explain supports single-output models; this XGBoost model has "
                f"{phi.shape[1]} outputs. Explain one output at a time."
            )
        m = phi.shape[0]
        inter[s : s + m] = phi[:, :-1, :-1]
        values[s : s + m] = phi[:, :-1, :].sum(
            axis=2, dtype=np.float64
        )  # rows include the bias column
        base[s : s + m] = phi[:, -1, -1]
    return values, base, inter


def xgboost_tree_shap(
    model, x, names, interactions=False, batch_size=None, progress=False, algorithm="auto"
):
    """Path-dependent TreeSHAP of an XGBoost model, in its margin (raw) output.

    SHAP values come from ``Booster.predict(pred_contribs=True)`` (multithreaded; on the GPU
    when the booster's ``device`` is cuda, which is kept). Interaction values come from the
    exact leaf-table algorithm of :mod:`._interactions` on the CPU, or from
    ``pred_interactions=True`` on a cuda booster, for models the leaf tables cannot represent
    (DART, categorical splits, paths with more than 10 distinct features), or with
    ``algorithm="xgboost"``.
    """
    booster = _booster(model)
    it = _iteration_range(model)
    n, p = x.shape
    device = booster_device(booster)
    method = "xgboost TreeSHAP (pred_contribs)"
    if interactions:
        paths = None
        reason = None
        if algorithm not in ("auto", "leaf_tables", "xgboost"):
            raise ValueError(
                f"algorithm={algorithm!r} is not one of ['auto', 'leaf_tables', 'xgboost']."
            )
        if algorithm != "xgboost" and not device.startswith("cuda"):
            from ._interactions import HAVE_NUMBA, MAX_UNIQUE_FEATURES

            try:
                if not HAVE_NUMBA:  # pragma: no cover
                    raise Unsupported("numba is not installed")
                paths = leaf_paths_from_xgboost(booster, it)
                if paths.max_unique > MAX_UNIQUE_FEATURES:
                    raise Unsupported(
                        f"paths with {paths.max_unique} distinct features "
                        f"(more than {MAX_UNIQUE_FEATURES})"
                    )
            except Unsupported as exc:
                paths, reason = None, str(exc)
                if algorithm == "leaf_tables":
                    raise ValueError(
                        f"the leaf-table algorithm cannot explain this model: {reason}; "
                        "use algorithm='auto' or 'xgboost'."
                    ) from None
        if paths is not None:
            from ._interactions import leaf_table_interactions

            values, inter = leaf_table_interactions(
                paths, x, batch_size=batch_size, progress=progress
            )
            bias = booster.predict(
                _dmatrix(x[:1], model, names),
                pred_contribs=True,
                iteration_range=it,
                validate_features=False,
            )[0, -1]
            return (
                values,
                np.full(n, float(bias)),
                inter,
                "TreeSHAP interactions (leaf tables) + xgboost bias",
            )
        if reason is not None:
            warnings.warn(
                f"SHAP interactions through XGBoost's pred_interactions (about {2 * p} times "
                f"the cost of SHAP values) because the fast path does not support {reason}.",
                UserWarning,
                stacklevel=3,
            )
        values, base, inter = _native_interactions(
            booster, model, x, names, it, batch_size, progress
        )
        return values, base, inter, f"xgboost TreeSHAP (pred_interactions, {device})"
    if batch_size is None:
        batch_size = _VALUES_BATCH
    values = np.empty((n, p), dtype=np.float64)
    base = np.empty(n, dtype=np.float64)
    for s in _batches(n, batch_size, progress, "SHAP values (xgboost)"):
        c = booster.predict(
            _dmatrix(x[s : s + batch_size], model, names),
            pred_contribs=True,
            iteration_range=it,
            validate_features=False,
        )
        if c.ndim != 2:
            raise ValueError(
                "explain supports single-output models; this XGBoost model has "
                f"{c.shape[1]} outputs. Explain one output at a time."
            )
        values[s : s + c.shape[0]] = c[:, :-1]
        base[s : s + c.shape[0]] = c[:, -1]
    return values, base, None, f"{method}, {device}"


def tree_explainer_or_none(model):
    """``shap.TreeExplainer(model)`` (path-dependent), or None when shap has no tree parser for it."""
    import shap

    try:
        return shap.TreeExplainer(model)
    except Exception as exc:  # shap raises InvalidModelError (private module) for non-tree models
        if type(exc).__name__ == "InvalidModelError":
            return None
        raise


def shap_tree_explainer(explainer, x, interactions=False, batch_size=None, progress=False):
    """SHAP (interaction) values from a path-dependent ``shap.TreeExplainer``, in batches."""
    n, p = x.shape
    values = np.empty((n, p), dtype=np.float64)
    inter = np.empty((n, p, p), dtype=np.float32) if interactions else None
    if batch_size is None:
        batch_size = max(1, (64 << 20) // (8 * (p + 1) ** 2)) if interactions else _VALUES_BATCH
    for s in _batches(n, batch_size, progress, "SHAP (shap.TreeExplainer)"):
        xb = x[s : s + batch_size]
        if interactions:
            phi = np.asarray(explainer.shap_interaction_values(xb))
            if phi.ndim != 3:
                raise ValueError(
                    "explain supports single-output models; shap returned interaction "
                    f"values of shape {phi.shape}. Explain one output at a time."
                )
            inter[s : s + xb.shape[0]] = phi
            values[s : s + xb.shape[0]] = phi.sum(axis=2)
        else:
            v = np.asarray(explainer.shap_values(xb, check_additivity=True))
            if v.ndim != 2:
                raise ValueError(
                    "explain supports single-output models; shap returned values of "
                    f"shape {v.shape}. Explain one output at a time."
                )
            values[s : s + xb.shape[0]] = v
    ev = np.ravel(np.asarray(explainer.expected_value, dtype=float))
    if ev.size != 1:
        raise ValueError(f"explain supports single-output models; this one has {ev.size} outputs.")
    return values, np.full(n, ev[0]), inter, "shap.TreeExplainer (path-dependent TreeSHAP)"
