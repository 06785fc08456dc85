"""The thread policy of geoagb._threads: one budget through nested CV, no oversubscription."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import threadpoolctl
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from geoagb import _threads
from geoagb._threads import default_threads, resolve_threads, with_threads
from geoagb.kriging import ResidualKrigingRegressor
from geoagb.model_selection import compare_models, spatial_cross_validate
from geoagb.workflow._models import make_model


class _Probe(RegressorMixin, BaseEstimator):
    """Records its n_jobs and the BLAS/OpenMP pool sizes seen inside fit."""

    log: list = []

    def __init__(self, n_jobs=None):
        self.n_jobs = n_jobs

    def fit(self, X, y):
        pools = {i["user_api"]: i["num_threads"] for i in threadpoolctl.threadpool_info()}
        _Probe.log.append((self.n_jobs, max(pools.values()) if pools else None))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def _data(n=60):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.uniform(0, 1e4, n), "y": rng.uniform(0, 1e4, n)})
    X["f"] = rng.normal(size=n)
    return X, 2.0 * X["f"].to_numpy() + rng.normal(0, 1.0, n)


def test_default_threads_policy(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(_threads, "_cores", lambda: 8)
    assert default_threads() == 4
    monkeypatch.setattr(_threads, "_cores", lambda: 1)
    assert default_threads() == 1
    assert resolve_threads(-1) == 1 and resolve_threads(5) == 5
    with pytest.raises(ValueError, match="n_jobs=0"):
        resolve_threads(0)


def test_with_threads_respects_user_value():
    assert with_threads(RandomForestRegressor(), 2).n_jobs == 2
    assert with_threads(RandomForestRegressor(n_jobs=-1), 2).n_jobs == 2
    assert with_threads(RandomForestRegressor(n_jobs=3), 2).n_jobs == 3
    rf = RandomForestRegressor()
    pipe = with_threads(make_pipeline(StandardScaler(), rf), 1)
    assert pipe[-1].n_jobs == 1 and rf.n_jobs is None  # cloned, not changed in place
    rk = with_threads(ResidualKrigingRegressor(RandomForestRegressor()), 2)
    assert rk.estimator.n_jobs == 2


def test_nested_cv_uses_one_budget(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    X, y = _data()
    _Probe.log = []
    spatial_cross_validate(
        ResidualKrigingRegressor(_Probe(), correction="none", cv=3),
        X, y, cv=KFold(2, shuffle=True, random_state=0), progress=False, n_jobs=1,
    )  # fmt: skip
    # 2 outer folds x (3 inner out-of-fold fits + 1 final fit), each with 1 thread everywhere
    assert len(_Probe.log) == 8
    assert set(_Probe.log) == {(1, 1)}


def test_user_n_jobs_kept_and_compare_passes_budget():
    X, y = _data()
    _Probe.log = []
    compare_models(
        {"a": _Probe(n_jobs=2), "b": _Probe()}, X, y, KFold(2, shuffle=True), n_repeats=1,
        progress=False, n_jobs=1,
    )  # fmt: skip
    assert [j for j, _ in _Probe.log] == [2, 2, 1, 1]
    assert {p for _, p in _Probe.log} == {1}


def test_make_model_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert make_model("xgboost").get_params()["n_jobs"] == 2
    assert make_model("rf", n_jobs=1).n_jobs == 1


def test_nested_budget_never_exceeds_outer(monkeypatch):
    monkeypatch.setattr(_threads, "_cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert resolve_threads(None) == 4
    with _threads.thread_budget(1):
        assert resolve_threads(None) == 1
        with _threads.thread_budget(3):
            assert resolve_threads(None) == 1
    assert resolve_threads(None) == 4
