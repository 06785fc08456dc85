"""Stack files: band descriptions read as years, and stacks whose bands are not years refused."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine

from geoagb.timeseries import stack_years, trend_map, write_stack
from geoagb.timeseries._stack import StackSource

GRID = dict(transform=(1000.0, 0.0, 500_000.0, 0.0, -1000.0, 2_800_000.0), crs="EPSG:32648")


def _file(path, data, names):
    return write_stack(path, data, names, **GRID)


@pytest.mark.parametrize(
    "names,years",
    [
        (["2002", "2003", "2005"], [2002, 2003, 2005]),
        (["2002.0", "2003", "2004"], [2002, 2003, 2004]),
        (["b1", "b2", "b3"], None),
        (["1", "2", "3"], None),  # band numbers are not years
        (["2002", "2003", "agbc"], None),  # one band that is not a year: no years at all
        (["inf", "nan", "2002"], None),
        (["2002.5", "2003", "2004"], None),
    ],
)
def test_band_descriptions_read_as_years(tmp_path, names, years):
    p = _file(tmp_path / "s.tif", np.zeros((3, 2, 2)), names)
    got = stack_years(p)
    assert (got is None) if years is None else (got.tolist() == years)


def test_unset_descriptions_are_no_years(tmp_path):
    prof = dict(
        driver="GTiff",
        width=2,
        height=2,
        count=3,
        dtype="float32",
        crs="EPSG:32648",
        transform=Affine(*GRID["transform"]),
    )
    p = tmp_path / "plain.tif"
    with rasterio.open(p, "w", **prof) as ds:
        ds.write(np.zeros((3, 2, 2), np.float32))
    assert stack_years(p) is None
    with pytest.raises(ValueError, match=r"are unset \(3 bands\), not years"):
        trend_map(p, min_years=3, progress=False)


def test_trend_of_a_stack_whose_bands_are_not_years(tmp_path):
    # one map every 2 years, +3 MgC/ha per map: +1.5 MgC/ha/yr, not +3 "per yr" per band
    years = np.arange(2002, 2022, 2)
    x = 40.0 + 1.5 * (years - 2002)
    data = np.repeat(x[:, None, None], 2, axis=1).repeat(3, axis=2)
    p = _file(tmp_path / "named.tif", data, [f"band_{i}" for i in range(1, 11)])
    with pytest.raises(ValueError) as err:
        trend_map(p, progress=False)
    msg = str(err.value)
    assert "['band_1', 'band_2', 'band_3', ..., 'band_9', 'band_10'] (10 bands), not years" in msg
    assert "pass years=" in msg and "\n" not in msg
    res = trend_map(p, years, progress=False)
    np.testing.assert_allclose(res.slope, 1.5)
    np.testing.assert_allclose(res.intercept, 40.0)
    # the same stack with its years in the band descriptions needs nothing more
    q = _file(tmp_path / "dated.tif", data, years)
    np.testing.assert_allclose(trend_map(q, progress=False).slope, 1.5)


def test_given_years_must_match_the_band_descriptions(tmp_path):
    p = _file(tmp_path / "s.tif", np.zeros((10, 2, 2)), range(2002, 2012))
    with pytest.raises(ValueError, match="holds the years 2002-2011 but years= 2003-2012"):
        StackSource(p, range(2003, 2013))
    assert StackSource(p, range(2002, 2012)).years.tolist() == list(range(2002, 2012))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="stack file .*nope.tif does not exist"):
        StackSource(tmp_path / "nope.tif")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        StackSource(tmp_path)
