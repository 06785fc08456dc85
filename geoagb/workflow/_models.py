"""The learners behind ``fit_bundle(model=...)`` / ``geoagb fit --model``: their labels and
:func:`make_model`.
"""

from __future__ import annotations

import numbers

from .._threads import resolve_threads
from ..kriging import ResidualKrigingRegressor

__all__ = ["MODELS", "make_model"]

#: ``--model`` choices -> label used in titles.
MODELS = {
    "xgboost": "XGBoost",
    "rf": "Random forest",
    "rk-ok": "XGBoost + residual kriging",
    "rk-ck": "XGBoost + residual co-kriging",
}


def make_model(
    kind: str,
    *,
    secondary: str = "elevation",
    n_estimators: int | None = None,
    n_jobs: int | None = None,
    random_state=None,
):
    """The estimator behind ``--model``.

    * ``xgboost``: ``XGBRegressor(n_estimators=300, learning_rate=0.05, max_depth=4,
      subsample=0.8)``;
    * ``rf``: ``RandomForestRegressor(n_estimators=300, min_samples_leaf=2, max_features=0.5)``
      (its map gets the spread of the trees as uncertainty);
    * ``rk-ok``: that XGBoost plus kriging of its out-of-fold residuals
      (:class:`~geoagb.kriging.ResidualKrigingRegressor`, ``method="auto"``: simple or ordinary
      kriging, applied only where cross-validation finds that it helps);
    * ``rk-ck``: the same with collocated co-kriging on ``secondary`` (a feature, e.g. the DEM's
      ``elevation``).

    ``random_state`` (default ``None``: fresh entropy) seeds the learners; ``n_jobs`` is their
    thread count, resolved by the thread policy (``geoagb._threads.resolve_threads``:
    None: ``OMP_NUM_THREADS``, 1 in a Dask worker, else half the cores; -1: every core).
    """
    from xgboost import XGBRegressor

    if kind not in MODELS:
        raise ValueError(f"model={kind!r} is not one of {', '.join(MODELS)}.")
    n = _n_trees(n_estimators)
    n_jobs = resolve_threads(n_jobs)
    xgb = XGBRegressor(
        n_estimators=n,
        learning_rate=0.05,
        max_depth=4,
        subsample=0.8,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    if kind == "xgboost":
        return xgb
    if kind == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=n,
            min_samples_leaf=2,
            max_features=0.5,
            n_jobs=n_jobs,
            random_state=random_state,
        )
    if kind == "rk-ok":
        return ResidualKrigingRegressor(
            xgb, method="auto", n_neighbors=64, random_state=random_state
        )
    return ResidualKrigingRegressor(
        xgb, method="cokriging", secondary=secondary, n_neighbors=64, random_state=random_state
    )


def _n_trees(n_estimators) -> int:
    """``n_estimators`` checked: None -> 300, else a whole number >= 1."""
    if n_estimators is None:
        return 300
    if (
        isinstance(n_estimators, bool)
        or not isinstance(n_estimators, numbers.Integral)
        or n_estimators < 1
    ):
        raise ValueError(
            f"n_estimators={n_estimators!r} must be a whole number >= 1 (trees of the learner), "
            "e.g. 300, or None for 300."
        )
    return int(n_estimators)
