"""The coordinate rule: named once, honoured by every function that splits or fits; never a
silent leak into a plain learner; conflicting or partial names are errors; metres only."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline

from geoagb.base import DropCoordinates, uses_coords
from geoagb.datasets import make_plots
from geoagb.kriging import KrigingRegressor, ResidualKrigingRegressor
from geoagb.model_selection import (
    BufferedLeaveOneOut,
    SpatialBlockKFold,
    holdout_split,
    spatial_cross_validate,
)


@pytest.fixture(scope="module")
def data():
    plots = make_plots(150, random_state=4)
    return plots.drop(columns="agb"), plots["agb"]


def test_names_on_splitter_only_do_not_leak(data):
    X, y = data
    df = X.drop(columns="geometry").rename(columns={"x": "x_utm", "y": "y_utm"})
    cv = SpatialBlockKFold(4, block_size=10_000, random_state=0, coords=("x_utm", "y_utm"))
    res = spatial_cross_validate(
        LinearRegression(), df, y, cv, progress=False, return_estimators=True
    )
    assert "x_utm" not in res.estimators[0].feature_names_in_
    ref = spatial_cross_validate(
        LinearRegression(),
        X,
        y,
        SpatialBlockKFold(4, block_size=10_000, random_state=0),
        progress=False,
    )
    np.testing.assert_allclose(res.oof_predictions, ref.oof_predictions, atol=1e-9)


def test_names_on_estimator_only_reach_the_splitter(data):
    X, y = data
    df = X.drop(columns="geometry").rename(columns={"x": "e", "y": "n"})
    rk = ResidualKrigingRegressor(LinearRegression(), coords=("e", "n"), random_state=0)
    res = spatial_cross_validate(
        rk, df, y, SpatialBlockKFold(4, block_size=10_000, random_state=0), progress=False
    )
    assert np.isfinite(res.oof_predictions).all()


def test_conflicting_and_partial_names(data):
    X, y = data
    df = X.drop(columns="geometry")
    with pytest.raises(ValueError, match=r"named differently.*function: \('x', 'y'\).*cv: "):
        spatial_cross_validate(
            LinearRegression(),
            df,
            y,
            SpatialBlockKFold(4, 10_000, coords=("e", "n")),
            coords=("x", "y"),
            progress=False,
        )
    with pytest.raises(ValueError, match=r"has the coordinate column \['x'\] but not \['n'\]"):
        spatial_cross_validate(
            LinearRegression(),
            df,
            y,
            SpatialBlockKFold(4, 10_000, coords=("x", "n")),
            progress=False,
        )


def test_headline_call_geodataframe_rk(data):
    X, y = data
    rk = ResidualKrigingRegressor(LinearRegression(), random_state=0)
    assert (
        uses_coords(rk)
        and uses_coords(make_pipeline(rk))
        and not uses_coords(make_pipeline(DropCoordinates(), LinearRegression()))
    )
    res = spatial_cross_validate(
        rk, X, y, SpatialBlockKFold(5, block_size=5_000, random_state=0), progress=False
    )
    assert np.isfinite(res.oof_predictions).all()
    # plain scikit-learn: DropCoordinates in front of a plain learner, RK directly
    out = cross_validate(
        make_pipeline(DropCoordinates(), LinearRegression()),
        X.drop(columns="geometry"),
        y,
        cv=SpatialBlockKFold(4, block_size=10_000, random_state=0),
    )
    assert np.isfinite(out["test_score"]).all()
    out = cross_validate(
        KrigingRegressor(n_neighbors=16, random_state=0),
        X,
        y,
        cv=SpatialBlockKFold(4, block_size=10_000, random_state=0),
    )
    assert np.isfinite(out["test_score"]).all()


def test_units_are_metres_everywhere(data):
    X, y = data
    feet = X.to_crs("EPSG:2263")
    with pytest.raises(ValueError, match="US survey foot"):
        list(SpatialBlockKFold(4, 5_000).split(feet))
    lonlat = X.to_crs("EPSG:4326")
    with pytest.raises(ValueError, match="geographic"):
        holdout_split(lonlat, block_size=5_000)
    deg = np.column_stack([lonlat.geometry.x, lonlat.geometry.y])
    with pytest.raises(ValueError, match="looks like metres but the coordinates look like degrees"):
        holdout_split(deg, block_size=5_000)
    with pytest.warns(UserWarning, match="look like longitude/latitude"):
        KrigingRegressor(random_state=0).fit(
            __import__("pandas").DataFrame({"x": deg[:, 0], "y": deg[:, 1]}), y.to_numpy()
        )


def test_empty_training_sets_are_named():
    xy = np.random.default_rng(0).uniform(0, 10_000, (60, 2))
    with pytest.raises(ValueError, match="buffer=1e\\+07 m removes every training sample"):
        list(SpatialBlockKFold(5, block_size=2_000, buffer=1e7, random_state=0).split(xy))
    with pytest.raises(ValueError, match="buffer=1e\\+09 m removes every training sample"):
        list(BufferedLeaveOneOut(buffer=1e9).split(xy))
    with pytest.raises(ValueError, match="0 samples"):
        list(SpatialBlockKFold(5).split(np.empty((0, 2))))


def test_random_state_accepts_generators():
    from geoagb._random import check_generator, check_random_state

    xy = np.random.default_rng(0).uniform(0, 10_000, (100, 2))
    a = SpatialBlockKFold(4, 2_000, random_state=np.random.default_rng(5)).fold_labels(xy)
    b = SpatialBlockKFold(4, 2_000, random_state=np.random.default_rng(5)).fold_labels(xy)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="not a seed"):
        check_generator("zero")
    with pytest.raises(ValueError, match="not a seed"):
        check_random_state(-1)


def test_predict_frame_keeps_index_geometry_and_crs(data):
    X, y = data
    rk = ResidualKrigingRegressor(LinearRegression(), random_state=0).fit(X, y)
    sub = X.iloc[[5, 2, 9]]
    frame = rk.predict_frame(sub, geometry=True)
    mean, std = rk.predict(sub, return_std=True)
    assert list(frame.index) == list(sub.index) and frame.crs == X.crs
    np.testing.assert_allclose(frame["prediction"], mean)
    np.testing.assert_allclose(frame["std"], std)
    assert frame.geometry.equals(sub.geometry)
    kr = KrigingRegressor(n_neighbors=16, random_state=0).fit(X, y)
    assert list(kr.predict_frame(sub, return_std=False).columns) == ["prediction"]
    with pytest.raises(TypeError, match="GeoDataFrame"):
        kr.predict_frame(sub.drop(columns="geometry"), geometry=True)
