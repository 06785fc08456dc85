"""One thread budget for geoagb's nested loops (outer CV -> learner -> residual kriging's folds).

The budget is the ``n_jobs`` of the outermost geoagb call; ``None`` means
:func:`default_threads`. Inside geoagb's cross-validation (:func:`spatial_cross_validate`,
:func:`compare_models`) and residual kriging's inner out-of-fold predictions, every learner
whose ``n_jobs`` (or ``nthread``) was left at ``None`` or ``-1`` gets the budget, and BLAS and
OpenMP pools are limited to it with :func:`threadpoolctl.threadpool_limits`; a positive
``n_jobs`` set by the user is respected. Folds run one after another, so a learner never
competes with a sibling for the cores (no oversubscription).

This module does not import torch; :mod:`geoagb.deep` takes :func:`default_threads` from here.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
import os

from sklearn.base import clone
from threadpoolctl import threadpool_limits

__all__ = ["default_threads", "resolve_threads", "with_threads", "thread_budget"]

#: Parameter names of a learner's thread count (scikit-learn / LightGBM: n_jobs; XGBoost also
#: accepts nthread; CatBoost: thread_count).
_THREAD_PARAMS = ("n_jobs", "nthread", "thread_count")

#: The budget of the outermost active :func:`thread_budget` (None outside any).
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("geoagb_thread_budget", default=None)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """The thread budget when ``n_jobs=None``.

    The policy, in order: ``OMP_NUM_THREADS`` when set (joblib's workers and schedulers set it
    to their share of the cores); 1 inside a Dask worker (the worker's threads are its
    parallelism); otherwise half the cores this process may use, at least 1. Libraries that
    spin while waiting for work (torch's intra-op threads, OpenMP in XGBoost) collapse as soon
    as another process needs a core (measured: 2.5 s/epoch alone became 39-47 s/epoch with one
    competing process on 2 cores); half the cores leaves room for the caller.

    Examples
    --------
    >>> default_threads() >= 1
    True
    """
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:  # pragma: no cover - exercised only inside dask workers
        from distributed import get_worker

        get_worker()
        return 1
    except Exception:
        pass
    return max(1, _cores() // 2)


def resolve_threads(n_jobs=None) -> int:
    """The number of threads for a budget ``n_jobs``.

    Parameters
    ----------
    n_jobs : int or None, default None
        None: the budget of an enclosing :func:`thread_budget` (a learner inside geoagb's CV),
        else :func:`default_threads`; -1: every core this process may use; a positive int:
        itself.

    Returns
    -------
    int >= 1

    Examples
    --------
    >>> resolve_threads(3)
    3
    """
    if n_jobs is None:
        active = _ACTIVE.get()
        return default_threads() if active is None else active
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise ValueError(f"n_jobs={n_jobs!r} must be None, -1 or a whole number >= 1 (threads).")
    if int(n_jobs) == -1:
        return _cores()
    if int(n_jobs) < 1:
        raise ValueError(
            f"n_jobs={n_jobs!r} must be None, -1 or a whole number >= 1 (threads); "
            "give e.g. n_jobs=2."
        )
    return int(n_jobs)


def with_threads(estimator, n_threads: int):
    """``estimator`` with every thread-count parameter left at None or -1 set to ``n_threads``.

    Nested estimators (a pipeline's steps, a residual-kriging learner) are reached through
    ``get_params(deep=True)``. A positive value set by the user is kept. The estimator is
    cloned when anything changes, never modified in place.

    Parameters
    ----------
    estimator : scikit-learn estimator
    n_threads : int
        Threads each learner may use (see :func:`resolve_threads`).

    Returns
    -------
    estimator

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestRegressor
    >>> with_threads(RandomForestRegressor(), 2).n_jobs
    2
    >>> with_threads(RandomForestRegressor(n_jobs=4), 2).n_jobs
    4
    """
    if not hasattr(estimator, "get_params"):
        return estimator
    params = estimator.get_params(deep=True)
    new = {
        k: int(n_threads)
        for k, v in params.items()
        if k.rsplit("__", 1)[-1] in _THREAD_PARAMS and (v is None or v == -1)
    }
    if not new:
        return estimator
    return clone(estimator).set_params(**new)


@contextlib.contextmanager
def thread_budget(n_threads: int):
    """Run a block with BLAS and OpenMP thread pools limited to ``n_threads``.

    Nested budgets never exceed the enclosing one: the outermost call decides.

    Examples
    --------
    >>> with thread_budget(1):
    ...     pass
    """
    active = _ACTIVE.get()
    n = int(n_threads) if active is None else min(int(n_threads), active)
    token = _ACTIVE.set(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        _ACTIVE.reset(token)
