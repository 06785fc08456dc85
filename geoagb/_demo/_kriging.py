"""Demo step: learner vs learner + residual kriging vs kriging alone, on identical 5 km spatial
block folds over two fold seeds (``geoagb.model_selection.compare_models``).
"""

from __future__ import annotations

import warnings

from ..datasets import make_plots
from ..kriging import KrigingRegressor, ResidualKrigingRegressor, plot_variogram
from ..model_selection import SpatialBlockKFold, compare_models

TITLE = "Residual kriging: learner vs learner + RK vs kriging alone (paired, same folds)"


def learner(quick: bool, random_state: int):
    """The XGBoost learner of this step (flexible enough to fit its training data closely)."""
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=80 if quick else 200,
        learning_rate=0.08,
        max_depth=6,
        subsample=0.8,
        colsample_bytree=0.8,
        n_jobs=1,
        random_state=random_state,
    )


def models(quick: bool, random_state: int) -> dict:
    """The compared estimators: one loop over estimators that all take the same X."""
    base = learner(quick, random_state)
    return {
        "XGBoost": base,
        "XGBoost + RK": ResidualKrigingRegressor(base, n_neighbors=64, random_state=random_state),
        "XGBoost + RK-CK elevation": ResidualKrigingRegressor(
            base,
            method="cokriging",
            secondary="elevation",
            n_neighbors=64,
            random_state=random_state,
        ),
        "kriging alone": KrigingRegressor(n_neighbors=64, random_state=random_state),
    }


def run(ctx) -> None:
    import matplotlib.pyplot as plt

    plots = ctx.data.get("plots")
    if plots is None:
        plots = make_plots(random_state=ctx.random_state)
        ctx.data["plots"] = plots
    if ctx.quick and len(plots) > 300:
        plots = plots.sample(300, random_state=ctx.random_state)
    X, y = plots.drop(columns="agb"), plots["agb"].to_numpy()
    est = models(ctx.quick, ctx.random_state)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cmp = compare_models(
            est,
            X,
            y,
            SpatialBlockKFold(n_splits=5, block_size=5_000),
            n_repeats=1 if ctx.quick else 2,
            random_state=ctx.random_state,
            progress=False,
        )
    table = cmp.summary()
    paired = cmp.paired("rmse")
    table.to_csv(ctx.path("kriging.csv"))
    paired.to_csv(ctx.path("kriging_paired.csv"))
    fig = cmp.plot("rmse", title="RMSE difference to XGBoost, 5 km spatial blocks")
    fig.savefig(ctx.path("kriging_paired.png"), dpi=110)
    plt.close(fig)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rk = est["XGBoost + RK"].fit(X, y)
    v = rk.residual_variogram_
    fig = plot_variogram(
        v,
        title=f"XGBoost out-of-fold residuals ({len(y)} plots)\n{v.model_}: "
        f"nugget {v.nugget_:.0f}, partial sill {v.psill_:.0f} (Mg/ha)², "
        f"effective range {v.effective_range_ / 1000:.1f} km",
        unit="Mg/ha",
    )
    fig.savefig(ctx.path("residual_variogram.png"), dpi=110)
    plt.close(fig)
    ctx.data["residual_kriging"] = rk
    ctx.data["kriging_table"] = table
    ctx.echo(
        "    5-fold spatial block CV (5 km blocks), identical folds for every model; pooled = "
        "all out-of-fold predictions together, fold_mean = mean of per-fold scores"
    )
    ctx.echo(
        table[["pooled_rmse", "pooled_r2", "fold_mean_r2"]].to_string(
            float_format=lambda f: f"{f:.3f}"
        )
    )
    ctx.echo("    paired RMSE difference to XGBoost (Mg/ha; corrected resampled t-test):")
    ctx.echo(
        paired[["mean", "ci_low", "ci_high", "p_value"]].to_string(
            float_format=lambda f: f"{f:.3f}"
        )
    )
    decided = rk.summary()[["method", "correction", "shrinkage", "estimated_gain"]].to_dict()
    ctx.echo(f"    the RK fit on all plots decided: {decided}")
    ctx.echo(f"    wrote kriging.csv, kriging_paired.csv/png, residual_variogram.png to {ctx.out}")
