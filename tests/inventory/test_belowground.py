"""Belowground biomass: root:shoot ratio and fitted models."""

import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor

from geoagb.inventory import PowerLaw, belowground, fit_belowground


def test_root_shoot_ratio():
    assert belowground(100.0) == pytest.approx(35.0)  # the Tibet ResNet study's 0.35
    np.testing.assert_allclose(belowground([0.0, 40.0], root_shoot=0.25), [0.0, 10.0])


def test_power_law_recovers_coefficients_with_smearing():
    rng = np.random.default_rng(0)
    agb = rng.uniform(20, 300, 4000)
    eps = rng.normal(0, 0.2, agb.size)
    bgb = 0.4 * agb**0.9 * np.exp(eps)
    m = fit_belowground(agb, bgb)
    assert isinstance(m, PowerLaw)
    assert m.a == pytest.approx(0.4, rel=0.05)
    assert m.b == pytest.approx(0.9, abs=0.01)
    # Duan's smearing estimates E[exp(eps)] = exp(0.2^2 / 2)
    assert m.smearing == pytest.approx(np.exp(0.02), abs=0.01)
    # predictions are unbiased on the original scale
    assert belowground(agb, model=m).mean() == pytest.approx(bgb.mean(), rel=0.02)


def test_ratio_fit_is_least_squares_through_origin():
    agb = np.array([10.0, 20.0, 40.0])
    bgb = np.array([3.0, 5.0, 11.0])
    m = fit_belowground(agb, bgb, method="ratio")
    assert m.a == pytest.approx((10 * 3 + 20 * 5 + 40 * 11) / (100 + 400 + 1600))
    assert m.b == 1.0


def test_random_forest_matches_sklearn_on_same_input():
    rng = np.random.default_rng(1)
    agb = rng.uniform(10, 200, 200)
    bgb = 0.3 * agb + rng.normal(0, 3, 200)
    m = fit_belowground(agb, bgb, method="random_forest", random_state=3, n_estimators=50)
    ref = RandomForestRegressor(n_estimators=50, random_state=3).fit(agb.reshape(-1, 1), bgb)
    np.testing.assert_array_equal(
        belowground(agb[:20], model=m), ref.predict(agb[:20].reshape(-1, 1))
    )


def test_belowground_errors():
    with pytest.raises(ValueError, match="root_shoot=0 must be a ratio"):
        belowground(10.0, root_shoot=0)
    with pytest.raises(ValueError, match="agb must be >= 0"):
        belowground(-10.0)
    with pytest.raises(TypeError, match="must have a .predict"):
        belowground(10.0, model=0.35)
    with pytest.raises(ValueError, match="method='spline' is not one of"):
        fit_belowground([1, 2, 3], [1, 2, 3], method="spline")
    with pytest.raises(ValueError, match="paired"):
        fit_belowground([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="logarithms"):
        fit_belowground([0.0, 2, 3], [1, 2, 3])
