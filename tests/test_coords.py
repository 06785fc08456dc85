import numpy as np
import pandas as pd
import pytest

from geoagb._coords import check_metric, drop_coords, get_coords
from geoagb.deep import PatchSet


def test_all_sources_give_the_same_coordinates(plots600):
    plots, _ = plots600
    ref = plots[["x", "y"]].to_numpy()
    np.testing.assert_array_equal(get_coords(plots), ref)  # GeoDataFrame geometry
    np.testing.assert_array_equal(get_coords(pd.DataFrame(plots.drop(columns="geometry"))), ref)
    ps = PatchSet(np.zeros((len(plots), 1, 2, 2)), ["b"], coords=ref)
    np.testing.assert_array_equal(get_coords(ps), ref)  # .coords attribute
    np.testing.assert_array_equal(get_coords(ref, allow_array=True), ref)  # splitter idiom
    np.testing.assert_array_equal(get_coords(np.zeros((len(plots), 5)), ref), ref)
    renamed = pd.DataFrame({"E": ref[:, 0], "N": ref[:, 1]})
    np.testing.assert_array_equal(get_coords(renamed, ("E", "N")), ref)


def test_errors():
    with pytest.raises(TypeError, match="cannot find coordinates"):
        get_coords(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        get_coords(np.zeros((5, 3)), allow_array=True)
    with pytest.raises(ValueError, match="look like degrees"):
        check_metric(np.array([[105.0, 25.0], [105.5, 25.5]]), 5000.0)
    check_metric(np.array([[500_000.0, 2_700_000.0], [510_000, 2_710_000]]), 5000.0)


def test_drop_coords(plots600):
    plots, _ = plots600
    d = drop_coords(plots)
    assert type(d) is pd.DataFrame
    assert {"x", "y", "geometry"}.isdisjoint(d.columns) and "agb" in d.columns
