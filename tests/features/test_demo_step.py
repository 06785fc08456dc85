import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from geoagb._demo import run_demo


def test_features_demo_step(tmp_path):
    lines = []
    ctx = run_demo(out=tmp_path, steps=["features"], quick=True, echo=lines.append)
    assert "plots" not in ctx.data  # the cv step uses the regional table
    scene, kept, rf = ctx.data["scene"], ctx.data["scene_plots"], ctx.data["raster_features"]
    assert kept.crs == scene.plots.crs and {"x", "y", "agb"} <= set(kept.columns)
    assert set(rf.feature_names) <= set(kept.columns) and len(kept) < len(scene.plots)
    # the stored features are the recipe's numbers at the kept plots
    again = rf.at_points(kept, footprint=scene.plot_size_m)
    pd.testing.assert_frame_equal(again, kept[rf.feature_names])
    table = pd.read_csv(tmp_path / "screening.csv")
    assert list(table.columns[:6]) == ["feature", "r", "p", "p_adj", "category", "selected"]
    row = table.set_index("feature").loc["height_mean"]
    ref = pearsonr(kept["height_mean"], kept["agb"])
    assert row["r"] == pytest.approx(ref.statistic, rel=1e-9) and row["selected"]
    assert np.all(np.diff(table["r"].abs().to_numpy()) <= 1e-12)
    report = pd.read_csv(tmp_path / "qc_report.csv", index_col=0)
    assert len(report) + len(kept) == len(scene.plots)
    assert any("quality control dropped" in s for s in lines)
