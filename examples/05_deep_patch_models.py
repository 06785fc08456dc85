"""
Deep patch models: CSMF-Net, patch ResNet and the pixel / tabular baselines
===========================================================================

Patch-to-point regression (FineKarstAGB and the Tibet ResNet study): a plot-sized image chip goes
in, one AGB value and
its uncertainty come out. This example builds a synthetic sub-metre scene, cuts a 26 x 26 px
patch of imagery, tree crowns and canopy height around every field plot, holds out whole spatial
blocks as a test set, and compares CSMF-Net (three branches, crown-gated height, cross-attention,
heteroscedastic head) with a patch ResNet, a pixel MLP that sees each plot as one 30 m pixel,
and XGBoost on per-patch summaries. It then reads the CSMF-Net uncertainty, its training curve,
how much of each prediction comes from imagery, crowns and height, and saves the model.
"""

# %%
# A 1.2 km scene at 1 m with 260 plots of 0.0667 ha, and the plot patches.
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import torch  # noqa: E402
from xgboost import XGBRegressor  # noqa: E402

from geoagb.datasets import make_scene  # noqa: E402
from geoagb.deep import CSMFNetRegressor, PatchResNetRegressor, PixelMLPRegressor  # noqa: E402
from geoagb.features import extract_patches  # noqa: E402
from geoagb.metrics import agb_scores  # noqa: E402
from geoagb.model_selection import SpatialBlockKFold  # noqa: E402

torch.set_num_threads(1)  # small networks: one thread beats two on two (shared) cores
out = Path("geoagb-examples")
out.mkdir(exist_ok=True)
scene = make_scene(Path(tempfile.mkdtemp()) / "scene", size_m=1200.0, n_plots=260, random_state=0)
bands = {
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir",
    "crown": "crown",
    "height": "chm",
}
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    X = extract_patches(scene.sources, scene.plots, size_m=scene.plot_size_m, bands=bands)
y = scene.plots["agb"].to_numpy(float)
print(X, f"AGB {y.min():.0f}-{y.max():.0f} Mg/ha")

# %%
# Hold out one fold of 300 m blocks (about 20 % of the plots) as the test set.
cv = SpatialBlockKFold(n_splits=5, block_size=300.0, random_state=0)
train, test = next(cv.split(X, y))
print(f"{len(train)} training plots, {len(test)} test plots in held-out blocks")

# %%
# The four models, trained on the same plots. Patch models read the PatchSet; XGBoost reads
# per-patch summaries (band means, NDVI, crown cover, height mean and p95).
common = dict(max_epochs=40, batch_size=32, patience=10, verbose=0, random_state=0)
models = {
    "CSMF-Net": CSMFNetRegressor(width=8, n_stages=3, d_k=32, head=(32,), lr=3e-3, **common),
    "patch ResNet": PatchResNetRegressor(width=8, n_stages=3, head=(64, 32), lr=3e-3, **common),
    "pixel MLP (30 m pixel)": PixelMLPRegressor(pixel="mean", head=(64, 32), lr=1e-2, **common),
}
summary = X.summarize().drop(columns=["x", "y"])
predictions = {}
for name, model in models.items():
    t0 = time.perf_counter()
    predictions[name] = model.fit(X[train], y[train]).predict(X[test])
    print(
        f"{name:<24} fitted in {time.perf_counter() - t0:4.1f} s, {len(model.history_['epoch'])} epochs"
    )
xgb = XGBRegressor(
    n_estimators=400, learning_rate=0.05, max_depth=4, subsample=0.8, random_state=0, n_jobs=2
)
predictions["XGBoost (patch summary)"] = xgb.fit(summary.iloc[train], y[train]).predict(
    summary.iloc[test]
)
print(f"\n{'model':<26}{'r':>7}{'R2':>7}{'RMSE':>8}{'MAE':>7}{'bias %':>8}")
for name, pred in predictions.items():
    s = agb_scores(y[test], pred)
    print(
        f"{name:<26}{s['r']:>7.3f}{s['r2']:>7.3f}{s['rmse']:>8.1f}{s['mae']:>7.1f}"
        f"{100 * s['overall_bias']:>8.1f}"
    )

# %%
# CSMF-Net's heteroscedastic head gives a standard deviation per plot: how often does the
# observed AGB fall within 1.96 sigma of the prediction?
csmf = models["CSMF-Net"]
mean, std = csmf.predict(X[test], return_std=True)
inside = np.mean(np.abs(y[test] - mean) <= 1.96 * std)
print(
    f"\nCSMF-Net: median sigma {np.median(std):.1f} Mg/ha, {100 * inside:.0f} % of test plots "
    "within the 95 % interval"
)
csmf.plot_history().savefig(out / "05_csmf_history.png", dpi=100)

# %%
# Where do the predictions come from? Integrated gradients from a "no trees" baseline (mean
# imagery, no crowns, zero height), summed per band and per branch, in Mg/ha.
# ``explain`` returns the same Explanation object as for tree models (per-band values).
ex = csmf.explain(X[test], n_steps=32)
share = ex.extra["branch_attributions"].abs().mean()
print("mean |attribution| per branch (Mg/ha):", share.round(1).to_dict())
print(
    "largest |delta| (completeness check, Mg/ha):", float(np.abs(ex.extra["delta"]).max().round(2))
)

# %%
# Save weights + JSON config (no pickled code) and load them back: identical predictions.
path = out / "05_csmf.pt"
csmf.save(path)
again = CSMFNetRegressor.load(path)
print("reloaded model predicts identically:", bool(np.array_equal(again.predict(X[test]), mean)))
