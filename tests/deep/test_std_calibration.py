"""Recalibration of the predicted std on the validation patches (calibrate_std, std_scale)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoagb.deep import CSMFNetRegressor, std_scale  # noqa: E402
from geoagb.deep._calibration import ONE_SD_COVERAGE  # noqa: E402
from geoagb.deep._toy import toy_patches  # noqa: E402

from .conftest import make  # noqa: E402


def test_std_scale_by_hand():
    z = np.arange(1, 21) / 10.0  # |error| / std = 0.1 ... 2.0, twenty values
    # linear-interpolated quantile: position 0.6827 * 19 = 12.971 between z[12] = 1.3, z[13] = 1.4
    expected = 1.3 + (ONE_SD_COVERAGE * 19 - 12) * 0.1
    assert std_scale(z, np.zeros(20), np.ones(20)) == pytest.approx(expected, abs=1e-12)
    # the std is what is scaled: doubling it halves the factor, signs of the errors do not count
    assert std_scale(-z, np.zeros(20), 2 * np.ones(20)) == pytest.approx(expected / 2)
    # non-finite or zero std rows are dropped, and below 20 rows there is no answer
    y = np.r_[z, np.nan]
    assert std_scale(y, np.zeros(21), np.r_[np.ones(20), 1.0]) == pytest.approx(expected)
    assert std_scale(z, np.zeros(20), np.r_[np.ones(19), 0.0]) is None
    with pytest.raises(ValueError, match="one of each per sample"):
        std_scale(z, np.zeros(19), np.ones(20))
    with pytest.raises(ValueError, match="coverage"):
        std_scale(z, np.zeros(20), np.ones(20), coverage=1.0)


@pytest.fixture(scope="module")
def fitted():
    X, y = toy_patches(60, size=8, random_state=3)
    Xv, yv = toy_patches(40, size=8, random_state=4)
    est = make("CSMFNetRegressor", loss="r2_unc").fit(X, y, eval_set=(Xv, yv))
    return est, Xv, yv


def test_validation_coverage_is_one_sd(fitted):
    est, Xv, yv = fitted
    assert est.std_scale_ is not None and est.std_scale_ > 0
    mean, std = est.predict(Xv, return_std=True)
    inside = np.mean(np.abs(yv - mean) <= std * (1 + 1e-9))
    # 40 validation patches: the share within +-1 std is 0.6827 up to one patch
    assert abs(inside - ONE_SD_COVERAGE) <= 1 / 40 + 1e-12
    raw = make("CSMFNetRegressor", loss="r2_unc", calibrate_std=False)
    X, y = toy_patches(60, size=8, random_state=3)
    raw.fit(X, y, eval_set=(Xv, yv))
    assert raw.std_scale_ is None
    m2, s2 = raw.predict(Xv, return_std=True)  # same seed, same weights: only the factor differs
    np.testing.assert_allclose(m2, mean)
    np.testing.assert_allclose(std, s2 * est.std_scale_, rtol=1e-10)


def test_factor_survives_save_and_load(fitted, tmp_path):
    est, Xv, _ = fitted
    est.save(tmp_path / "m.pt")
    again = CSMFNetRegressor.load(tmp_path / "m.pt")
    assert again.std_scale_ == est.std_scale_
    np.testing.assert_array_equal(again.predict(Xv, return_std=True)[1], est.predict(Xv, True)[1])


def test_too_few_validation_patches_warn(patches):
    X, y = patches  # 40 patches, validation_fraction 0.1: 4 validation patches
    est = make("CSMFNetRegressor", loss="r2_unc").fit(X, y)
    assert est.std_scale_ is None
    with pytest.warns(UserWarning, match="not recalibrated: calibrate_std needs at least 20"):
        est.predict(X, return_std=True)
    quiet = make("CSMFNetRegressor", loss="r2_unc", calibrate_std=False).fit(X, y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.predict(X, return_std=True)
