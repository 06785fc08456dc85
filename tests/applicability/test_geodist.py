import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from scipy.stats import wasserstein_distance
from shapely.geometry import box

from geoagb.applicability import geodist, prediction_locations
from geoagb.model_selection import SpatialBlockKFold


def test_geodist_by_hand():
    xy = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    pairs = [(np.array([2, 3]), np.array([0]))]
    g = geodist(xy, [[5.0, 0.0], [40.0, 0.0]], cv={"halves": [0, 0, 1, 1], "pairs": pairs})
    assert g.sample_to_sample.tolist() == [10.0] * 4
    assert g.prediction_to_sample.tolist() == [5.0, 10.0]
    assert g.cv["halves"].tolist() == [20.0, 10.0, 10.0, 20.0]
    assert g.cv["pairs"].tolist() == [20.0]
    assert g.W_cv["halves"] == pytest.approx(wasserstein_distance([20, 10, 10, 20], [5, 10]))
    assert g.W_sample == pytest.approx(2.5)  # ECDFs differ by 1/2 over [5, 10)
    s = g.summary()
    assert s.loc["CV: halves", "median_m"] == 15.0 and s.loc["prediction-to-sample", "n"] == 2


def test_geodist_with_splitter_on_dataframe_and_plot():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.uniform(0, 10_000, (80, 2)), columns=["x", "y"])
    cv = SpatialBlockKFold(4, block_size=2_500, random_state=0)
    g = geodist(df, df[["x", "y"]].to_numpy() + 1.0, cv=cv)
    assert list(g.cv) == ["SpatialBlockKFold"] and len(g.cv["SpatialBlockKFold"]) == 80
    fig = g.plot()
    assert len(fig.axes[0].lines) == 3
    assert fig.axes[0].get_xlabel() == "nearest-neighbour distance (m)"


def test_prediction_locations_polygon_and_raster(tmp_path):
    pts = prediction_locations(box(0, 0, 100, 100), n=4)
    assert pts.tolist() == [[25.0, 25.0], [75.0, 25.0], [25.0, 75.0], [75.0, 75.0]]
    r = prediction_locations(box(0, 0, 100, 100), n=50, sampling="random", random_state=0)
    assert r.shape == (50, 2) and r.min() >= 0 and r.max() <= 100
    # raster: left half nodata -> every location in the right half, on cell centres
    path = tmp_path / "dom.tif"
    a = np.ones((20, 20), dtype="float32")
    a[:, :10] = -9999
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs="EPSG:32648",
        transform=from_origin(1000, 2000, 10, 10),
        nodata=-9999,
    ) as ds:
        ds.write(a, 1)
    xy = prediction_locations(path, n=40)
    assert len(xy) >= 20 and (xy[:, 0] > 1100).all()
    assert np.allclose((xy - [1005, 5]) % 10, 0)
    xr = prediction_locations(path, n=30, sampling="random", random_state=1)
    assert len(xr) == 30 and (xr[:, 0] > 1100).all()
    with pytest.raises(ValueError, match="reproject"):
        prediction_locations(path, crs="EPSG:32647")
