"""Ordinary kriging: closed forms, neighbourhood exactness, PyKrige and gstat agreement."""

import warnings

import numpy as np
import pytest

from geoagb.kriging import OrdinaryKriging, Variogram

SPH = Variogram.from_params("spherical", psill=1.0, range=3000.0, nugget=0.0)
SPH_NUG = Variogram.from_params("spherical", psill=0.8, range=3000.0, nugget=0.2)


def _dense_ok(xy, z, t, v):
    """Textbook OK at one target, written out with numpy (independent of the solver)."""
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    n = len(z)
    A = np.ones((n + 1, n + 1))
    A[:n, :n] = v.covariance(d)
    A[n, n] = 0.0
    b = np.ones(n + 1)
    b[:n] = v.covariance(np.hypot(*(xy - t).T))
    x = np.linalg.solve(A, b)
    return x[:n] @ z, v.sill_ - x @ b


@pytest.mark.parametrize("v", [SPH, SPH_NUG])
@pytest.mark.parametrize("k", [None, 12])
def test_exact_interpolator_at_data(field, v, k):
    xy, z = field
    ok = OrdinaryKriging(v, n_neighbors=k).fit(xy, z)
    mean, std = ok.predict(xy[:50], return_std=True)
    np.testing.assert_allclose(mean, z[:50], atol=1e-9)
    np.testing.assert_allclose(std, 0.0, atol=1e-6)


@pytest.mark.parametrize("k, dmax", [(None, None), (10, None), (10, 600.0)])
def test_weights_sum_to_one(field, k, dmax):
    xy, z = field
    t = np.random.default_rng(0).uniform(0, 10_000, (300, 2))
    idx, w = OrdinaryKriging(SPH_NUG, n_neighbors=k, max_distance=dmax).fit(xy, z).weights(t)
    has = (idx < len(xy)).any(axis=1)
    np.testing.assert_allclose(w[has].sum(axis=1), 1.0, atol=1e-10)
    if dmax is not None:  # nothing beyond max_distance gets weight
        far = np.hypot(*(xy[np.minimum(idx, len(xy) - 1)] - t[:, None]).transpose(2, 0, 1)) > dmax
        assert np.all(w[far] == 0.0)


def test_two_points_by_hand():
    # spherical, a = 10, psill 1: C(2) = 0.704, C(4) = 0.432; symmetric weights 1/2
    v = Variogram.from_params("spherical", psill=1.0, range=10.0)
    ok = OrdinaryKriging(v).fit([[0.0, 0.0], [4.0, 0.0]], [1.0, 3.0])
    mean, std = ok.predict([[2.0, 0.0]], return_std=True)
    mu = 0.704 - 0.5 * (1 + 0.432)  # Lagrange multiplier
    assert mean[0] == pytest.approx(2.0)
    assert std[0] ** 2 == pytest.approx(1 - 0.704 - mu)


@pytest.mark.parametrize("path", ["kernel", "tiles", "direct"])
def test_neighbourhood_equals_global_kriging_on_the_k_nearest(field, monkeypatch, path):
    """Compiled Cholesky kernel, shared-tile solver and direct batched solves all equal dense
    ordinary kriging on each target's k nearest data."""
    import geoagb.kriging._solve as solve

    xy, z = field
    rng = np.random.default_rng(5)
    g = np.linspace(0, 10_000, 80)
    t = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])  # a map grid: shared tiles
    k = 16
    used, orig = [], solve.solve_tiles

    def spy(*args, **kw):
        res = orig(*args, **kw)
        used.append(res is not None and np.isfinite(res[0]).mean())
        return res

    monkeypatch.setattr(solve, "solve_tiles", spy)
    if path != "kernel":
        monkeypatch.setattr(solve, "_kernel_params", lambda *a: None)
    ok = OrdinaryKriging(SPH_NUG, n_neighbors=k, chunk_size=40 if path == "direct" else None).fit(
        xy, z
    )
    mean, std = ok.predict(t, return_std=True)
    if path == "tiles":
        assert used and min(used) > 0.5  # most targets went through the shared-tile solver
    else:
        assert not used
    for j in rng.choice(len(t), 25, replace=False):
        near = np.argsort(np.hypot(*(xy - t[j]).T))[:k]
        m_ref, v_ref = _dense_ok(xy[near], z[near], t[j], SPH_NUG)
        assert mean[j] == pytest.approx(m_ref, abs=1e-9)
        assert std[j] ** 2 == pytest.approx(v_ref, abs=1e-9)


@pytest.mark.parametrize("model", ["exponential", "gaussian"])
def test_kernel_models_equal_general_solver(field, monkeypatch, model):
    import geoagb.kriging._solve as solve

    xy, z = field
    t = np.random.default_rng(3).uniform(-500, 10_500, (300, 2))
    v = Variogram.from_params(model=model, psill=1.0, range=2_000.0, nugget=0.1)
    m1, s1 = OrdinaryKriging(v, n_neighbors=12, n_jobs=2).fit(xy, z).predict(t, return_std=True)
    monkeypatch.setattr(solve, "_kernel_params", lambda *a: None)
    m2, s2 = OrdinaryKriging(v, n_neighbors=12).fit(xy, z).predict(t, return_std=True)
    np.testing.assert_allclose(m1, m2, atol=1e-10)
    np.testing.assert_allclose(s1, s2, atol=1e-10)


def test_kernel_flags_non_positive_definite_systems_for_the_general_solver(field, monkeypatch):
    from scipy.spatial import cKDTree

    from geoagb.kriging import _ok_kernel

    # two data at one location, no nugget: C is singular, the kernel must not solve it
    xy = np.array([[0.0, 0.0], [0.0, 0.0], [100.0, 0.0]])
    _, _, failed = _ok_kernel.ok_walk(
        np.array([[50.0, 10.0]]),
        xy,
        np.array([1.0, 2.0, 3.0]),
        cKDTree(xy),
        3,
        np.inf,
        "spherical",
        1.0,
        500.0,
        0.0,
    )
    assert failed.tolist() == [True]
    # every target the kernel flags goes to the general solver, with the same answer
    xy, z = field
    t = np.random.default_rng(4).uniform(0, 10_000, (100, 2))
    ref = OrdinaryKriging(SPH_NUG, n_neighbors=10).fit(xy, z).predict(t, return_std=True)
    walk = _ok_kernel.ok_walk

    def all_failed(*args, **kw):
        m, v, f = walk(*args, **kw)
        return m * np.nan, v, np.ones_like(f)

    monkeypatch.setattr(_ok_kernel, "ok_walk", all_failed)
    got = OrdinaryKriging(SPH_NUG, n_neighbors=10).fit(xy, z).predict(t, return_std=True)
    np.testing.assert_allclose(got[0], ref[0], atol=1e-10)
    np.testing.assert_allclose(got[1], ref[1], atol=1e-10)


def test_full_neighbourhood_equals_global(field):
    xy, z = field
    t = np.random.default_rng(2).uniform(0, 10_000, (200, 2))
    g = OrdinaryKriging(SPH_NUG).fit(xy, z).predict(t, return_std=True)
    n = OrdinaryKriging(SPH_NUG, n_neighbors=len(xy), max_distance=1e9).fit(xy, z)
    m2, s2 = n.predict(t, return_std=True)
    np.testing.assert_allclose(g[0], m2, atol=1e-8)
    np.testing.assert_allclose(g[1], s2, atol=1e-8)


def test_max_distance_uses_only_data_in_range(field):
    xy, z = field
    t = np.array([[5000.0, 5000.0], [-50_000.0, 0.0]])
    mean, std = (
        OrdinaryKriging(SPH_NUG, n_neighbors=50, max_distance=700.0)
        .fit(xy, z)
        .predict(t, return_std=True)
    )
    assert np.isnan(mean[1]) and np.isnan(std[1])
    near = np.hypot(*(xy - t[0]).T) <= 700.0
    m_ref, v_ref = _dense_ok(xy[near], z[near], t[0], SPH_NUG)
    assert mean[0] == pytest.approx(m_ref, abs=1e-10)
    assert std[0] ** 2 == pytest.approx(v_ref, abs=1e-10)


def test_duplicates_are_averaged(field):
    xy, z = field
    xy2 = np.vstack([xy, xy[:5]])
    z2 = np.concatenate([z, z[:5] + 1.0])
    with pytest.warns(UserWarning, match="5 sample\\(s\\) share coordinates"):
        ok = OrdinaryKriging(SPH_NUG, n_neighbors=20).fit(xy2, z2)
    assert ok.n_duplicates_ == 5
    zz = z.copy()
    zz[:5] += 0.5
    t = np.random.default_rng(3).uniform(0, 10_000, (50, 2))
    ref = OrdinaryKriging(SPH_NUG, n_neighbors=20).fit(xy, zz).predict(t)
    np.testing.assert_allclose(ok.predict(t), ref, atol=1e-12)


@pytest.mark.parametrize("k", [None, 24])
def test_matches_pykrige(field, k):
    pk = pytest.importorskip("pykrige.ok")
    xy, z = field
    t = np.random.default_rng(4).uniform(0, 10_000, (700, 2))
    v = Variogram.from_params("exponential", psill=0.9, range=1200.0, nugget=0.05)
    mean, std = OrdinaryKriging(v, n_neighbors=k).fit(xy, z).predict(t, return_std=True)
    ref = pk.OrdinaryKriging(
        xy[:, 0],
        xy[:, 1],
        z,
        variogram_model="exponential",
        variogram_parameters={"sill": 0.95, "range": 3 * 1200.0, "nugget": 0.05},
    )  # pykrige: range = 3a
    kw = dict(backend="C", n_closest_points=k) if k else dict(backend="vectorized")
    pm, pv = ref.execute("points", t[:, 0], t[:, 1], **kw)
    np.testing.assert_allclose(mean, pm, atol=1e-9)
    np.testing.assert_allclose(std**2, pv, atol=1e-9)


def test_geodataframe_input_and_crs_check(field):
    gpd = pytest.importorskip("geopandas")
    xy, z = field
    gdf = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(xy[:, 0] + 5e5, xy[:, 1] + 3e6), crs="EPSG:32648"
    )
    ok = OrdinaryKriging(SPH, n_neighbors=8).fit(gdf, z)
    np.testing.assert_allclose(ok.predict(gdf.iloc[:3]), z[:3], atol=1e-9)
    with pytest.raises(ValueError, match="geographic"):
        OrdinaryKriging(SPH).fit(gdf.to_crs(4326), z)


def test_bad_input(field):
    xy, z = field
    bad = z.copy()
    bad[7] = np.inf
    with pytest.raises(
        ValueError, match=r"1 sample\(s\) have NaN or infinite values \(rows \[7\]\)"
    ):
        OrdinaryKriging(SPH).fit(xy, bad)
    with pytest.raises(ValueError, match="n_neighbors=0 must be a positive integer"):
        OrdinaryKriging(SPH, n_neighbors=0).fit(xy, z)
    with pytest.raises(ValueError, match="max_distance=-1"):
        OrdinaryKriging(SPH, max_distance=-1).fit(xy, z)
    with pytest.raises(ValueError, match="negative sill"):
        OrdinaryKriging(Variogram.from_params("spherical", psill=-1.0, range=5.0)).fit(xy, z)
    with pytest.raises(ValueError, match="at least 10 distinct locations"):
        OrdinaryKriging("auto").fit(xy[:5], z[:5])
    with pytest.raises(ValueError, match="look like degrees"):
        OrdinaryKriging(SPH, max_distance=5000).fit(xy / 1e5, z)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        OrdinaryKriging(SPH).predict(xy)


def test_fits_variogram_when_not_fixed(field):
    xy, z = field
    ok = OrdinaryKriging("exponential", n_neighbors=30).fit(xy, z)
    ref = Variogram("exponential").fit(xy, z)
    assert ok.variogram_.range_ == pytest.approx(ref.range_)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ok.predict(xy[:10])


@pytest.mark.r
def test_matches_gstat_krige(meuse, rgstat):
    (r,) = rgstat(
        """
        data(meuse); data(meuse.grid); coordinates(meuse) = ~x+y; coordinates(meuse.grid) = ~x+y
        m = vgm(0.59, "Sph", 897, 0.05)
        g = krige(log(zinc)~1, meuse, meuse.grid, model = m, debug.level = 0)
        n = krige(log(zinc)~1, meuse, meuse.grid, model = m, nmax = 20, debug.level = 0)
        d = krige(log(zinc)~1, meuse, meuse.grid, model = m, nmax = 20, maxdist = 400,
                  debug.level = 0)
        write.csv(data.frame(g = g$var1.pred, gv = g$var1.var, n = n$var1.pred,
                             nv = n$var1.var, d = d$var1.pred, dv = d$var1.var),
                  "ok.csv", row.names = FALSE)
    """,
        ["ok.csv"],
    )
    v = Variogram.from_params("spherical", psill=0.59, range=897.0, nugget=0.05)
    report = []
    for k, dmax, c in ((None, None, "g"), (20, None, "n"), (20, 400.0, "d")):
        ok = OrdinaryKriging(v, n_neighbors=k, max_distance=dmax).fit(meuse["xy"], meuse["logzinc"])
        mean, std = ok.predict(meuse["grid"], return_std=True)
        np.testing.assert_array_equal(np.isnan(mean), r[c].isna())
        dm = np.nanmax(np.abs(mean - r[c]))
        dv = np.nanmax(np.abs(std**2 - r[c + "v"]))
        assert dm < 1e-9 and dv < 1e-9
        report.append(f"{c}: pred {dm:.1e}, var {dv:.1e}")
    print("\nmax |ours - gstat krige()| on meuse.grid (3103 cells):", "; ".join(report))
