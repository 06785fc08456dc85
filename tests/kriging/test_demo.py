"""The kriging demo step: one loop over learner, learner + RK and kriging alone, same folds."""

import pandas as pd
import pytest

pytest.importorskip("xgboost")


def test_demo_step_writes_consistent_tables(tmp_path):
    from geoagb._demo import DemoContext, _kriging
    from geoagb.datasets import make_plots

    ctx = DemoContext(out=tmp_path, quick=True, echo=lambda s: None)
    ctx.data["plots"] = make_plots(200, random_state=0)
    _kriging.run(ctx)
    table = pd.read_csv(tmp_path / "kriging.csv", index_col=0)
    paired = pd.read_csv(tmp_path / "kriging_paired.csv", index_col=0)
    assert (tmp_path / "residual_variogram.png").stat().st_size > 0
    assert list(table.index) == [
        "XGBoost",
        "XGBoost + RK",
        "XGBoost + RK-CK elevation",
        "kriging alone",
    ]
    # paired means are differences of fold RMSEs; their mean equals the difference of means
    # only approximately (pooled vs fold), but the sign of "kriging alone" is clear here
    assert paired.loc["kriging alone", "mean"] > 0
    assert (paired["ci_low"] <= paired["mean"]).all() and (
        paired["mean"] <= paired["ci_high"]
    ).all()
    # residual kriging must not make things worse by more than 0.5 %
    assert table.loc["XGBoost + RK", "pooled_rmse"] <= 1.005 * table.loc["XGBoost", "pooled_rmse"]
