"""make_carbon_series: the planted truth is what the docstring says."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from geoagb.timeseries import make_carbon_series, read_stack
from geoagb.timeseries._synthetic import bgbc_law


def test_truth_is_consistent(series_truth):
    s, tr = series_truth
    T, H, W = s.tree_cover.shape
    assert (T, H, W) == (20, 48, 48) and s.years[0] == 2002 and s.base_year == 2013
    stable = s.regions == 3
    assert np.all(tr.trend[stable] == 0) and np.all(tr.agbc[:, stable] == tr.agbc[0, stable])
    assert np.all(tr.trend[s.regions == 0] > 0) and np.all(tr.trend[s.regions == 2] < 0)
    assert np.all(tr.trend[s.regions == 1] > 0)
    # the planted trend is the Theil-Sen slope of the noise-free series
    rng = np.random.default_rng(0)
    for r, c in rng.integers(0, 48, (5, 2)):
        assert tr.trend[r, c] == pytest.approx(
            stats.theilslopes(tr.agbc[:, r, c], s.years).slope, rel=1e-5, abs=1e-9
        )
    # a disturbed cell loses tree cover in its disturbance year
    r, c = np.argwhere(np.isfinite(tr.disturbance_year))[0]
    k = int(tr.disturbance_year[r, c] - 2002)
    assert tr.agbc[k, r, c] < 0.75 * tr.agbc[k - 1, r, c]
    np.testing.assert_allclose(tr.bgbc, bgbc_law(tr.agbc, s.covariates["mat"]), rtol=1e-5)
    b = s.base_year - 2002
    assert np.median(np.abs(s.benchmark / tr.agbc[b] - 1)) < 0.06  # 5 % benchmark noise
    assert s.records.shape == (200, 6) and (s.records["bgbc"] > 0).all()
    tot = tr.totals[(tr.totals.region == "stable")]
    assert tot["total_TgC"].nunique() == 1
    assert tr.sink_TgC_per_yr["stable"] == pytest.approx(0, abs=1e-12)
    assert tr.sink_TgC_per_yr["afforestation"] > 0 > tr.sink_TgC_per_yr["disturbance"]


def test_seed_reproducible_and_files_round_trip(tmp_path):
    a = make_carbon_series(n_years=6, shape=(8, 8), random_state=3)
    b = make_carbon_series(n_years=6, shape=(8, 8), random_state=3)
    np.testing.assert_array_equal(a.vod, b.vod)
    paths = a.to_files(tmp_path)
    arr, years, grid = read_stack(paths["tree_cover"])
    np.testing.assert_array_equal(arr, a.tree_cover)
    assert years.tolist() == a.years.tolist() and grid["transform"] == a.transform
    polys = a.region_polygons()
    assert sorted(polys["name"]) == sorted(a.region_names)
    assert polys.area.sum() == pytest.approx(64 * 1e6)
    with pytest.raises(ValueError, match="base_year=1990"):
        make_carbon_series(base_year=1990)
