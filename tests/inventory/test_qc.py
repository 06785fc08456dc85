"""Plot quality control (FineKarstAGB's filter and the studentized rule): rules, out-of-fold
forest, zero-AGB plots kept, recovery of planted plots before/after."""

import geopandas as gpd
import numpy as np
import pytest
from sklearn.ensemble import RandomForestRegressor
from sklearn.model_selection import KFold, cross_val_predict

from geoagb.datasets import make_plots
from geoagb.inventory import filter_inconsistent_plots

FEATURES = ["ndvi", "crown_cover", "height_mean"]


@pytest.fixture(scope="module")
def plots_truth():
    return make_plots(400, random_state=5, return_truth=True, inconsistent_fraction=0.05)


def test_incomplete_and_non_positive_records_are_reported(plots_truth):
    plots = plots_truth[0].copy()
    plots.loc[3, "ndvi"] = np.nan
    plots.loc[4, "agb"] = np.nan
    plots.loc[5, "agb"] = -3.0
    plots.loc[6, "height_mean"] = -1.0
    plots.loc[7, ["agb", "height_mean"]] = 0.0  # a genuine clearing: kept by default
    kept, report = filter_inconsistent_plots(plots, random_state=0, nonnegative=True)
    assert report.loc[3, "reason"] == "incomplete" and report.loc[3, "detail"] == "missing ndvi"
    assert report.loc[4, "reason"] == "incomplete" and report.loc[4, "detail"] == "missing agb"
    assert report.loc[5, "reason"] == "negative target"
    assert report.loc[6, "reason"] == "negative height"
    assert report.loc[[3, 4, 5, 6], "predicted"].isna().all()
    assert 7 not in report.index  # AGB = 0 is never flagged
    _, generic = filter_inconsistent_plots(plots, random_state=0)  # sign not declared
    assert "negative target" not in set(generic["reason"])
    _, strict = filter_inconsistent_plots(plots, drop_zero=True, random_state=0)
    assert strict.loc[7, "reason"] == "negative target"  # FineKarstAGB's AGB <= 0 rule
    # kept and dropped partition the plots; types, columns and index survive
    assert isinstance(kept, gpd.GeoDataFrame) and kept.crs == plots.crs
    assert list(kept.columns) == list(plots.columns)
    assert sorted(kept.index.tolist() + report.index.tolist()) == plots.index.tolist()
    assert report.index.is_monotonic_increasing


def test_relative_error_rule_uses_out_of_fold_forest(plots_truth):
    plots = plots_truth[0]
    kept, report = filter_inconsistent_plots(plots, rule="relative", threshold=0.5, random_state=2)
    # reference: the same forest and folds, run directly with scikit-learn
    forest = RandomForestRegressor(
        n_estimators=200, min_samples_leaf=3, max_features=1.0, random_state=2, n_jobs=1
    )
    pred = cross_val_predict(
        forest,
        plots[FEATURES].to_numpy(),
        plots["agb"].to_numpy(),
        cv=KFold(5, shuffle=True, random_state=2),
    )
    rel = np.abs(pred - plots["agb"].to_numpy()) / plots["agb"].to_numpy()
    np.testing.assert_array_equal(np.sort(report.index), plots.index[rel > 0.5])
    np.testing.assert_allclose(report["predicted"], pred[rel > 0.5], rtol=1e-12)
    np.testing.assert_allclose(report["relative_error"], rel[rel > 0.5], rtol=1e-12)
    assert (report["reason"] == "relative error").all()
    # a looser threshold drops a subset
    _, loose = filter_inconsistent_plots(plots, rule="relative", threshold=1.0, random_state=2)
    assert set(loose.index) <= set(report.index) and len(loose) < len(report)


def test_relative_to_predicted(plots_truth):
    plots = plots_truth[0]
    _, rep = filter_inconsistent_plots(
        plots, rule="relative", relative_to="predicted", random_state=0
    )
    np.testing.assert_allclose(
        rep["relative_error"], np.abs(rep["predicted"] - rep["observed"]) / rep["predicted"]
    )
    assert (rep["relative_error"] > 0.5).all()


def _precision_recall(dropped, planted):
    tp = np.sum(dropped & planted)
    return tp / max(dropped.sum(), 1), tp / max(planted.sum(), 1)


def test_recovers_plots_planted_by_make_plots(plots_truth):
    plots, truth = plots_truth
    planted = truth["inconsistent"].to_numpy()
    _, before = filter_inconsistent_plots(plots, rule="relative", random_state=0)
    _, after = filter_inconsistent_plots(plots, random_state=0)
    p0, r0 = _precision_recall(plots.index.isin(before.index), planted)
    p1, r1 = _precision_recall(plots.index.isin(after.index), planted)
    # relative rule: recall ~0.7 at precision ~0.2 (mostly low-biomass plots flagged);
    # studentized rule: far fewer false alarms, precision well above the relative rule's
    assert r0 >= 0.6 and p0 >= 3 * planted.mean()
    assert p1 >= 2 * p0 and p1 >= 0.5
    assert len(after) < len(before) / 2
    # the relative rule's false alarms are low-biomass plots, the studentized rule's are not
    false0 = before.index[~before.index.isin(plots.index[planted])]
    assert plots.loc[false0, "agb"].median() < plots["agb"].median()


def test_bad_inputs(plots_truth):
    plots = plots_truth[0]
    with pytest.raises(ValueError, match=r"column\(s\) \['canopy'\] not found"):
        filter_inconsistent_plots(plots, features=("ndvi", "canopy"))
    with pytest.raises(ValueError, match="threshold=0 must be positive"):
        filter_inconsistent_plots(plots, threshold=0)
    with pytest.raises(ValueError, match="relative_to"):
        filter_inconsistent_plots(plots, rule="relative", relative_to="mean")
    with pytest.raises(ValueError, match="rule="):
        filter_inconsistent_plots(plots, rule="ratio")
    with pytest.raises(ValueError, match="only 6 complete plots"):
        filter_inconsistent_plots(plots.iloc[:6])
    with pytest.raises(TypeError, match="DataFrame"):
        filter_inconsistent_plots(plots[FEATURES].to_numpy())
    with pytest.raises(ValueError, match="features is empty"):
        filter_inconsistent_plots(plots, features=())


def _footprint_means(scene):
    """Mean NDVI, crown cover and canopy height over each square plot footprint (array slicing)."""
    img, crown, chm = scene.read("image"), scene.read("crown"), scene.read("chm")
    ndvi = (img[3] - img[2]) / (img[3] + img[2])
    x0, _, _, y1 = scene.bounds
    half, res = scene.plot_size_m / 2, scene.resolution
    rows = []
    for x, y in zip(scene.plots["x"], scene.plots["y"]):
        c0, c1 = round((x - half - x0) / res), round((x + half - x0) / res)
        r0, r1 = round((y1 - y - half) / res), round((y1 - y + half) / res)
        win = (slice(r0, r1), slice(c0, c1))
        rows.append((ndvi[win].mean(), crown[win].mean(), chm[win].mean()))
    plots = scene.plots.copy()
    plots[FEATURES] = np.array(rows)
    return plots


def test_recovers_plots_planted_by_make_scene(tmp_path):
    from geoagb.datasets import make_scene

    scene = make_scene(
        tmp_path, size_m=1000, n_plots=150, inconsistent_fraction=0.1, random_state=3
    )
    plots = _footprint_means(scene)
    planted = scene.truth["inconsistent"].to_numpy()
    _, report = filter_inconsistent_plots(plots, rule="relative", random_state=0)
    precision, recall = _precision_recall(plots.index.isin(report.index), planted)
    assert planted.sum() == 15
    assert recall >= 0.6
    assert precision >= 2 * planted.mean()


def test_duplicate_index_labels_are_handled_by_position(plots_truth):
    plots = plots_truth[0].copy()
    plots.index = np.repeat(np.arange(len(plots) // 2), 2)
    plots.iloc[1, plots.columns.get_loc("agb")] = -5.0
    kept, report = filter_inconsistent_plots(plots, random_state=0, nonnegative=True)
    assert len(kept) + len(report) == len(plots)
    assert report["reason"].iloc[0] == "negative target" and report.index[0] == 0
