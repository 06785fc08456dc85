"""
Where the model may be trusted: area of applicability and distance-matched CV
=============================================================================

A map is only as good as the model is at each cell, and cross-validation speaks only for
cells that resemble the training plots. Here the plot network of a synthetic 1 m scene misses
the tallest stands (a common bias: dense tall forest is hard to reach), a random forest is
fitted on it, and we ask where its 30 m map may be trusted:

* :func:`geoagb.applicability.geodist` compares the nearest-neighbour distances of plots to
  each other, of map cells to the plots and of held-out plots to their training plots under
  random, spatial-block and kNNDM cross-validation (Linnenbrink et al. 2024);
* :class:`geoagb.applicability.AreaOfApplicability` computes the dissimilarity index (DI) of
  every cell in the SHAP-weighted predictor space, with a threshold from the kNNDM-held-out
  plots, and the area of applicability (AOA; Meyer & Pebesma 2021);
* ``predict_raster(..., applicability=aoa)`` writes DI and AOA bands beside the map, and
  ``carbon_stock(..., aoa=True)`` counts carbon inside the AOA only;
* the scene's trees give the true AGB of every cell, so the map error can be set against the DI.
"""

# %%
# A scene, plots that miss the tallest stands, a model
# -----------------------------------------------------
import tempfile
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.model_selection import KFold, cross_val_predict  # noqa: E402

from geoagb.applicability import KNNDM, AreaOfApplicability, geodist, prediction_locations  # noqa: E402
from geoagb.datasets import make_scene  # noqa: E402
from geoagb.features import RasterFeatures  # noqa: E402
from geoagb.mapping import carbon_stock, predict_raster  # noqa: E402
from geoagb.model_selection import SpatialBlockKFold  # noqa: E402

out = Path("geoagb-examples")
out.mkdir(exist_ok=True)
work = Path(tempfile.mkdtemp())
scene = make_scene(work / "scene", size_m=1000.0, n_plots=150, random_state=1)
rf = RasterFeatures(
    scene.sources,
    indices=["ndvi", "evi"],
    terrain=["elevation", "slope", "northness"],
    extra={"height_mean": ("chm", 1), "height_p95": ("chm", 1, "p95"), "crown_cover": ("crown", 1)},
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    feats = rf.at_points(scene.plots, footprint=scene.plot_size_m)
table = scene.plots.join(feats).dropna(subset=rf.feature_names)
table = table[
    table["height_mean"] < table["height_mean"].quantile(0.8)
]  # no plot in the tallest 20 %
X, y = table[rf.feature_names + ["x", "y"]], table["agb"]
model = RandomForestRegressor(n_estimators=200, min_samples_leaf=2, n_jobs=2, random_state=0)
model.fit(X[rf.feature_names], y)
print(f"{len(X)} plots, {len(rf.feature_names)} features")

# %%
# Which cross-validation resembles the map?
# -----------------------------------------
# Prediction locations: a regular sample of the scene's cells. kNNDM picks folds whose
# held-out-to-training distances match the cell-to-plot distances. The plots are spread over
# the scene, so random CV already resembles the map geographically and kNNDM stays close to
# it, while 200 m blocks hold plots out much farther than any cell is from a plot. The
# trouble here is not geographic distance but predictor space, which the AOA measures.
cells = prediction_locations(scene.sources["landcover"], n=2000)
knndm = KNNDM(cells, n_splits=5, random_state=0)
cvs = {
    "random 5-fold": KFold(5, shuffle=True, random_state=0),
    "block 5-fold (200 m)": SpatialBlockKFold(5, block_size=200, random_state=0),
    "kNNDM 5-fold": knndm,
}
g = geodist(X, cells, cv=cvs)
print(g.summary().round(1).to_string())
g.plot(title="Nearest-neighbour distances: plots, map cells, CV").savefig(
    out / "09_geodist.png", dpi=100
)
oof = cross_val_predict(model, X[rf.feature_names], y, cv=list(knndm.split(X)))
print(f"kNNDM CV RMSE {np.sqrt(np.mean((oof - y) ** 2)):.1f} Mg/ha")

# %%
# Dissimilarity index and area of applicability
# ---------------------------------------------
# Predictors are standardised and weighted by mean absolute SHAP value; each plot's DI is measured to the
# plots it was trained on when kNNDM held it out, and the threshold is the outlier-removed
# maximum of those DIs.
aoa = AreaOfApplicability(cv=knndm).fit(X, y, model=model)
print(aoa.summary().to_string())
print(aoa.weights_.sort_values(ascending=False).round(2).to_string())

# %%
# The map with DI and AOA bands, and carbon inside the AOA
# ---------------------------------------------------------
tif = predict_raster(
    model,
    rf,
    out / "09_agb_aoa.tif",
    resolution=30,
    mask=(scene.sources["landcover"], [1, 2]),
    applicability=aoa,
    progress=False,
)
with rasterio.open(tif) as ds:
    print(ds.descriptions)
    agb, di, inside = (
        ds.read(ds.descriptions.index("agb") + 1),
        ds.read(ds.descriptions.index("di") + 1),
        ds.read(ds.descriptions.index("aoa") + 1),
    )
    transform, shape = ds.transform, ds.shape
stock = carbon_stock(tif, aoa=True).loc["all"]
print(
    f"carbon inside the AOA {stock['stock_MgC']:,.0f} MgC; {stock['outside_aoa_pct']:.1f} % of the mapped "
    f"area ({stock['outside_aoa_area_ha']:.1f} ha, {stock['outside_aoa_stock_MgC']:,.0f} Mg "
    "C) lies outside it"
)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
two = matplotlib.colors.ListedColormap(["tab:red", "tab:green"])
for ax, arr, title, cmap in [
    (axes[0], agb, "AGB (Mg/ha)", "YlGn"),
    (axes[1], di, "DI", "magma_r"),
    (axes[2], inside, "AOA (1 = inside, 0 = outside)", two),
]:
    im = ax.imshow(arr, cmap=cmap)
    ax.set_title(title)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()
fig.savefig(out / "09_aoa_map.png", dpi=100)

# %%
# DI against the map's true error
# -------------------------------
# The scene is made of trees, so every 30 m cell's true AGB is known: the sum of the biomass
# of its trees over its area. The absolute error grows with the DI, and outside the AOA (the
# tall stands no plot saw) it is several times the cross-validated RMSE.
t = scene.trees
col = np.floor((t["x"] - transform.c) / transform.a).astype(int)
row = np.floor((t["y"] - transform.f) / transform.e).astype(int)
ok = (row >= 0) & (row < shape[0]) & (col >= 0) & (col < shape[1])
truth = np.zeros(shape)
np.add.at(truth, (row[ok], col[ok]), t["biomass"][ok] / 1000.0)
truth /= abs(transform.a * transform.e) / 10_000.0  # Mg per cell -> Mg/ha
m = np.isfinite(agb) & np.isfinite(di)
err, d = np.abs(agb - truth)[m], di[m]
edges = np.quantile(d, np.linspace(0, 1, 6))
k = np.clip(np.searchsorted(edges, d, side="right") - 1, 0, 4)
for i in range(5):
    print(f"DI {edges[i]:.2f}-{edges[i + 1]:.2f}: mean |error| {err[k == i].mean():5.1f} Mg/ha")
print(
    f"inside the AOA {err[inside[m] == 1].mean():.1f} Mg/ha, outside {err[inside[m] == 0].mean():.1f} Mg/ha"
)
fig, ax = plt.subplots(figsize=(5, 4))
ax.scatter(d, err, s=6, alpha=0.5, c=np.where(inside[m] == 1, "tab:green", "tab:red"))
ax.axvline(aoa.threshold_, color="k", ls="--", label=f"AOA threshold {aoa.threshold_:.2f}")
ax.set_xlabel("dissimilarity index")
ax.set_ylabel("|map - true AGB| (Mg/ha)")
ax.legend()
fig.tight_layout()
fig.savefig(out / "09_di_error.png", dpi=100)
