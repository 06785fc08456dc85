"""Small data and models shared by the explain tests."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def plots200():
    from geoagb.datasets import make_plots

    return make_plots(200, random_state=3)


@pytest.fixture(scope="session")
def features(plots200):
    from geoagb.datasets import PLOT_FEATURES

    return plots200[PLOT_FEATURES], plots200["agb"].to_numpy()


@pytest.fixture(scope="session")
def xgb_model(features):
    xgb = pytest.importorskip("xgboost")
    X, y = features
    return xgb.XGBRegressor(n_estimators=60, max_depth=4, learning_rate=0.1, random_state=0).fit(
        X, y
    )


class StandInKriging:
    """A residual-kriging stand-in with the contract's three names: learner on the feature
    columns plus a residual that is a known function of the coordinates."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        from sklearn.base import clone

        self.estimator_ = clone(self.estimator).fit(self.learner_features(X), y)
        self.feature_names_in_ = np.asarray(X.columns)
        return self

    def learner_features(self, X):
        return X.drop(columns=["x", "y", "geometry"], errors="ignore")

    def predict_residual(self, X, return_std=False):
        r = 5.0 * np.sin(X["x"].to_numpy() / 7000.0) + 0.001 * (X["y"].to_numpy() - X["y"].mean())
        return (r, np.ones_like(r)) if return_std else r

    def predict(self, X, return_std=False):
        return self.estimator_.predict(self.learner_features(X)) + self.predict_residual(X)


@pytest.fixture
def stand_in_kriging():
    return StandInKriging
