"""The kriging demo step: its shortcut equals the estimator it stands for, and its table."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("xgboost")


def test_fold_shortcut_equals_residual_kriging_regressor():
    from geoagb._demo._kriging import fold_predictions, learner
    from geoagb.datasets import make_plots
    from geoagb.kriging import ResidualKrigingRegressor

    plots = make_plots(160, random_state=3)
    X, y = plots.drop(columns="agb"), plots["agb"].to_numpy()
    tr, te = np.arange(120), np.arange(120, 160)
    got = fold_predictions(X.iloc[tr], y[tr], X.iloc[te], random_state=0, quick=True)
    kw = dict(n_neighbors=64, random_state=0)
    ck = ResidualKrigingRegressor(learner(True, 0), method="cokriging", secondary="elevation",
                                  **kw).fit(X.iloc[tr], y[tr])
    np.testing.assert_allclose(got["RK-CK elevation (out-of-fold residuals)"],
                               ck.predict(X.iloc[te]), rtol=1e-9)
    ins = ResidualKrigingRegressor(learner(True, 0), residuals="insample", **kw) \
        .fit(X.iloc[tr], y[tr])
    np.testing.assert_allclose(got["RK-OK (in-sample residuals)"], ins.predict(X.iloc[te]),
                               rtol=1e-9)
    np.testing.assert_allclose(got["XGBoost"],
                               learner(True, 0).fit(X.iloc[tr].drop(columns=["x", "y",
                                                                             "geometry"]),
                                                    y[tr]).predict(X.iloc[te].drop(
                                                        columns=["x", "y", "geometry"])),
                               rtol=1e-6)


def test_demo_step_writes_consistent_table(tmp_path):
    from geoagb._demo import DemoContext
    from geoagb._demo import _kriging
    from geoagb.datasets import make_plots

    ctx = DemoContext(out=tmp_path, quick=True, echo=lambda s: None)
    ctx.data["plots"] = make_plots(200, random_state=0)
    _kriging.run(ctx)
    table = pd.read_csv(tmp_path / "kriging.csv")
    assert (tmp_path / "residual_variogram.png").stat().st_size > 0
    base = table.loc[table["model"] == "XGBoost", "rmse"].item()
    np.testing.assert_allclose(table["ri"], (base - table["rmse"]) / base)
    # the out-of-fold correction helps on the embedded data (spatially structured residual)
    ok = table.loc[table["model"] == "RK-OK (out-of-fold residuals)", "ri"].item()
    assert ok > 0.02
