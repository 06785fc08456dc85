"""The ``geoagb timeseries`` sub-command: annual carbon maps, trends and sinks from GeoTIFF stacks.

Wired into :func:`geoagb.cli.build_parser` with :func:`add_timeseries_command`::

    geoagb timeseries synthetic DIR                      # the synthetic default data as files
    geoagb timeseries scale BENCHMARK TREE OUT --base-year 2013 [--short-cover SV.tif]
    geoagb timeseries vod AGBC VOD REGIONS OUT --base-year 2013 [--calibrate densification]
    geoagb timeseries belowground AGBC RECORDS.csv OUT [--covariates mat=mat.tif,map=map.tif]
    geoagb timeseries trend STACK OUT [--alpha 0.05] [--hamed-rao]
    geoagb timeseries totals AGBC [--bgbc B.tif] [--regions R.tif] [--csv totals.csv]

Stacks are GeoTIFFs with one band per year (band descriptions = years).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from ..timeseries import (
    BelowgroundModel,
    StackSource,
    UntestedWarning,
    align_years,
    annual_totals,
    calibrate_vod,
    carbon_sink_trend,
    companion,
    evaluate_belowground,
    make_carbon_series,
    scale_by_cover,
    trend_map,
    write_stack,
    year_span,
)
from ._args import (
    int_at_least,
    non_negative_float,
    open_fraction,
    positive_float,
    unit_fraction,
)

__all__ = ["add_timeseries_command"]

_YEARS_FIX = (
    "add --years FIRST-LAST (one year per band, e.g. --years 2002-2021) or a comma list, or "
    "rewrite the band descriptions as the years."
)


def _parse_years(text):
    """``--years`` as a list of int: ``FIRST-LAST`` (inclusive) or ``Y1,Y2,...``; None if unset."""
    if text is None:
        return None
    t = str(text).strip()
    try:
        if "-" in t and "," not in t:
            first, last = (int(v) for v in t.split("-"))
            if last < first:
                raise ValueError
            return list(range(first, last + 1))
        return [int(v) for v in t.split(",")]
    except ValueError:
        raise ValueError(
            f"--years {text!r} must be FIRST-LAST (e.g. 2002-2021) or a comma list of years "
            "(e.g. 2002,2003,2005), one per band."
        ) from None


def _source(path, args, name):
    """The stack at ``path`` with its years (band descriptions or --years), or a one-line error."""
    src = StackSource(path, _parse_years(args.years), name=name, years_from="--years")
    src.require_years(fix=_YEARS_FIX)
    return src


def _companions(src, args, items, *, intersect=False):
    """Sources of the (name, path) ``items`` paired year by year with ``src``; checked."""
    comps = [
        companion(path, src, name=name, years_given=args.years is not None, fix=_YEARS_FIX)
        for name, path in items
        if path is not None
    ]
    fix = "cut them to the same years first" + (
        ", or add --common-years to use only the years they share."
        if hasattr(args, "common_years")
        else "."
    )
    align_years(src, comps, intersect=intersect, fix=fix)
    return comps


def _parse_base_year(text):
    """``--base-year``: a year, or a range ``2011-2015`` as a (first, last) tuple."""
    return tuple(int(v) for v in text.split("-")) if "-" in text else int(text)


def _region_names(path):
    if path is None:
        return None
    with rasterio.open(path) as ds:
        names = ds.tags().get("names")
    return names.split(",") if names else None


def _run_synthetic(args) -> int:
    s = make_carbon_series(n_years=args.years, shape=(args.size, args.size), random_state=args.seed)
    paths = s.to_files(args.out)
    print(
        f"wrote {len(paths)} files to {Path(args.out)} ({args.size} x {args.size} cells of 1 km, "
        f"{s.years[0]}-{s.years[-1]}, benchmark year {s.base_year}): "
        + ", ".join(p.name for p in paths.values())
    )
    return 0


def _run_scale(args) -> int:
    base = _parse_base_year(args.base_year)
    tree = _source(args.tree_cover, args, "tree_cover")
    _companions(tree, args, [("short_cover", args.short_cover)])
    r = scale_by_cover(
        args.benchmark,
        args.tree_cover,
        args.short_cover,
        years=_parse_years(args.years),
        base_year=base,
        short_ratio=args.short_ratio,
        min_cover=args.min_cover,
        regions=args.regions,
        region_names=_region_names(args.regions),
        benchmark_sd=args.benchmark_sd,
        out=args.out,
        out_sd=args.out_sd,
        memory_mb=args.memory_mb,
        progress=not args.quiet,
    )
    print(
        f"wrote {r.path} ({len(r.years)} years {r.years[0]}-{r.years[-1]}, MgC/ha); "
        f"{r.n_filled} cells without base-year cover took their regional density, {r.n_nan} cells NaN"
    )
    print(
        "density per unit effective cover (MgC/ha): "
        + ", ".join(f"{k} {v:.1f}" for k, v in r.regional_density.items())
    )
    return 0


def _run_vod(args) -> int:
    src = _source(args.agbc, args, "agbc")
    (vod,) = _companions(src, args, [("vod", args.vod)])
    agbc, years = src.read(), src.years
    grid = dict(transform=src.transform, crs=src.crs)
    with rasterio.open(args.regions) as ds:
        regions = ds.read(1)
        nd = ds.nodata
    regions = (
        np.where(regions == nd, -1, regions).astype(np.int64)
        if nd is not None
        else regions.astype(np.int64)
    )
    base = _parse_base_year(args.base_year)
    cal = calibrate_vod(
        agbc,
        vod.read(),
        regions,
        years=years,
        base_year=base,
        calibrate=args.calibrate.split(",") if args.calibrate else None,
        region_names=_region_names(args.regions),
        random_state=args.seed,
    )
    write_stack(args.out, cal.agbc, years, tags=dict(method="VOD calibration"), **grid)
    cols = [
        "calibrated",
        "method",
        "r_before",
        "rmse_before",
        "r_after",
        "rmse_after",
        "trend_before",
        "trend_vod",
    ]
    print(
        cal.report[[c for c in cols if c in cal.report.columns]].to_string(
            float_format=lambda v: f"{v:.3f}"
        )
    )
    print(f"wrote {args.out}")
    return 0


def _parse_covariates(text):
    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, sep, path = item.partition("=")
        if not sep:
            raise ValueError(f"--covariates item {item!r} must be NAME=PATH (e.g. mat=mat.tif).")
        out[name.strip()] = path.strip()
    return out


def _run_belowground(args) -> int:
    rec = pd.read_csv(args.records)
    covs = _parse_covariates(args.covariates)
    feats = [args.agb_column] + (list(covs) if covs else [])
    missing = [c for c in feats + [args.target] if c not in rec.columns]
    if missing:
        raise ValueError(
            f"{args.records} lacks column(s) {missing} (columns: {list(rec.columns)})."
        )
    model = BelowgroundModel(
        agb_feature=args.agb_column, n_estimators=args.n_estimators, random_state=args.seed
    )
    ev = evaluate_belowground(
        rec,
        model,
        target=args.target,
        features=feats,
        block_size=args.block_size,
        random_state=args.seed,
    )
    f, r = ev.table.loc["forest"], ev.table.loc["root_shoot"]
    print(
        f"{ev.scheme}: random forest R2 {f['r2']:.3f}, RMSE {f['rmse']:.3f}; root:shoot ratio R2 "
        f"{r['r2']:.3f}, RMSE {r['rmse']:.3f} (out-of-fold, unit of {args.target})"
    )
    model.fit(rec[feats], rec[args.target])
    out = model.predict_stack(
        args.agbc, covs, out=args.out, memory_mb=args.memory_mb, progress=not args.quiet
    )
    print(f"wrote {out} ({model.mode_} model, root:shoot fallback {model.ratio_:.3f})")
    return 0


def _run_trend(args) -> int:
    src = _source(args.stack, args, "stack")
    m = args.min_years
    if m < 3:
        raise ValueError(
            f"--min-years {m} must be >= 3 (the Hamed-Rao variance needs 3 values), e.g. 8."
        )
    if src.count < m:
        raise ValueError(
            f"{args.stack} has {src.count} band(s) ({year_span(src.years)}) but --min-years is {m}: "
            f"no cell can have {m} finite years, so none would be tested; give a stack of at least "
            f"{m} years, or lower --min-years (>= 3; a test on so few years has little power)."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UntestedWarning)
            out = trend_map(
                args.stack,
                src.years,
                out=args.out,
                alpha=args.alpha,
                hamed_rao=args.hamed_rao,
                breakpoint=not args.no_breakpoint,
                min_years=m,
                memory_mb=args.memory_mb,
                progress=not args.quiet,
                unit=args.unit,
            )
    except UntestedWarning as w:
        c = w.counts
        Path(args.out).unlink(missing_ok=True)
        raise ValueError(
            f"no cell of {args.stack} was tested: of {c['n_series']} cells, {c['n_empty']} have no "
            f"finite value in any year (NaN, inf or nodata) and {c['n_short']} have 1 to {m - 1} "
            f"finite years, fewer than --min-years {m}; the all-NaN {args.out} was removed. Check "
            "the nodata value of the stack, or lower --min-years."
        ) from None
    with rasterio.open(out) as ds:
        slope = ds.read(1, masked=True).filled(np.nan)
        sig = ds.read(6, masked=True).filled(np.nan)
    tested = np.isfinite(slope)
    up = np.mean((sig[tested] == 1) & (slope[tested] > 0)) * 100 if tested.any() else np.nan
    down = np.mean((sig[tested] == 1) & (slope[tested] < 0)) * 100 if tested.any() else np.nan
    print(
        f"wrote {out}: {tested.sum()} cells tested, {up:.1f} % significant increase, {down:.1f} % "
        f"significant decrease (alpha {args.alpha:g}); median slope {np.nanmedian(slope):.3f} {args.unit}/yr"
    )
    return 0


def _run_totals(args) -> int:
    src = _source(args.agbc, args, "agbc")
    _companions(
        src,
        args,
        [("bgbc", args.bgbc), ("agbc_sd", args.agbc_sd), ("bgbc_sd", args.bgbc_sd)],
        intersect=args.common_years,
    )
    tot = annual_totals(
        args.agbc,
        args.bgbc,
        years=_parse_years(args.years),
        align="intersect" if args.common_years else "exact",
        regions=args.regions,
        region_names=_region_names(args.regions),
        agbc_sd=args.agbc_sd,
        bgbc_sd=args.bgbc_sd,
        memory_mb=args.memory_mb,
        progress=not args.quiet,
    )
    sink = carbon_sink_trend(tot, alpha=args.alpha)
    if args.csv:
        tot.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    wide = tot.pivot(index="year", columns="region", values="total_TgC")
    print("carbon stock (TgC, AGBC + BGBC):")
    print(wide.round(4).to_string())
    conf = 100 * (1 - args.alpha)
    for reg, s in sink.iterrows():
        if not np.isfinite(s["sink_TgC_per_yr"]):
            print(f"sink {reg}: not estimated ({int(s['n_years'])} year(s) with a total; needs 3)")
            continue
        print(
            f"sink {reg}: {s['sink_TgC_per_yr']:+.4f} TgC/yr ({conf:g} % CI {s['ci_low']:+.4f} to "
            f"{s['ci_high']:+.4f}; Theil-Sen {s['theil_sen_TgC_per_yr']:+.4f})"
        )
    return 0


def _add_years(parser) -> None:
    parser.add_argument(
        "--years",
        default=None,
        help="years of the bands when the band descriptions are not years: FIRST-LAST "
        "(e.g. 2002-2021) or a comma list; a stack whose descriptions are years must match",
    )


def add_timeseries_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb timeseries {synthetic,scale,vod,belowground,trend,totals}`` to argparse ``subparsers``."""
    p = subparsers.add_parser(
        "timeseries",
        help="annual carbon maps, per-pixel trends and regional sinks from GeoTIFF stacks",
        description="Carbon through time: forest-fraction scaling of a benchmark AGBC map, "
        "belowground carbon, per-pixel Theil-Sen / Mann-Kendall / Pettitt trends, and "
        "annual totals with the sink (TgC/yr). Stacks are GeoTIFFs with one band per "
        "year (band descriptions = years).",
    )
    sub = p.add_subparsers(dest="ts_command", required=True)
    for add in (_add_synthetic, _add_scale, _add_vod, _add_belowground, _add_trend, _add_totals):
        add(sub)
    return p


def _add_synthetic(subparsers) -> None:
    """``geoagb timeseries synthetic OUT``: the synthetic default data as files."""
    s = subparsers.add_parser(
        "synthetic", help="write the synthetic default data (covers, VOD, benchmark, records)"
    )
    s.add_argument("out", help="output folder")
    s.add_argument(
        "--size", type=int_at_least(2), default=120, help="raster side in 1 km cells (default 120)"
    )
    s.add_argument(
        "--years", type=int_at_least(1), default=20, help="number of years from 2002 (default 20)"
    )
    s.add_argument("--seed", type=int_at_least(0), default=0, help="random seed (default 0)")
    s.set_defaults(func=_run_synthetic)


def _add_scale(subparsers) -> None:
    """``geoagb timeseries scale BENCHMARK TREE OUT``: :func:`~geoagb.timeseries.scale_by_cover`."""
    s = subparsers.add_parser(
        "scale", help="annual AGBC from a benchmark map and yearly cover fractions"
    )
    s.add_argument("benchmark", help="benchmark AGBC GeoTIFF (MgC/ha)")
    s.add_argument("tree_cover", help="tree cover stack (fractions 0-1, one band per year)")
    s.add_argument("out", help="output AGBC stack GeoTIFF")
    s.add_argument("--base-year", required=True, help="year of the benchmark, or a range 2011-2015")
    s.add_argument("--short-cover", default=None, help="short-vegetation cover stack")
    s.add_argument(
        "--short-ratio",
        type=non_negative_float,
        default=0.1,
        help="carbon per unit cover of short vegetation relative to trees (default 0.1)",
    )
    s.add_argument(
        "--min-cover",
        type=unit_fraction,
        default=0.05,
        help="least base-year cover with its own density",
    )
    s.add_argument("--regions", default=None, help="integer region raster (regional densities)")
    s.add_argument(
        "--benchmark-sd", default=None, help="benchmark standard deviation GeoTIFF (MgC/ha)"
    )
    s.add_argument("--out-sd", default=None, help="output AGBC sd stack (needs --benchmark-sd)")
    s.add_argument(
        "--memory-mb", type=positive_float, default=256.0, help="memory budget for windows (MiB)"
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_years(s)
    s.set_defaults(func=_run_scale)


def _add_vod(subparsers) -> None:
    """``geoagb timeseries vod AGBC VOD REGIONS OUT``: :func:`~geoagb.timeseries.calibrate_vod`."""
    s = subparsers.add_parser(
        "vod", help="recalibrate an AGBC stack with VOD inside regions (in memory)"
    )
    s.add_argument("agbc", help="AGBC stack GeoTIFF")
    s.add_argument("vod", help="VOD stack GeoTIFF on the same grid and years")
    s.add_argument("regions", help="integer region raster on the same grid")
    s.add_argument("out", help="output AGBC stack GeoTIFF")
    s.add_argument("--base-year", required=True, help="year of the benchmark, or a range 2011-2015")
    s.add_argument(
        "--calibrate", default=None, help="comma-separated regions to recalibrate (default all)"
    )
    s.add_argument(
        "--seed", type=int_at_least(0), default=0, help="random seed of the folds (default 0)"
    )
    _add_years(s)
    s.set_defaults(func=_run_vod)


def _add_belowground(subparsers) -> None:
    """``geoagb timeseries belowground AGBC RECORDS OUT``: a BelowgroundModel's BGBC stack."""
    s = subparsers.add_parser(
        "belowground", help="BGBC stack from an AGBC stack and BGB-AGB records"
    )
    s.add_argument("agbc", help="AGBC stack GeoTIFF")
    s.add_argument(
        "records", help="CSV of records with x, y, the AGB column, covariates and the target"
    )
    s.add_argument("out", help="output BGBC stack GeoTIFF")
    s.add_argument(
        "--covariates", default=None, help="NAME=PATH,... rasters of the covariate columns"
    )
    s.add_argument(
        "--agb-column", default="agbc", help="AGB(C) column of the records (default agbc)"
    )
    s.add_argument("--target", default="bgbc", help="BGB(C) column of the records (default bgbc)")
    s.add_argument(
        "--n-estimators",
        type=int_at_least(1, ", e.g. 300"),
        default=300,
        help="trees of the random forest",
    )
    s.add_argument(
        "--block-size", type=positive_float, default=None, help="spatial CV block side, metres"
    )
    s.add_argument("--seed", type=int_at_least(0), default=0, help="random seed (default 0)")
    s.add_argument(
        "--memory-mb", type=positive_float, default=256.0, help="memory budget for windows (MiB)"
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_run_belowground)


def _add_trend(subparsers) -> None:
    """``geoagb timeseries trend STACK OUT``: :func:`~geoagb.timeseries.trend_map`."""
    s = subparsers.add_parser(
        "trend", help="per-pixel Theil-Sen slope, Mann-Kendall test and change point"
    )
    s.add_argument("stack", help="annual stack GeoTIFF")
    s.add_argument("out", help="output trend GeoTIFF (bands slope, ..., p_value, significant, ...)")
    s.add_argument(
        "--alpha", type=open_fraction, default=0.05, help="significance level (default 0.05)"
    )
    s.add_argument("--hamed-rao", action="store_true", help="Hamed-Rao autocorrelation correction")
    s.add_argument("--no-breakpoint", action="store_true", help="skip the Pettitt change point")
    s.add_argument(
        "--min-years",
        type=int_at_least(3),
        default=8,
        help="least finite years per pixel (default 8)",
    )
    s.add_argument("--unit", default="MgC/ha", help="unit of the stack (default MgC/ha)")
    s.add_argument(
        "--memory-mb", type=positive_float, default=256.0, help="memory budget for row chunks (MiB)"
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_years(s)
    s.set_defaults(func=_run_trend)


def _add_totals(subparsers) -> None:
    """``geoagb timeseries totals AGBC``: :func:`~geoagb.timeseries.annual_totals` and the sink."""
    s = subparsers.add_parser(
        "totals", help="carbon stock per region and year (TgC) and the sink (TgC/yr)"
    )
    s.add_argument("agbc", help="AGBC stack GeoTIFF (MgC/ha)")
    s.add_argument("--bgbc", default=None, help="BGBC stack GeoTIFF (MgC/ha)")
    s.add_argument("--regions", default=None, help="integer region raster")
    s.add_argument("--agbc-sd", default=None, help="AGBC sd stack")
    s.add_argument("--bgbc-sd", default=None, help="BGBC sd stack")
    s.add_argument(
        "--alpha",
        type=open_fraction,
        default=0.05,
        help="1 - confidence level of the sink interval",
    )
    s.add_argument("--csv", default=None, help="write the totals table to this CSV")
    s.add_argument(
        "--memory-mb", type=positive_float, default=256.0, help="memory budget for windows (MiB)"
    )
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument(
        "--common-years",
        action="store_true",
        help="total only the years every stack holds (default: stacks of different years are "
        "refused)",
    )
    _add_years(s)
    s.set_defaults(func=_run_totals)
