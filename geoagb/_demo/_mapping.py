"""Demo step: a 30 m AGB map of the 1 m scene with its uncertainty, quick look and carbon stock."""

from __future__ import annotations

import warnings

TITLE = "Wall-to-wall AGB map, uncertainty and carbon stock"


def _scene_data(ctx):
    """scene, recipe and plot table from the features step, or built here when it did not run."""
    scene, rf, plots = (ctx.data.get(k) for k in ("scene", "raster_features", "scene_plots"))
    if scene is not None and rf is not None and plots is not None:
        return scene, rf, plots
    import geopandas as gpd

    from ..datasets import make_scene
    from ..features import RasterFeatures
    from ._features import RECIPE

    if scene is None:
        size, n_plots = (500.0, 60) if ctx.quick else (1500.0, 200)
        scene = make_scene(ctx.out / "scene", size_m=size, n_plots=n_plots, random_state=ctx.random_state)
    if rf is None:
        rf = RasterFeatures(scene.sources, **RECIPE)
    if plots is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = rf.at_points(scene.plots, footprint=scene.plot_size_m)
        plots = gpd.GeoDataFrame(scene.plots.join(X), geometry=scene.plots.geometry.name, crs=scene.plots.crs)
    ctx.data.update(scene=scene, raster_features=rf, scene_plots=plots)
    return scene, rf, plots


def _best_model(ctx, rf, plots):
    """ctx.data["best_model"], else the better of two forests (both give a per-cell spread)
    under spatial block cross-validation."""
    model = ctx.data.get("best_model")
    if model is not None and not (hasattr(model, "bands_") and hasattr(model, "patch_size_")):
        return model, "ctx.data['best_model']"
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor

    from ..model_selection import SpatialBlockKFold, spatial_cross_validate

    data = plots.dropna(subset=rf.feature_names + ["agb"])
    X, y = data[rf.feature_names + ["x", "y"]], data["agb"]
    n = 60 if ctx.quick else 200
    cands = {
        "RandomForest": RandomForestRegressor(n_estimators=n, min_samples_leaf=2, max_features=0.5,
                                              n_jobs=2, random_state=ctx.random_state),
        "ExtraTrees": ExtraTreesRegressor(n_estimators=n, min_samples_leaf=2, max_features=0.5,
                                          n_jobs=2, random_state=ctx.random_state),
    }
    extent = float(max(X["x"].max() - X["x"].min(), X["y"].max() - X["y"].min()))
    cv = SpatialBlockKFold(5, block_size=extent / 5, random_state=ctx.random_state)
    scores = {}
    for name, est in cands.items():
        res = spatial_cross_validate(est, X, y, cv, progress=False)
        scores[name] = res.oof_scores()["r2"]
    best = max(scores, key=scores.get)
    ctx.echo("    model choice by spatial 5-fold CV (out-of-fold R2): "
             + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()) + f" -> {best}")
    return cands[best].fit(X[rf.feature_names], y), best


def run(ctx) -> None:
    import matplotlib.pyplot as plt

    from ..mapping import (agb_class_frequencies, canopy_height_consistency, carbon_stock,
                           plot_agb_map, predict_raster)

    scene, rf, plots = _scene_data(ctx)
    model, name = _best_model(ctx, rf, plots)
    res = 30.0
    lc = scene.sources["landcover"]
    out = predict_raster(model, rf, ctx.path("agb.tif"), resolution=res, mask=(lc, [1, 2]), progress=False)
    import rasterio

    with rasterio.open(out) as ds:
        bands, shape = ds.descriptions, ds.shape
    ctx.echo(f"    {name} mapped {shape[1]} x {shape[0]} cells of {res:g} m from {scene.resolution:g} m inputs "
             f"({len(rf.feature_names)} features, halo {rf.halo} px), bands {', '.join(bands)}; "
             "bare rock and water/built masked -> " + str(out))

    fig = plot_agb_map(out, title=f"AGB at {res:g} m ({name})")
    fig.savefig(ctx.path("agb.png"), dpi=110)
    plt.close(fig)

    stock = carbon_stock(out, carbon_fraction=0.47).loc["all"]
    sd = stock.get("stock_sd_MgC", float("nan"))
    sdc = stock.get("stock_sd_MgC_correlated", float("nan"))
    ctx.echo(f"    carbon stock: {stock['stock_MgC']:,.0f} Mg C (+- {sd:,.0f} independent cell errors, "
             f"<= {sdc:,.0f} fully correlated) over {stock['area_ha']:.1f} ha; "
             f"mean {stock['mean_agb_Mg_ha']:.1f} Mg/ha AGB, {stock['density_MgC_ha']:.1f} Mg C/ha")
    freq = agb_class_frequencies(out)
    ctx.echo("    area by AGB class (Mg/ha): " + ", ".join(
        f"{k} {v:.1f}%" for k, v in freq["area_pct"].items() if v > 0))
    fit = canopy_height_consistency(out, scene.sources["chm"], stat="mean")
    ctx.echo(f"    consistency with the canopy height model: AGB = {fit.a:.2f} H^{fit.b:.2f}, "
             f"R2 {fit.r2:.2f} over {fit.n} cells")
    ctx.echo(f"    wrote {out} and {ctx.path('agb.png')}")
    ctx.data["agb_map"] = out
    ctx.data["carbon_stock"] = stock
