"""make_plots: the documented generating equations hold on its output."""

import numpy as np
import pandas as pd
import pytest

from geoagb.datasets import PLOT_FEATURES, Landscape, make_plots
from geoagb.datasets._landscape import DEFAULT_ORIGIN


@pytest.fixture(scope="module")
def plots_truth():
    return make_plots(300, random_state=11, return_truth=True, inconsistent_fraction=0.1)


def test_columns_crs_and_geometry(plots_truth):
    plots, truth = plots_truth
    assert plots.crs.to_epsg() == 32648
    assert list(plots.columns) == ["x", "y", *PLOT_FEATURES, "agb", "geometry"]
    np.testing.assert_array_equal(plots.geometry.x, plots["x"])
    np.testing.assert_array_equal(plots.geometry.y, plots["y"])
    assert truth.index.equals(plots.index)
    # inside the 60 km study area
    assert plots["x"].between(DEFAULT_ORIGIN[0], DEFAULT_ORIGIN[0] + 60_000).all()
    assert plots["y"].between(DEFAULT_ORIGIN[1], DEFAULT_ORIGIN[1] + 60_000).all()


def test_truth_reconstructs_agb(plots_truth):
    plots, truth = plots_truth
    base = np.maximum(truth["agb_noise_free"] + truth["residual"] + truth["noise"], 1.0)
    inc = truth["inconsistent"].to_numpy()
    np.testing.assert_allclose(plots["agb"][~inc], base[~inc], rtol=1e-12)
    ratio = (plots["agb"] / base)[inc]
    assert inc.sum() > 10
    assert (ratio.between(0.25, 0.45) | ratio.between(1.8, 2.5)).all()


def test_noise_free_agb_is_the_documented_power_law(plots_truth):
    plots, truth = plots_truth
    e = (plots["elevation"] - 900.0) / 350.0
    a_s = 3.2 * plots["height_mean"] ** 1.35 * (0.35 + 0.65 * plots["crown_cover"])
    np.testing.assert_allclose(
        truth["agb_noise_free"], a_s * np.exp(0.25 * e * truth["vigour"]), rtol=1e-10
    )


def test_indices_follow_their_formulas(plots_truth):
    p = plots_truth[0]
    b, r, n, s1, s2 = p["blue"], p["red"], p["nir"], p["swir1"], p["swir2"]
    np.testing.assert_allclose(p["ndvi"], (n - r) / (n + r), rtol=1e-12)
    np.testing.assert_allclose(p["evi"], 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1), rtol=1e-12)
    np.testing.assert_allclose(p["savi"], 1.5 * (n - r) / (n + r + 0.5), rtol=1e-12)
    np.testing.assert_allclose(p["ndmi"], (n - s1) / (n + s1), rtol=1e-12)
    np.testing.assert_allclose(p["nbr"], (n - s2) / (n + s2), rtol=1e-12)
    assert (p["eastness"] ** 2 + p["northness"] ** 2).sub(1).abs().max() < 1e-12


def test_residual_is_spatially_autocorrelated():
    plots, truth = make_plots(600, random_state=3, return_truth=True)
    xy = plots[["x", "y"]].to_numpy()
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    r = truth["residual"].to_numpy()
    near = (d > 0) & (d < 1_000)
    far = d > 30_000
    prod = np.outer(r - r.mean(), r - r.mean()) / r.var()
    assert prod[near].mean() > 0.8 and abs(prod[far].mean()) < 0.3


def test_reproducible_with_seed():
    a = make_plots(50, random_state=4)
    b = make_plots(50, random_state=4)
    c = make_plots(50, random_state=5)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["agb"], c["agb"])


def test_bad_n_plots():
    with pytest.raises(ValueError, match="n_plots=0 must be >= 1"):
        make_plots(0)


def test_landscape_default_len_scales_are_identical_and_validated():
    x = np.array([500_100.0, 530_000.0])
    y = np.array([2_750_100.0, 2_790_000.0])
    a = Landscape(random_state=3)
    b = Landscape(random_state=3, len_scales=dict(Landscape.LEN_SCALES))
    for name in "EHCVKR":
        np.testing.assert_array_equal(a.z(name, x, y), b.z(name, x, y))
    c = Landscape(random_state=3, z_offsets={"H": 1.5})
    np.testing.assert_allclose(c.z("H", x, y), a.z("H", x, y) + 1.5, rtol=1e-12)
    with pytest.raises(ValueError, match="len_scales keys"):
        Landscape(len_scales={"R": 100.0})
    with pytest.raises(ValueError, match="must be a positive length"):
        Landscape(len_scales={"H": -1.0})
    with pytest.raises(ValueError, match="z_offsets keys"):
        Landscape(z_offsets={"Q": 1.0})
