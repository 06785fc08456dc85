"""A fitted Variogram handed to a kriging estimator stays fixed through ``clone`` (every CV fold).

Reference: gstat's ``krige.cv`` with the same fixed ``vgm`` on the meuse data (skips without R).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold

from geoagb.kriging import KrigingRegressor, OrdinaryKriging, ResidualKrigingRegressor, Variogram
from geoagb.model_selection import spatial_cross_validate


def _field(n=150, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 5000, (n, 2))
    z = np.sin(xy[:, 0] / 250) + np.cos(xy[:, 1] / 300) + rng.normal(0, 0.2, n)
    return xy, z


def test_clone_keeps_fitted_parameters():
    xy, z = _field()
    v = Variogram("spherical").fit(xy, z)
    c = clone(v)
    assert c is not v and not hasattr(c, "psill_")  # unfitted, as scikit-learn's clone promises
    assert (c.model, c.psill, c.range, c.nugget) == (v.model_, v.psill_, v.range_, v.nugget_)
    refit = c.fit(xy[:20], z[:20])  # fixed: other data give the same model
    assert (refit.psill_, refit.range_, refit.nugget_) == (v.psill_, v.range_, v.nugget_)
    # an unfitted Variogram is still cloned as parameters only
    assert clone(Variogram("exponential")).psill is None
    # nested: the estimator's clone carries the fixed variogram
    for est in (KrigingRegressor(variogram=v), OrdinaryKriging(v)):
        assert clone(est).variogram.range == v.range_


def test_every_fold_uses_the_fitted_variogram():
    xy, z = _field()
    v = Variogram("spherical").fit(xy, z)
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
    res = spatial_cross_validate(
        KrigingRegressor(variogram=v, n_neighbors=None),
        X,
        z,
        cv=KFold(5, shuffle=True, random_state=0),
        return_estimators=True,
        progress=False,
    )
    ranges = [e.variogram_.range_ for e in res.estimators]
    assert ranges == [v.range_] * 5
    # the same folds with an unfitted Variogram refit it per fold (ranges differ)
    res2 = spatial_cross_validate(
        KrigingRegressor(variogram=Variogram("spherical"), n_neighbors=None),
        X,
        z,
        cv=KFold(5, shuffle=True, random_state=0),
        return_estimators=True,
        progress=False,
    )
    assert len({round(e.variogram_.range_, 6) for e in res2.estimators}) > 1


def test_residual_kriging_keeps_fitted_variogram():
    from sklearn.linear_model import LinearRegression

    xy, z = _field()
    v = Variogram("exponential").fit(xy, z - z.mean())
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "f": np.arange(len(z), dtype=float)})
    est = ResidualKrigingRegressor(
        LinearRegression(), variogram=v, method="ordinary", correction="full", random_state=0
    )
    res = spatial_cross_validate(
        est, X, z, cv=KFold(3, shuffle=True, random_state=1), return_estimators=True,
        progress=False,
    )  # fmt: skip
    assert [e.residual_variogram_.range_ for e in res.estimators] == [v.range_] * 3


def test_matches_gstat_krige_cv(meuse, rgstat):
    xy, z = meuse["xy"], meuse["logzinc"]
    v = Variogram("spherical").fit(xy, z)
    folds = np.arange(len(z)) % 5
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "z": z, "fold": folds + 1}).to_csv(
        rgstat.folder / "cv_in.csv", index=False
    )
    (out,) = rgstat(
        f"""
        d <- read.csv("cv_in.csv"); coordinates(d) <- ~x+y
        m <- vgm({v.psill_!r}, "Sph", {v.range_!r}, {v.nugget_!r})
        cv <- krige.cv(z ~ 1, d, model = m, nfold = d$fold, verbose = FALSE)
        write.csv(data.frame(pred = cv$var1.pred), "cv_out.csv", row.names = FALSE)
        """,
        outputs=["cv_out.csv"],
    )
    splits = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in range(5)]
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
    res = spatial_cross_validate(
        KrigingRegressor(variogram=v, n_neighbors=None), X, z, cv=splits, progress=False
    )
    np.testing.assert_allclose(res.oof_predictions, out["pred"].to_numpy(), rtol=1e-6, atol=1e-8)
