"""Fit option ``qc``: "flag" keeps every plot, "drop" leaves the flagged ones out and scores
them as held-out plots beside the kept plots' CV, "off" skips the check; a negative target keeps
its negative plots; ``qc=True`` warns that it now means "flag".

The scene of ``tests/test_fit_inputs.py`` (56 x 48 m, 1 m pixels, 40 plots, crown nodata under
plots 0 and 1, agb = 20 + 8 chm + noise) with three planted unit errors (x 10).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoagb.cli import main
from geoagb.metrics import mae, r2, rmse
from geoagb.workflow import fit_bundle
from geoagb.workflow._report import _qc_section

from ..features._rasters import pixel_centres, write_scene

H, W, N = 48, 56, 40
PLANTED = [10, 20, 30]
FAST = dict(block_size=10.0, n_estimators=10, n_repeats=1, random_state=0, echo=lambda s: None)


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("fit_qc_modes")
    rng = np.random.default_rng(0)
    rows, cols = rng.integers(3, H - 3, N), rng.integers(3, W - 3, N)
    (d / "r").mkdir()
    _, f = write_scene(d / "r", h=H, w=W, crown_nodata_at=(rows[:2], cols[:2]))
    xy = pixel_centres(rows, cols)
    agb = 20 + 8 * f["chm"][rows, cols] + rng.normal(0, 5, N)
    agb[PLANTED] *= 10  # unit errors
    plots = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "agb": agb})
    plots.to_csv(d / "plots.csv", index=False)
    return {"plots": d / "plots.csv", "rasters": d / "r", "table": plots}


@pytest.fixture(scope="module")
def fits(scene):
    return {m: fit_bundle(scene["plots"], scene["rasters"], qc=m, **FAST) for m in ("flag", "drop")}


def test_flag_keeps_every_usable_plot_and_names_the_reasons(fits):
    b = fits["flag"]
    q = b.qc
    assert len(b.plots) == N - 2  # only the 2 plots without crown cover are left out
    assert q.loc[[0, 1], "reason"].tolist() == ["missing feature"] * 2
    flagged = q.index[q["flagged"]]
    assert set(PLANTED) <= set(flagged)  # the three x 10 plots are found ...
    assert not q.loc[flagged, "dropped"].any() and set(flagged) <= set(b.plots.index)  # ... kept
    info = b.manifest["qc"]
    assert info["mode"] == "flag" and info["n_flagged"] == len(flagged)
    assert info["flagged_by_reason"] == {"studentized residual": len(flagged)}
    assert b.manifest["plots"]["n_dropped"] == 2 and "cv_side_by_side" not in info


def test_drop_scores_the_dropped_plots_as_held_out(fits, scene):
    b, f = fits["drop"], fits["flag"]
    q = b.qc
    dropped = q.index[q["flagged"] & q["dropped"]]
    assert sorted(dropped) == sorted(f.qc.index[f.qc["flagged"]])  # same check, same flags
    assert b.manifest["plots"]["n_dropped"] == 2 + len(dropped) == N - len(b.plots)
    # hand computation: kept plots at their spatial out-of-fold prediction, dropped plots at the
    # final model's prediction (a model fitted on the kept plots only)
    held = b.model.predict(f.plots.loc[dropped, b.model_columns])  # features: kept under "flag"
    np.testing.assert_allclose(q.loc[dropped, "held_out"], held, rtol=1e-9)
    y = np.concatenate([b.plots["agb"], scene["table"].loc[dropped, "agb"]])
    p = np.concatenate([b.plots["oof_spatial"], held])
    side = b.manifest["qc"]["cv_side_by_side"]
    assert side["kept"]["rmse"] == pytest.approx(rmse(b.plots["agb"], b.plots["oof_spatial"]))
    assert side["kept_and_dropped"]["n"] == len(y)
    assert side["kept_and_dropped"]["rmse"] == pytest.approx(rmse(y, p), rel=1e-12)
    assert side["kept_and_dropped"]["mae"] == pytest.approx(mae(y, p), rel=1e-12)
    assert side["kept_and_dropped"]["r2"] == pytest.approx(r2(y, p), rel=1e-12)
    # the unit errors were dropped: scored as held-out plots, they raise the RMSE
    assert side["kept_and_dropped"]["rmse"] > 2 * side["kept"]["rmse"]
    html = "".join(str(h) for h in _qc_section(b))
    assert "kept + dropped plots (held out)" in html and "<img" in html


def test_negative_target_keeps_its_negative_plots(scene, tmp_path):
    t = scene["table"].drop(index=PLANTED)
    t = t.assign(axis=t["agb"] - t["agb"].mean())
    t.to_csv(tmp_path / "axis.csv", index=False)
    b = fit_bundle(tmp_path / "axis.csv", scene["rasters"], target="axis", unit="", **FAST)
    assert b.manifest["target_traits"]["nonnegative"] is False
    assert "negative target" not in set(b.qc["reason"])
    n_neg = int((t["axis"].iloc[2:] < 0).sum())  # plots 0 and 1 lack crown cover
    assert (b.plots["axis"] < 0).sum() == n_neg > 10


def test_qc_true_warns_and_means_flag_and_cli_flag(scene, tmp_path, capsys):
    with pytest.warns(FutureWarning, match="qc=True now means qc='flag'"):
        b = fit_bundle(scene["plots"], scene["rasters"], qc=True, **FAST)
    assert b.manifest["qc"]["mode"] == "flag" and len(b.plots) == N - 2
    out = tmp_path / "b.geoagb"
    argv = ["fit", str(scene["plots"]), str(scene["rasters"]), "--out", str(out), "--qc", "drop"]
    assert main([*argv, "--block-size", "10", "--n-estimators", "10", "--n-repeats", "1"]) == 0
    text = capsys.readouterr().out
    n = int(b.qc["flagged"].sum())  # the same check flags the same plots under "drop"
    assert f"flagged {n} of 38 plots ({n} studentized residual); left them out (--qc drop)" in text
    assert f"spatial CV with the {n} dropped plots scored as held-out plots: RMSE" in text
    with pytest.raises(ValueError, match=r"qc='maybe' must be one of \('flag', 'drop', 'off'\)"):
        fit_bundle(scene["plots"], scene["rasters"], qc="maybe", **FAST)
