"""
Explaining AGB models with SHAP, interactions, thresholds and residual kriging
==============================================================================

Seed study 004 explains an XGBoost carbon-density model with SHAP: which features matter,
where their effects change (thresholds from segmented regression) and which spectral x terrain
pairs interact. This example does the same on the embedded synthetic plots, then explains a
residual-kriging model, whose prediction is the learner's plus a kriged residual: the kriged
residual becomes one more additive SHAP term, ``spatial_residual``.

Figures are written to ``./geoagb-examples/``.
"""

# %%
# Data and model
# --------------
# 600 synthetic plots in UTM 48N with spectral bands and indices, terrain and canopy structure;
# AGB in Mg/ha. The landscape plants an elevation x vigour interaction that the model can only
# see as elevation x NDVI.
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, no window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from xgboost import XGBRegressor  # noqa: E402

from geoagb.datasets import PLOT_FEATURES, make_plots  # noqa: E402
from geoagb.explain import explain  # noqa: E402

out = Path("geoagb-examples")
out.mkdir(exist_ok=True)
plots = make_plots(600, random_state=0)
X, y = plots[PLOT_FEATURES], plots["agb"]
model = XGBRegressor(
    n_estimators=300, learning_rate=0.05, max_depth=4, subsample=0.8, n_jobs=1, random_state=0
).fit(X, y)

# %%
# SHAP values and interaction values
# ----------------------------------
# ``explain`` uses XGBoost's own TreeSHAP for the SHAP values and exact per-leaf tables for
# the interaction values. The values add up to the prediction:
ex = explain(model, X, interactions=True)
print(ex)
print(
    "max |base + sum(SHAP) - prediction| =", np.abs(ex.prediction - model.predict(X)).max(), "Mg/ha"
)

# %%
# Global importance, per feature and per group (spectral, terrain, structure; see
# ``geoagb.explain.GROUP_RULES`` for the name-based rule).
print(ex.importance().head(8).round(2))
print(ex.importance(groups="auto").round(2))
fig = ex.summary_plot(max_display=12)
fig.savefig(out / "04_shap_summary.png", dpi=100)

# %%
# Thresholds
# ----------
# Segmented regression of NDVI's SHAP values on NDVI: the number of breakpoints is chosen by
# BIC, each with a 95 % profile confidence interval. The dependence plot is coloured by
# elevation; red dotted lines are the thresholds, the dashed black line the median.
th = ex.dependence_thresholds("ndvi", max_breakpoints=2, color_by="elevation")
print(th.to_frame().round(4))
fig = th.plot()
fig.savefig(out / "04_dependence_ndvi.png", dpi=100)

# %%
# Spectral x terrain interactions
# -------------------------------
# Mean absolute SHAP interaction value of each spectral x terrain pair (the whole pair, Phi_ij + Phi_ji).
top = ex.top_interactions(5, between=("spectral", "terrain"))
print(top[["feature_a", "feature_b", "mean_abs_interaction"]].round(3))
fig = ex.interaction_plot("ndvi", "elevation")
fig.savefig(out / "04_interaction_ndvi_elevation.png", dpi=100)

# %%
# Residual kriging: the spatial term
# ----------------------------------
# The residual-kriging regressor adds a kriged out-of-fold residual to the learner. Its
# explanation is the learner's SHAP values plus ``spatial_residual``, and still sums to
# ``rk.predict(X)``.
from geoagb.kriging import ResidualKrigingRegressor  # noqa: E402

Xc = plots.drop(columns="agb")  # coordinates travel with X
rk = ResidualKrigingRegressor(
    XGBRegressor(n_estimators=150, learning_rate=0.05, max_depth=4, n_jobs=1, random_state=0),
    n_neighbors=32,
    random_state=0,
).fit(Xc, y)
ex_rk = rk.explain(Xc)
print(
    "max |base + sum(SHAP) - rk.predict| =",
    np.abs(ex_rk.prediction - rk.predict(Xc)).max(),
    "Mg/ha",
)
print(ex_rk.importance(groups="auto").round(2))
fig = ex_rk.importance_plot(groups="auto")
fig.savefig(out / "04_importance_residual_kriging.png", dpi=100)
plt.close("all")
