"""Demo step: the user's path, plot file + raster folder -> ``geoagb fit`` -> ``geoagb map`` ->
``geoagb report``, on the synthetic scene: a 30 m AGB map with its uncertainty, its carbon stock
and a self-contained HTML report; ends with the three commands that do the same on other data.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from .._io import atomic_path
from ..datasets import make_scene
from ..features import RasterFeatures
from ..mapping import agb_class_frequencies, canopy_height_consistency, carbon_stock, plot_agb_map
from ..workflow import carbon_unit, fit_bundle, format_carbon, recipe_to_toml, write_report
from ._features import RECIPE

TITLE = "From a plot file and a raster folder to a model, a 30 m AGB map and a report (fit / map / report)"


def _scene_data(ctx):
    """scene, recipe and plot table from the features step, or built here when it did not run."""
    scene, rf, plots = (ctx.data.get(k) for k in ("scene", "raster_features", "scene_plots"))
    if scene is not None and rf is not None and plots is not None:
        return scene, rf, plots
    import geopandas as gpd

    if scene is None:
        size, n_plots = (500.0, 60) if ctx.quick else (1500.0, 200)
        scene = make_scene(
            ctx.out / "scene", size_m=size, n_plots=n_plots, random_state=ctx.random_state
        )
    if rf is None:
        rf = RasterFeatures(scene.sources, **RECIPE)
    if plots is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = rf.at_points(scene.plots, footprint=scene.plot_size_m)
        plots = gpd.GeoDataFrame(
            scene.plots.join(X), geometry=scene.plots.geometry.name, crs=scene.plots.crs
        )
    ctx.data.update(scene=scene, raster_features=rf, scene_plots=plots)
    return scene, rf, plots


def _scene(ctx):
    """The features step's scene, or a new one (the same scene for the same seed and size)."""
    scene = ctx.data.get("scene")
    if scene is None:
        size, n_plots = (500.0, 60) if ctx.quick else (1500.0, 200)
        scene = make_scene(
            ctx.out / "scene", size_m=size, n_plots=n_plots, random_state=ctx.random_state
        )
        ctx.data["scene"] = scene
    return scene


def _write_inputs(ctx, scene):
    """What a user brings: a plot file (longitude/latitude GeoPackage) and a recipe file."""
    plots = scene.plots[["plot_id", "agb", scene.plots.geometry.name]].to_crs("EPSG:4326")
    with atomic_path(ctx.path("plots.gpkg")) as tmp:
        plots.to_file(tmp, driver="GPKG", layer="plots")
    with atomic_path(ctx.path("recipe.toml")) as tmp:
        tmp.write_text(
            "# geoagb feature recipe of the demo (geoagb fit --config)\n" + recipe_to_toml(RECIPE)
        )
    return ctx.path("plots.gpkg"), ctx.path("recipe.toml")


def commands(ctx, scene, quick: bool, seed: int) -> list[str]:
    """The three commands that redo this step on a plot file and a raster folder."""
    o = ctx.out
    rasters = Path(scene.sources["image"]).parent
    extra = (" --n-estimators 60" if quick else "") + (f" --seed {seed}" if seed else "")
    return [
        f"geoagb fit {o / 'plots.gpkg'} {rasters} --target agb --model rf --config "
        f"{o / 'recipe.toml'} --footprint {scene.plot_size_m:g} --map-resolution 30{extra} "
        f"--out {o / 'model.geoagb'}",
        f"geoagb map {o / 'model.geoagb'} {rasters} {o / 'agb.tif'} --mask "
        f"{scene.sources['landcover']}:1,2",
        f"geoagb report {o / 'model.geoagb'} {o / 'agb.tif'} --out {o / 'report.html'}",
    ]


def run(ctx) -> None:
    import matplotlib.pyplot as plt
    import rasterio

    scene = _scene(ctx)
    rasters = Path(scene.sources["image"]).parent
    plots_path, recipe_path = _write_inputs(ctx, scene)
    cmds = commands(ctx, scene, ctx.quick, ctx.random_state)
    ctx.echo(
        f"    inputs as a user has them: {ctx.path('plots.gpkg')} ({len(scene.plots)} plots, "
        f"longitude/latitude), the raster folder {rasters}, the feature recipe "
        f"{ctx.path('recipe.toml')}"
    )

    # 1. geoagb fit ------------------------------------------------------------------------------
    ctx.echo("    -- geoagb fit")
    bundle = fit_bundle(
        plots_path,
        rasters,
        ctx.path("model.geoagb"),
        target="agb",
        model="rf",
        config=recipe_path,
        footprint=scene.plot_size_m,
        map_resolution=30.0,
        n_estimators=60 if ctx.quick else None,
        random_state=ctx.random_state,
        progress=ctx.progress,
        command=cmds[0],
        echo=ctx.echo,
    )
    # 2. geoagb map (the code behind `geoagb map BUNDLE RASTERS OUT`) ------------------------------
    ctx.echo("    -- geoagb map")
    lc = scene.sources["landcover"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = bundle.predict_map(
            rasters, ctx.path("agb.tif"), mask=(lc, [1, 2]), progress=ctx.progress
        )
    with rasterio.open(out) as ds:
        bands, shape, res = ds.descriptions, ds.shape, ds.res[0]
    ctx.echo(
        f"    {bundle.label} mapped {shape[1]} x {shape[0]} cells of {res:g} m from "
        f"{scene.resolution:g} m inputs ({len(bundle.feature_names)} features), bands "
        f"{', '.join(bands)}; bare rock and water/built masked -> {out}"
    )
    fig = plot_agb_map(out, title=f"AGB at {res:g} m: {bundle.label} ({bundle.cv_label})")
    fig.savefig(ctx.path("agb.png"), dpi=110)
    plt.close(fig)
    stock = carbon_stock(out, carbon_fraction=0.47).loc["all"]
    unit = carbon_unit(stock["stock_MgC"])  # the report's rule: MgC, GgC or TgC
    sd = stock.get("stock_sd_MgC", float("nan"))
    sdc = stock.get("stock_sd_MgC_correlated", float("nan"))
    ctx.echo(
        f"    carbon stock: {format_carbon(stock['stock_MgC'], unit)} (+- {format_carbon(sd, unit)} "
        f"independent cell errors, <= {format_carbon(sdc, unit)} fully correlated) over "
        f"{stock['area_ha']:.1f} ha; mean {stock['mean_agb_Mg_ha']:.1f} Mg/ha AGB, "
        f"{stock['density_MgC_ha']:.1f} MgC/ha"
    )
    freq = agb_class_frequencies(out)
    ctx.echo(
        "    area by AGB class (Mg/ha): "
        + ", ".join(f"{k} {v:.1f}%" for k, v in freq["area_pct"].items() if v > 0)
    )
    fit = canopy_height_consistency(out, scene.sources["chm"], stat="mean")
    ctx.echo(
        f"    consistency with the canopy height model: AGB = {fit.a:.2f} H^{fit.b:.2f}, "
        f"R2 {fit.r2:.2f} over {fit.n} cells"
    )
    # 3. geoagb report ---------------------------------------------------------------------------
    ctx.echo("    -- geoagb report")
    write_report(bundle, ctx.path("report.html"), out, echo=ctx.echo)
    ctx.echo(
        f"    wrote {ctx.path('plots.gpkg')}, {ctx.path('recipe.toml')}, {ctx.path('model.geoagb')}, "
        f"{out}, {ctx.path('agb.png')} and {ctx.path('report.html')}"
    )
    ctx.echo("    the same on your own plots and rasters, in three commands:")
    for c in cmds:
        ctx.echo(f"      {c}")
    ctx.data.update(bundle=bundle, agb_map=out, carbon_stock=stock, commands=cmds)
