"""Shared invariants over every splitter, property tests, and bad-input errors."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score

from geoagb.model_selection import (
    KNNDM,
    NNDM,
    BufferedLeaveOneOut,
    GradientStratifiedSampler,
    SpatialBlockKFold,
    block_labels,
    holdout_split,
)


def _points(n=400, seed=0, extent=20_000):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, extent, (n, 2)) + [500_000, 2_700_000]
    return pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "elevation": rng.uniform(0, 2000, n),
            "f": rng.normal(size=n),
        }
    )


EXHAUSTIVE = [  # splitters that test every sample exactly once
    SpatialBlockKFold(n_splits=5, block_size=3_000, random_state=0),
    SpatialBlockKFold(n_splits=5, block_size=3_000, random_state=0, balance=True),
    SpatialBlockKFold(n_splits=4, block_size=5_000, origin=(499_000, 2_722_000), random_state=1),
    SpatialBlockKFold(n_splits=5, block_size=3_000, random_state=0, buffer=1_000),
    BufferedLeaveOneOut(buffer=2_000),
]
_GX, _GY = np.meshgrid(np.linspace(500_000, 520_000, 30), np.linspace(2_700_000, 2_720_000, 30))
GRID = np.column_stack([_GX.ravel(), _GY.ravel()])
EXHAUSTIVE += [NNDM(GRID, phi=5_000), KNNDM(GRID, n_splits=5, random_state=0)]
ALL = EXHAUSTIVE + [GradientStratifiedSampler(interval=250, n_repeats=5, random_state=0)]


@pytest.mark.parametrize("cv", EXHAUSTIVE, ids=lambda c: repr(c)[:60])
def test_each_sample_tested_exactly_once(cv):
    X = _points(120) if isinstance(cv, BufferedLeaveOneOut) else _points()
    counts = np.zeros(len(X), int)
    for _, test in cv.split(X):
        counts[test] += 1
    assert np.all(counts == 1)
    assert cv.get_n_splits(X) == sum(1 for _ in cv.split(X))


@pytest.mark.parametrize("cv", ALL, ids=lambda c: repr(c)[:60])
def test_train_test_disjoint_and_reproducible(cv):
    X = _points(120) if isinstance(cv, BufferedLeaveOneOut) else _points()
    a = list(cv.split(X))
    b = list(cv.split(X))
    for (tr, te), (tr2, te2) in zip(a, b):
        assert len(np.intersect1d(tr, te)) == 0
        assert len(te) > 0 and len(tr) > 0
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(te, te2)


@pytest.mark.parametrize(
    "cv", [c for c in EXHAUSTIVE if isinstance(c, SpatialBlockKFold)], ids=lambda c: repr(c)[:60]
)
def test_blocks_never_split(cv):
    X = _points()
    labels = block_labels(X[["x", "y"]].to_numpy(), cv.block_size, cv.origin)
    fold = np.empty(len(X), int)
    for k, (_, te) in enumerate(cv.split(X)):
        fold[te] = k
    df = pd.DataFrame({"b": labels, "f": fold})
    assert (df.groupby("b")["f"].nunique() == 1).all()


@pytest.mark.parametrize(
    "cv",
    [
        SpatialBlockKFold(5, block_size=3_000, random_state=0, buffer=1_500),
        BufferedLeaveOneOut(buffer=1_500),
    ],
    ids=["block", "loo"],
)
def test_buffer_excludes_exactly_the_near_samples(cv):
    X = _points(150)
    xy = X[["x", "y"]].to_numpy()
    for tr, te in cv.split(X):
        d = cdist(xy, xy[te]).min(axis=1)
        expected = np.flatnonzero(d > 1_500)
        np.testing.assert_array_equal(np.sort(tr), expected)


def test_block_labels_by_hand():
    xy = np.array([[0, 10], [4.9, 5.1], [5, 10], [1, 0], [10, 0]], float)
    # origin upper-left = (0, 10); rows from the top: y=10 -> row 0, y=5.1 -> row 0, y=0 -> row 2
    assert block_labels(xy, 5).tolist() == [0, 0, 1, 6, 8]
    # explicit origin (0, 20): cols [0, 1, 1, 0, 2], rows [1, 2, 1, 3, 3] -> shifted rows [0, 1, 0, 2, 2]
    assert block_labels(xy + 2.5, 5, origin=(0, 20)).tolist() == [0, 4, 1, 6, 8]


def test_origin_does_not_drift_when_points_added_inside():
    X = _points(300)
    cv = SpatialBlockKFold(5, block_size=4_000, random_state=0)
    lab1 = block_labels(X[["x", "y"]].to_numpy(), 4_000)
    inner = X.iloc[[0]].copy()
    inner["x"] = X["x"].median()
    inner["y"] = X["y"].median()
    X2 = pd.concat([X, inner], ignore_index=True)
    lab2 = block_labels(X2[["x", "y"]].to_numpy(), 4_000)[:300]
    np.testing.assert_array_equal(lab1, lab2)
    assert cv.get_n_splits() == 5


def test_seed_changes_assignment_and_balance_evens_sizes():
    X = _points(2000, seed=3, extent=40_000)
    f0 = SpatialBlockKFold(10, block_size=4_000, random_state=0).fold_labels(X)
    f1 = SpatialBlockKFold(10, block_size=4_000, random_state=1).fold_labels(X)
    assert not np.array_equal(f0, f1)
    plain = np.bincount(SpatialBlockKFold(10, block_size=8_000, random_state=0).fold_labels(X))
    bal = np.bincount(
        SpatialBlockKFold(10, block_size=8_000, random_state=0, balance=True).fold_labels(X)
    )
    assert np.ptp(bal) <= np.ptp(plain)


def test_coords_array_idiom_and_geodataframe(plots600):
    plots, _ = plots600
    feats = plots.drop(columns=["x", "y", "geometry", "agb"]).to_numpy()
    xy = plots[["x", "y"]].to_numpy()
    a = [te for _, te in SpatialBlockKFold(5, block_size=5_000, random_state=0).split(plots)]
    b = [
        te
        for _, te in SpatialBlockKFold(5, block_size=5_000, random_state=0, coords=xy).split(feats)
    ]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    # plain sklearn code with a pure feature matrix
    s = cross_val_score(
        LinearRegression(),
        feats,
        plots["agb"],
        cv=SpatialBlockKFold(5, block_size=5_000, random_state=0, coords=xy),
    )
    assert s.shape == (5,)
    # a misaligned coords array (as inside nested CV) is a clear error
    with pytest.raises(ValueError, match="aligned"):
        list(SpatialBlockKFold(5, block_size=5_000, coords=xy).split(feats[:100]))


def test_gradient_sampler_one_per_interval_and_n_train():
    X = _points(500, seed=2)
    cv = GradientStratifiedSampler(interval=200, n_repeats=20, random_state=0)
    strata = np.floor((X["elevation"] - X["elevation"].min()) / 200).astype(int)
    n_strata = strata.nunique()
    for tr, _te in cv.split(X):
        assert len(tr) == n_strata
        assert strata.iloc[tr].nunique() == n_strata
    cv2 = GradientStratifiedSampler(interval=500, n_repeats=5, n_train=30, random_state=0)
    for tr, _ in cv2.split(X):
        assert len(tr) == 30 and len(np.unique(tr)) == 30


def test_holdout_split_fractions_and_blocks(plots600):
    plots, _ = plots600
    tr, va, te = holdout_split(plots, (0.7, 0.1, 0.2), random_state=0)
    assert (len(tr), len(va), len(te)) == (420, 60, 120)
    assert len(np.intersect1d(tr, te)) == 0
    tr, va, te = holdout_split(plots, (0.7, 0.1, 0.2), random_state=0, block_size=5_000)
    lab = block_labels(plots[["x", "y"]].to_numpy(), 5_000)
    assert not set(lab[tr]) & set(lab[te])
    assert len(tr) + len(va) + len(te) == 600


# --- property tests on random point sets ---------------------------------------------------
coords_strategy = arrays(
    np.float64,
    st.tuples(st.integers(20, 200), st.just(2)),
    elements=st.floats(0, 50_000, allow_nan=False),
)


@settings(max_examples=40, deadline=None)
@given(
    xy=coords_strategy,
    bs=st.floats(500, 20_000),
    k=st.integers(2, 6),
    seed=st.integers(0, 100),
    balance=st.booleans(),
)
def test_property_block_kfold(xy, bs, k, seed, balance):
    xy = xy + [400_000, 3_000_000]
    cv = SpatialBlockKFold(n_splits=k, block_size=bs, random_state=seed, balance=balance)
    labels = block_labels(xy, bs)
    if len(np.unique(labels)) < k:  # all samples at one location: the message says so
        with pytest.raises(ValueError, match="non-empty block|at one location"):
            list(cv.split(xy))
        return
    counts = np.zeros(len(xy), int)
    fold = np.empty(len(xy), int)
    for f, (tr, te) in enumerate(cv.split(xy)):
        assert len(np.intersect1d(tr, te)) == 0
        assert len(tr) + len(te) == len(xy)
        counts[te] += 1
        fold[te] = f
    assert np.all(counts == 1)
    for lab in np.unique(labels):
        assert len(np.unique(fold[labels == lab])) == 1


@settings(max_examples=30, deadline=None)
@given(xy=coords_strategy, bs=st.floats(100, 30_000))
def test_property_block_labels_geometry(xy, bs):
    lab = block_labels(xy, bs)
    x0, y0 = xy[:, 0].min(), xy[:, 1].max()
    col = np.floor((xy[:, 0] - x0) / bs)
    row = np.floor((y0 - xy[:, 1]) / bs)
    key = row * (col.max() + 1) + col
    # same block <=> same label
    assert np.array_equal(lab[:, None] == lab[None, :], key[:, None] == key[None, :])


# --- bad input ------------------------------------------------------------------------------
def test_degrees_refused():
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([rng.uniform(105, 106, 50), rng.uniform(25, 26, 50)])
    with pytest.raises(ValueError, match="degrees"):
        list(SpatialBlockKFold(5, block_size=5_000).split(lonlat))


def test_geographic_crs_refused(plots600):
    plots, _ = plots600
    with pytest.raises(ValueError, match="geographic"):
        list(SpatialBlockKFold(5, block_size=5_000).split(plots.to_crs(4326)))


def test_too_many_splits_says_both_numbers():
    X = _points(100, extent=9_000)
    with pytest.raises(
        ValueError, match=r"n_splits=10 is larger than the 4 non-empty block\(s\).*n_splits <= 4"
    ):
        list(SpatialBlockKFold(10, block_size=5_000).split(X))


def test_single_block_is_an_error():
    X = _points(50, extent=1_000)
    with pytest.raises(ValueError, match="1 non-empty block"):
        list(SpatialBlockKFold(2, block_size=5_000).split(X))


@pytest.mark.parametrize("bs", [0, -5, np.nan])
def test_nonpositive_block_size(bs):
    with pytest.raises(ValueError, match="positive"):
        list(SpatialBlockKFold(5, block_size=bs).split(_points(50)))


def test_nan_coordinates():
    X = _points(50)
    X.loc[3, "x"] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        list(SpatialBlockKFold(5, block_size=3_000).split(X))


def test_missing_coordinate_columns():
    X = _points(50).rename(columns={"x": "easting"})
    with pytest.raises(ValueError, match=r"coordinate column\(s\) \['x'\] not found"):
        list(SpatialBlockKFold(5, block_size=3_000).split(X))
    # the fix the message suggests works
    assert len(list(SpatialBlockKFold(2, block_size=3_000, coords=("easting", "y")).split(X))) == 2


def test_bad_origin_and_buffer():
    with pytest.raises(ValueError, match="upper_left"):
        list(SpatialBlockKFold(2, block_size=3_000, origin="center").split(_points(50)))
    with pytest.raises(ValueError, match="buffer"):
        list(SpatialBlockKFold(2, block_size=3_000, buffer=-1).split(_points(50)))


# --- degenerate folds -----------------------------------------------------------------------
COLOCATED = [
    NNDM(GRID, phi=5_000),
    KNNDM(GRID, n_splits=5, random_state=0),
    SpatialBlockKFold(n_splits=5, block_size=3_000, random_state=0),
    SpatialBlockKFold(n_splits=5, block_size=3_000, random_state=0, buffer=1_000),
    BufferedLeaveOneOut(buffer=2_000),
]


@pytest.mark.parametrize("cv", COLOCATED, ids=lambda c: repr(c)[:60])
def test_colocated_samples_are_refused_with_the_cause_and_fix(cv):
    """30 plots at one location: NNDM used to give 30 splits with empty training sets."""
    X = pd.DataFrame({"x": [510_000.0] * 30, "y": [2_710_000.0] * 30, "f": np.arange(30.0)})
    with pytest.raises(ValueError, match=r"all 30 samples are at one location.*KFold"):
        list(cv.split(X))


def test_buffer_zero_loo_on_colocated_samples_is_ordinary_loo():
    X = pd.DataFrame({"x": [510_000.0] * 5, "y": [2_710_000.0] * 5})
    splits = list(BufferedLeaveOneOut(buffer=0).split(X))
    assert [(tr.tolist(), te.tolist()) for tr, te in splits][:2] == [
        ([1, 2, 3, 4], [0]),
        ([0, 2, 3, 4], [1]),
    ]


def test_buffer_that_swallows_all_training_data_is_refused():
    X = _points(60, extent=5_000)
    with pytest.raises(ValueError, match=r"split 0 has 0 training .*within the buffer of test"):
        list(BufferedLeaveOneOut(buffer=10_000).split(X))
    with pytest.raises(ValueError, match=r"has 0 training .*within the buffer of test fold"):
        list(SpatialBlockKFold(2, block_size=2_000, random_state=0, buffer=10_000).split(X))


def test_nndm_refuses_a_sample_left_without_training_data():
    """A centre plot with four plots 1 000 m away: its nearest neighbours are all tied, so
    NNDM (as CAST) excludes all four together and the centre would be trained on nothing."""
    plus = np.array([[0, 0], [1_000, 0], [-1_000, 0], [0, 1_000], [0, -1_000]], float)
    pred = np.random.default_rng(0).uniform(-5_000, 5_000, (100, 2))
    with pytest.raises(ValueError, match=r"split 0 has 0 training.*1000 m.*phi below 1000 m"):
        list(NNDM(pred).split(plus))
    # the fix named works: below 1000 m there is nothing to match, so it is plain LOO
    splits = list(NNDM(pred, phi=999).split(plus))
    assert [len(tr) for tr, _ in splits] == [4] * 5


def test_knndm_never_yields_an_empty_fold():
    """43 plots at 3 distinct locations cannot fill 5 folds: refused, not an empty fold."""
    xy = np.repeat([[0.0, 0.0], [5_000.0, 0.0], [0.0, 9_000.0]], [20, 20, 3], axis=0)
    pred = np.random.default_rng(0).uniform(-20_000, 30_000, (300, 2))
    with pytest.raises(ValueError, match=r"5 non-empty folds.*3 distinct locations"):
        list(KNNDM(pred, n_splits=5, random_state=0).split(xy))
    # with 2 folds every fold is filled
    splits = list(KNNDM(pred, n_splits=2, max_fold_fraction=0.6, random_state=0).split(xy))
    assert all(len(tr) and len(te) for tr, te in splits)


def test_gradient_sampler_refuses_degenerate_training_sets():
    X = _points(40, seed=3)
    X["flat"] = 850.0
    with pytest.raises(ValueError, match=r"'flat' gradient is constant \(all 40 values are 850\)"):
        list(GradientStratifiedSampler("flat").split(X))
    with pytest.raises(ValueError, match=r"interval=1e\+06 holds the whole 'elevation' gradient"):
        list(GradientStratifiedSampler(interval=1e6).split(X))
    with pytest.raises(ValueError, match="n_train=1 must be an integer between 2"):
        list(GradientStratifiedSampler(interval=1e6, n_train=1).split(X))
    with pytest.raises(ValueError, match="its own interval"):
        list(GradientStratifiedSampler(interval=1e-9).split(X))
    # the fixes named work: n_train=2 draws two plots from the single interval
    for tr, te in GradientStratifiedSampler(interval=1e6, n_train=2, n_repeats=3).split(X):
        assert len(tr) == 2 and len(te) == 38
