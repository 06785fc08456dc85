"""Importance weights of the predictors in the dissimilarity index.

Meyer & Pebesma (2021) weight each standardised predictor by the model's importance, so that
predictors the model hardly uses do not make a location look unfamiliar. The weight is the
mean |SHAP| value (:func:`geoagb.explain.explain`), the permutation importance
(:func:`sklearn.inspection.permutation_importance`), weights given by the user, or 1 for all.
Negative weights are set to 0, as in CAST. Only ratios of weights matter: the DI is unchanged
when all weights are multiplied by the same number.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._random import seed_int
from ..explain import explain

__all__ = ["resolve_weights", "WEIGHT_RULES"]

WEIGHT_RULES = ("auto", "uniform", "shap", "permutation")


def _model_frame(model, X, names):
    cols = getattr(model, "feature_names_in_", None)
    if isinstance(X, pd.DataFrame):
        use = [str(c) for c in cols] if cols is not None else list(names)
        missing = [c for c in use if c not in X.columns]
        if missing:
            raise ValueError(
                f"the model was fitted on column(s) {missing} that X lacks; pass the "
                "training table the model was fitted on."
            )
        return X.loc[:, use]
    return np.asarray(X)


def resolve_weights(weights, names, model=None, X=None, y=None, random_state=None):
    """Weights (array aligned with ``names``) and the rule used (str).

    Parameters
    ----------
    weights : "auto", "uniform", None, "shap", "permutation", dict, Series or array
        "auto": mean |SHAP| when a model is given, else uniform. "shap" / "permutation" need the
        fitted ``model`` (and ``y`` for permutation). A dict or Series maps names to weights
        (every name needed, no other name allowed: a misspelt name is an error, not a
        predictor silently left at weight 0); an array gives one weight per name.
    names : list of str
        The predictors of the DI.
    model, X, y, random_state
        The fitted model, its training table, target, and the seed of permutation importance.

    Examples
    --------
    >>> resolve_weights({"a": 2.0, "c": 1.0}, ["a", "c"])
    (array([2., 1.]), 'given')
    """
    p = len(names)
    rule = "uniform" if weights is None else weights
    if isinstance(rule, str):
        if rule not in WEIGHT_RULES:
            raise ValueError(
                f"weights={rule!r} is not a weighting rule; use one of {list(WEIGHT_RULES)}, "
                "a dict/Series of weights by predictor name, or an array."
            )
        if rule == "auto":
            rule = "uniform" if model is None else "shap"
        if rule == "uniform":
            return np.ones(p), "uniform"
        if model is None:
            raise ValueError(
                f"weights={rule!r} needs the fitted model: fit(X, y, model=model); or "
                "use weights='uniform'."
            )
        Xm = _model_frame(model, X, names)
        if rule == "shap":
            imp = explain(model, Xm).importance()
        else:
            from sklearn.inspection import permutation_importance

            if y is None:
                raise ValueError(
                    "weights='permutation' needs the training target: fit(X, y, model=model)."
                )
            r = permutation_importance(
                model, Xm, y, n_repeats=5, random_state=seed_int(random_state)
            )
            cols = list(Xm.columns) if isinstance(Xm, pd.DataFrame) else list(names)
            imp = pd.Series(r.importances_mean, index=cols)
        imp = pd.Series(imp, dtype=float)
        unused = [n for n in names if n not in imp.index]
        if unused:
            warnings.warn(
                f"predictor(s) {unused} are not inputs of the model; their weight is 0 "
                "(pass features=... to choose the DI's predictors).",
                UserWarning,
                stacklevel=3,
            )
        w = imp.reindex(names).fillna(0.0).to_numpy(dtype=float)
    elif isinstance(rule, (dict, pd.Series)):
        s = pd.Series(rule, dtype=float)
        unknown = [k for k in s.index if k not in names]
        if unknown:
            raise ValueError(
                f"weights names {unknown}, which are not predictors of the DI; the valid names "
                f"are {list(names)}: correct the spelling, or drop the other names, e.g. "
                "weights = {k: w for k, w in weights.items() if k in valid_names}."
            )
        missing = [n for n in names if n not in s.index]
        if missing:
            raise ValueError(
                f"weights lacks predictor(s) {missing}; give a weight for each of {list(names)}."
            )
        w, rule = s.reindex(names).to_numpy(dtype=float), "given"
    else:
        w = np.asarray(rule, dtype=float).ravel()
        if w.size != p:
            raise ValueError(
                f"weights has {w.size} values for {p} predictors {list(names)}; give one each."
            )
        rule = "given"
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite numbers; got {w.tolist()}.")
    if np.any(w < 0):
        warnings.warn(
            f"negative weight(s) of {[n for n, v in zip(names, w) if v < 0]} set to 0 "
            "(as CAST does).",
            UserWarning,
            stacklevel=3,
        )
        w = np.maximum(w, 0.0)
    if not np.any(w > 0):
        raise ValueError(
            f"all weights are 0 ({dict(zip(names, w.tolist()))}); at least one predictor "
            "must count. Use weights='uniform' for equal weights."
        )
    return w, rule
