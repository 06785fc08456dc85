"""Demo step: features from a synthetic scene, plot quality control and feature screening."""

from __future__ import annotations

import warnings

from ..datasets import make_scene
from ..features import RasterFeatures, screen_features
from ..inventory import filter_inconsistent_plots

TITLE = "Features from a synthetic scene: extraction, quality control, screening"

#: The demo's feature recipe (also used by later steps through ctx.data["raster_features"]).
RECIPE = dict(
    bands=["blue", "green", "red", "nir"],
    indices=["ndvi", "savi", "evi", "arvi", "ndwi", "mndvi"],
    textures=dict(
        band="nir",
        window=7,
        levels=32,
        features=["mean", "variance", "contrast", "homogeneity", "entropy"],
    ),
    terrain=[
        "elevation",
        "slope",
        "eastness",
        "northness",
        "curvature",
        "tpi",
        "twi",
        "hli",
        "relief",
    ],
    extra={"height_mean": ("chm", 1), "height_p95": ("chm", 1, "p95"), "crown_cover": ("crown", 1)},
)


def run(ctx) -> None:
    import geopandas as gpd

    size, n_plots = (500.0, 60) if ctx.quick else (1500.0, 200)
    scene = make_scene(
        ctx.out / "scene", size_m=size, n_plots=n_plots, random_state=ctx.random_state
    )
    ctx.echo(
        f"    scene: {size:.0f} m x {size:.0f} m at {scene.resolution:g} m, {len(scene.plots)} plots "
        f"of {scene.plot_size_m:g} m -> {ctx.out / 'scene'}"
    )

    rf = RasterFeatures(scene.sources, **RECIPE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X = rf.at_points(scene.plots, footprint=scene.plot_size_m)
    if caught:
        ctx.echo(f"    note: {caught[0].message}")
    table = gpd.GeoDataFrame(
        scene.plots.join(X), geometry=scene.plots.geometry.name, crs=scene.plots.crs
    )
    ctx.echo(
        f"    {len(rf.feature_names)} features per plot (halo {rf.halo} px): "
        f"{', '.join(rf.feature_names[:6])}, ..."
    )

    kept, report = filter_inconsistent_plots(table, target="agb", random_state=ctx.random_state)
    report.to_csv(ctx.path("qc_report.csv"))
    planted = set(scene.plots.index[scene.truth["inconsistent"].to_numpy(bool)])
    dropped = set(report.index)
    hit = len(planted & dropped)
    ctx.echo(
        f"    quality control dropped {len(dropped)} of {len(table)} plots "
        f"({hit} of {len(planted)} planted inconsistent plots found; "
        f"precision {hit / max(len(dropped), 1):.2f}, recall {hit / max(len(planted), 1):.2f})"
    )

    screening = screen_features(kept[rf.feature_names], kept["agb"], collinearity_threshold=0.9)
    screening.to_csv(ctx.path("screening.csv"), index=False)
    top = screening.head(8)
    ctx.echo(
        "    feature screening against AGB (Pearson r, BH-adjusted p; top 8 of "
        f"{len(screening)}, {int(screening['selected'].sum())} selected):"
    )
    ctx.echo(f"      {'feature':<22}{'r':>8}{'p_adj':>11}  selected")
    for row in top.itertuples():
        ctx.echo(
            f"      {row.feature:<22}{row.r:>8.3f}{row.p_adj:>11.2e}  {'yes' if row.selected else 'no'}"
        )
    ctx.echo(f"    wrote {ctx.path('screening.csv')} and {ctx.path('qc_report.csv')}")

    ctx.data["scene"] = scene
    ctx.data["scene_plots"] = kept
    ctx.data["raster_features"] = rf
