"""``explain(estimator, X)``: pick the right SHAP algorithm for a fitted model.

Dispatch, in order:

1. residual kriging (anything with ``predict_residual``, ``learner_features`` and, once fitted,
   ``estimator_``): the learner's explanation plus one additive term ``spatial_residual``;
2. patch networks (``geoagb.deep``, anything with ``_explain_patches``): integrated gradients
   summed per band;
3. scikit-learn ``Pipeline``: TreeSHAP on the final tree model when every earlier step transforms
   each column on its own (scalers, imputers, quantile / power transforms), else model-agnostic
   SHAP over ``pipeline.predict``; both in terms of the pipeline's input features;
4. XGBoost: its own TreeSHAP (``pred_contribs``), interaction values by exact leaf tables on the
   CPU or ``pred_interactions`` on a cuda booster;
5. other tree models shap can read (random forests, extra trees, gradient boosting, LightGBM,
   CatBoost, ...): ``shap.TreeExplainer``;
6. anything else with ``predict``: shap's Exact (p <= 10) or Permutation explainer over a
   background sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ..base import DropCoordinates
from ._agnostic import agnostic_shap, background_sample
from ._explanation import Explanation
from ._tree import is_xgboost, shap_tree_explainer, tree_explainer_or_none, xgboost_tree_shap

__all__ = ["explain"]

_ELEMENTWISE = (
    "StandardScaler",
    "MinMaxScaler",
    "MaxAbsScaler",
    "RobustScaler",
    "QuantileTransformer",
    "PowerTransformer",
)


def _check_fitted(estimator):
    import xgboost

    if isinstance(estimator, xgboost.Booster):
        return
    if not hasattr(estimator, "predict"):
        raise TypeError(
            f"{type(estimator).__name__} has no predict method; explain needs a fitted "
            "regressor (XGBRegressor, RandomForestRegressor, ResidualKrigingRegressor, ...)."
        )
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        raise NotFittedError(
            f"This {type(estimator).__name__} is not fitted yet: call .fit(X, y) before explain()."
        ) from None
    except (TypeError, AttributeError):  # not a scikit-learn estimator: trust it
        pass


def _fitted_names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    if names is None:
        try:
            import xgboost

            if isinstance(estimator, xgboost.Booster):
                names = estimator.feature_names
        except ImportError:  # pragma: no cover
            pass
    return None if names is None else [str(c) for c in names]


def _as_frame(estimator, X) -> pd.DataFrame:
    """X as a numeric DataFrame whose columns are exactly the fitted features, in order."""
    fitted = _fitted_names(estimator)
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is None:
        try:
            import xgboost

            if isinstance(estimator, xgboost.Booster):
                n_in = estimator.num_features()
        except ImportError:  # pragma: no cover
            pass
    if isinstance(X, pd.DataFrame):
        cols = [str(c) for c in X.columns]
        if fitted is not None and cols != fitted:
            missing = [c for c in fitted if c not in cols]
            extra = [c for c in cols if c not in fitted]
            what = []
            if missing:
                what.append(f"missing {missing}")
            if extra:
                what.append(f"unexpected {extra}")
            if not what:
                what.append("the same names in another order")
            raise ValueError(
                f"the columns of X do not match the features {type(estimator).__name__} was fitted on "
                f"({'; '.join(what)}). Pass exactly those columns in the fitted order, e.g. "
                f"X[{fitted[:4] + (['...'] if len(fitted) > 4 else [])}] (coordinates and geometry "
                "dropped unless the model was fitted on them)."
            )
        frame = pd.DataFrame(X, copy=True)  # a GeoDataFrame fitted with its geometry stays valid
        frame.columns = cols
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {arr.shape}.")
        names = fitted or [f"x{i}" for i in range(arr.shape[1])]
        if len(names) != arr.shape[1]:
            raise ValueError(
                f"X has {arr.shape[1]} columns but {type(estimator).__name__} was fitted "
                f"on {len(names)} features {names}."
            )
        frame = pd.DataFrame(arr, columns=names)
    if n_in is not None and frame.shape[1] != int(n_in):
        raise ValueError(
            f"X has {frame.shape[1]} features but {type(estimator).__name__} was fitted "
            f"on {n_in}; pass the columns it was fitted on."
        )
    bad = [
        c
        for c in frame.columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    if bad:
        raise ValueError(
            f"explain needs numeric features; columns {bad} are not numeric (encode "
            "them first, e.g. in a Pipeline, and explain the pipeline)."
        )
    return frame


def _no_interactions(model, p, n_bg, method):
    cost = 2.0**p * n_bg
    return ValueError(
        f"interaction values need a tree model: {type(model).__name__} is explained by {method}, "
        "which gives SHAP values only. Exact Shapley interaction values for it would take "
        f"shap.explainers.Exact(model.predict, masker)(X, interactions=2): 2**{p} coalitions x "
        f"{n_bg} background rows = {cost:.3g} model evaluations per sample. For exact, fast "
        "interaction values fit a tree model (XGBRegressor, RandomForestRegressor), or pass "
        "interactions=False."
    )


def _explain_table(
    model, frame: pd.DataFrame, interactions, background, batch_size, progress, predict=None
) -> Explanation:
    """Explain a tabular model on ``frame`` (already validated)."""
    x = frame.to_numpy(dtype=np.float64)
    inter = None
    explainer = None
    if is_xgboost(model) and background is None:
        values, base, inter, method = xgboost_tree_shap(
            model, x, list(frame.columns), interactions, batch_size, progress
        )
    elif predict is None and (explainer := tree_explainer_or_none(model)) is not None:
        if background is not None:
            if interactions:
                raise ValueError(
                    "interaction values need path-dependent TreeSHAP, which uses no "
                    "background: pass background=None (or interactions=False for "
                    "interventional TreeSHAP against your background)."
                )
            import shap

            bg = background_sample(frame, background)
            explainer = shap.TreeExplainer(
                model, data=bg.to_numpy(dtype=float), feature_perturbation="interventional"
            )
            values, base, _, method = shap_tree_explainer(explainer, x, False, batch_size, progress)
            method = f"shap.TreeExplainer (interventional, background {len(bg)} rows)"
        else:
            values, base, inter, method = shap_tree_explainer(
                explainer, x, interactions, batch_size, progress
            )
    else:
        bg = background_sample(frame, background)
        fn = predict or model.predict
        if interactions:
            raise _no_interactions(model, frame.shape[1], len(bg), "model-agnostic SHAP")
        values, base, method = agnostic_shap(
            fn, frame, bg, batch_size=batch_size, progress=progress
        )
    return Explanation(values, base, frame, inter, method=method)


def _is_elementwise(step) -> bool:
    """True for transformers that map each column to one column, on its own."""
    if step is None or step == "passthrough":
        return True
    name = type(step).__name__
    if name in _ELEMENTWISE:
        return True
    if name == "SimpleImputer":
        n_in = getattr(step, "n_features_in_", None)
        stats = getattr(step, "statistics_", None)
        return (
            not getattr(step, "add_indicator", False)
            and stats is not None
            and (getattr(step, "keep_empty_features", False) or not np.any(pd.isna(stats)))
            and n_in == len(stats)
        )
    if name == "FunctionTransformer":
        return step.func is None or isinstance(step.func, np.ufunc)
    return False


def _explain_pipeline(pipe, X, interactions, background, batch_size, progress) -> Explanation:
    check_is_fitted(pipe)

    first = pipe.steps[0][1]
    if isinstance(first, DropCoordinates) and isinstance(X, pd.DataFrame):
        # the plain-learner idiom: explain the rest on the features it sees
        rest = pipe[1:] if len(pipe.steps) > 2 else pipe.steps[-1][1]
        bg = first.transform(background) if isinstance(background, pd.DataFrame) else background
        return explain(
            rest,
            first.transform(X),
            interactions=interactions,
            background=bg,
            batch_size=batch_size,
            progress=progress,
        )
    frame = _as_frame(pipe, X)
    final = pipe.steps[-1][1]
    pre = [s for _, s in pipe.steps[:-1]]
    elementwise = all(_is_elementwise(s) for s in pre)
    is_tree = is_xgboost(final) or (elementwise and tree_explainer_or_none(final) is not None)
    if elementwise and is_tree and background is None:
        xt = pipe[:-1].transform(frame) if pre else frame
        xt = pd.DataFrame(np.asarray(xt, dtype=float), columns=frame.columns, index=frame.index)
        inner = _explain_table(final, xt, interactions, None, batch_size, progress)
        steps = " -> ".join(type(s).__name__ for s in pre) or "no transform"
        return Explanation(
            inner.values,
            inner.base_values,
            frame,
            inner.interaction_values,
            method=f"{inner.method} on the final step ({steps}: one column each)",
        )
    ex = _explain_table(
        pipe, frame, interactions, background, batch_size, progress, predict=pipe.predict
    )
    ex.method += " over pipeline.predict"
    return ex


def _explain_kriging(
    rk, X, interactions, background, batch_size, progress, **kwargs
) -> Explanation:
    """Learner SHAP values plus the kriged residual as one more additive term."""
    if not (hasattr(rk, "estimator_") or hasattr(rk, "kriger_")):
        raise NotFittedError(
            f"This {type(rk).__name__} is not fitted yet: call .fit(X, y) before explain()."
        )
    if getattr(rk, "estimator_", None) is None:
        if hasattr(rk, "kriger_"):  # kriging alone (no drift): the whole prediction is spatial
            resid = np.asarray(rk.predict_residual(X), dtype=np.float64).reshape(-1)
            data = pd.DataFrame(
                {"spatial_residual": resid}, index=X.index if isinstance(X, pd.DataFrame) else None
            )
            inter = resid[:, None, None].copy() if interactions else None
            return Explanation(
                resid[:, None],
                np.zeros(len(resid)),
                data,
                inter,
                method="kriging alone: the prediction is the spatial term",
            )
        raise NotFittedError(
            f"This {type(rk).__name__} is not fitted yet: call .fit(X, y) before explain()."
        )
    xl = rk.learner_features(X)
    bg = background
    if (
        isinstance(background, pd.DataFrame)
        and isinstance(X, pd.DataFrame)
        and list(background.columns) == list(X.columns)
    ):  # background given like X: map it
        bg = rk.learner_features(background)
    inner = explain(
        rk.estimator_,
        xl,
        interactions=interactions,
        background=bg,
        batch_size=batch_size,
        progress=progress,
        **kwargs,
    )
    if "spatial_residual" in inner.feature_names:
        raise ValueError(
            "a learner feature is named 'spatial_residual', the name of the kriged-residual "
            "term; rename that feature."
        )
    resid = np.asarray(rk.predict_residual(X), dtype=np.float64).reshape(-1)
    n, p = inner.values.shape
    if resid.shape[0] != n:
        raise ValueError(f"predict_residual returned {resid.shape[0]} values for {n} samples.")
    data = inner.data.copy()
    data.index = X.index if isinstance(X, pd.DataFrame) else data.index
    if not np.any(resid):  # no correction: no spatial term, rather than a zero-importance feature
        return Explanation(
            inner.values,
            inner.base_values,
            data,
            inner.interaction_values,
            method=f"{inner.method} (residual kriging decided no correction: no spatial_residual "
            "term, the prediction is the learner's)",
            groups=inner.groups,
            unit=inner.unit,
        )
    values = np.column_stack([inner.values, resid])
    data["spatial_residual"] = resid
    inter = None
    if inner.interaction_values is not None:
        inter = np.zeros((n, p + 1, p + 1), dtype=inner.interaction_values.dtype)
        inter[:, :p, :p] = inner.interaction_values
        inter[:, p, p] = resid
    return Explanation(
        values,
        inner.base_values,
        data,
        inter,
        method=f"{inner.method} + kriged residual (spatial_residual)",
        groups=None if inner.groups is None else {**inner.groups, "spatial": ["spatial_residual"]},
        unit=inner.unit,
    )


def _explain_patches(model, X, interactions, background, batch_size, **kwargs) -> Explanation:
    if interactions:
        raise ValueError(
            f"{type(model).__name__} is explained by integrated gradients summed per band, which give "
            "no interaction values. Exact Shapley interactions between its C bands would need "
            "2**C masked forward passes per patch (e.g. shap.explainers.Exact over band masks); "
            "pass interactions=False."
        )
    if background is not None:
        kwargs.setdefault("baseline", background)
    if batch_size is not None:
        kwargs.setdefault("batch_size", batch_size)
    out = model._explain_patches(X, **kwargs)
    bands = list(out["bands"])
    data = getattr(X, "data", None)
    if data is not None:
        arr = np.asarray(data, dtype=float)
        means = np.nanmean(arr.reshape(arr.shape[0], arr.shape[1], -1), axis=2)
        pos = {b: i for i, b in enumerate(getattr(X, "bands", bands))}
        frame = pd.DataFrame(means[:, [pos[b] for b in bands]], columns=bands)
    else:  # pragma: no cover - PatchSet always has data
        frame = pd.DataFrame(np.full((len(out["prediction"]), len(bands)), np.nan), columns=bands)
    groups = None
    branch_attr = out.get("branch_attributions")
    if hasattr(model, "_branches"):  # the network's branches: imagery, crown, height
        groups = {k: [b for b in v if b in bands] for k, v in model._branches().items()}
    values = out["band_attributions"].to_numpy(dtype=float)
    ex = Explanation(
        values,
        out["baseline_prediction"],
        frame,
        None,
        method=f"{out.get('method', 'integrated_gradients')} summed per band "
        f"({out.get('n_steps', '?')} steps), band means as data",
        groups=groups,
        extra={
            "delta": np.asarray(out["delta"]),
            "prediction": out["prediction"],
            "branch_attributions": branch_attr,
        },
    )
    return ex


def explain(
    estimator,
    X,
    interactions: bool = False,
    background=None,
    batch_size: int | None = None,
    *,
    progress: bool | None = None,
    **kwargs,
) -> Explanation:
    """SHAP explanation of a fitted model on samples ``X``.

    Parameters
    ----------
    estimator : fitted model
        XGBoost (``XGBRegressor`` or ``Booster``), a scikit-learn tree ensemble, any regressor
        with ``predict``, a ``Pipeline``, a ``geoagb.kriging.ResidualKrigingRegressor`` or a
        ``geoagb.deep`` patch network.
    X : DataFrame, array or PatchSet
        The samples, with the columns the model was fitted on (for residual kriging: what its
        ``predict`` takes, coordinates included).
    interactions : bool, default False
        Also compute SHAP interaction values (n x p x p, float32) with TreeSHAP; tree models only.
    background : None, int or DataFrame
        Model-agnostic explainers: the background data (None: 100 rows sampled from ``X``; an int:
        that many). Tree models: None gives path-dependent TreeSHAP (exact; interactions
        available); data gives interventional TreeSHAP against it. Patch networks: the baseline
        (``"mean"``, ``"zeros"`` or one value per band).
    batch_size : int, optional
        Rows per batch; bounds working memory (default: about 64 MB per batch for interactions).
    progress : bool or None, default None
        Show tqdm progress bars over batches. ``None``: only when stderr is a terminal.
    **kwargs
        Patch networks only: passed to their attribution (e.g. ``n_steps``).

    Returns
    -------
    Explanation
        ``base_values + values.sum(1)`` equals the model's prediction (XGBoost: its margin
        output, the prediction for regression) to float32 rounding (about 1e-6 relative) for
        XGBoost and to float64 rounding otherwise; rows of the interaction values sum to the SHAP
        values. For residual kriging the last column, ``spatial_residual``, is the kriged
        residual, so values still sum to ``predict(X)``; it is left out (``method`` says so)
        when the kriged residual is zero everywhere (residual kriging decided no correction).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    ValueError
        Columns of ``X`` that differ from the fitted features; interactions asked of a model
        that cannot give them (the message names the explainer that could, and its cost).

    References
    ----------
    Lundberg, S. M. and Lee, S.-I. (2017). A unified approach to interpreting model predictions.
    NeurIPS. Lundberg, S. M. et al. (2020). From local explanations to global understanding with
    explainable AI for trees. Nature Machine Intelligence 2, 56-67. Estimation of urban
    above-ground vegetation carbon density and analysis of topography-modulated spectral
    responses in Shenzhen, China. Remote Sensing, 2026 (SHAP and SHAP interaction analysis of an
    XGBoost carbon-density model).

    Examples
    --------
    >>> import numpy as np
    >>> from xgboost import XGBRegressor
    >>> from geoagb.datasets import make_plots, PLOT_FEATURES
    >>> plots = make_plots(200, random_state=0)
    >>> X, y = plots[PLOT_FEATURES], plots["agb"]
    >>> model = XGBRegressor(n_estimators=50, max_depth=3, n_jobs=1, random_state=0).fit(X, y)
    >>> ex = explain(model, X)
    >>> bool(np.allclose(ex.prediction, model.predict(X), atol=1e-3))
    True
    """
    if hasattr(estimator, "predict_residual") and hasattr(estimator, "learner_features"):
        return _explain_kriging(
            estimator, X, interactions, background, batch_size, progress, **kwargs
        )
    if hasattr(estimator, "_explain_patches"):
        _check_fitted(estimator)
        return _explain_patches(estimator, X, interactions, background, batch_size, **kwargs)
    if kwargs:
        raise TypeError(
            f"explain() got unexpected keyword argument(s) {sorted(kwargs)} "
            "(only patch networks take extra options)."
        )
    _check_fitted(estimator)
    if hasattr(estimator, "steps") and hasattr(estimator, "named_steps"):
        return _explain_pipeline(estimator, X, interactions, background, batch_size, progress)
    frame = _as_frame(estimator, X)
    return _explain_table(estimator, frame, interactions, background, batch_size, progress)
