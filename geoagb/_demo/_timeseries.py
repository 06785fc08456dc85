"""Demo step: carbon through time on the synthetic 1 km stack (2002-2021), trends and sinks.

:func:`run` is a pipeline of named steps: the synthetic stack, cover-based scaling of the
benchmark, the VOD check and recalibration, the belowground model, per-pixel trends, regional
totals and sinks, and the figures. Each step echoes its result.
"""

from __future__ import annotations

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

TITLE = "Carbon through time: annual AGBC/BGBC, per-pixel trends and regional sinks"


def run(ctx) -> None:
    s, truth = _synthetic_stack(ctx)
    sc = _scale_benchmark(s)
    cal = _check_with_vod(ctx, s, sc)
    bgbc, bgbc_rmse = _belowground(ctx, s, cal.agbc)
    res = _trends(ctx, s, cal.agbc, truth)
    tot, sink = _totals_and_sinks(ctx, s, cal.agbc, bgbc, sc.agbc_sd, bgbc_rmse, truth)
    _write_figures(ctx, tot, sink, truth, res)
    ctx.data.update(carbon_totals=tot, carbon_sink=sink, carbon_trend=res)


def _synthetic_stack(ctx):
    """``(series, truth)``: the synthetic stack (48 x 48 cells with ``ctx.quick``, else 120)."""
    size = 48 if ctx.quick else 120
    s, truth = make_carbon_series(
        shape=(size, size), random_state=ctx.random_state, return_truth=True
    )
    ctx.echo(
        f"    synthetic stack: {size} x {size} cells of 1 km, {s.years[0]}-{s.years[-1]}, benchmark "
        f"{s.base_year}; regions {', '.join(s.region_names)}"
    )
    return s, truth


def _scale_benchmark(s):
    """AGBC every year: the benchmark map scaled by the tree and short-vegetation covers."""
    return scale_by_cover(
        s.benchmark,
        s.tree_cover,
        s.short_cover,
        base_year=s.base_year,
        years=s.years,
        short_ratio=s.short_ratio,
        benchmark_sd=s.benchmark_sd,
        progress=False,
    )


def _check_with_vod(ctx, s, sc):
    """The cover-based trends against VOD per region; the densification region recalibrated."""
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
    return cal


def _belowground(ctx, s, agbc):
    """``(bgbc, rmse)``: BGBC stack (MgC/ha) of a forest fitted to the BGB-AGB records, and the
    forest's cross-validated RMSE (MgC/ha).
    """
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
    bgbc = model.predict_stack(agbc, s.covariates, progress=False)
    return bgbc, float(f["rmse"])


def _trends(ctx, s, agbc, truth):
    """Per-pixel Theil-Sen / Mann-Kendall trends of ``agbc``, checked against the planted ones."""
    res = trend_map(agbc, s.years, progress=False, **s.grid)
    rec = trend_recovery(res, truth.trend)
    ctx.echo(
        f"    per-pixel Theil-Sen / Mann-Kendall: {rec['pct_significant']:.1f} % significant, sign correct "
        f"in {rec['sign_correct_pct']:.1f} % of them, false positives on stable land "
        f"{rec['false_positive_pct']:.1f} %, slope MAE {rec['slope_mae']:.3f} MgC/ha/yr"
    )
    return res


def _totals_and_sinks(ctx, s, agbc, bgbc, agbc_sd, bgbc_rmse, truth):
    """``(totals, sinks)``: annual carbon per region (TgC) and its trend (TgC/yr, 95 % CI)."""
    tot = annual_totals(
        agbc,
        bgbc,
        regions=s.regions,
        region_names=s.region_names,
        years=s.years,
        agbc_sd=agbc_sd,
        bgbc_sd=bgbc_rmse,
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
    return tot, sink


def _write_figures(ctx, tot, sink, truth, res):
    """carbon_series.png (regional series and sinks), carbon_trend.png and carbon_trend.tif."""
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
