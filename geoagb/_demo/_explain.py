"""Demo step: SHAP explanation of the XGBoost AGB model (the analysis of the Shenzhen urban
vegetation carbon study, Remote Sensing 2026).
"""

from __future__ import annotations

from ..datasets import make_plots
from ..explain import explain

TITLE = "Explaining the XGBoost model with SHAP"


def run(ctx) -> None:
    import matplotlib.pyplot as plt
    import pandas as pd
    from xgboost import XGBRegressor

    plots = ctx.data.get("plots")
    if plots is None:
        plots = make_plots(random_state=ctx.random_state)
    X = pd.DataFrame(
        plots.drop(columns=[c for c in ("x", "y", "geometry", "agb") if c in plots.columns])
    )
    y = plots["agb"].to_numpy()
    model = XGBRegressor(
        n_estimators=60 if ctx.quick else 300,
        learning_rate=0.05,
        max_depth=4,
        subsample=0.8,
        n_jobs=1,
        random_state=ctx.random_state,
    ).fit(X, y)
    ex = explain(model, X, interactions=True)
    ctx.data["explanation"] = ex
    ctx.data["explained_model"] = model

    groups = ex.group_of()
    imp = ex.importance()
    table = pd.DataFrame(
        {
            "feature": imp.index,
            "group": [groups[f] for f in imp.index],
            "mean_abs_shap": imp.to_numpy(),
        }
    )
    table.to_csv(ctx.path("importance.csv"), index=False)
    by_group = ex.importance(groups="auto")
    ctx.echo(
        "    importance (mean |SHAP|, Mg/ha): "
        + ", ".join(f"{f} {v:.1f}" for f, v in imp.head(5).items())
        + "; by group: "
        + ", ".join(f"{g} {v:.1f}" for g, v in by_group.items())
    )

    pairs = ex.top_interactions(None, between=("spectral", "terrain"))
    pairs.head(10).to_csv(ctx.path("top_interactions.csv"), index=False)
    ctx.echo("    top spectral x terrain interactions (mean |SHAP interaction|, Mg/ha):")
    for r in pairs.head(5).itertuples():
        ctx.echo(f"      {r.rank}. {r.feature_a} x {r.feature_b}: {r.mean_abs_interaction:.2f}")
    planted = pairs[(pairs.feature_a == "ndvi") & (pairs.feature_b == "elevation")]
    if len(planted):
        rank = int(planted["rank"].iloc[0])
        verdict = "ranks first" if rank == 1 else f"ranks {rank} of {len(pairs)}"
        ctx.echo(
            f"    planted elevation x NDVI interaction {verdict} among spectral x terrain pairs"
        )

    fig = ex.summary_plot(max_display=15)
    fig.savefig(ctx.path("shap_summary.png"), dpi=110)
    plt.close(fig)
    for feature, colour in (("ndvi", "elevation"), ("elevation", "ndvi")):
        th = ex.dependence_thresholds(feature, max_breakpoints=2, color_by=colour)
        fig = th.plot()
        fig.savefig(ctx.path(f"dependence_{feature}.png"), dpi=110)
        plt.close(fig)
        pts = ", ".join(
            f"{b:.4g} [{lo:.4g}, {hi:.4g}]" for b, (lo, hi) in zip(th.breakpoints, th.ci)
        )
        ctx.echo(f"    {feature} thresholds (95 % CI): {pts or 'none (linear by BIC)'}")
    ctx.echo(
        f"    wrote importance.csv, top_interactions.csv, shap_summary.png, dependence_ndvi.png, "
        f"dependence_elevation.png to {ctx.out}"
    )
