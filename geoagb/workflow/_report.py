"""``write_report``: one self-contained HTML file from a model bundle (and its map).

Everything a reader needs to judge the model is in one file that opens offline: figures are PNG
images embedded as base64, tables are HTML, there is no script and no external link. Sections:

1. data: plots read and used, target summary, CRS, rasters, feature recipe, input hash;
   the plots with their spatial CV folds (discrete colours) and the target distribution;
2. plot quality control: counts by reason and the table of dropped plots;
3. block size: the variogram of the learner's out-of-fold residuals with the suggested and the
   used block size; block-size sensitivity of the CV (mean +- sd over folds);
4. spatial vs random CV: train and validation metrics, predicted against observed out of fold;
5. explanation: SHAP summary (beeswarm) and dependence of the two most important features;
6. map: quick-looks of the map and its uncertainty (a diverging colour scale centred at 0
   where values cross 0), carbon stock per region in one unit (MgC, GgC or TgC, chosen for
   the magnitude and stated once in the table header), only for a biomass target or a carbon
   fraction given (:func:`~geoagb.workflow.target_traits`).

Titles, axes and captions name the bundle's target and unit; the bias is in percent only
where the observed mean is clearly positive (:func:`geoagb.metrics.overall_bias`), absolute
in the target's unit otherwise.

Every figure's title names the model and the CV scheme; error bars say what they are.

Everything in the report that comes from a file (names, units, file names, manifest values) is
escaped by :mod:`geoagb._html`: in the HTML by its builders, in figure labels by
:func:`~geoagb._html.mpl_text`. Before any figure is drawn, the inputs are checked
(:func:`check_report_inputs`): the bundle's manifest, that MAP is a geoagb map of the bundle's
target that covers its plots, and that the regions exist and overlap the map.
"""

from __future__ import annotations

import base64
import io
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from .._compat import renamed_kwargs
from .._html import Html, element, join, kv_table, literal_figure_text, mpl_text, raw, table
from ..metrics import format_bias
from ._cv_repeats import with_repeat
from ._report_inputs import check_report_inputs
from ._report_qc import dropped_rows, qc_figure, reason_counts, side_by_side

__all__ = ["write_report", "report_figures"]

_FOLD_COLOURS = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:gray",
    "tab:olive",
    "tab:cyan",
)


def _fold_colours(k: int):
    import matplotlib

    if k <= 10:
        return list(_FOLD_COLOURS[:k])
    cmap = matplotlib.colormaps["tab20"]
    return [cmap(i % 20) for i in range(k)]


def _suffix(bundle) -> str:
    return f"{bundle.label} | {bundle.cv_label}"


def _titled(fig, what: str, bundle) -> str:
    """Set the figure's title (model and CV scheme below ``what``); returns it as one line."""
    title = f"{what}\n{_suffix(bundle)}"
    # set_parse_math: the title object may be one made literal by literal_figure_text
    fig.suptitle(mpl_text(title), fontsize=10).set_parse_math(True)
    return title.replace("\n", " - ")


def _png(fig, dpi=96) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ---- figures (each returns (title, figure, caption)) -----------------------------------------------
def _fig_plots(bundle):
    import matplotlib.pyplot as plt

    p = bundle.plots
    k = int(p["fold_spatial"].max()) + 1
    cols = _fold_colours(k)
    fig, ax = plt.subplots(figsize=(6.2, 5.2), layout="constrained")
    for f in range(k):
        m = p["fold_spatial"] == f
        ax.scatter(p.loc[m, "x"], p.loc[m, "y"], s=14, color=cols[f], label=f"fold {f + 1}")
    q = dropped_rows(bundle.qc)
    if len(q) and {"x", "y"} <= set(q.columns):
        ok = q[["x", "y"]].notna().all(axis=1)
        ax.scatter(
            q.loc[ok, "x"], q.loc[ok, "y"], marker="x", color="k", s=28, label="dropped by QC"
        )
    bs = bundle.block_size
    x0, y0 = float(p["x"].min()), float(p["y"].max())
    for i in range(int(np.ceil((p["x"].max() - x0) / bs)) + 2):
        ax.axvline(x0 + i * bs, color="0.85", lw=0.6, zorder=0)
    for i in range(int(np.ceil((y0 - p["y"].min()) / bs)) + 2):
        ax.axhline(y0 - i * bs, color="0.85", lw=0.6, zorder=0)
    ax.set_xlim(p["x"].min() - 0.05 * bs, p["x"].max() + 0.05 * bs)
    ax.set_ylim(p["y"].min() - 0.05 * bs, p["y"].max() + 0.05 * bs)
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.set_xlabel("easting (m)")
    ax.set_ylabel("northing (m)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    title = _titled(
        fig, f"{len(p)} plots by spatial test fold (grey: {bs:,.0f} m block grid)", bundle
    )
    return (
        title,
        fig,
        (
            f"Each colour is one of the {k} test folds of the spatial CV; all plots of "
            f"a block share a fold. Coordinates in {bundle.manifest['crs_name']}."
        ),
    )


def _fig_target(bundle):
    import matplotlib.pyplot as plt

    p, q, t, u = bundle.plots, dropped_rows(bundle.qc), bundle.target, bundle.unit
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    obs = q["observed"].dropna() if len(q) else pd.Series(dtype=float)
    vals = [p[t].to_numpy(float)] + ([obs.to_numpy(float)] if len(obs) else [])
    bins = np.histogram_bin_edges(np.concatenate(vals), bins=20)
    ax.hist(
        vals,
        bins=bins,
        stacked=True,
        color=["tab:green", "tab:red"][: len(vals)],
        label=[f"used ({len(p)})", f"dropped by QC ({len(obs)})"][: len(vals)],
    )
    ax.set_xlabel(mpl_text(f"{t} ({u})"))
    ax.set_ylabel("plots")
    ax.legend(fontsize=8)
    title = _titled(fig, f"Field {t} of the plots", bundle)
    return (
        title,
        fig,
        "Stacked histogram: plots used for fitting and plots dropped by quality control.",
    )


def _fig_variogram(bundle):
    import matplotlib.pyplot as plt

    from ..kriging import Variogram

    b = bundle.manifest["block_size"]
    v = b.get("variogram")
    if v is None:
        return None
    fig, ax = plt.subplots(figsize=(6.2, 4.0), layout="constrained")
    lags, gamma, npairs = (np.asarray(v[k], float) for k in ("lags", "gamma", "n_pairs"))
    ok = npairs > 0
    ax.scatter(
        lags[ok],
        gamma[ok],
        s=12 + 60 * npairs[ok] / npairs[ok].max(),
        color="C0",
        label="empirical (size: pairs)",
        zorder=3,
    )
    model = Variogram.from_params(
        v["model"], psill=v["psill"], range=v["range"], nugget=v["nugget"], kappa=v["kappa"]
    )
    h = np.linspace(0, v["max_lag"], 300)[1:]
    ax.plot(h, model(h), color="C3", label=mpl_text(f"{v['model']} model"))
    ax.axvline(
        v["effective_range"],
        color="0.4",
        ls="--",
        lw=1,
        label=f"effective range {v['effective_range']:,.0f} m",
    )
    ax.axvline(b["used_m"], color="tab:red", lw=1.2, label=f"block size used {b['used_m']:,.0f} m")
    if b.get("plot_spacing_m"):
        ax.axvline(
            b["plot_spacing_m"],
            color="0.6",
            ls=":",
            lw=1,
            label=f"median plot spacing {b['plot_spacing_m']:,.0f} m",
        )
    ax.set_xlim(0, v["max_lag"])
    ax.set_ylim(0, None)
    ax.set_xlabel("lag distance (m)")
    ax.set_ylabel(mpl_text(f"semivariance ({bundle.unit})²"))
    ax.legend(fontsize=7, loc="lower right")
    title = _titled(
        fig,
        f"Variogram of the learner's out-of-fold residuals (nugget:sill "
        f"{b.get('nugget_to_sill', np.nan):.2f})",
        bundle,
    )
    return (
        title,
        fig,
        _variogram_caption(b),
    )


def _variogram_caption(b: dict) -> str:
    """The variogram figure's caption: how the block size was set (range or fallback)."""
    head = (
        "Residuals of the learner under random 5-fold CV (each plot predicted by a "
        "model that did not see it). "
    )
    if b.get("fallback"):
        return head + (
            f"The residuals show {b.get('verdict', 'no usable spatial structure')} "
            f"({'; '.join(b.get('reasons', []))}), so the effective range cannot set the "
            f"block size: it is the fallback, {b['fallback']}"
            + (" (given, not suggested)." if b.get("given") else ".")
        )
    return head + (
        "The block size is the effective range, where residuals stop being correlated"
        + (" (given, not suggested)." if b.get("given") else ".")
    )


def _cv_stats(bundle):
    """Per CV run (``"<size> m blocks"`` or ``"random"``) and set: the mean over folds and fold
    seeds, the sd over folds (mean over seeds), each seed's mean over folds, and the keys in
    block-size order. Tables without a ``repeat`` column hold one seed.
    """
    cv = with_repeat(bundle.cv).copy()
    cv["key"] = np.where(
        cv["scheme"] == "random",
        "random",
        cv["block_size"].map(lambda s: f"{s:,.0f} m blocks" if np.isfinite(s) else ""),
    )
    order = sorted(cv.loc[cv["scheme"] != "random", "block_size"].unique())
    keys = [f"{s:,.0f} m blocks" for s in order] + ["random"]
    metrics = [m for m in ("r2", "rmse", "mae") if m in cv.columns]
    g = cv.groupby(["key", "set", "repeat"])[metrics]
    per_seed = g.mean()
    mean = per_seed.groupby(level=["key", "set"]).mean()
    sd = g.std(ddof=1).groupby(level=["key", "set"]).mean()
    return keys, mean, sd, per_seed


def _seed_dots(ax, per_seed, key, st, x, metric) -> int:
    """One small black dot per fold seed (its mean over folds) at ``x``; returns the seed count."""
    v = per_seed.loc[(key, st), metric].to_numpy(float)
    if len(v) > 1:
        ax.plot(np.full(len(v), x), v, ".", color="k", ms=3, zorder=3)
    return len(v)


def _fig_sensitivity(bundle):
    import matplotlib.pyplot as plt

    keys, mean, sd, per_seed = _cv_stats(bundle)
    k = bundle.manifest["cv"]["n_splits"]
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.8), layout="constrained")
    pos = np.arange(len(keys))
    labels = ("R²", mpl_text(f"RMSE ({bundle.unit})"))
    seeds = {kk: len(per_seed.loc[(kk, "validation")]) for kk in keys}
    for ax, metric, lab in zip(axes, ("r2", "rmse"), labels):
        for st, off, col in (("train", -0.1, "tab:blue"), ("validation", 0.1, "tab:orange")):
            m = [mean.loc[(kk, st), metric] for kk in keys]
            s = [sd.loc[(kk, st), metric] for kk in keys]
            ax.errorbar(
                pos + off,
                m,
                yerr=s,
                fmt="o",
                capsize=4,
                color=col,
                label=f"{st} (± 1 sd over {k} folds)",
            )
            for i, kk in enumerate(keys):
                _seed_dots(ax, per_seed, kk, st, pos[i] + off + 0.06, metric)
        used = f"{bundle.block_size:,.0f} m blocks"
        if used in keys:
            ax.axvspan(keys.index(used) - 0.35, keys.index(used) + 0.35, color="0.92", zorder=0)
        ticks = [
            kk.replace(" blocks", "") + (f"\n{seeds[kk]} seeds" if seeds[kk] > 1 else "")
            for kk in keys
        ]
        ax.set_xticks(pos, ticks)
        ax.set_xlabel("block size (shaded: used)")
        ax.set_ylabel(lab)
    axes[0].legend(fontsize=7)
    title = _titled(
        fig,
        "Block-size sensitivity: the same model under spatial CV at several block "
        "sizes and random CV",
        bundle,
    )
    return (
        title,
        fig,
        f"Points: mean over the {k} folds (and over the fold seeds where the tick names "
        "several); error bars: ± 1 standard deviation over folds; black dots: each fold seed's "
        "mean over folds.",
    )


def _fig_spatial_random(bundle):
    import matplotlib.pyplot as plt

    keys, mean, sd, per_seed = _cv_stats(bundle)
    k = bundle.manifest["cv"]["n_splits"]
    used = f"{bundle.block_size:,.0f} m blocks"
    schemes = [(used, f"spatial ({used})"), ("random", "random")]
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 4.0), layout="constrained")
    labels = ("R²", mpl_text(f"RMSE ({bundle.unit})"), mpl_text(f"MAE ({bundle.unit})"))
    n_seeds = 1
    for ax, metric, lab in zip(axes, ("r2", "rmse", "mae"), labels):
        for i, (key, _) in enumerate(schemes):
            for j, (st, col) in enumerate((("train", "tab:blue"), ("validation", "tab:orange"))):
                x = i + (j - 0.5) * 0.38
                ax.bar(
                    x,
                    mean.loc[(key, st), metric],
                    width=0.36,
                    yerr=sd.loc[(key, st), metric],
                    capsize=3,
                    color=col,
                    label=st if i == 0 else None,
                )
                n_seeds = _seed_dots(ax, per_seed, key, st, x + 0.1, metric)
        ax.set_xticks([0, 1], [n.replace(" blocks)", ")") for _, n in schemes], fontsize=8)
        ax.set_ylabel(lab)
    handles, labels = axes[0].get_legend_handles_labels()
    seeds = f" and {n_seeds} fold seeds; black dots: each seed's mean" if n_seeds > 1 else ""
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=2,
        fontsize=8,
        title=f"bars: mean over folds{seeds}; error bars: ± 1 sd over the {k} folds",
        title_fontsize=8,
    )
    title = _titled(fig, "Spatial block CV vs random k-fold: train and validation metrics", bundle)
    return (
        title,
        fig,
        (
            "Random k-fold puts neighbouring plots in training and test sets; the gap "
            "between its validation scores and the spatial ones is the optimism spatial "
            f"dependence causes. Error bars: ± 1 standard deviation over the {k} folds"
            + (
                f"; black dots: the mean over folds of each of the {n_seeds} fold seeds, whose "
                "spread is how much the score depends on one fold assignment."
                if n_seeds > 1
                else "."
            )
        ),
    )


def _fig_pred_obs(bundle):
    import matplotlib.pyplot as plt

    from ..metrics import agb_scores

    p, t, u = bundle.plots, bundle.target, bundle.unit
    y = p[t].to_numpy(float)
    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.8), layout="constrained")
    hi = 1.05 * float(np.nanmax([y.max(), p["oof_spatial"].max(), p["oof_random"].max()]))
    lo = min(0.0, float(np.nanmin([y.min(), p["oof_spatial"].min(), p["oof_random"].min()])))
    panels = (
        (axes[0], "oof_spatial", "fold_spatial", f"spatial ({bundle.block_size:,.0f} m blocks)"),
        (axes[1], "oof_random", "fold_random", "random k-fold"),
    )
    for ax, col, fcol, name in panels:
        pred = p[col].to_numpy(float)
        fold = p[fcol].to_numpy(int)
        k = int(fold.max()) + 1
        cols = _fold_colours(k)
        for f in range(k):
            m = fold == f
            ax.scatter(y[m], pred[m], s=12, alpha=0.8, color=cols[f], label=f"fold {f + 1}")
        ax.plot([lo, hi], [lo, hi], color="k", lw=1)
        ok = np.isfinite(pred)
        s = agb_scores(y[ok], pred[ok])
        # percent where the observed mean is clearly positive, absolute in u otherwise
        bias = format_bias(y[ok], pred[ok], u).replace(" (absolute;", "\n(absolute;")
        ax.text(
            0.03,
            0.97,
            mpl_text(
                f"R² = {s['r2']:.3f}\nRMSE = {s['rmse']:.2f} {u}\nMAE = {s['mae']:.2f} {u}\n{bias}"
            ),
            transform=ax.transAxes,
            va="top",
            fontsize=8,
        )
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel(mpl_text(f"observed {t} ({u})"))
        ax.set_ylabel(mpl_text(f"out-of-fold prediction ({u})"))
        ax.set_title(name, fontsize=9)
    axes[1].legend(fontsize=7, loc="lower right", title="test fold", title_fontsize=7)
    title = _titled(fig, "Predicted (out of fold) against observed", bundle)
    return (
        title,
        fig,
        (
            "Every plot predicted by the model of the fold that held it out; black line "
            "1:1; scores of the pooled out-of-fold predictions."
        ),
    )


def _explanation(bundle):
    from ..explain import explain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = explain(bundle.model, bundle.X())
    ex.unit = bundle.unit  # SHAP values are in the target's unit (explain assumes Mg/ha)
    return ex


def _fig_shap_summary(bundle, ex):
    # explain's labels hold the feature names as they are: drawn literally (no mathtext)
    fig = literal_figure_text(ex.summary_plot(max_display=12))
    fig.set_size_inches(7.0, fig.get_size_inches()[1] + 0.5)
    title = _titled(fig, f"SHAP values of the model at the {len(bundle.plots)} plots", bundle)
    return (
        title,
        fig,
        (
            "Each point is a plot; its position is the feature's contribution to the "
            f"prediction ({bundle.unit}), its colour the feature's value (red high, blue "
            "low). Features ordered by mean |SHAP|."
        ),
    )


def _fig_dependence(bundle, ex, feature):
    fig = literal_figure_text(ex.dependence(feature, color_by="auto"))
    title = _titled(fig, f"SHAP dependence of {feature}", bundle)
    return (
        title,
        fig,
        (
            f"Contribution of {feature} to the prediction against its value; colour: the "
            "feature it interacts with most."
        ),
    )


def _fig_map(bundle, agb_raster):
    from ..mapping import plot_agb_map

    fig = literal_figure_text(plot_agb_map(agb_raster))
    title = _titled(fig, f"Map of {bundle.target} ({Path(agb_raster).name})", bundle)
    method, note = _uncertainty_note(agb_raster)
    if note and len(fig.axes) > 1:  # a constant band is drawn with its note, not as a bare square
        ax = fig.axes[1]
        ax.text(0.5, 0.5, "constant:\nsee the caption", transform=ax.transAxes, ha="center",
                color="white", fontsize=12)  # fmt: skip
    cap = "Quick-look (decimated) of the map and, where the model gives one, its per-cell sd."
    cap += f" Standard deviation: {method}." if method else ""
    cap += f" Note: {note}." if note else ""
    return title, fig, cap


def _uncertainty_note(agb_raster) -> tuple[str | None, str | None]:
    """The std band's method and, for a constant band, its note (band tags written by
    ``Bundle.predict_map``; ``(None, None)`` for maps without them).
    """
    with rasterio.open(agb_raster) as ds:
        for i, d in enumerate(ds.descriptions, 1):
            if (d or "").endswith("_std"):
                tags = ds.tags(i)
                return tags.get("geoagb_std_method"), tags.get("geoagb_std_note")
    return None, None


def _fig_carbon(bundle, stocks, unit):
    import matplotlib.pyplot as plt

    rows = stocks.drop(index=[i for i in ("total",) if i in stocks.index])
    name, div = unit
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(rows) + 1.6), layout="constrained")
    v = rows["stock_MgC"].to_numpy(float) / div
    ypos = np.arange(len(rows))
    err = (
        rows["stock_sd_MgC_correlated"].to_numpy(float) / div
        if "stock_sd_MgC_correlated" in rows
        else None
    )
    ax.barh(ypos, v, xerr=err, capsize=3, color="tab:green")
    ax.set_yticks(ypos, [mpl_text(i) for i in rows.index])
    ax.invert_yaxis()
    ax.set_xlabel(f"carbon stock ({name})")
    title = _titled(fig, "Carbon stock per region", bundle)
    cap = "Bars: stock of the mapped cells."
    if err is not None:
        cap += " Error bars: ± the fully correlated bound (sum of the cells' standard deviations)."
    return title, fig, cap


# ---- tables ------------------------------------------------------------------------------------
def cv_table(bundle) -> pd.DataFrame:
    """Spatial and random CV side by side: one row per metric, numeric (formatted when shown).

    Per scheme: the validation mean (over folds and fold seeds), its sd over folds, and, when
    the bundle was fitted under several fold seeds, the sd, min and max over seeds of each
    seed's mean over folds; the pooled out-of-fold score (mean over seeds) and the train mean.
    """
    u = bundle.unit
    names = {
        "r2": "R²",
        "rmse": f"RMSE ({u})",
        "mae": f"MAE ({u})",
        "r": "Pearson r",
        "overall_bias": "overall bias (fraction; NaN where the mean is not clearly positive)",
        "mean_residual": f"mean residual, observed - predicted ({u})",
    }
    cv = bundle.manifest["cv"]
    n = int(cv.get("n_repeats", 1))
    cols = {}
    for scheme in ("spatial", "random"):
        s = cv[scheme]
        # .get: bundles written before the mean residual was recorded lack it
        cols[f"{scheme}: validation mean"] = [s.get(f"validation_{m}_mean") for m in names]
        cols[f"{scheme}: validation sd (folds)"] = [s.get(f"validation_{m}_sd") for m in names]
        if n > 1:
            for how, what in (("sd", "sd"), ("min", "min"), ("max", "max")):
                cols[f"{scheme}: {what} over {n} fold seeds"] = [
                    s.get(f"validation_{m}_mean_{how}", np.nan) for m in names
                ]
        cols[f"{scheme}: pooled out-of-fold"] = [s.get(f"pooled_{m}") for m in names]
        cols[f"{scheme}: train mean"] = [s.get(f"train_{m}_mean") for m in names]
    return pd.DataFrame(cols, index=pd.Index(list(names.values()), name="metric")).astype(float)


def carbon_table(agb_raster, regions=None, by=None, carbon_fraction=0.47):
    """Carbon stock per region of a map, and the unit chosen for it (see geoagb.workflow._units)."""
    from ..mapping import carbon_stock
    from ._units import carbon_unit

    t = carbon_stock(agb_raster, regions, carbon_fraction=carbon_fraction, by=by)
    total = (
        float(t.loc["total", "stock_MgC"]) if "total" in t.index else float(t["stock_MgC"].max())
    )
    return t, carbon_unit(total)


# ---- figures and the document ------------------------------------------------------------------
@renamed_kwargs({"map_path": "agb_raster"})
def report_figures(
    bundle,
    agb_raster=None,
    *,
    regions=None,
    by=None,
    carbon_fraction=None,
    echo: Callable[[str], None] = lambda s: None,
):
    """The report's figures as ``[(section, title, Figure, caption)]`` (for notebooks).

    The inputs are checked first (:func:`check_report_inputs`).
    """
    regions = check_report_inputs(bundle, agb_raster, regions, by)
    return _figures(bundle, agb_raster, regions, by, carbon_fraction, echo)


def _figures(bundle, agb_raster, regions, by, carbon_fraction, echo):
    import matplotlib

    figs = []

    def add(section, item):
        if item is not None:
            figs.append((section,) + tuple(item))

    # mpl_text escapes names for matplotlib's default text rendering: mathtext on, TeX off
    with matplotlib.rc_context({"text.usetex": False, "text.parse_math": True}):
        add("data", _fig_plots(bundle))
        add("data", _fig_target(bundle))
        add("block size", _fig_variogram(bundle))
        add("block size", _fig_sensitivity(bundle))
        add("cv", _fig_spatial_random(bundle))
        add("cv", _fig_pred_obs(bundle))
        t = time.perf_counter()
        ex = _explanation(bundle)
        add("explain", _fig_shap_summary(bundle, ex))
        imp = ex.importance()
        top = [f for f in imp.index if f in bundle.feature_names][:2]
        for f in top:
            add("explain", _fig_dependence(bundle, ex, f))
        echo(f"    SHAP values of {len(bundle.plots)} plots ({time.perf_counter() - t:.1f} s)")
        if agb_raster is not None:
            add("map", _fig_map(bundle, agb_raster))
            cf = _carbon_fraction(bundle, carbon_fraction)
            stocks, unit = carbon_table(agb_raster, regions, by, cf) if cf else ((), None)
            if len(stocks) > 1:
                add("map", _fig_carbon(bundle, stocks, unit))
    return figs, ex


def _carbon_fraction(bundle, carbon_fraction):
    """The fraction given at report time, else the bundle's (None: not biomass, no carbon)."""
    if carbon_fraction is not None:
        return float(carbon_fraction)
    return bundle.traits.carbon_fraction


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.2em;border-bottom:1px solid #ccc;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em} th,td{border:1px solid #ddd;padding:2px 7px}
td{text-align:right;font-variant-numeric:tabular-nums} th{background:#f4f4f4;text-align:left}
table.kv td{text-align:left} figure{margin:1em 0} img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#444} .note{color:#555;font-size:.9em}
pre{background:#f7f7f7;padding:.5em;font-size:.8em;overflow:auto}
"""


def _figure(title: str, fig, caption: str) -> Html:
    return element(
        "figure",
        element("img", alt=title, title=title, src=f"data:image/png;base64,{_png(fig)}"),
        element("figcaption", element("b", f"{title}."), " ", caption),
    )


def _note(text: str) -> Html:
    return element("p", text, class_="note")


def _summary(bundle) -> Html:
    m = bundle.manifest
    b, cv = m["block_size"], m["cv"]
    sp, rn, p = cv["spatial"], cv["random"], m["plots"]
    block = f"{b['used_m']:,.0f} m" + (
        " (given)"
        if b.get("given")
        else f" ({b.get('verdict')} in the residuals; fallback {b['fallback']})"
        if b.get("fallback")
        else f" (suggested {b.get('suggested_m', np.nan):,.0f} m from the residual variogram)"
    )
    return join(
        [
            element("h2", "Summary"),
            kv_table(
                [
                    (
                        "validation R² (spatial)",
                        f"{sp['validation_r2_mean']:.3f} ± {sp['validation_r2_sd']:.3f} "
                        f"(mean ± sd over {cv['n_splits']} folds)",
                    ),
                    (
                        "validation RMSE (spatial)",
                        f"{sp['validation_rmse_mean']:.2f} ± {sp['validation_rmse_sd']:.2f} "
                        f"{bundle.unit}",
                    ),
                    (
                        "validation R² (random k-fold)",
                        f"{rn['validation_r2_mean']:.3f} ± {rn['validation_r2_sd']:.3f}",
                    ),
                    ("target", _target_line(bundle.traits)),
                    ("block size", block),
                    (
                        "plots used",
                        f"{p['n_used']} of {p['n_read']} ({p['n_dropped']} dropped)",
                    ),
                ]
            ),
        ]
    )


def _target_line(tr) -> str:
    """The summary's target row: name, unit, carbon and clipping."""
    carbon = (
        f"biomass (carbon fraction {tr.carbon_fraction:g})"
        if tr.carbon_fraction is not None
        else "not biomass: no carbon stock"
    )
    sign = "non-negative (maps clipped at 0)" if tr.nonnegative else "signed (maps not clipped)"
    return f"{tr.name} ({tr.unit}); {carbon}; {sign}"


def _data_table(bundle) -> Html:
    from ._recipe import recipe_to_toml
    from ._units import format_number

    m, t, u = bundle.manifest, bundle.target, bundle.unit
    yv, p, r = bundle.plots[t], m["plots"], m["rasters"]
    return kv_table(
        [
            ("plot file", p["file"]),
            ("plots read / used / dropped", f"{p['n_read']} / {p['n_used']} / {p['n_dropped']}"),
            (
                f"{t} ({u}) of the plots used",
                f"mean {format_number(yv.mean())}, sd {format_number(yv.std())}, "
                f"min {format_number(yv.min())}, max {format_number(yv.max())}",
            ),
            ("CRS", m["crs_name"]),
            (
                "rasters",
                ", ".join(f"{k} ({v})" for k, v in r["sources"].items())
                + f"; {r['resolution_m']:g} m pixels",
            ),
            (
                "plot footprint",
                "pixel under the plot centre"
                if m.get("footprint_m") is None
                else f"{m['footprint_m']:g} m square",
            ),
            ("map resolution", f"{m['map_resolution_m']:g} m"),
            (f"features ({len(bundle.feature_names)})", ", ".join(bundle.feature_names)),
            (
                "feature recipe (TOML, as geoagb fit --config reads it; texture ranges frozen at fit)",
                element("pre", recipe_to_toml(m["recipe"])),
            ),
            ("model", f"{bundle.label} ({m['model']['class']})"),
            ("input hash (SHA-256)", element("code", m["input_hash"])),
            ("command", element("code", m.get("command") or "")),
        ]
    )


def _qc_section(bundle) -> list[Html]:
    q, info = bundle.qc, bundle.manifest["qc"]
    mode = info.get("mode", "drop" if info.get("rule") else "off")
    action = {
        "flag": "reported below and kept in the fit (qc='flag')",
        "drop": "left out of the fit (qc='drop')",
    }
    rule = (
        f"Plots with a missing target or feature are left out; then a random forest on "
        f"{', '.join(info['features'])} predicts each plot out of fold and plots whose "
        f"studentized residual exceeds {info['threshold']:g}"
        f"{' (log scale)' if info.get('scale') == 'log' else ''}"
        f"{', or whose target is negative (a non-negative target)' if info.get('nonnegative') else ''}"
        f" are flagged, {action.get(mode, action['drop'])}."
        if info.get("rule")
        else "Plots with a missing target or feature are left out (imagery check off)."
    )
    out = [element("h2", "2. Plot quality control"), element("p", rule)]
    if not len(q):
        return out + [element("p", "No plot was flagged or left out.")]
    out.append(table(reason_counts(q), "{:,.0f}"))
    out.append(table(q.drop(columns=[c for c in ("x", "y") if c in q.columns]), "{:,.2f}"))
    fig = qc_figure(bundle)
    if fig is not None:
        what, f, caption = fig
        out.append(_figure(_titled(f, what, bundle), f, caption))
    if info.get("cv_side_by_side"):
        out.append(
            element(
                "p",
                "Spatial CV of the kept plots only, and with the dropped plots scored as "
                "held-out plots (predicted by the final model, fitted on the kept plots):",
            )
        )
        out.append(table(side_by_side(info["cv_side_by_side"]), "{:,.3f}"))
    return out


def _kriging_note(kr: dict) -> Html:
    return element(
        "p",
        "Residual kriging fitted on all plots: "
        f"method {kr['method']}, correction {kr['correction']}, shrinkage {kr['shrinkage']:.2f}, "
        f"estimated RMSE gain {100 * kr['estimated_gain']:.1f} %, residual variogram "
        f"{kr['variogram_model']} with effective range {kr['effective_range_m']:,.0f} m.",
    )


def _map_section(bundle, agb_raster, regions, by, carbon_fraction) -> list[Html]:
    t, u = bundle.target, bundle.unit
    cf = _carbon_fraction(bundle, carbon_fraction)
    if cf is None:
        return [
            element("h2", "6. Map"),
            _note(
                f"No carbon stock: the target {t} ({u}) is not biomass (fit with "
                "--carbon-fraction, or give carbon_fraction= to the report, to compute one)."
            ),
        ]
    stocks, (unit, div) = carbon_table(agb_raster, regions, by, cf)
    ct = pd.DataFrame(
        {
            "area (ha)": stocks["area_ha"],
            f"mean {t} ({u})": stocks["mean_agb_Mg_ha"],
            f"carbon stock ({unit})": stocks["stock_MgC"] / div,
        }
    )
    if "stock_sd_MgC" in stocks:
        ct[f"sd, independent cells ({unit})"] = stocks["stock_sd_MgC"] / div
        ct[f"sd, correlated bound ({unit})"] = stocks["stock_sd_MgC_correlated"] / div
    return [
        element("h2", "6. Map and carbon stock"),
        element("p", f"Carbon = {t} x cell area x carbon fraction {cf:g}; all stocks in {unit}."),
        table(ct.rename_axis("region"), "{:,.2f}"),
    ]


@renamed_kwargs({"map_path": "agb_raster"})
def write_report(
    bundle,
    out,
    agb_raster=None,
    *,
    regions=None,
    by=None,
    carbon_fraction=None,
    echo: Callable[[str], None] = print,
):
    """Write the HTML report of a model bundle (``geoagb report BUNDLE [MAP]``).

    Parameters
    ----------
    bundle : Bundle or path
        From :func:`~geoagb.workflow.fit_bundle` or :func:`~geoagb.workflow.load_bundle`.
    out : str or Path
        HTML file to write (atomically).
    agb_raster : str or Path, optional
        A map made with the bundle (``geoagb map``): adds its quick-look and carbon stock.
    regions : GeoDataFrame, vector file or zone raster, optional
        Regions for the carbon stock (default: the whole map); ``by`` names their column.
        Needs ``agb_raster``; regions must overlap the map.
    carbon_fraction : float, optional
        Carbon fraction of biomass (default: the bundle's, see
        :func:`~geoagb.workflow.target_traits`: 0.47 for AGB, 1 for MgC/ha, and no carbon
        section for a target that is not biomass unless a fraction is given here).

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError, ValueError
        Before any work, through :func:`check_report_inputs`: a tampered manifest, a missing
        MAP or regions file, a MAP that is not a geoagb map of the bundle's target or covers
        none of its plots, regions that do not overlap the map.
    """
    import matplotlib

    matplotlib.use("Agg")
    from .. import __version__
    from .._io import atomic_path, check_output_path
    from ._bundle import load_bundle

    if not hasattr(bundle, "manifest"):
        bundle = load_bundle(bundle)
    out = check_output_path(out, "--out")
    regions = check_report_inputs(bundle, agb_raster, regions, by)
    m = bundle.manifest
    figs, ex = _figures(bundle, agb_raster, regions, by, carbon_fraction, echo)
    by_section: dict[str, list[Html]] = {}
    for section, title, fig, cap in figs:
        by_section.setdefault(section, []).append(_figure(title, fig, cap))

    t, u = bundle.target, bundle.unit
    saved = Path(bundle.path).name if bundle.path else "(not saved)"
    parts = [
        element("h1", f"{bundle.label} of {t} ({u})"),
        _note(
            f"{bundle.cv_label}; bundle {saved}; written by geoagb {m['geoagb_version']} on "
            f"{m['created']}; report by geoagb {__version__}."
        ),
        _summary(bundle),
        element("h2", "1. Data"),
        _data_table(bundle),
        *by_section.get("data", []),
        *_qc_section(bundle),
        element("h2", "3. Block size"),
        *(_note(f"Note: {note}") for note in m["block_size"].get("notes") or []),
        *by_section.get("block size", []),
        element("h2", "4. Spatial vs random cross-validation"),
        table(cv_table(bundle)),
        *([_kriging_note(m["kriging"])] if m.get("kriging") else []),
        *by_section.get("cv", []),
        element("h2", "5. What drives the predictions"),
        table(
            ex.importance().head(15).rename(f"mean |SHAP| ({u})").to_frame().rename_axis("feature"),
            "{:,.2f}",
        ),
        *by_section.get("explain", []),
    ]
    if agb_raster is not None:
        parts += _map_section(bundle, agb_raster, regions, by, carbon_fraction)
        parts += by_section.get("map", [])
    head = element(
        "head",
        element("meta", charset="utf-8"),
        element("title", f"geoagb report: {bundle.label} of {t}"),
        element("style", raw(_CSS)),
    )
    body = element("body", join(parts, "\n"))
    text = raw("<!DOCTYPE html>\n") + element("html", head, body, lang="en")
    with atomic_path(out, "--out") as tmp:
        tmp.write_text(text, encoding="utf-8")
    n_img = sum(len(v) for v in by_section.values())
    echo(f"    wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {n_img} figures)")
    return Path(out)
