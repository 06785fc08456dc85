"""The tabular baselines of the deep-model benchmarks, configured once.

Random forest and XGBoost on ``summarize()`` features, as tuned for the synthetic scenes
(500 trees, leaves of >= 2 plots; 1000 boosting rounds at learning rate 0.01, depth 4,
80 % row subsampling).
"""

from __future__ import annotations


def random_forest(seed, n_jobs=1):
    """Random forest on plot summaries: 500 trees, ``min_samples_leaf=2``."""
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(500, min_samples_leaf=2, random_state=seed, n_jobs=n_jobs)


def xgboost(seed, n_jobs=1):
    """XGBoost on plot summaries: 1000 rounds, learning rate 0.01, depth 4, subsample 0.8."""
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=1000,
        learning_rate=0.01,
        max_depth=4,
        subsample=0.8,
        random_state=seed,
        n_jobs=n_jobs,
    )
