"""Every public ``cv=`` of geoagb accepts what scikit-learn's ``check_cv`` accepts: an int, a
splitter, or an iterable of (train, test) pairs (a generator too: it is read once).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

from geoagb.kriging import ResidualKrigingRegressor
from geoagb.model_selection import compare_models, spatial_cross_validate
from geoagb.model_selection._split import FixedSplits, as_splitter


def _data(n=60):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"x": rng.uniform(0, 1e4, n), "y": rng.uniform(0, 1e4, n), "f": rng.normal(size=n)}
    )
    y = 3.0 * X["f"].to_numpy() + rng.normal(0, 0.5, n)
    return X, y


@pytest.mark.parametrize("as_gen", [False, True])
def test_spatial_cross_validate_iterable_equals_splitter(as_gen):
    X, y = _data()
    kf = KFold(5, shuffle=True, random_state=0)
    ref = spatial_cross_validate(LinearRegression(), X, y, cv=kf, progress=False)
    splits = kf.split(X) if as_gen else list(kf.split(X))
    got = spatial_cross_validate(LinearRegression(), X, y, cv=splits, progress=False)
    np.testing.assert_array_equal(got.oof_predictions, ref.oof_predictions)
    np.testing.assert_array_equal(got.fold, ref.fold)


def test_compare_models_iterable_runs_one_repeat():
    X, y = _data()
    splits = list(KFold(4, shuffle=True, random_state=0).split(X))
    with pytest.warns(UserWarning, match="one repeat is run"):
        cmp = compare_models(
            {"lin": LinearRegression(), "lin2": LinearRegression(fit_intercept=False)},
            X, y, splits, n_repeats=3, progress=False,
        )  # fmt: skip
    assert cmp.folds["repeat"].unique().tolist() == [0]
    assert len(cmp.folds) == 2 * 4


def test_residual_kriging_accepts_iterable():
    X, y = _data()
    splits = list(KFold(3, shuffle=True, random_state=0).split(X))
    a = ResidualKrigingRegressor(LinearRegression(), cv=splits, correction="none").fit(X, y)
    b = ResidualKrigingRegressor(
        LinearRegression(), cv=KFold(3, shuffle=True, random_state=0), correction="none"
    ).fit(X, y)
    np.testing.assert_allclose(a.oof_residuals_, b.oof_residuals_)


def test_as_splitter_rules():
    assert as_splitter(4, random_state=0).get_n_splits() == 4
    kf = KFold(3)
    assert as_splitter(kf) is kf
    fs = as_splitter(iter([([0, 1], [2]), ([2], [0, 1])]))
    assert isinstance(fs, FixedSplits)
    assert (
        [t.tolist() for _, t in fs.split()] == [[2], [0, 1]] == [t.tolist() for _, t in fs.split()]
    )
    with pytest.raises(ValueError, match="not an int, a splitter or an iterable"):
        as_splitter("five")
    with pytest.raises(ValueError, match="not a \\(train, test\\) pair"):
        as_splitter([1, 2, 3])
    with pytest.raises(ValueError, match="empty iterable"):
        as_splitter([])
