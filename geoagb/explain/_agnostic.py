"""Model-agnostic SHAP values through shap's Exact and Permutation explainers.

Used for models without a tree structure (SVR, MLP, pipelines whose steps mix features). The
game is the interventional one: features outside a coalition take values from a background
sample, and the base value is the mean prediction over that background. Both explainers satisfy
efficiency exactly: values sum to ``f(x) - mean f(background)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._progress import show_progress

__all__ = ["background_sample", "agnostic_shap", "EXACT_MAX_FEATURES", "DEFAULT_BACKGROUND"]

#: Up to this many features shap's Exact explainer (2^p coalitions) is used; above, Permutation.
EXACT_MAX_FEATURES = 10
#: Rows drawn from X for the background when none is given.
DEFAULT_BACKGROUND = 100


def background_sample(X: pd.DataFrame, background=None, random_state: int = 0) -> pd.DataFrame:
    """The background data: ``background`` rows, or a random sample of ``X``.

    Parameters
    ----------
    X : DataFrame (n, p)
        The samples being explained (feature columns only).
    background : None, int or DataFrame / array (m, p)
        None: :data:`DEFAULT_BACKGROUND` rows drawn from ``X`` without replacement (all rows
        when fewer); an int: that many rows; data: used as given.
    random_state : int
    """
    if background is None or isinstance(background, (int, np.integer)):
        m = DEFAULT_BACKGROUND if background is None else int(background)
        if m < 1:
            raise ValueError(f"background={background} must be a positive number of rows.")
        if len(X) <= m:
            return X.reset_index(drop=True)
        idx = np.random.default_rng(random_state).choice(len(X), size=m, replace=False)
        return X.iloc[np.sort(idx)].reset_index(drop=True)
    if isinstance(background, pd.DataFrame):
        missing = [c for c in X.columns if c not in background.columns]
        if missing:
            raise ValueError(
                f"background lacks the feature column(s) {missing}; give it the same "
                f"columns as X: {list(X.columns)}."
            )
        return background[list(X.columns)].reset_index(drop=True)
    arr = np.asarray(background, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != X.shape[1]:
        raise ValueError(f"background has shape {arr.shape}; it needs {X.shape[1]} columns like X.")
    return pd.DataFrame(arr, columns=X.columns)


def agnostic_shap(
    predict,
    X: pd.DataFrame,
    background: pd.DataFrame,
    batch_size=None,
    progress=False,
    seed: int = 0,
    as_frame: bool = True,
):
    """SHAP values of ``predict`` on ``X`` against ``background``.

    Parameters
    ----------
    predict : callable
        Maps a DataFrame (``as_frame=True``) or an array with X's columns to an (m,) output.
    X, background : DataFrame
    batch_size : int, optional
        Rows explained per call (default 64).
    seed : int
        Seed of the Permutation explainer's random permutations.

    Returns
    -------
    values (n, p), base (n,), method
    """
    import shap

    names = list(X.columns)
    p = len(names)
    bg = background.to_numpy(dtype=float)

    def f(a):
        a = np.asarray(a, dtype=float)
        out = predict(pd.DataFrame(a, columns=names) if as_frame else a)
        out = np.asarray(out, dtype=float)
        if out.ndim > 1:
            if out.shape[1] != 1:
                raise ValueError(
                    f"explain supports single-output models; predict returned shape {out.shape}."
                )
            out = out[:, 0]
        return out

    masker = shap.maskers.Independent(bg, max_samples=bg.shape[0])
    if p <= EXACT_MAX_FEATURES:
        explainer = shap.explainers.Exact(f, masker)
        kwargs = {"max_evals": 2**p + 1}
        method = f"shap Exact explainer (background {bg.shape[0]} rows)"
    else:
        explainer = shap.explainers.Permutation(f, masker, seed=seed)
        kwargs = {"max_evals": max(500, 2 * p + 1)}
        method = f"shap Permutation explainer (background {bg.shape[0]} rows)"
    x = X.to_numpy(dtype=float)
    n = x.shape[0]
    values = np.empty((n, p), dtype=np.float64)
    base = np.empty(n, dtype=np.float64)
    step = 64 if batch_size is None else max(int(batch_size), 1)
    starts = range(0, n, step)
    if show_progress(progress) and len(starts) > 1:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="SHAP (model-agnostic)", unit="batch")
    for s in starts:
        ex = explainer(x[s : s + step], silent=True, **kwargs)
        values[s : s + ex.values.shape[0]] = ex.values
        base[s : s + ex.values.shape[0]] = np.broadcast_to(ex.base_values, (ex.values.shape[0],))
    return values, base, method
