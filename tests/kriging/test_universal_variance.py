"""KrigingRegressor(drift=...) against gstat's universal kriging on meuse (issue 27, point 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoagb.kriging import KrigingRegressor, Variogram

_R_UK = """
    data(meuse); data(meuse.grid); coordinates(meuse) = ~x+y; coordinates(meuse.grid) = ~x+y
    m = vgm(0.15, "Sph", 1000, 0.06)
    g = krige(log(zinc) ~ sqrt(dist), meuse, meuse.grid, model = m, debug.level = 0)
    write.csv(data.frame(p = g$var1.pred, v = g$var1.var), "uk.csv", row.names = FALSE)
"""


def _frames(meuse):
    X = pd.DataFrame({"x": meuse["xy"][:, 0], "y": meuse["xy"][:, 1]})
    X["sdist"] = np.sqrt(meuse["dist"])
    G = pd.DataFrame({"x": meuse["grid"][:, 0], "y": meuse["grid"][:, 1]})
    G["sdist"] = np.sqrt(meuse["grid_dist"])
    return X, G


@pytest.mark.r
def test_universal_variance_matches_gstat_global_krige(meuse, rgstat):
    (r,) = rgstat(_R_UK, ["uk.csv"])
    v = Variogram.from_params("spherical", psill=0.15, range=1000.0, nugget=0.06)
    X, G = _frames(meuse)
    report = []
    for variance in ("residual", "universal"):
        kr = KrigingRegressor(v, n_neighbors=None, drift="sdist", variance=variance)
        mean, std = kr.fit(X, meuse["logzinc"]).predict(G, return_std=True)
        dm = np.max(np.abs(mean - r["p"]))
        dv = np.max(np.abs(std**2 - r["v"]))
        rel = np.max(np.abs(std**2 - r["v"]) / r["v"])
        report.append(f"{variance}: mean {dm:.1e}, var {dv:.1e} ({rel:.1%})")
    print("\nmax |ours - gstat krige(log(zinc) ~ sqrt(dist))|, meuse.grid:", "; ".join(report))
    assert dm < 1e-8 and dv < 1e-8
    # the residual variance leaves out the trend term: it is never above the universal one
    _, std_res = kr.set_params(variance="residual").fit(X, meuse["logzinc"]).predict(G, True)
    assert np.all(std**2 >= std_res**2 - 1e-12)


def test_universal_matches_the_dense_lagrange_system(field):
    xy, z = field
    rng = np.random.default_rng(0)
    n = len(xy)
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "d": rng.normal(size=n)})
    v = Variogram.from_params("exponential", psill=1.0, range=3000.0, nugget=0.1)
    kr = KrigingRegressor(v, n_neighbors=None, drift="d").fit(X, z)
    T = X.iloc[:5].assign(x=lambda t: t.x + 1.5)
    mean, std = kr.predict(T, return_std=True)
    # dense universal kriging system with Lagrange multipliers, solved directly
    F = np.column_stack([np.ones(n), X["d"]])
    C = v.covariance(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
    M = np.block([[C, F], [F.T, np.zeros((2, 2))]])
    for i in range(len(T)):
        t = T[["x", "y"]].to_numpy()[i]
        c0 = v.covariance(np.hypot(*(xy - t).T))
        rhs = np.concatenate([c0, [1.0, T["d"].iloc[i]]])
        sol = np.linalg.solve(M, rhs)
        assert abs(sol[:n] @ z - mean[i]) < 1e-8
        assert abs(v.covariance(0.0) - sol @ rhs - std[i] ** 2) < 1e-8


def test_local_neighbourhood_keeps_regression_kriging(field):
    xy, z = field
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "d": xy[:, 0] / 100.0})
    v = Variogram.from_params("exponential", psill=1.0, range=3000.0, nugget=0.1)
    a = KrigingRegressor(v, n_neighbors=10, drift="d").fit(X, z)
    b = KrigingRegressor(v, n_neighbors=10, drift="d", variance="residual").fit(X, z)
    assert a.uk_ is None
    np.testing.assert_array_equal(
        a.predict(X.iloc[:20], return_std=True)[1], b.predict(X.iloc[:20], return_std=True)[1]
    )


def test_bad_variance_option(field):
    xy, z = field
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]})
    with pytest.raises(ValueError, match="universal"):
        KrigingRegressor(variance="gls").fit(X, z)


def test_duplicate_locations_without_nugget_fall_back_to_regression_kriging():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 1000, (40, 2))
    xy[5] = xy[4]  # a duplicated plot location: K is singular without a nugget
    d = rng.normal(size=40)
    y = 2 * d + rng.normal(size=40)
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "d": d})
    v = Variogram.from_params("spherical", psill=1.0, range=300.0, nugget=0.0)
    with pytest.warns(UserWarning, match="falls back to regression kriging"):
        uk = KrigingRegressor(variogram=v, drift="d").fit(X, y)
    rk = KrigingRegressor(variogram=v, drift="d", variance="residual").fit(X, y)
    assert uk.uk_ is None
    np.testing.assert_array_equal(uk.predict(X, return_std=True), rk.predict(X, return_std=True))
