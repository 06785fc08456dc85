"""BelowgroundModel: scikit-learn contract, the ratio fallback, stacks and spatial CV."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import estimator_checks_generator

from geoagb.inventory import fit_belowground
from geoagb.timeseries import BelowgroundModel, evaluate_belowground

#: Checks that cannot apply, with the test that checks the same rule instead (skipped, not xfail).
NOT_APPLICABLE = {
    "check_positive_only_tag_during_fit": "scikit-learn's positive_only tag has no per-column "
    "form: BelowgroundModel refuses negative AGB (column agb_feature) and BGB, but accepts "
    "negative covariates such as temperature; this check subtracts one scalar from all of "
    "iris, which leaves column 0 positive, and expects the negative covariates refused. "
    "test_positive_only_means_the_agb_column_and_bgb checks the rule instead."
}


@pytest.mark.parametrize(
    "estimator, check",
    estimator_checks_generator(
        BelowgroundModel(n_estimators=10, min_records=5, random_state=0),
        expected_failed_checks=NOT_APPLICABLE,
        mark="skip",
    ),
    ids=lambda v: getattr(getattr(v, "func", v), "__name__", type(v).__name__),
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def _records(n=200, seed=0):
    rng = np.random.default_rng(seed)
    agb = rng.uniform(10, 100, n)
    mat = rng.uniform(0, 20, n)
    return pd.DataFrame(
        {
            "x": rng.uniform(0, 6e4, n),
            "y": rng.uniform(0, 6e4, n),
            "agbc": agb,
            "mat": mat,
            "bgbc": 0.3 * agb**0.93 * np.exp(0.04 * (12 - mat)) * rng.lognormal(0, 0.05, n),
        }
    )


def test_ratio_fallback_reuses_inventory_fit():
    rec = _records(20)
    with pytest.warns(UserWarning, match="root:shoot ratio .* alone"):
        m = BelowgroundModel(agb_feature="agbc").fit(rec[["agbc", "mat"]], rec["bgbc"])
    r = fit_belowground(rec["agbc"], rec["bgbc"], method="ratio").a
    assert m.mode_ == "ratio" and m.ratio_ == pytest.approx(r)
    np.testing.assert_allclose(m.predict(rec[["agbc", "mat"]]), r * rec["agbc"])
    fixed = BelowgroundModel(root_shoot=0.35, min_records=5).fit(rec[["agbc", "mat"]], rec["bgbc"])
    assert fixed.ratio_ == 0.35
    with pytest.raises(ValueError, match="root_shoot"):
        BelowgroundModel(root_shoot=-1).fit(rec[["agbc", "mat"]], rec["bgbc"])
    with pytest.raises(ValueError, match="negative AGB"):
        BelowgroundModel().fit(np.c_[-rec["agbc"], rec["mat"]], rec["bgbc"])


def test_positive_only_means_the_agb_column_and_bgb():
    """The positive_only tags hold for AGB (column ``agb_feature``) and BGB, with or without a
    fixed root:shoot ratio; covariates such as mean annual temperature may be negative."""
    rec = _records(60)
    X = np.c_[rec["agbc"], rec["mat"] - 15.0]  # temperatures from -15 to 5 degC
    assert (X[:, 1] < 0).mean() > 0.5
    m = BelowgroundModel(n_estimators=10, min_records=5, random_state=0).fit(X, rec["bgbc"])
    assert m.mode_ == "forest" and np.all(m.predict(X) > 0)
    for root_shoot in (None, 0.3):
        bad_agb = np.c_[rec["agbc"] - 50.0, rec["mat"]]
        with pytest.raises(ValueError, match=r"^Negative values in data passed to Belowground"):
            BelowgroundModel(root_shoot=root_shoot, min_records=5).fit(bad_agb, rec["bgbc"])
        with pytest.raises(ValueError, match=r"min BGB -1\b"):
            BelowgroundModel(root_shoot=root_shoot, min_records=5).fit(
                X, np.r_[-1.0, rec["bgbc"][1:]]
            )


def test_forest_uses_covariates_and_extrapolates_with_the_ratio():
    rec = _records()
    X = rec[["agbc", "mat"]]
    m = BelowgroundModel(agb_feature="agbc", n_estimators=100, random_state=0).fit(X, rec["bgbc"])
    cold = m.predict(pd.DataFrame({"agbc": [60.0], "mat": [2.0]}))[0]
    warm = m.predict(pd.DataFrame({"agbc": [60.0], "mat": [18.0]}))[0]
    assert cold > 1.3 * warm  # exp(0.04 * 16) = 1.9
    big = m.predict(pd.DataFrame({"agbc": [500.0], "mat": [12.0]}))[0]
    assert big == pytest.approx(m.ratio_ * 500.0)
    flat = BelowgroundModel(
        agb_feature="agbc", n_estimators=100, random_state=0, extrapolation="forest"
    )
    assert (
        flat.fit(X, rec["bgbc"]).predict(pd.DataFrame({"agbc": [500.0], "mat": [12.0]}))[0]
        < rec["bgbc"].max()
    )


def test_predict_stack_equals_predict_and_file_equals_memory(tmp_path):
    rec = _records()
    m = BelowgroundModel(agb_feature="agbc", n_estimators=30, random_state=0).fit(
        rec[["agbc", "mat"]], rec["bgbc"]
    )
    rng = np.random.default_rng(1)
    agbc = rng.uniform(5, 120, (3, 9, 7)).astype(np.float32)
    agbc[1, 2, 3] = np.nan
    mat = rng.uniform(0, 20, (9, 7)).astype(np.float32)
    out = m.predict_stack(agbc, {"mat": mat}, progress=False)
    X = pd.DataFrame({"agbc": agbc[2].ravel().astype(float), "mat": np.asarray(mat, float).ravel()})
    np.testing.assert_allclose(out[2].ravel(), m.predict(X), rtol=1e-6)
    assert np.isnan(out[1, 2, 3]) and np.isfinite(out[1]).sum() == 62
    grid = dict(transform=(1000, 0, 5e5, 0, -1000, 3e6), crs="EPSG:32648")
    path = m.predict_stack(
        agbc,
        {"mat": mat},
        out=tmp_path / "bgbc.tif",
        years=[2001, 2002, 2003],
        memory_mb=0.01,
        progress=False,
        **grid,
    )
    import rasterio

    with rasterio.open(path) as ds:
        assert ds.descriptions == ("2001", "2002", "2003")
        np.testing.assert_allclose(ds.read(), out, rtol=1e-6)
    with pytest.raises(ValueError, match="lacks \\['mat'\\]"):
        m.predict_stack(agbc, {"temp": mat}, progress=False)


def test_evaluate_uses_spatial_blocks_and_beats_the_ratio():
    from geoagb.model_selection import SpatialBlockKFold, spatial_cross_validate

    rec = _records()
    model = BelowgroundModel(agb_feature="agbc", n_estimators=50, random_state=0)
    ev = evaluate_belowground(
        rec, model, features=["agbc", "mat"], block_size=12_000, random_state=0
    )
    assert ev.scheme == "spatial blocks 12000 m, 5 folds"
    direct = spatial_cross_validate(
        model,
        rec[["agbc", "mat", "x", "y"]],
        rec["bgbc"],
        SpatialBlockKFold(5, block_size=12_000, random_state=0),
        progress=False,
    )
    assert ev.table.loc["forest", "r2"] == pytest.approx(direct.oof_scores()["r2"])
    assert ev.table.loc["forest", "r2"] > ev.table.loc["root_shoot", "r2"] + 0.1
    nocoords = evaluate_belowground(
        rec.drop(columns=["x", "y"]), model, features=["agbc", "mat"], random_state=0
    )
    assert nocoords.scheme.startswith("random 5-fold")
