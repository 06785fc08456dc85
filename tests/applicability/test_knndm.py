import numpy as np
import pytest
from scipy.stats import wasserstein_distance
from sklearn.model_selection import KFold

from geoagb.applicability import KNNDM, fold_nearest_distances, geodist, knndm_folds
from geoagb.applicability._knndm import merge_clusters
from geoagb.model_selection import SpatialBlockKFold


def test_fold_nearest_distances_and_merge_by_hand():
    xy = [[0, 0], [1, 0], [5, 0], [6, 0]]
    assert fold_nearest_distances(xy, [0, 0, 1, 1]).tolist() == [5.0, 4.0, 4.0, 5.0]
    line = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [10, 0]], dtype=float)
    # five singleton clusters, k = 2: none is big (>= 2.5 samples), dealt in turn along x
    f = merge_clusters(line, [0, 1, 2, 3, 4], k=2, axis=np.array([1.0, 0.0]))
    assert f.tolist() == [0, 1, 0, 1, 0]
    # a cluster of 3 samples (>= 5 / 2) becomes a fold of its own
    f = merge_clusters(line, [0, 0, 0, 1, 2], k=2, axis=np.array([1.0, 0.0]))
    assert f.tolist() == [0, 0, 0, 1, 1]


def test_interspersed_prediction_gives_random_cv():
    """Plots on a jittered inventory grid, predictions everywhere between them: prediction
    locations are closer to a plot than plots to each other, so random CV is returned."""
    rng = np.random.default_rng(0)
    g = np.arange(50.0, 1000, 100)
    t = np.column_stack([a.ravel() for a in np.meshgrid(g, g)]) + rng.uniform(-10, 10, (100, 2))
    t = np.vstack([t, t + [0.0, 50.0]])
    g = np.linspace(0, 1000, 40)
    p = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    r = knndm_folds(t, p, n_splits=5, random_state=0)
    assert r.random_cv and r.n_clusters is None
    assert np.bincount(r.folds).tolist() == [40] * 5
    assert r.W == pytest.approx(wasserstein_distance(r.Gjstar, r.Gij))


def test_far_prediction_gives_block_like_cv():
    rng = np.random.default_rng(1)
    centres = rng.uniform(0, 10_000, (12, 2))
    t = np.vstack([c + rng.normal(0, 100, (15, 2)) for c in centres])
    g = np.linspace(0, 10_000, 40)
    p = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    r = knndm_folds(t, p, n_splits=5, random_state=0)
    assert not r.random_cv and r.n_clusters is not None
    rnd = KFold(5, shuffle=True, random_state=0)
    w_random = wasserstein_distance(fold_nearest_distances(t, None, list(rnd.split(t))), r.Gij)
    assert r.W < 0.5 * w_random
    assert np.median(r.Gjstar) > 5 * np.median(r.Gj)  # held-out samples far from training
    # the chosen configuration is the best of the candidates tried (CAST's grid of q)
    assert r.W == pytest.approx(r.candidates["W"].min())
    n = len(t)
    grid = np.unique(np.round(np.exp(np.linspace(np.log(5), np.log(n - 2), 100))).astype(int))
    assert r.candidates["n_clusters"].tolist() == grid.tolist()
    assert np.bincount(r.folds).max() / n <= 0.5


def test_splitter_contract_and_reproducibility():
    rng = np.random.default_rng(2)
    t = np.vstack([c + rng.normal(0, 50, (20, 2)) for c in rng.uniform(0, 5000, (6, 2))])
    p = rng.uniform(0, 5000, (400, 2))
    cv = KNNDM(prediction_points=p, n_splits=4, random_state=0, clustering="hierarchical")
    splits = list(cv.split(t))
    assert len(splits) == cv.get_n_splits() == 4
    tested = np.sort(np.concatenate([te for _, te in splits]))
    assert np.array_equal(tested, np.arange(len(t)))
    for tr, te in splits:
        assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(t)
    assert np.array_equal(
        cv.fold_labels(t), KNNDM(p, 4, random_state=0, clustering="hierarchical").fold_labels(t)
    )


def test_errors():
    t = np.random.default_rng(0).uniform(0, 10, (30, 2))
    with pytest.raises(ValueError, match="strictly between"):
        knndm_folds(t, t, n_splits=5, max_fold_fraction=0.1)
    with pytest.raises(ValueError, match="clustering"):
        knndm_folds(t, t, clustering="dbscan")
    with pytest.raises(ValueError, match="more samples than folds"):
        knndm_folds(t[:5], t, n_splits=5)


@pytest.fixture(scope="module")
def plots_grid():
    from geoagb.datasets import make_plots

    plots = make_plots(600, random_state=0)
    x0, y0 = plots["x"].min(), plots["y"].min()
    x1, y1 = plots["x"].max(), plots["y"].max()
    gx, gy = np.meshgrid(np.linspace(x0, x1, 40), np.linspace(y0, y1, 40))
    return plots, np.column_stack([gx.ravel(), gy.ravel()])


def test_make_plots_random_block_knndm_wasserstein(plots_grid, capsys):
    """make_plots(600, 0): clustered inventory plots, prediction on a regular grid over the
    extent. kNNDM must match the prediction distances better than random and block CV."""
    plots, grid = plots_grid
    cvs = {
        "random 10-fold": KFold(10, shuffle=True, random_state=0),
        "block 10-fold (5 km)": SpatialBlockKFold(10, block_size=5_000, random_state=0),
        "kNNDM 10-fold": KNNDM(grid, n_splits=10, random_state=0),
    }
    g = geodist(plots, grid, cv=cvs)
    W = g.W_cv
    with capsys.disabled():
        print(
            "\nW to prediction-to-sample (m): "
            + ", ".join(f"{k} {v:,.0f}" for k, v in W.items())
            + f"; sample-to-sample {g.W_sample:,.0f}"
        )
    assert W["kNNDM 10-fold"] < W["random 10-fold"]
    assert W["kNNDM 10-fold"] < W["block 10-fold (5 km)"]
    assert W["random 10-fold"] > 0.8 * g.W_sample  # random CV stays near sample-to-sample
