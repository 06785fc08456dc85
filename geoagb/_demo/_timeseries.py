"""Demo step: carbon through time on the synthetic 1 km stack (2002-2021), trends and sinks."""

from __future__ import annotations

TITLE = "Carbon through time: annual AGBC/BGBC, per-pixel trends and regional sinks"


def run(ctx) -> None:
    import matplotlib.pyplot as plt

    from ..timeseries import (
        BelowgroundModel,
        annual_totals,
        calibrate_vod,
        carbon_sink_trend,
        evaluate_belowground,
        make_carbon_series,
        plot_region_series,
        plot_trend_map,
        scale_by_cover,
        trend_map,
        trend_recovery,
    )

    size = 48 if ctx.quick else 120
    s, truth = make_carbon_series(
        shape=(size, size), random_state=ctx.random_state, return_truth=True
    )
    ctx.echo(
        f"    synthetic stack: {size} x {size} cells of 1 km, {s.years[0]}-{s.years[-1]}, benchmark "
        f"{s.base_year}; regions {', '.join(s.region_names)}"
    )
    sc = scale_by_cover(
        s.benchmark,
        s.tree_cover,
        s.short_cover,
        base_year=s.base_year,
        years=s.years,
        short_ratio=s.short_ratio,
        benchmark_sd=s.benchmark_sd,
        progress=False,
    )
    cal = calibrate_vod(
        sc.agbc,
        s.vod,
        s.regions,
        years=s.years,
        base_year=s.base_year,
        region_names=s.region_names,
        calibrate=["densification"],
        random_state=ctx.random_state,
    )
    rep = cal.report
    ctx.echo(
        "    VOD check of the cover-based trend (MgC/ha/yr, region means): "
        + ", ".join(
            f"{r} {rep.loc[r, 'trend_before']:+.2f} vs VOD {rep.loc[r, 'trend_vod']:+.2f}"
            for r in rep.index
        )
    )
    d = rep.loc["densification"]
    ctx.echo(
        f"    densification recalibrated by {d['method']} mapping (CV RMSE linear "
        f"{d['cv_rmse_linear']:.2f}, quantile {d['cv_rmse_quantile']:.2f} MgC/ha): RMSE to VOD "
        f"{d['rmse_before']:.2f} -> {d['rmse_after']:.2f} MgC/ha"
    )

    feats = ["agbc", "mat", "map"]
    n_trees = 60 if ctx.quick else 200
    model = BelowgroundModel(
        agb_feature="agbc", n_estimators=n_trees, random_state=ctx.random_state
    )
    ev = evaluate_belowground(s.records, model, features=feats, random_state=ctx.random_state)
    f, r = ev.table.loc["forest"], ev.table.loc["root_shoot"]
    ctx.echo(
        f"    BGBC model ({ev.scheme}): R2 {f['r2']:.3f}, RMSE {f['rmse']:.2f} MgC/ha; "
        f"root:shoot ratio alone R2 {r['r2']:.3f}"
    )
    model.fit(s.records[feats], s.records["bgbc"])
    bgbc = model.predict_stack(cal.agbc, s.covariates, progress=False)

    res = trend_map(cal.agbc, s.years, progress=False, **s.grid)
    rec = trend_recovery(res, truth.trend)
    ctx.echo(
        f"    per-pixel Theil-Sen / Mann-Kendall: {rec['pct_significant']:.1f} % significant, sign correct "
        f"in {rec['sign_correct_pct']:.1f} % of them, false positives on stable land "
        f"{rec['false_positive_pct']:.1f} %, slope MAE {rec['slope_mae']:.3f} MgC/ha/yr"
    )
    tot = annual_totals(
        cal.agbc,
        bgbc,
        regions=s.regions,
        region_names=s.region_names,
        years=s.years,
        agbc_sd=sc.agbc_sd,
        bgbc_sd=float(f["rmse"]),
        **s.grid,
    )
    sink = carbon_sink_trend(tot)
    ctx.echo(
        "    sink (TgC/yr, 95 % CI; truth): "
        + ", ".join(
            f"{k} {v['sink_TgC_per_yr']:+.3f} [{v['ci_low']:+.3f}, {v['ci_high']:+.3f}; "
            f"{truth.sink_TgC_per_yr[k]:+.3f}]"
            for k, v in sink.drop(index="all").iterrows()
        )
    )
    fig = plot_region_series(tot, sinks=sink, truth=truth.totals)
    fig.savefig(ctx.path("carbon_series.png"), dpi=110)
    plt.close(fig)
    fig = plot_trend_map(res)
    fig.savefig(ctx.path("carbon_trend.png"), dpi=110)
    plt.close(fig)
    res.to_geotiff(ctx.path("carbon_trend.tif"))
    ctx.echo(
        f"    wrote {ctx.path('carbon_series.png')}, {ctx.path('carbon_trend.png')} and "
        f"{ctx.path('carbon_trend.tif')}"
    )
    ctx.data.update(carbon_totals=tot, carbon_sink=sink, carbon_trend=res)
