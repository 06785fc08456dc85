"""
Residual kriging: a learner plus kriged out-of-fold residuals
=============================================================

The Lishui CNN-Transformer study improves an AGB model by kriging its residuals, ordinary kriging
or co-kriging with
elevation. :class:`geoagb.kriging.ResidualKrigingRegressor` does this as one scikit-learn
estimator: it fits the learner, computes its *out-of-fold* residuals (each plot's residual from
a model that did not see it), fits their variogram and kriges them to new locations.

This example

1. estimates and fits the residual variogram,
2. compares XGBoost, residual kriging (ordinary and collocated co-kriging with elevation) and
   kriging of in-sample residuals under 5 km spatial block cross-validation,
3. maps the kriged residual correction and its standard deviation,
4. shows the lower-level objects (``Variogram``, ``OrdinaryKriging``, ``CoKriging``).
"""

# %%
# Data and learner
# ----------------
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_predict
from xgboost import XGBRegressor

from geoagb.datasets import make_plots
from geoagb.kriging import (
    CoKriging,
    OrdinaryKriging,
    ResidualKrigingRegressor,
    Variogram,
    plot_variogram,
)
from geoagb.model_selection import SpatialBlockKFold

out = Path("geoagb-examples")
out.mkdir(exist_ok=True)

plots = make_plots(600, random_state=0)  # GeoDataFrame, EPSG:32648, AGB in Mg/ha
X, y = plots.drop(columns="agb"), plots["agb"].to_numpy()
xgb = XGBRegressor(
    n_estimators=200,
    learning_rate=0.08,
    max_depth=6,
    subsample=0.8,
    colsample_bytree=0.8,
    n_jobs=1,
    random_state=0,
)

# %%
# The residual variogram
# ----------------------
# ``fit`` keeps the out-of-fold residuals and the variogram fitted to them (``"auto"`` tries
# spherical, exponential and gaussian models with gstat's weighted least squares).
rk = ResidualKrigingRegressor(xgb, n_neighbors=64, random_state=0).fit(X, y)
v = rk.residual_variogram_
print(v)
print("as gstat would write it:", v.to_gstat())
fig = plot_variogram(v, unit="Mg/ha", title="XGBoost out-of-fold residuals")
fig.savefig(out / "03_residual_variogram.png", dpi=100)

# %%
# Spatial cross-validation: does kriging the residuals help?
# ----------------------------------------------------------
# Blocks of 5 km keep neighbouring plots in the same fold. In-sample residuals of boosted
# trees are shrunk towards zero, so kriging them barely corrects anything.
cv = list(SpatialBlockKFold(n_splits=5, block_size=5_000, random_state=0).split(X))
features = rk.learner_features(X)
candidates = {
    "XGBoost": (xgb, features),
    "RK-OK": (ResidualKrigingRegressor(xgb, random_state=0), X),
    "RK-CK (elevation)": (
        ResidualKrigingRegressor(xgb, method="cokriging", secondary="elevation", random_state=0),
        X,
    ),
    "RK-OK, in-sample residuals": (
        ResidualKrigingRegressor(xgb, residuals="insample", random_state=0),
        X,
    ),
}
rmse = {}
for name, (est, data) in candidates.items():
    pred = cross_val_predict(est, data, y, cv=cv)
    rmse[name] = float(np.sqrt(np.mean((y - pred) ** 2)))
for name, e in rmse.items():
    ri = (rmse["XGBoost"] - e) / rmse["XGBoost"]
    print(f"{name:28s} RMSE {e:6.2f} Mg/ha   RI {ri:+.1%}")

# %%
# Mapping the correction
# ----------------------
# ``predict_residual`` only needs coordinates (and, for co-kriging, the secondary), so a grid
# of points is enough to map the kriged residual and its kriging standard deviation.
x0, y0 = X["x"].min(), X["y"].min()
gx, gy = np.meshgrid(np.linspace(x0, x0 + 60_000, 120), np.linspace(y0, y0 + 60_000, 120))
grid = pd.DataFrame({"x": gx.ravel(), "y": gy.ravel()})
res, sd = rk.predict_residual(grid, return_std=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
lim = np.abs(res).max()
styles = ({"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}, {"cmap": "viridis"})
for ax, val, style, title in zip(
    axes, (res, sd), styles, ("kriged residual (Mg/ha)", "kriging std (Mg/ha)")
):
    im = ax.pcolormesh(gx, gy, val.reshape(gx.shape), shading="auto", **style)
    ax.scatter(X["x"], X["y"], s=3, c="k")
    ax.set_title(title)
    ax.set_aspect("equal")
    fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()
fig.savefig(out / "03_residual_map.png", dpi=100)

# %%
# The lower-level objects
# -----------------------
# A model in gstat's parameterisation (``vgm(psill, "Sph", range, nugget)``), ordinary kriging
# in a 20-neighbour moving window, and collocated co-kriging with elevation.
xy = X[["x", "y"]].to_numpy()
fixed = Variogram.from_params(
    model="spherical", psill=v.psill_, range=v.effective_range_, nugget=v.nugget_
)
ok = OrdinaryKriging(fixed, n_neighbors=20).fit(xy, rk.oof_residuals_)
m_ok, s_ok = ok.predict(grid[["x", "y"]].to_numpy(), return_std=True)
ck = CoKriging(mode="collocated", variogram=fixed, n_neighbors=20).fit(
    xy, rk.oof_residuals_, X["elevation"].to_numpy()
)
print(f"residual-elevation correlation at the plots: {ck.correlation_[0]:+.3f}")
m_ck = ck.predict(xy[:5], secondary=X["elevation"].to_numpy()[:5])
print(f"OK std range on the grid: {s_ok.min():.1f} - {s_ok.max():.1f} Mg/ha")
print("co-kriged residuals at five plots:", np.round(m_ck, 2))
