"""Co-kriging: reduction to ordinary kriging, neighbourhood exactness, gstat agreement."""

import numpy as np
import pytest

from geoagb.kriging import CoKriging, OrdinaryKriging, Variogram, fit_lmc

F = Variogram.from_params
PRIMARY = F("spherical", psill=0.8, range=3000.0, nugget=0.1)
LMC = {
    "primary": PRIMARY,
    "secondary": F("spherical", psill=2.0, range=3000.0, nugget=0.3),
    "cross": F("spherical", psill=0.9, range=3000.0, nugget=0.05),
}


@pytest.fixture(scope="module")
def cofield(field):
    xy, z = field
    rng = np.random.default_rng(7)
    s = 2.0 * z + np.cos(xy[:, 0] / 700) + rng.normal(0, 0.5, len(z))
    return xy, z, s


@pytest.mark.parametrize("k", [None, 15])
def test_uninformative_secondary_gives_ordinary_kriging(field, k):
    xy, z = field
    t = np.random.default_rng(1).uniform(0, 10_000, (400, 2))
    ok_m, ok_s = OrdinaryKriging(PRIMARY, n_neighbors=k).fit(xy, z).predict(t, return_std=True)
    zero = dict(LMC, cross=F("spherical", psill=0.0, range=3000.0, nugget=0.0))
    full = CoKriging("full", lmc=zero, n_neighbors=k).fit(xy, z, np.cos(xy[:, 1] / 900))
    m, sd = full.predict(t, return_std=True)
    np.testing.assert_allclose(m, ok_m, atol=1e-9)
    np.testing.assert_allclose(sd, ok_s, atol=1e-9)
    # with the secondary also given at the targets (one more datum, weights summing to 0)
    m2 = full.predict(t[:60], secondary=np.sin(t[:60, 0]))
    np.testing.assert_allclose(m2, ok_m[:60], atol=1e-9)


def _dense_collocated(xy, z, t, v, r, c22, s0):
    """Standardised collocated co-kriging at one target, written out with numpy."""
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    d0 = np.hypot(*(xy - t).T)
    n = len(z)
    A = np.zeros((n + 2, n + 2))
    A[:n, :n] = v.covariance(d)
    A[:n, n] = A[n, :n] = r * v.covariance(d0)
    A[n, n] = c22
    A[: n + 1, n + 1] = A[n + 1, : n + 1] = 1.0
    b = np.concatenate([v.covariance(d0), [r * v.sill_, 1.0]])
    x = np.linalg.solve(A, b)
    return x[:n] @ z + x[n] * s0, v.sill_ - x @ b


@pytest.mark.parametrize("k", [None, 12, 1])
def test_collocated_equals_the_system_written_out(cofield, k):
    xy, z, s = cofield
    ck = CoKriging("collocated", variogram=PRIMARY, n_neighbors=k).fit(xy, z, s)
    C12, C22 = ck.lmc_[0][1].sill_, ck.lmc_[1][1].sill_
    assert C22 == pytest.approx(np.var(s, ddof=1))
    assert C12 == pytest.approx(np.corrcoef(z, s)[0, 1] * np.sqrt(PRIMARY.sill_ * C22))
    rng = np.random.default_rng(4)
    t = rng.uniform(0, 10_000, (30, 2))
    st = rng.normal(s.mean(), s.std(), 30)
    m, sd = ck.predict(t, secondary=st, return_std=True)
    for j in range(30):
        near = np.argsort(np.hypot(*(xy - t[j]).T))[: (k or len(z))]
        ref_m, ref_v = _dense_collocated(
            xy[near], z[near], t[j], PRIMARY, C12 / PRIMARY.sill_, C22, st[j] - s.mean() + z.mean()
        )
        assert m[j] == pytest.approx(ref_m, abs=1e-9)
        assert sd[j] ** 2 == pytest.approx(ref_v, abs=1e-9)


def test_full_neighbourhood_paths_agree(cofield):
    xy, z, s = cofield
    g = np.linspace(0, 10_000, 70)
    t = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    a = CoKriging("full", lmc=LMC, n_neighbors=10).fit(xy, z, s).predict(t, return_std=True)
    b = (
        CoKriging("full", lmc=LMC, n_neighbors=10, chunk_size=50)
        .fit(xy, z, s)
        .predict(t, return_std=True)
    )
    np.testing.assert_allclose(a[0], b[0], atol=1e-9)
    np.testing.assert_allclose(a[1], b[1], atol=1e-9)


def test_collocated_secondary_improves_a_related_target():
    import gstools as gs

    rng = np.random.default_rng(9)
    xy = rng.uniform(0, 10_000, (400, 2))
    srf = gs.SRF(gs.Exponential(dim=2, var=1.0, len_scale=1500.0), seed=4)
    z = srf((xy[:, 0], xy[:, 1])) + rng.normal(0, 0.3, 400)
    s = 50.0 + 3.0 * z + rng.normal(0, 0.3, len(z))  # the secondary sees z's local variation
    test = rng.choice(len(z), 80, replace=False)
    train = np.setdiff1d(np.arange(len(z)), test)
    ok = OrdinaryKriging("exponential", n_neighbors=16).fit(xy[train], z[train])
    ck = CoKriging("collocated", variogram="exponential", n_neighbors=16).fit(
        xy[train], z[train], s[train]
    )
    e_ok = np.sqrt(np.mean((ok.predict(xy[test]) - z[test]) ** 2))
    m, sd = ck.predict(xy[test], secondary=s[test], return_std=True)
    e_ck = np.sqrt(np.mean((m - z[test]) ** 2))
    assert e_ck < 0.7 * e_ok  # the collocated value is informative
    _, sd_ok = ok.predict(xy[test], return_std=True)
    assert np.all(sd <= sd_ok + 1e-12)  # more data never raises the kriging variance


def test_fit_lmc_is_positive_semidefinite_and_keeps_structure(cofield):
    xy, z, s = cofield
    base = Variogram("spherical").fit(xy, z)
    grid, emp = fit_lmc(xy, np.column_stack([z, s]), base)
    N = np.array([[g.nugget_ for g in row] for row in grid])
    S = np.array([[g.psill_ for g in row] for row in grid])
    assert np.linalg.eigvalsh(N).min() >= -1e-12 and np.linalg.eigvalsh(S).min() >= -1e-12
    assert {g.range_ for row in grid for g in row} == {base.range_}
    assert emp["gamma"].shape[1:] == (2, 2)


def test_bad_input(cofield):
    xy, z, s = cofield
    ck = CoKriging("collocated", variogram=PRIMARY, n_neighbors=8).fit(xy, z, s)
    with pytest.raises(ValueError, match="secondary variable is missing at prediction time"):
        ck.predict(xy[:3])
    with pytest.raises(ValueError, match="missing \\(NaN\\) at 1 target"):
        ck.predict(xy[:3], secondary=[1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="secondary must have shape \\(3,\\)"):
        ck.predict(xy[:3], secondary=[1.0, 2.0])
    with pytest.raises(ValueError, match="mode='diagonal'; choose one of"):
        CoKriging("diagonal").fit(xy, z, s)
    bad = dict(LMC, cross=F("spherical", psill=5.0, range=3000.0, nugget=0.05))
    with pytest.raises(ValueError, match="not positive definite"):
        CoKriging("full", lmc=bad).fit(xy, z, s)
    with pytest.raises(ValueError, match="lmc must be a dict with keys"):
        CoKriging("full", lmc={"primary": PRIMARY}).fit(xy, z, s)
    with pytest.raises(ValueError, match="zero variance"):
        CoKriging().fit(xy, z, np.ones(len(z)))
    s2 = s.copy()
    s2[4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values"):
        CoKriging().fit(xy, z, s2)


@pytest.mark.r
@pytest.mark.parametrize("nmax", [20, None])
def test_full_cokriging_and_fit_lmc_match_gstat(meuse, rgstat, nmax):
    nm = "" if nmax is None else f", nmax = {nmax}"
    pred, lmc = rgstat(
        f"""
        data(meuse); data(meuse.grid)
        meuse$lz = log(meuse$zinc); meuse$lc = log(meuse$copper)
        coordinates(meuse) = ~x+y; coordinates(meuse.grid) = ~x+y
        g = gstat(NULL, "lz", lz~1, meuse{nm}, model = vgm(0.59, "Sph", 897, 0.05))
        g = gstat(g, "lc", lc~1, meuse{nm}, model = vgm(0.20, "Sph", 897, 0.03))
        g = gstat(g, c("lz", "lc"), model = vgm(0.30, "Sph", 897, 0.02))
        p = predict(g, meuse.grid, debug.level = 0)
        write.csv(data.frame(m = p$lz.pred, v = p$lz.var), "ck.csv", row.names = FALSE)
        f = fit.lmc(variogram(g), g, vgm(0.5, "Sph", 897, 0.05))
        out = do.call(rbind, lapply(names(f$model), function(n)
            data.frame(name = n, psill = f$model[[n]]$psill)))
        write.csv(out, "lmc.csv", row.names = FALSE)
    """,
        ["ck.csv", "lmc.csv"],
    )
    lmc_fixed = {
        "primary": F("Sph", 0.59, 897.0, 0.05),
        "secondary": F("Sph", 0.20, 897.0, 0.03),
        "cross": F("Sph", 0.30, 897.0, 0.02),
    }
    xy, z, c = meuse["xy"], meuse["logzinc"], meuse["logcopper"]
    m, sd = (
        CoKriging("full", lmc=lmc_fixed, n_neighbors=nmax)
        .fit(xy, z, c)
        .predict(meuse["grid"], return_std=True)
    )
    dm, dv = np.abs(m - pred["m"]).max(), np.abs(sd**2 - pred["v"]).max()
    assert dm < 1e-9 and dv < 1e-9
    # fit.lmc: primary structure kept, sills by WLS, then made positive semi-definite
    ck = CoKriging("full", variogram=F("Sph", 0.5, 897.0, 0.05)).fit(xy, z, c)
    ours = {"lz": ck.lmc_[0][0], "lc": ck.lmc_[1][1], "lz.lc": ck.lmc_[0][1]}
    for name, v in ours.items():
        ref = lmc[lmc["name"] == name]["psill"].to_numpy()  # (nugget, partial sill)
        np.testing.assert_allclose([v.nugget_, v.psill_], ref, rtol=1e-8)
    print(f"\nfull co-kriging vs gstat (nmax={nmax}): pred {dm:.1e}, var {dv:.1e}")


def _rvec(a) -> str:
    return ",".join(f"{float(v):.17g}" for v in np.atleast_1d(a))


@pytest.mark.r
def test_collocated_cokriging_matches_gstat(meuse, rgstat):
    """gstat has no collocated mode; the same system is set up per target: the secondary is
    one datum at the target (shifted to the primary mean) whose mean is merged with the
    primary's (one joint constraint), Markov-1 cross model."""
    xy, z, s = meuse["xy"], meuse["logzinc"], meuse["dist"]
    t, st = meuse["grid"][::150], meuse["grid_dist"][::150]
    v = F("Sph", 0.59, 897.0, 0.05)
    ck = CoKriging("collocated", variogram=v, n_neighbors=20).fit(xy, z, s)
    m, sd = ck.predict(t, secondary=st, return_std=True)
    cross, c22 = ck.lmc_[0][1], ck.lmc_[1][1].sill_
    r = cross.psill_ / 0.59
    (ref,) = rgstat(
        f"""
        data(meuse); meuse$lz = log(meuse$zinc); coordinates(meuse) = ~x+y
        tg = data.frame(x = c({_rvec(t[:, 0])}), y = c({_rvec(t[:, 1])}),
                        s = c({_rvec(st - ck.secondary_mean_[0] + z.mean())}))
        out = NULL
        for (i in 1:nrow(tg)) {{
          s0 = tg[i, ]; coordinates(s0) = ~x+y
          g = gstat(NULL, "p", lz~1, meuse, nmax = 20, model = vgm(0.59, "Sph", 897, 0.05))
          g = gstat(g, "s", s~1, s0, model = vgm({_rvec(r**2 * 0.59)}, "Sph", 897,
                                                 {_rvec(c22 - r**2 * 0.59)}), merge = c("p", "s"))
          g = gstat(g, c("p", "s"), model = vgm({_rvec(cross.psill_)}, "Sph", 897, {_rvec(cross.nugget_)}))
          p = predict(g, s0, debug.level = 0)
          out = rbind(out, data.frame(m = p$p.pred, v = p$p.var))
        }}
        write.csv(out, "col.csv", row.names = FALSE)
    """,
        ["col.csv"],
    )
    dm, dv = np.abs(m - ref["m"]).max(), np.abs(sd**2 - ref["v"]).max()
    assert dm < 1e-9 and dv < 1e-9
    print(f"\ncollocated co-kriging vs gstat ({len(t)} targets): pred {dm:.1e}, var {dv:.1e}")
