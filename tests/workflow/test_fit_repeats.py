"""Repeated fold seeds in ``geoagb fit`` (issue 26): the numbers over seeds equal a hand
computation from the cv table and the out-of-fold predictions, one seed is the old single-seed
fit exactly, the seeds give different folds, and bundles written before still report.
"""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from geoagb.cli import build_parser
from geoagb.datasets import make_plots
from geoagb.model_selection import block_size_sensitivity
from geoagb.workflow import Bundle, fit_bundle
from geoagb.workflow._cv_repeats import fold_seeds, with_repeat
from geoagb.workflow._fit_steps import _cross_validate, _FitOptions
from geoagb.workflow._report import _cv_stats, _fig_sensitivity, _fig_spatial_random, cv_table

FEATURES = ["ndvi", "height_mean", "elevation"]
METRICS = ("r", "r2", "rmse", "mae", "overall_bias")
#: The keys of a scheme's summary in manifests written before repeated fold seeds.
OLD_KEYS = (
    [f"{st}_{m}_{x}" for st in ("train", "validation") for m in METRICS for x in ("mean", "sd")]
    + [f"pooled_{m}" for m in METRICS]
    + ["n_folds"]
)
BLOCK = 12_000.0  # metres: 60 plots over ~56 km occupy >= 5 blocks at 6, 12 and 24 km


@pytest.fixture(scope="module")
def data():
    plots = make_plots(60, random_state=0)
    return plots[["x", "y"] + FEATURES].reset_index(drop=True), plots["agb"].to_numpy(float)


def _cv(data, n_repeats, random_state=3):
    X, y = data
    opts = _FitOptions(n_splits=5, n_repeats=n_repeats, random_state=random_state, unit="Mg/ha")
    lines = []
    return _cross_validate(LinearRegression(), X, y, BLOCK, opts, lines.append), lines


@pytest.fixture(scope="module")
def three(data):
    return _cv(data, 3)


def _r2(y, p):
    return 1.0 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2)


def test_pooled_and_mean_sd_are_the_hand_computation(data, three):
    X, y = data
    out, lines = three
    assert out.seeds == tuple(fold_seeds(3, 3)) and out.seeds[0] == 3
    for scheme, res, s in (
        ("spatial", out.spatial_repeats, out.summary_spatial),
        ("random", out.random_repeats, out.summary_random),
    ):
        val = out.table[(out.table["scheme"] == scheme) & (out.table["set"] == "validation")]
        per_seed = val.groupby("repeat")["r2"].mean().to_numpy()
        assert len(per_seed) == 3 and s["n_repeats"] == 3
        assert s["validation_r2_mean"] == pytest.approx(per_seed.mean(), rel=1e-12)
        assert s["validation_r2_mean_sd"] == pytest.approx(np.std(per_seed, ddof=1), rel=1e-12)
        assert (s["validation_r2_mean_min"], s["validation_r2_mean_max"]) == pytest.approx(
            (per_seed.min(), per_seed.max()), rel=1e-12
        )
        fold_sd = val.groupby("repeat")["rmse"].std(ddof=1).mean()
        assert s["validation_rmse_sd"] == pytest.approx(fold_sd, rel=1e-12)
        # pooled: each seed's out-of-fold predictions refitted by hand, R2 of all of them together
        pooled = []
        for r in res:
            oof = np.empty(len(y))
            for f in range(5):
                test = r.fold == f
                lr = LinearRegression().fit(X.loc[~test, FEATURES], y[~test])
                oof[test] = lr.predict(X.loc[test, FEATURES])
            np.testing.assert_allclose(r.oof_predictions, oof, rtol=1e-9)
            pooled.append(_r2(y, oof))
        assert s["pooled_r2"] == pytest.approx(np.mean(pooled), rel=1e-9)
        assert s["pooled_r2_sd"] == pytest.approx(np.std(pooled, ddof=1), rel=1e-9)
    # neighbouring block sizes run the first seed only; the used size and random every seed
    counts = out.table.groupby("scheme")["repeat"].nunique().to_dict()
    assert counts == {"random": 3, "sensitivity": 1, "spatial": 3}
    assert out.sensitivity_repeats == 1 and out.label.endswith(", 3 fold seeds")
    sp = out.summary_spatial
    assert lines[1].startswith(
        f"      spatial CV (3 fold seeds, 12,000 m blocks): R2 {sp['validation_r2_mean']:.3f} +- "
        f"{sp['validation_r2_mean_sd']:.3f} [{sp['validation_r2_mean_min']:.3f}, "
        f"{sp['validation_r2_mean_max']:.3f}] (pooled {sp['pooled_r2']:.3f})"
    )


def test_one_repeat_is_the_single_seed_fit(data):
    X, y = data
    out, _ = _cv(data, 1)
    sizes = [BLOCK / 2, BLOCK, 2 * BLOCK]
    old = block_size_sensitivity(LinearRegression(), X, y, sizes, n_splits=5, random_state=3)
    for key, s in ((BLOCK, out.summary_spatial), ("random", out.summary_random)):
        res = old.results[key]
        summ = res.summary(METRICS)
        for st in ("train", "validation"):
            for c in summ.columns:
                assert s[f"{st}_{c}"] == float(summ.loc[st, c])  # exactly
        for k, v in res.oof_scores().items():
            assert s[f"pooled_{k}"] == float(v)
        assert s["n_repeats"] == 1 and s["validation_r2_mean_sd"] is None
        np.testing.assert_array_equal(
            (out.spatial if key == BLOCK else out.random).oof_predictions, res.oof_predictions
        )
    assert out.label == "spatial 5-fold CV, 12,000 m blocks"
    assert (out.table["repeat"] == 0).all() and len(out.table) == 4 * 5 * 2


def _same_partition(a, b) -> bool:
    return bool((np.equal.outer(a, a) == np.equal.outer(b, b)).all())


def test_repeats_use_distinct_fold_assignments(data, three):
    out, _ = three
    for res in (out.spatial_repeats, out.random_repeats):
        folds = [r.fold for r in res]
        assert all(
            not _same_partition(folds[i], folds[j]) for i in range(3) for j in range(i + 1, 3)
        )
    again, _ = _cv(data, 3)
    assert again.seeds == out.seeds
    pd.testing.assert_frame_equal(again.table, out.table)
    assert fold_seeds(3, 5)[:3] == list(out.seeds) and len(set(fold_seeds(0, 50))) == 50


def _bundle(tiny_bundle, out, cv_table_, manifest_cv):
    m = copy.deepcopy(tiny_bundle.manifest)
    m["block_size"]["used_m"] = BLOCK
    m["cv"] = manifest_cv
    return Bundle(
        model=tiny_bundle.model,
        manifest=m,
        plots=tiny_bundle.plots,
        qc=tiny_bundle.qc,
        cv=cv_table_,
    )


def test_old_format_cv_table_loads_and_reports(tiny_bundle, tmp_path, data):
    import matplotlib

    matplotlib.use("Agg")
    from geoagb.workflow import load_bundle

    out, _ = _cv(data, 1)
    old_cv = out.table.drop(columns="repeat")  # as written before repeated fold seeds
    summ = {k: out.summary_spatial[k] for k in OLD_KEYS}
    b = _bundle(
        tiny_bundle,
        out,
        old_cv,
        {**tiny_bundle.manifest["cv"], "n_splits": 5, "spatial": summ, "random": summ},
    )
    b.save(tmp_path / "old.geoagb")
    back = load_bundle(tmp_path / "old.geoagb")
    assert "repeat" not in back.cv.columns and (with_repeat(back.cv)["repeat"] == 0).all()
    keys, mean, sd, per_seed = _cv_stats(back)
    val = old_cv[(old_cv["scheme"] == "spatial") & (old_cv["set"] == "validation")]
    assert mean.loc[("12,000 m blocks", "validation"), "r2"] == pytest.approx(val["r2"].mean())
    assert sd.loc[("12,000 m blocks", "validation"), "r2"] == pytest.approx(val["r2"].std())
    assert list(cv_table(back).columns)[:2] == [
        "spatial: validation mean",
        "spatial: validation sd (folds)",
    ]
    assert len(cv_table(back).columns) == 8  # no fold-seed columns for one seed
    _fig_sensitivity(back)
    _fig_spatial_random(back)


def test_report_numbers_with_repeats(tiny_bundle, three, data):
    out, _ = three
    m = {
        **tiny_bundle.manifest["cv"],
        "n_splits": 5,
        "n_repeats": 3,
        "spatial": out.summary_spatial,
        "random": out.summary_random,
    }
    b = _bundle(tiny_bundle, out, out.table, m)
    keys, mean, sd, per_seed = _cv_stats(b)
    assert keys == ["6,000 m blocks", "12,000 m blocks", "24,000 m blocks", "random"]
    s = out.summary_spatial
    assert mean.loc[("12,000 m blocks", "validation"), "r2"] == pytest.approx(
        s["validation_r2_mean"], rel=1e-12
    )
    assert sd.loc[("12,000 m blocks", "validation"), "rmse"] == pytest.approx(
        s["validation_rmse_sd"], rel=1e-12
    )
    assert len(per_seed.loc[("12,000 m blocks", "validation")]) == 3
    t = cv_table(b)
    assert t.loc["R²", "spatial: sd over 3 fold seeds"] == s["validation_r2_mean_sd"]
    assert t.loc["R²", "spatial: pooled out-of-fold"] == s["pooled_r2"]
    sc = b.scores()
    assert sc.loc["spatial", "n_repeats"] == 3
    assert sc.loc["random", "pooled_rmse_max"] == out.summary_random["pooled_rmse_max"]
    one = _bundle(tiny_bundle, out, out.table, {**m, "spatial": _cv(data, 1)[0].summary_spatial})
    assert np.isnan(one.scores().loc["spatial", "validation_r2_mean_sd"])


def test_n_repeats_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"n_repeats=0 must be a whole number >= 1"):
        fit_bundle(tmp_path / "p.csv", tmp_path, n_repeats=0)
    with pytest.raises(ValueError, match=r"n_repeats=2.5 must be"):
        fit_bundle(tmp_path / "p.csv", tmp_path, n_repeats=2.5)
    args = build_parser().parse_args(["fit", "p.csv", "r", "--n-repeats", "2"])
    assert args.n_repeats == 2
    assert build_parser().parse_args(["fit", "p.csv", "r"]).n_repeats == 5
    assert replace(_FitOptions(), n_repeats=1).n_repeats == 1 and _FitOptions().n_repeats == 5


def test_manifest_checks_the_repeat_fields(manifest):
    from geoagb.workflow._manifest import validate_manifest

    manifest["cv"].update(n_repeats=5, fold_seeds=[0, 1878776328], sensitivity_repeats=1)
    manifest["cv"]["spatial"].update(validation_r2_mean_sd=None, n_repeats=5)
    validate_manifest(manifest)
    manifest["cv"]["n_repeats"] = 0
    with pytest.raises(
        ValueError,
        match=r"cv.n_repeats is 0 \(a whole number\), expected a whole "
        r"number >= 1 \(fold seeds of the CV\)",
    ):
        validate_manifest(manifest)


def test_fit_bundle_reports_the_repeats(demo):
    """The demo's fit (40 plots, defaults): 5 fold seeds in the manifest, the cv table, the
    printed line and the title; the stored out-of-fold predictions are the first seed's."""
    from geoagb.metrics import agb_scores

    b = demo["ctx"].data["bundle"]
    cv, sp = b.manifest["cv"], b.manifest["cv"]["spatial"]
    assert cv["n_repeats"] == 5 and cv["fold_seeds"] == fold_seeds(cv["random_state"], 5)
    assert cv["sensitivity_repeats"] == 1 and b.cv_label.endswith(", 5 fold seeds")
    val = b.cv[(b.cv["scheme"] == "spatial") & (b.cv["set"] == "validation")]
    per_seed = val.groupby("repeat")["rmse"].mean()
    assert list(per_seed.index) == [0, 1, 2, 3, 4]
    assert sp["validation_rmse_mean"] == pytest.approx(per_seed.mean(), rel=1e-12)
    assert sp["validation_rmse_mean_sd"] == pytest.approx(per_seed.std(ddof=1), rel=1e-12)
    first = agb_scores(b.plots["agb"].to_numpy(), b.plots["oof_spatial"].to_numpy())["r2"]
    assert sp["pooled_r2_min"] <= first <= sp["pooled_r2_max"]
    line = next(s for s in demo["lines"] if "spatial CV (5 fold seeds" in s)
    assert f"R2 {sp['validation_r2_mean']:.3f} +- {sp['validation_r2_mean_sd']:.3f}" in line


def test_report_leaves_the_cv_table_alone(tiny_bundle, three):
    out, _ = three
    b = _bundle(tiny_bundle, out, out.table.copy(), {**tiny_bundle.manifest["cv"], "n_splits": 5})
    _cv_stats(b)
    pd.testing.assert_frame_equal(b.cv, out.table)
