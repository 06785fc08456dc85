"""The compiled walk (factor updates along the Hilbert curve, in-kernel neighbour selection) against
fresh per-target solves of the general batched solver on the same neighbourhoods.
"""

import numpy as np
import pytest

import geoagb.kriging._solve as solve
from geoagb.kriging import OrdinaryKriging, Variogram
from geoagb.kriging._curve import hilbert


def _data(kind, rng):
    if kind == "uniform":
        xy = rng.uniform(0, 10_000, (400, 2))
    elif kind == "clustered":  # plots in tight clusters ~100 m apart, as in inventories
        centres = rng.uniform(0, 10_000, (25, 2))
        xy = (centres[:, None] + rng.normal(0, 120, (25, 16, 2))).reshape(-1, 2)
    else:  # a regular grid: many ties at the k-th neighbour distance
        g = np.arange(0, 10_000, 500.0)
        xy = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    z = np.sin(xy[:, 0] / 1500) + np.cos(xy[:, 1] / 2100) + rng.normal(0, 0.2, len(xy))
    return xy, z


@pytest.mark.parametrize("kind", ["uniform", "clustered", "grid"])
@pytest.mark.parametrize(
    "targets", ["dense grid", "random order", "one target"], ids=lambda s: s.replace(" ", "-")
)
@pytest.mark.parametrize(("k", "max_distance"), [(16, None), (40, None), (16, 900.0)])
@pytest.mark.parametrize("n_jobs", [None, 2])
def test_walk_equals_fresh_solves(kind, targets, k, max_distance, n_jobs, monkeypatch):
    rng = np.random.default_rng(7)
    xy, z = _data(kind, rng)
    if targets == "dense grid":
        g = np.linspace(-300, 10_300, 90)
        t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    elif targets == "random order":
        t = rng.uniform(-300, 10_300, (3_000, 2))
    else:
        t = np.array([[5_000.0, 5_000.0]])
    v = Variogram.from_params("exponential", psill=1.0, range=1_500.0, nugget=0.05)
    ok = OrdinaryKriging(v, n_neighbors=k, max_distance=max_distance, n_jobs=n_jobs).fit(xy, z)
    m1, s1 = ok.predict(t, return_std=True)
    monkeypatch.setattr(solve, "_kernel_params", lambda *a: None)
    m2, s2 = ok.predict(t, return_std=True)
    np.testing.assert_array_equal(np.isnan(m1), np.isnan(m2))
    np.testing.assert_allclose(m1, m2, atol=1e-10, equal_nan=True)
    # variances (std at a datum is sqrt of rounding noise, ~1e-8)
    np.testing.assert_allclose(s1**2, s2**2, atol=1e-10, equal_nan=True)


def test_tile_candidates_hold_every_neighbourhood():
    """Each tile's candidate list holds the k nearest data of all its targets (what makes the
    in-kernel selection exact), and stays close to one neighbourhood in size (what makes it fast).
    """
    from scipy.spatial import cKDTree

    from geoagb.kriging import _ok_kernel as K

    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 10_000, (300, 2))
    g = np.linspace(0, 10_000, 80)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    order, q, scale, lo = hilbert(t)
    t, q = t[order], q[order]
    tree = cKDTree(xy)
    tile_of, cptr, cand = K._tiles(t, q, scale, lo, tree, 24, np.inf, len(xy), 1)
    # every target's 24 nearest data are among its tile's candidates
    _, nn = tree.query(t, 24)
    for i in range(0, len(t), 97):
        c = cand[cptr[tile_of[i]] : cptr[tile_of[i] + 1]]
        assert set(nn[i]) <= set(c)
    assert np.diff(cptr).mean() < 3 * 24


@pytest.mark.parametrize(
    ("model", "nugget", "atol"),
    [("spherical", 0.0, 1e-10), ("exponential", 0.0, 1e-10), ("gaussian", 1e-3, 1e-8)],
)
def test_long_walks_without_nugget_stay_accurate(model, nugget, atol, monkeypatch):
    """Thousands of factor updates between rebuilds (REFRESH) with no or a tiny nugget: the
    worst-conditioned covariance matrices the kernel takes still give fresh-solve answers."""
    from geoagb.kriging import _ok_kernel as K

    rng = np.random.default_rng(3)
    xy, z = _data("uniform", rng)
    g = np.linspace(0, 10_000, 120)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    v = Variogram.from_params(model, psill=1.0, range=2_500.0, nugget=nugget)
    ok = OrdinaryKriging(v, n_neighbors=40).fit(xy, z)
    m1, s1 = ok.predict(t, return_std=True)
    assert K.REFRESH >= 64 and len(t) > 4 * K.REFRESH
    monkeypatch.setattr(solve, "_kernel_params", lambda *a: None)
    m2, s2 = ok.predict(t, return_std=True)
    np.testing.assert_allclose(m1, m2, atol=atol)
    np.testing.assert_allclose(s1**2, s2**2, atol=atol)


def test_hilbert_walk_is_continuous_and_keeps_quadtree_cells_together():
    """On a 2^l grid every step of the Hilbert order moves to an edge neighbour, and each
    aligned quadtree cell is one run of the order (what tiles rely on)."""
    g = np.arange(16.0)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    order, q, scale, lo = hilbert(t)
    path = t[order]
    np.testing.assert_array_equal(np.abs(np.diff(path, axis=0)).sum(axis=1), 1.0)
    np.testing.assert_allclose(lo + q * scale, t)
    assert sorted(order) == list(range(len(t)))
    for level in (12, 13, 14, 15):  # cells of 1, 2, 4, 8 grid steps (q spans 16 bits)
        cell = q[order] >> np.uint64(level)
        key = cell[:, 0] * 65536 + cell[:, 1]
        runs = 1 + np.count_nonzero(key[1:] != key[:-1])
        assert runs == len(np.unique(key))


def _predict_all(make, xy, z, t, n_jobs_list=(1, 2, 4), **predict_kw):
    return [
        make(n_jobs).fit(xy, *z).predict(t, return_std=True, **predict_kw) for n_jobs in n_jobs_list
    ]


@pytest.mark.parametrize("kind", ["uniform", "grid"])  # grid data: ties go to the general solver
@pytest.mark.parametrize("model", ["spherical", "matern"])  # compiled walk / batched tiles
def test_results_do_not_depend_on_n_jobs(kind, model, monkeypatch):
    """The work items are planned from the data and targets alone, threads only pick them up,
    so n_jobs = 1, 2, 4 give bit-for-bit the same means and standard deviations."""
    from geoagb.kriging import _ok_kernel as K

    items = []
    real = K._work_items
    monkeypatch.setattr(K, "_work_items", lambda *a: items.append(real(*a)) or items[-1])
    rng = np.random.default_rng(11)
    xy, z = _data(kind, rng)
    xy = xy[:300]
    z = z[:300]
    g = np.linspace(-300, 10_300, 60)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)  # 3 600 targets
    v = Variogram.from_params(model, psill=1.0, range=1_500.0, nugget=0.05)
    (m1, s1), (m2, s2), (m4, s4) = _predict_all(
        lambda j: OrdinaryKriging(v, n_neighbors=16, n_jobs=j), xy, (z,), t
    )
    for m, s in ((m2, s2), (m4, s4)):
        np.testing.assert_array_equal(m, m1)
        np.testing.assert_array_equal(s, s1)
    assert np.isfinite(m1).all()
    if model == "spherical":  # several work items, so the split between threads could matter
        assert items and all(len(b) > 3 for b in items)


@pytest.mark.parametrize("mode", ["full", "collocated"])
def test_cokriging_does_not_depend_on_n_jobs(mode):
    from geoagb.kriging import CoKriging

    rng = np.random.default_rng(5)
    xy, z = _data("uniform", rng)
    xy, z = xy[:300], z[:300]
    s = 2.0 * z + np.cos(xy[:, 0] / 700) + rng.normal(0, 0.5, len(z))
    g = np.linspace(0, 10_000, 50)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)  # 2 500 targets
    F = Variogram.from_params
    lmc = {
        "primary": F("spherical", psill=0.8, range=3000.0, nugget=0.1),
        "secondary": F("spherical", psill=2.0, range=3000.0, nugget=0.3),
        "cross": F("spherical", psill=0.9, range=3000.0, nugget=0.05),
    }
    kw = {"secondary": np.sin(t[:, 0] / 900)} if mode == "collocated" else {}

    def make(j):
        if mode == "full":
            return CoKriging("full", lmc=lmc, n_neighbors=12, n_jobs=j)
        return CoKriging("collocated", variogram=lmc["primary"], n_neighbors=12, n_jobs=j)

    (m1, s1), (m2, s2), (m4, s4) = _predict_all(make, xy, (z, s), t, **kw)
    for m, sd in ((m2, s2), (m4, s4)):
        np.testing.assert_array_equal(m, m1)
        np.testing.assert_array_equal(sd, s1)
    assert np.isfinite(m1).all()
