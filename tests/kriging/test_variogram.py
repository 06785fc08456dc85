"""Variogram: empirical estimators by hand, model conventions, fitting, gstat agreement."""

import numpy as np
import pytest

from geoagb.kriging import Variogram, empirical_variogram, fit_variogram_model, lag_edges
from geoagb.kriging._variogram import MIN_POINTS


# ---------------------------------------------------------------- empirical, by hand
def test_matheron_and_cressie_by_hand():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    z = np.array([0.0, 1.0, 3.0])
    lags, g, n = empirical_variogram(xy, z, [0.0, 1.5, 2.5])
    # lag 1: pairs (0,1) dz=1 and (1,3) dz=2; lag 2: (0,3) dz=3
    assert n.tolist() == [2, 1]
    np.testing.assert_allclose(lags, [1.0, 2.0])
    np.testing.assert_allclose(g, [0.5 * (1 + 4) / 2, 0.5 * 9])
    _, gc, _ = empirical_variogram(xy, z, [0.0, 1.5, 2.5], estimator="cressie")
    m1 = (1.0 + np.sqrt(2.0)) / 2
    np.testing.assert_allclose(
        gc, [0.5 * m1**4 / (0.457 + 0.494 / 2), 0.5 * 3.0**2 / (0.457 + 0.494)]
    )


def test_bins_are_open_left_closed_right():
    xy = np.array([[0.0, 0.0], [3.0, 4.0]])  # distance exactly 5
    _, _, n = empirical_variogram(xy, [0.0, 1.0], [0.0, 5.0, 10.0])
    assert n.tolist() == [1, 0]


def test_directional_variogram_keeps_only_pairs_in_the_window():
    xy = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [11.0, 0.0]])
    z = np.array([0.0, 2.0, 0.0, 4.0])
    _, g_ns, n_ns = empirical_variogram(xy, z, [0.0, 1.5], direction=0.0, tolerance=10.0)
    _, g_ew, n_ew = empirical_variogram(xy, z, [0.0, 1.5], direction=90.0, tolerance=10.0)
    assert n_ns.tolist() == [1] and n_ew.tolist() == [1]
    np.testing.assert_allclose([g_ns[0], g_ew[0]], [0.5 * 4, 0.5 * 16])


def test_cross_variogram_by_hand():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    Z = np.array([[0.0, 1.0], [1.0, -1.0], [3.0, 0.0]])
    _, g, _ = empirical_variogram(xy, Z, [0.0, 1.5, 2.5])
    assert g.shape == (2, 2, 2)
    # lag 1: dz1 = (1, 2), dz2 = (-2, 1): 0.5 * mean(-2, 2) = 0
    np.testing.assert_allclose(g[0, 0, 1], 0.0)
    np.testing.assert_allclose(g[0, 1, 1], 0.5 * (4 + 1) / 2)
    np.testing.assert_allclose(g[1, 0, 1], 0.5 * 3 * -1)
    np.testing.assert_allclose(g[:, 0, 1], g[:, 1, 0])


def test_pair_subsampling_is_close_to_all_pairs_and_reproducible(field):
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 10_000, (2500, 2))
    z = np.sin(xy[:, 0] / 1500) + rng.normal(0, 0.2, 2500)
    edges = lag_edges(xy, 10)
    _, g_all, n_all = empirical_variogram(xy, z, edges)
    _, g_sub, n_sub = empirical_variogram(xy, z, edges, max_pairs=400_000, random_state=3)
    _, g_sub2, _ = empirical_variogram(xy, z, edges, max_pairs=400_000, random_state=3)
    assert n_sub.sum() < 400_000 < n_all.sum()
    np.testing.assert_array_equal(g_sub, g_sub2)
    np.testing.assert_allclose(g_sub, g_all, rtol=0.05)


def test_lag_edges_default_is_gstat_cutoff():
    xy = np.array([[0.0, 0.0], [300.0, 400.0]])
    e = lag_edges(xy)
    assert len(e) == 16 and e[-1] == pytest.approx(500.0 / 3)


# ---------------------------------------------------------------- model conventions
def test_from_params_conventions():
    v = Variogram.from_params("Sph", psill=0.59, range=897.0, nugget=0.05)
    assert v.model_ == "spherical" and v.sill_ == pytest.approx(0.64)
    assert float(v(0.0)) == 0.0
    assert float(v(897.0)) == pytest.approx(0.64) and float(v(2000.0)) == pytest.approx(0.64)
    assert float(v(1e-9)) == pytest.approx(0.05, abs=1e-8)  # the nugget jump
    assert float(v.covariance(0.0)) == pytest.approx(0.64)
    h = 300.0
    assert float(v(h)) == pytest.approx(0.05 + 0.59 * (1.5 * h / 897 - 0.5 * (h / 897) ** 3))
    assert v.effective_range_ == 897.0
    assert (
        v.to_gstat()
        == 'vgm(psill=0.58999999999999997, model="Sph", range=897, nugget=0.050000000000000003)'
    )


@pytest.mark.parametrize(
    "model, rho, eff",
    [
        ("exponential", lambda h: np.exp(-h), -np.log(0.05)),
        ("gaussian", lambda h: np.exp(-(h**2)), np.sqrt(-np.log(0.05))),
    ],
)
def test_closed_form_models_and_effective_range(model, rho, eff):
    a = 250.0
    v = Variogram.from_params(model, psill=2.0, range=a, nugget=0.3)
    h = np.array([10.0, 100.0, 400.0])
    np.testing.assert_allclose(v(h), 0.3 + 2.0 * (1 - rho(h / a)))
    assert v.effective_range_ == pytest.approx(eff * a)
    # the gstools object describes the same model (len_scale == gstat range)
    np.testing.assert_allclose(v.covmodel_.variogram(h), v(h))


def test_matern_closed_forms():
    a, h = 100.0, np.array([5.0, 50.0, 300.0])
    m05 = Variogram.from_params("matern", psill=1.0, range=a, kappa=0.5)
    np.testing.assert_allclose(m05.correlation(h), np.exp(-h / a), rtol=1e-10)
    m15 = Variogram.from_params("Mat", psill=1.0, range=a, kappa=1.5)
    np.testing.assert_allclose(m15.correlation(h), (1 + h / a) * np.exp(-h / a), rtol=1e-10)
    assert m15.correlation(m15.effective_range_) == pytest.approx(0.05)
    assert "kappa=1.5" in m15.to_gstat()


# ---------------------------------------------------------------- fitting
@pytest.mark.parametrize("model", ["spherical", "exponential", "gaussian"])
def test_fit_recovers_exact_model(model):
    true = Variogram.from_params(model, psill=1.7, range=800.0, nugget=0.2)
    lags = np.linspace(50, 1500, 15)
    res = fit_variogram_model(lags, true(lags), np.full(15, 100), model)
    assert res["psill"] == pytest.approx(1.7, rel=1e-4)
    assert res["range"] == pytest.approx(800.0, rel=1e-4)
    assert res["nugget"] == pytest.approx(0.2, abs=1e-4)
    assert res["wsse"] < 1e-8


def test_auto_keeps_smallest_weighted_error(field):
    xy, z = field
    auto = Variogram("auto").fit(xy, z)
    errs = {}
    for m in ("spherical", "exponential", "gaussian"):
        errs[m] = fit_variogram_model(auto.lags_, auto.gamma_, auto.n_pairs_, m)["wsse"]
    assert auto.model_ == min(errs, key=errs.get)


def test_fixed_nugget_options(field):
    xy, z = field
    assert Variogram("exponential", nugget=False).fit(xy, z).nugget_ == 0.0
    assert Variogram("exponential", nugget=0.01).fit(xy, z).nugget_ == 0.01


def test_plot_returns_figure(field):
    xy, z = field
    v = Variogram("spherical").fit(xy, z)
    fig = v.plot()
    ax = fig.axes[0]
    # the model curve reaches the fitted sill at the largest lag shown
    line = ax.lines[0]
    assert line.get_ydata()[-1] == pytest.approx(float(v(line.get_xdata()[-1])))
    assert len(ax.collections) == 1  # empirical points


# ---------------------------------------------------------------- bad input
def test_bad_input_messages(field):
    xy, z = field
    with pytest.raises(ValueError, match=f"at least {MIN_POINTS} distinct locations \\(got 4\\)"):
        Variogram().fit(xy[:4], z[:4])
    bad = z.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Variogram().fit(xy, bad)
    bxy = xy.copy()
    bxy[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite coordinates"):
        Variogram().fit(bxy, z)
    with pytest.raises(ValueError, match="zero variance"):
        Variogram().fit(xy, np.ones(len(z)))
    with pytest.raises(ValueError, match="not a known variogram model.*spherical"):
        Variogram("cubic").fit(xy, z)
    with pytest.raises(ValueError, match="look like degrees"):
        lonlat = np.column_stack([100 + xy[:, 0] / 1e5, 25 + xy[:, 1] / 1e5])
        Variogram(max_lag=5000).fit(lonlat, z)


def test_unfittable_variogram_lists_empirical_values(field):
    xy, z = field
    # max_lag shorter than any distance but one: too few non-empty bins
    with pytest.raises(ValueError, match=r"cannot fit a spherical variogram(.|\n)*lag \(m\)"):
        fit_variogram_model(
            np.array([10.0, np.nan]), np.array([0.5, np.nan]), np.array([3, 0]), "spherical"
        )


# ---------------------------------------------------------------- gstat
@pytest.mark.r
def test_empirical_and_fit_match_gstat(meuse, rgstat):
    vg, vc, fit = rgstat(
        """
        data(meuse); coordinates(meuse) = ~x+y
        v = variogram(log(zinc)~1, meuse)
        write.csv(as.data.frame(v)[, 1:3], "v.csv", row.names = FALSE)
        vc = variogram(log(zinc)~1, meuse, cressie = TRUE)
        write.csv(as.data.frame(vc)[, 1:3], "vc.csv", row.names = FALSE)
        f = fit.variogram(v, vgm(0.5, "Sph", 800, 0.1))
        write.csv(as.data.frame(f)[, 1:3], "f.csv", row.names = FALSE)
    """,
        ["v.csv", "vc.csv", "f.csv"],
    )
    v = Variogram("spherical").fit(meuse["xy"], meuse["logzinc"])
    np.testing.assert_array_equal(v.n_pairs_, vg["np"])
    np.testing.assert_allclose(v.lags_, vg["dist"], rtol=1e-12)
    np.testing.assert_allclose(v.gamma_, vg["gamma"], rtol=1e-12)
    c = Variogram("spherical", estimator="cressie").fit(meuse["xy"], meuse["logzinc"])
    np.testing.assert_allclose(c.gamma_, vc["gamma"], rtol=1e-12)
    # same weighted least squares (fit.method 7); optimisers differ slightly
    assert v.nugget_ == pytest.approx(fit["psill"][0], rel=2e-3)
    assert v.psill_ == pytest.approx(fit["psill"][1], rel=2e-3)
    assert v.range_ == pytest.approx(fit["range"][1], rel=2e-3)
    print(
        f"\ngstat fit.variogram vs ours: nugget {fit['psill'][0]:.6f}/{v.nugget_:.6f} "
        f"psill {fit['psill'][1]:.6f}/{v.psill_:.6f} range {fit['range'][1]:.3f}/{v.range_:.3f}"
    )


def test_fast_spherical_equals_gstools():
    import gstools as gs

    from geoagb.kriging._models import correlation

    h = np.linspace(0, 3000, 1001)
    ref = gs.Spherical(dim=2, var=1.0, len_scale=1200.0).correlation(h)
    np.testing.assert_allclose(correlation("spherical", h, 1200.0), ref, atol=1e-15)
