"""Block size that knows when it cannot know (issue 26): lags from the plot spacing, a model
choice blind to sparse bins, a "no usable spatial structure" verdict with a fallback, and an
answer that does not move with the seed, micrometre jitter or lon/lat input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from sklearn.linear_model import LinearRegression

from geoagb.kriging import (
    ResidualKrigingRegressor,
    Variogram,
    VariogramError,
    fit_variogram_model,
    lag_edges,
    plot_spacing,
)
from geoagb.model_selection import block_size_sensitivity, suggest_block_size
from geoagb.workflow._fit_manifest import _block_info
from geoagb.workflow._fit_steps import _choose_block_size, _FitOptions
from geoagb.workflow._report import _variogram_caption
from tests import _layouts as L

NO = "no usable spatial structure"


def _suggest(xy, z, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return suggest_block_size(xy, z, **kw)


@pytest.fixture(scope="module")
def clustered():
    return L.clustered()  # 25 clusters of 4 x 4 plots 100 m apart, 400 plots


def test_layout_spacing_is_the_grid_step(clustered):
    assert clustered.shape == (400, 2)
    assert plot_spacing(clustered) == pytest.approx(100.0)
    # duplicates and micrometre copies are one location, not a 0 m spacing
    doubled = np.r_[clustered, L.jitter(clustered, 1e-6)]
    assert plot_spacing(doubled) == pytest.approx(100.0)


def test_auto_lags_are_no_narrower_than_the_spacing_and_hold_30_pairs(clustered):
    edges = lag_edges(clustered, "auto")
    d = np.hypot(*(clustered[:, None, :] - clustered[None, :, :]).T)[np.triu_indices(400, 1)]
    assert edges[1] >= 100.0  # first bin no narrower than the median NN distance
    assert np.sum(d <= edges[1]) >= 30
    assert 3 <= len(edges) - 1 <= 30
    # max_lag = diagonal / 3; bins = floor(max_lag / spacing) capped at 30
    diag = np.hypot(*np.ptp(clustered, axis=0))
    assert edges[-1] == pytest.approx(diag / 3)
    assert len(edges) - 1 == min(30, int(diag / 3 // 100))
    # a sparse transect: 13 plots 100 m apart hold 12 pairs at 100 m, so the first bin widens
    # until it holds >= 30 pairs or 3 bins are left (max_lag 400 m: 3 bins of 133 m, 23 pairs)
    t = np.c_[np.arange(13.0) * 100, np.zeros(13)]
    assert len(lag_edges(t, "auto")) - 1 == 3


def test_auto_choice_ignores_bins_under_30_pairs():
    xy = L.clustered(n_clusters=16)  # 256 plots: some 235 m bins between clusters are sparse
    z = L.exponential_field(xy, 1_500.0, 0.2, random_state=3)
    v = Variogram("auto", n_lags=30).fit(xy, z)
    sparse = (v.n_pairs_ > 0) & (v.n_pairs_ < 30)
    assert sparse.any()  # the test would be void without sparse bins
    kept = np.where(v.n_pairs_ >= 30, v.n_pairs_, 0)
    for _, row in v.fits_.iterrows():
        ref = fit_variogram_model(
            v.lags_,
            v.gamma_,
            kept,
            row["model"],
            max_range=2.0 * v.bin_edges_[-1] / (row["effective_range"] / row["range"]),
            max_sill=2.0 * np.var(z, ddof=1),
        )
        assert row["wsse"] == pytest.approx(ref["wsse"], rel=1e-6)
    # a single named model with numeric lags keeps gstat's fit on every bin
    g = Variogram("exponential", n_lags=30).fit(xy, z)
    full = fit_variogram_model(
        g.lags_,
        g.gamma_,
        g.n_pairs_,
        "exponential",
        max_range=2.0 * g.bin_edges_[-1] / 3.0,
        max_sill=2.0 * np.var(z, ddof=1),
    )
    assert g.range_ == pytest.approx(full["range"], rel=1e-6)


@pytest.mark.parametrize("n_draws", [20])
def test_white_noise_on_clustered_plots_has_no_structure(clustered, n_draws):
    verdicts, sizes = [], []
    for draw in range(n_draws):
        s = _suggest(clustered, L.white_noise(len(clustered), draw))
        verdicts.append(s.verdict)
        sizes.append(float(s))
    assert sum(v == NO for v in verdicts) >= n_draws - 1  # before: 0 of 20 (7 "trustworthy")
    # the fallback is 4 plot spacings, which already leaves >= 2 x 5 blocks here
    fall = [size for size, v in zip(sizes, verdicts) if v == NO]
    assert fall == pytest.approx([400.0] * len(fall))
    s = _suggest(clustered, L.white_noise(400, 0))
    assert not s.trustworthy and s.fallback == "4 x plot spacing" and s.reasons
    assert s.notes[0].startswith(NO)


def test_known_ranges_are_recovered():
    hits, out = 0, []
    for draw in range(10):
        rng = np.random.default_rng(draw)
        eff, nugget = rng.uniform(1_000, 3_000), rng.uniform(0.0, 0.3)
        xy = L.scattered(600, 20_000.0, draw)
        s = _suggest(xy, L.exponential_field(xy, eff, nugget, draw))
        ok = s.verdict == "structure" and abs(s.effective_range / eff - 1) <= 0.25
        hits += ok
        out.append((round(eff), round(s.effective_range), s.verdict))
        if s.verdict == "structure":
            assert float(s) == s.effective_range and s.fallback is None
    assert hits >= 9, out


def test_tiny_extent_fallback_keeps_twice_n_splits_blocks():
    # 100 plots within 900 m: white noise gets the fallback, structure at 300 m is resolved
    xy = L.scattered(100, 900.0, random_state=4)
    s = _suggest(xy, L.white_noise(100, 4))
    assert s.verdict == NO and s.effective_range == s.variogram.effective_range_
    # 36 plots 100 m apart inside 600 m: 4 spacings = 400 m gives 2 x 2 blocks; shrunk by
    # 20 % steps: 320 and 256 m still 2 x 2, 204.8 m 3 x 3, 163.84 m 4 x 4 = 16 >= 10 blocks
    g = np.arange(6) * 100.0
    xy = np.c_[np.repeat(g, 6), np.tile(g, 6)] + [500_000.0, 5_000_000.0]
    # and max_lag = 283 m holds 2 non-empty bins: no variogram, so the verdict and fallback
    s = _suggest(xy, L.white_noise(36, 1), n_splits=5)
    assert s.verdict == NO and s.variogram is None and "no variogram" in s.reasons[0]
    assert float(s) == pytest.approx(400 * 0.8**4)


def test_jitter_seed_and_lonlat_do_not_move_the_answer():
    to_utm = Transformer.from_crs("EPSG:4326", L.UTM_CRS, always_xy=True)
    for draw in range(3):
        xy = L.clustered(separation=1_000.0, random_state=draw)
        for z in (L.exponential_field(xy, 1_500.0, 0.2, draw), L.white_noise(len(xy), draw)):
            a = _suggest(xy, z, random_state=0)
            ll = L.to_lonlat(xy)
            back = np.c_[to_utm.transform(ll[:, 0], ll[:, 1])]
            for b in (
                _suggest(L.jitter(xy, 1e-6, draw), z, random_state=0),
                _suggest(xy, z, random_state=12345),
                _suggest(back, z, random_state=0),
            ):
                assert float(b) == pytest.approx(float(a), rel=0.10)
                assert b.verdict == a.verdict


def test_estimator_residuals_do_not_depend_on_the_seed(clustered):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(400, 3))
    y = f @ [1.0, 2.0, 3.0] + L.exponential_field(clustered, 1_500.0, 0.3, 0)
    X = pd.DataFrame(np.c_[clustered, f], columns=["x", "y", "a", "b", "c"])
    sizes = [
        float(_suggest(X, y, estimator=LinearRegression(), random_state=seed)) for seed in range(3)
    ]
    assert max(sizes) == pytest.approx(min(sizes), rel=1e-9)


def test_fit_step_echoes_and_records_the_verdict(clustered):
    rng = np.random.default_rng(2)
    Xcv = pd.DataFrame({"x": clustered[:, 0], "y": clustered[:, 1], "f": rng.normal(size=400)})
    yv = 2.0 * Xcv["f"].to_numpy() + L.white_noise(400, 2)
    lines = []
    block = _choose_block_size(LinearRegression(), Xcv, yv, _FitOptions(), lines.append)
    assert block.used == pytest.approx(400.0)
    assert NO in lines[0] and "fallback 4 x plot spacing" in lines[0] and "400 m" in lines[0]
    info = _block_info(block.suggestion, block.used, False, block.suggestion.variogram)
    assert info["verdict"] == NO and info["fallback"] == "4 x plot spacing" and info["reasons"]
    assert info["used_m"] == 400.0 and "effective_range_m" in info
    assert "fallback, 4 x plot spacing" in _variogram_caption(info)


def test_sensitivity_skips_a_block_size_the_variogram_refuses():
    rng = np.random.default_rng(0)
    sites = rng.uniform(0, 20_000, (13, 2))
    xy = sites[np.arange(40) % 13]  # 40 plots on 13 distinct locations
    X = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "f": rng.normal(size=40)})
    y = 3.0 * X["f"].to_numpy() + rng.normal(size=40)
    est = ResidualKrigingRegressor(LinearRegression(), correction="full")
    with pytest.raises(VariogramError, match="distinct locations"):
        Variogram().fit(sites[:9], rng.normal(size=9))
    with pytest.warns(UserWarning, match="block size 5000 m skipped"):
        res = block_size_sensitivity(est, X, y, [5_000], n_splits=2, random_state=0, progress=False)
    assert list(res.results) == ["random"]
    assert "distinct locations" in res.skipped[5_000]
