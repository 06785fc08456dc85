import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_predict

from geoagb.applicability import NNDM, nndm_exclusion

from ._reference import cast_nndm


def _clustered(rng, n_clusters, per, spread, extent=1000.0):
    centres = rng.uniform(0, extent, (n_clusters, 2))
    return np.vstack([c + rng.normal(0, spread, (per, 2)) for c in centres])


@pytest.mark.parametrize("seed,phi,min_train", [(0, "max", 0.5), (1, 150.0, 0.5), (2, "max", 0.8)])
def test_matches_cast_loop(seed, phi, min_train):
    rng = np.random.default_rng(seed)
    t = _clustered(rng, 8, 8, 20.0)
    g = np.linspace(0, 1000, 25)
    p = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    res = nndm_exclusion(t, p, phi=phi, min_train=min_train)
    ph = float(np.hypot(*np.ptp(p, axis=0))) if phi == "max" else phi
    ref_train, ref_gstar, ref_gij = cast_nndm(t, p, ph, min_train)
    assert res.phi == pytest.approx(ph)
    assert np.sort(ref_gij) == pytest.approx(res.Gij)
    assert res.Gjstar == pytest.approx(ref_gstar)
    assert all(np.array_equal(a, b) for a, b in zip(res.train, ref_train))
    # exclusions happened; a training set only shrank while it held more than min_train
    # (continuous coordinates: one neighbour per exclusion step)
    assert sum(len(e) for e in res.exclude) > 0
    assert all(
        (len(tr) + 1) / len(t) > min_train for tr, e in zip(res.train, res.exclude) if len(e)
    )


def test_hand_example_and_no_matching_without_range():
    t = [[0, 0], [1, 0], [100, 0], [101, 0]]
    p = [[50, 0], [50, 50], [150, 0], [-50, 0]]
    r = nndm_exclusion(t, p)
    assert [e.tolist() for e in r.exclude] == [[1], [0], [3], [2]]
    assert r.Gj.tolist() == [1.0, 1.0, 1.0, 1.0]
    # phi below the smallest NND: plain leave-one-out
    r0 = nndm_exclusion(t, p, phi=0.5)
    assert all(len(e) == 0 for e in r0.exclude) and r0.Gjstar.tolist() == r0.Gj.tolist()
    # min_train = 1: nothing may be excluded
    assert all(len(e) == 0 for e in nndm_exclusion(t, p, min_train=1.0).exclude)


def test_splitter_contract_and_matching_improves_w():
    rng = np.random.default_rng(3)
    t = _clustered(rng, 10, 6, 15.0)
    g = np.linspace(0, 1000, 30)
    p = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    cv = NNDM(prediction_points=p)
    splits = list(cv.split(t))
    assert cv.get_n_splits(t) == len(t) == len(splits)
    tested = np.concatenate([te for _, te in splits])
    assert np.array_equal(np.sort(tested), np.arange(len(t)))
    for tr, te in splits:
        assert te[0] not in tr
    res = cv.match(t)
    from scipy.stats import wasserstein_distance

    assert res.wasserstein < wasserstein_distance(res.Gj, res.Gij)
    # usable as cv= in scikit-learn
    y = t[:, 0] * 0.01 + rng.normal(size=len(t))
    pred = cross_val_predict(LinearRegression(), t, y, cv=cv)
    assert pred.shape == y.shape


def test_errors():
    with pytest.raises(ValueError, match="min_train"):
        nndm_exclusion([[0, 0], [1, 1], [2, 2]], [[0, 0]], min_train=2)
    with pytest.raises(ValueError, match="phi"):
        nndm_exclusion([[0, 0], [1, 1], [2, 2]], [[0, 0]], phi="auto")
    with pytest.raises(ValueError, match="needs X"):
        NNDM([[0, 0]]).get_n_splits()
