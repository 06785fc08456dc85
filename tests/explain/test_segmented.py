"""Segmented regression: known breakpoints, BIC choice, interval coverage, bad input."""

import numpy as np
import pytest

from geoagb.explain import dependence_thresholds, segmented_regression


def _broken(x, psi, slopes, intercept=0.0):
    y = intercept + slopes[0] * x
    for p, d in zip(psi, np.diff(slopes)):
        y = y + d * np.maximum(x - p, 0.0)
    return y


def test_recovers_one_breakpoint_and_slopes():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 500)
    y = _broken(x, [4.0], [1.5, -0.5], 2.0) + rng.normal(0, 0.3, 500)
    fit = segmented_regression(x, y)
    assert fit.n_breakpoints == 1
    assert fit.breakpoints[0] == pytest.approx(4.0, abs=0.15)
    assert fit.ci[0, 0] < 4.0 < fit.ci[0, 1]
    np.testing.assert_allclose(fit.slopes, [1.5, -0.5], atol=0.05)
    assert fit.intercept == pytest.approx(2.0, abs=0.1)
    np.testing.assert_allclose(fit.predict([0.0, 10.0]), [2.0, 2.0 + 6.0 - 3.0], atol=0.15)


def test_recovers_two_breakpoints():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 800)
    y = _broken(x, [0.3, 0.7], [0.0, 3.0, 0.2]) + rng.normal(0, 0.05, 800)
    fit = segmented_regression(x, y, max_breakpoints=2)
    assert fit.n_breakpoints == 2
    np.testing.assert_allclose(fit.breakpoints, [0.3, 0.7], atol=0.02)
    assert np.all(fit.ci[:, 0] < [0.3, 0.7]) and np.all([0.3, 0.7] < fit.ci[:, 1])
    frame = fit.to_frame()
    np.testing.assert_allclose(frame["slope_after"].to_numpy(), [3.0, 0.2], atol=0.1)


def test_bic_prefers_no_breakpoint_on_a_line():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, 300)
    y = 2.0 * x + rng.normal(0, 0.2, 300)
    fit = segmented_regression(x, y, max_breakpoints=2)
    assert fit.n_breakpoints == 0
    # BIC of the line by hand: -2 log L + 2 log n (two coefficients, no breakpoint)
    a = np.column_stack([np.ones_like(x), x])
    r = y - a @ np.linalg.lstsq(a, y, rcond=None)[0]
    n = x.size
    llf = -n / 2 * (np.log(2 * np.pi * (r @ r) / n) + 1)
    assert fit.bic[0] == pytest.approx(-2 * llf + 2 * np.log(n), rel=1e-10)
    assert fit.bic.idxmin() == 0 and fit.bic[1] > fit.bic[0]


def test_fixed_number_and_the_delta_method_interval():
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 1, 400))
    y = _broken(x, [0.5], [1.0, -1.0]) + rng.normal(0, 0.05, 400)
    fit = segmented_regression(x, y, n_breakpoints=1, alpha=0.1, ci_method="delta")
    res = fit.result  # the linearised OLS: 1, x, (x - psi)+, -1(x > psi)
    se = np.sqrt(res.cov_params()[3, 3]) / abs(res.params[2])  # gamma ~ 0 at convergence
    assert abs(res.params[3]) < 1e-6
    assert fit.se[0] == pytest.approx(se, rel=1e-3)
    from scipy import stats

    t = stats.t.ppf(0.95, res.df_resid)
    np.testing.assert_allclose(fit.ci[0], fit.breakpoints[0] + np.array([-t, t]) * fit.se[0])


def test_interval_coverage_is_near_nominal():
    rng = np.random.default_rng(4)
    hits = 0
    reps = 120
    for _ in range(reps):
        x = rng.uniform(0, 1, 150)
        y = _broken(x, [0.45], [1.0, -1.0]) + rng.normal(0, 0.1, 150)
        fit = segmented_regression(x, y, n_breakpoints=1, n_grid=30)
        hits += fit.ci[0, 0] <= 0.45 <= fit.ci[0, 1]
    # binomial sd at 95 %: 0.02 for 120 replicates
    assert 0.91 <= hits / reps <= 0.99


def test_profile_interval_is_where_the_f_test_is_reached():
    from scipy import stats

    from geoagb.explain._segmented import _rss

    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, 200)
    y = _broken(x, [0.5], [2.0, 0.0]) + rng.normal(0, 0.1, 200)
    fit = segmented_regression(x, y, n_breakpoints=1)
    limit = fit.rss * (1 + stats.f.ppf(0.95, 1, 196) / 196)
    for edge in fit.ci[0]:
        assert _rss(x, y, [edge]) == pytest.approx(limit, rel=1e-6)
    assert _rss(x, y, [fit.breakpoints[0]]) == pytest.approx(fit.rss, rel=1e-9)


def test_dependence_thresholds_drops_missing_values():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 300)
    s = np.where(x < 0.6, -10 * (0.6 - x), 0.0) + rng.normal(0, 0.1, 300)
    x[:20] = np.nan
    fit = dependence_thresholds(x, s, max_breakpoints=1)
    assert fit.n == 280
    assert fit.breakpoints[0] == pytest.approx(0.6, abs=0.02)


def test_bad_input():
    with pytest.raises(ValueError, match="same length"):
        segmented_regression([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="too few"):
        segmented_regression(np.arange(12.0), np.arange(12.0), max_breakpoints=2)
    with pytest.raises(ValueError, match="alpha"):
        segmented_regression(np.arange(100.0), np.arange(100.0), alpha=1.5)
