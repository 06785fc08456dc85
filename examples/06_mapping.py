"""
Wall-to-wall AGB maps, uncertainty, carbon stocks and sinks
===========================================================

The product of an AGB study is a map. This example fits a random forest on plot features from a
1 m synthetic scene and maps it at 30 m with :func:`geoagb.mapping.predict_raster`: features are
computed window by window with the same :class:`~geoagb.features.RasterFeatures` recipe used at
the plots (its halo keeps textures and terrain exact at window edges), bare rock and water are
masked, and the spread of the trees gives an uncertainty band. Then the map is turned into
numbers: carbon stock with its uncertainty, stock by elevation band, AGB class frequencies
(FineKarstAGB Fig. 9c), consistency with the canopy-height model (AGB = a H^b, FineKarstAGB section
4.2), a comparison with a second model's map, a carbon sink between two dates, SHAP maps, and
the same map computed on a two-worker Dask cluster.
"""

# %%
# A scene, a feature recipe and a model
# -------------------------------------
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor  # noqa: E402

from geoagb.datasets import make_scene  # noqa: E402
from geoagb.features import RasterFeatures  # noqa: E402
from geoagb.mapping import (  # noqa: E402
    agb_class_frequencies,
    canopy_height_consistency,
    carbon_sink,
    carbon_stock,
    compare_maps,
    explain_raster,
    plot_agb_map,
    plot_class_frequencies,
    plot_power_law,
    predict_raster,
)

out = Path("geoagb-examples")
out.mkdir(exist_ok=True)
work = Path(tempfile.mkdtemp())
scene = make_scene(work / "scene", size_m=1200.0, n_plots=150, random_state=1)
rf = RasterFeatures(
    scene.sources,
    indices=["ndvi", "evi"],
    textures=dict(band="nir", window=7, levels=32, features=["mean", "contrast"]),
    terrain=["elevation", "slope", "northness"],
    extra={"height_mean": ("chm", 1), "height_p95": ("chm", 1, "p95"), "crown_cover": ("crown", 1)},
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    X = rf.at_points(scene.plots, footprint=scene.plot_size_m).dropna()
y = scene.plots.loc[X.index, "agb"]
model = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, n_jobs=2, random_state=0).fit(
    X, y
)
print(rf, f"-> {len(X)} plots")

# %%
# The map
# -------
# 30 m cells from 1 m inputs; rock (3) and water/built (4) are left as nodata. The output is a
# tiled GeoTIFF with overviews, written to a temporary file and renamed when complete.
agb_tif = predict_raster(
    model,
    rf,
    out / "06_agb.tif",
    resolution=30,
    mask=(scene.sources["landcover"], [1, 2]),
    progress=False,
)
with rasterio.open(agb_tif) as ds:
    print(ds.descriptions, ds.shape, ds.res, ds.block_shapes[0])
plot_agb_map(agb_tif).savefig(out / "06_agb.png", dpi=100)

# %%
# Carbon: stock, stock by elevation band, AGB classes
# ---------------------------------------------------
# Stock = sum(AGB x cell area) x carbon fraction. The sd assumes independent cell errors; the
# "correlated" column is the upper bound for errors shared by all cells.
stock = carbon_stock(agb_tif, carbon_fraction=0.47, root_shoot=0.35)  # above + belowground (x 1.35)
print(
    stock[["area_ha", "mean_agb_Mg_ha", "stock_MgC", "stock_sd_MgC", "stock_sd_MgC_correlated"]]
    .round(1)
    .to_string()
)
with rasterio.open(scene.sources["dem"]) as dem:
    z = dem.read(1, masked=True)
edges = np.round(np.percentile(z.compressed(), [0, 33, 67, 100]) + [0, 0, 0, 1])
print(
    carbon_stock(agb_tif, regions=scene.sources["dem"], edges=edges)[
        ["area_ha", "stock_MgC"]
    ].round(1)
)
freq = agb_class_frequencies(agb_tif)
print(freq.round(1).to_string())
plot_class_frequencies(freq).savefig(out / "06_classes.png", dpi=100)

# %%
# Consistency with the canopy-height model, inside and outside forest
# -------------------------------------------------------------------
for name, classes in [("forest", [1]), ("shrub/grass", [2])]:
    fit = canopy_height_consistency(
        agb_tif, scene.sources["chm"], stat="mean", mask=(scene.sources["landcover"], classes)
    )
    print(f"{name:12s} AGB = {fit.a:.2f} H^{fit.b:.2f}  R2 = {fit.r2:.2f}  n = {fit.n}")
plot_power_law(fit).savefig(out / "06_power_law.png", dpi=100)

# %%
# Map against map, and a carbon sink
# ----------------------------------
# A second learner maps the same scene; compare_maps gives the mean and sd of the differences
# and writes the difference map (FineKarstAGB Fig. 11). For a sink we need a second date on the same
# grid: here a what-if scene whose canopy is 1.5 m taller everywhere, mapped with the same model.
et = ExtraTreesRegressor(n_estimators=200, min_samples_leaf=2, n_jobs=2, random_state=0).fit(X, y)
et_tif = predict_raster(
    et,
    rf,
    out / "06_agb_extratrees.tif",
    resolution=30,
    mask=(scene.sources["landcover"], [1, 2]),
    progress=False,
)
cmp = compare_maps(agb_tif, et_tif, out / "06_difference.tif")
print({k: round(v, 3) for k, v in cmp.to_dict().items()})

t1 = dict(scene.sources)
t1["chm"] = str(work / "chm_t1.tif")
with rasterio.open(scene.sources["chm"]) as src:
    prof, chm = src.profile, src.read(1)
with rasterio.open(t1["chm"], "w", **prof) as dst:
    dst.write(np.where(chm == src.nodata, chm, chm + 1.5), 1)
    dst.set_band_description(1, "chm")
rf_t1 = RasterFeatures(
    t1, indices=rf.indices, textures=rf.textures, terrain=rf.terrain, extra=rf.extra
)
t1_tif = predict_raster(
    model,
    rf_t1,
    out / "06_agb_t1.tif",
    resolution=30,
    mask=(scene.sources["landcover"], [1, 2]),
    progress=False,
)
sink = carbon_sink(agb_tif, t1_tif, years=(2020, 2025))
print(sink[["area_ha", "change_TgC", "sink_TgC_per_yr", "density_change_MgC_ha_yr"]].to_string())

# %%
# SHAP maps: where each driver raises or lowers AGB
# -------------------------------------------------
shap_tif = explain_raster(
    model,
    rf,
    out / "06_shap.tif",
    resolution=30,
    progress=False,
    groups={
        "structure": ["height_mean", "height_p95", "crown_cover"],
        "spectral": ["ndvi", "evi", "nir_glcm7_mean", "nir_glcm7_contrast"],
    },
)
with rasterio.open(shap_tif) as ds:
    for i, name in enumerate(ds.descriptions, 1):
        print(f"{name:10s} mean |SHAP| {np.nanmean(np.abs(ds.read(i))):6.2f} Mg/ha")

# %%
# The same map on a Dask cluster
# ------------------------------
# Each worker reads and computes its windows; the client writes them. Same file, cell by cell.
from distributed import Client, LocalCluster  # noqa: E402

with (
    LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster,
    Client(cluster) as client,
):
    dask_tif = predict_raster(
        model,
        rf,
        out / "06_agb_dask.tif",
        resolution=30,
        window_size=16,
        mask=(scene.sources["landcover"], [1, 2]),
        client=client,
        progress=False,
    )
with rasterio.open(agb_tif) as a, rasterio.open(dask_tif) as b:
    same = np.array_equal(a.read(), b.read(), equal_nan=True)
print("dask map identical to the single-process map:", same)
