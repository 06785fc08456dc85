"""Demo step: spatial block cross-validation vs random k-fold on the embedded plots."""

from __future__ import annotations

import pandas as pd

from ..datasets import make_plots
from ..model_selection import SpatialBlockKFold, block_size_sensitivity, plot_folds

TITLE = "Spatial block cross-validation (2, 5, 10 km) vs random k-fold: XGBoost and random forest"


def models(quick: bool, random_state: int) -> dict:
    from sklearn.ensemble import RandomForestRegressor
    from xgboost import XGBRegressor

    n = 60 if quick else 300
    return {
        "XGBoost": XGBRegressor(
            n_estimators=n,
            learning_rate=0.05,
            max_depth=4,
            subsample=0.8,
            n_jobs=2,
            random_state=random_state,
        ),
        "RandomForest": RandomForestRegressor(
            n_estimators=n // 2, min_samples_leaf=2, n_jobs=2, random_state=random_state
        ),
    }


def run(ctx) -> None:
    import matplotlib.pyplot as plt

    plots = ctx.data.get("plots")
    if plots is None:
        plots = make_plots(300 if ctx.quick else 600, random_state=ctx.random_state)
        ctx.data["plots"] = plots
    X, y = plots.drop(columns="agb"), plots["agb"]
    n_splits = 5 if ctx.quick else 10
    block_sizes = (2_000, 5_000, 10_000)
    rows, sens = [], {}
    for name, est in models(ctx.quick, ctx.random_state).items():
        res = block_size_sensitivity(
            est,
            X,
            y,
            block_sizes,
            n_splits=n_splits,
            random_state=ctx.random_state,
            progress=getattr(ctx, "progress", False),
        )
        sens[name] = res
        tab = res.table(("r2", "rmse", "mae"))
        tab.insert(0, "model", name)
        rows.append(tab.reset_index().rename(columns={"block_size": "cv"}))
        fig = res.results[5_000].plot()
        fig.savefig(ctx.path(f"pred_obs_{name.lower()}_5km.png"), dpi=110)
        plt.close(fig)
    table = pd.concat(rows, ignore_index=True)
    table["cv"] = [c if isinstance(c, str) else f"{c / 1000:g} km blocks" for c in table["cv"]]
    table.to_csv(ctx.path("cv_table.csv"), index=False)
    fig = sens["XGBoost"].plot("r2")
    fig.savefig(ctx.path("block_size_sensitivity.png"), dpi=110)
    plt.close(fig)
    fig = plot_folds(
        SpatialBlockKFold(n_splits, block_size=5_000, random_state=ctx.random_state), X
    )
    fig.savefig(ctx.path("fold_map_5km.png"), dpi=110)
    plt.close(fig)

    show = table[
        [
            "model",
            "cv",
            "train_r2_mean",
            "validation_r2_mean",
            "validation_r2_sd",
            "validation_rmse_mean",
            "validation_mae_mean",
        ]
    ]
    ctx.echo(show.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    ctx.data["cv_table"] = table
    ctx.echo(
        f"    wrote cv_table.csv, fold_map_5km.png, block_size_sensitivity.png, pred_obs_*.png to {ctx.out}"
    )
