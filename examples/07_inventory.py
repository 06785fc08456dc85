"""
Field data: from tree measurements to plot carbon density, and plot quality control
====================================================================================

A National Forest Inventory (NFI) plot records every tree's species, diameter at breast height
(DBH) and height. The Shenzhen urban-carbon study (Shenzhen urban vegetation carbon) turns those
records into a plot
carbon density with species tables:

1. tree volume ``V = a D^b H^c`` (m^3; Table A1),
2. stand volume ``M = sum V / plot area`` (m^3/ha),
3. biomass ``B = BEF * M`` with ``BEF = a + b / M`` (Mg/ha; Table A2): M is the stand volume
   **per hectare**, never the volume of one tree,
4. carbon ``C = B * ratio`` (MgC/ha; Table A3), plus shrubs and grass from their heights,
5. growth to the year of the imagery, ``C_ref = C_y (1 + r)^(ref - y)``.

The Tibet ResNet study adds belowground biomass with a root:shoot ratio of 0.35, and FineKarstAGB
removes plots that
the imagery contradicts (a random forest on three robust plot features; relative error above 50 %).
This example runs every step with :mod:`geoagb.inventory`.
"""

# %%
# A small tree table
# ------------------
# Three 0.0667 ha plots (25.83 m x 25.83 m), measured in 2014 and 2015, with Chinese fir,
# eucalyptus, slash pine and broad-leaved trees.
import numpy as np
import pandas as pd

from geoagb import inventory as inv

rng = np.random.default_rng(0)
species = ["cunninghamia_lanceolata", "eucalyptus", "pinus_elliottii", "broadleaved"]
rows = []
for plot, (n_trees, year) in enumerate([(30, 2014), (45, 2015), (22, 2014)]):
    sp = rng.choice(species, n_trees, p=[0.4, 0.3, 0.1, 0.2])
    dbh = rng.gamma(6.0, 3.0, n_trees) + 5.0  # cm
    height = 1.3 + 25 * (1 - np.exp(-0.045 * dbh)) * rng.lognormal(0, 0.1, n_trees)  # m
    rows.append(
        pd.DataFrame({"plot_id": plot, "year": year, "species": sp, "dbh": dbh, "height": height})
    )
trees = pd.concat(rows, ignore_index=True)
print(trees.head())

# %%
# Tree volume (Table A1) and stand volume per hectare
# ---------------------------------------------------
# One species per tree; the equation is looked up per tree.
trees["volume"] = inv.tree_volume(trees["dbh"], trees["height"], trees["species"])
print(inv.species_table("volume")[["key", "a", "b", "c"]])

# %%
# Stand volume M is the sum over all trees of a plot, per hectare. The BEF equations (Table A2)
# are fitted on whole stands, one per forest type, so each plot gets the forest type of its
# dominant species (by volume). Table A2 has no slash-pine row (we use "other conifer species"),
# and the generic broad-leaved trees of Table A1 go with the subtropical evergreen broad-leaved
# forest. The intercept b (Mg/ha) belongs to the stand: splitting a mixed plot into per-species
# stand volumes would add it once per species and inflate the biomass of minor components.
forest_type = {
    "cunninghamia_lanceolata": "cunninghamia_lanceolata",
    "eucalyptus": "eucalyptus",
    "pinus_elliottii": "other_conifers",
    "broadleaved": "subtropical_evergreen_broadleaved",
}
carbon_species = {
    "cunninghamia_lanceolata": "cunninghamia_lanceolata",
    "eucalyptus": "eucalyptus",
    "pinus_elliottii": "pinus_elliottii",
    "broadleaved": "other_broadleaved_hardwood",
}
plot_area_m2 = 25.83**2
stand = (
    inv.plot_density(trees, plot_area_m2, column="volume", by="plot_id")
    .rename("M_m3_ha")
    .to_frame()
)
share = trees.pivot_table(
    index="plot_id", columns="species", values="volume", aggfunc="sum", fill_value=0
)
share = share.div(share.sum(axis=1), axis=0)
stand["dominant"] = share.idxmax(axis=1)
# carbon fraction of each plot: the volume-weighted mean of its species' ratios (Table A3)
ratios = pd.Series(
    {
        sp: float(inv.species_table("carbon").set_index("key").loc[key, "ratio"])
        for sp, key in carbon_species.items()
    }
)
stand["carbon_ratio"] = share @ ratios[share.columns]

# %%
# Biomass (BEF, Table A2) and carbon (Table A3)
# ---------------------------------------------
stand["B_Mg_ha"], stand["BEF"] = inv.bef_biomass(
    stand["M_m3_ha"], stand["dominant"].map(forest_type), return_bef=True
)
stand["C_MgC_ha"] = inv.carbon_content(stand["B_Mg_ha"], ratio=stand["carbon_ratio"])
print(stand.round(3).to_string())

# %%
# The classic mistake, feeding single-tree volumes to the BEF, is caught with a warning: for a
# tree of 0.2 m^3 the term b / M would multiply its biomass by about a hundred.
import warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    inv.bef_biomass(trees["volume"].head(3), "cunninghamia_lanceolata")
print(caught[0].message)

# %%
# Shrubs, grass, growth to 2016 and belowground biomass
# -----------------------------------------------------
# The Shenzhen urban-carbon study's height equations (Fan 2011) give the shrub and grass layers
# from their mean
# heights; they are converted to carbon with the "bush" and "herbal" ratios of Table A3. The
# seed does not state the unit of these equations; here we read them as Mg/ha for illustration.
plots = stand[["B_Mg_ha", "C_MgC_ha"]].copy()
plots["year"] = trees.groupby("plot_id")["year"].first()
shrub_h, grass_h = np.array([1.2, 0.8, 2.0]), np.array([0.4, 0.3, 0.6])
plots["C_MgC_ha"] += inv.carbon_content(inv.shrub_biomass(shrub_h), "bush")
plots["C_MgC_ha"] += inv.carbon_content(inv.grass_biomass(grass_h), "herbal")
plots["C_2016"] = inv.normalize_to_year(plots["C_MgC_ha"], plots["year"], 2016, rate=0.04)
plots["BGB_Mg_ha"] = inv.belowground(plots["B_Mg_ha"], root_shoot=0.35)
print(plots.round(2))

# %%
# Where paired above- and belowground measurements exist, a fitted model replaces the fixed
# ratio (the China 1 km AGBC/BGBC dataset used a random forest); a power law ``BGB = a AGB^b`` is
# the simplest.
agb_obs = rng.uniform(20, 250, 300)
bgb_obs = 0.45 * agb_obs**0.92 * rng.lognormal(0, 0.15, 300)
power = inv.fit_belowground(agb_obs, bgb_obs, method="power")
print(f"BGB = {power.a:.3f} AGB^{power.b:.3f}  (smearing {power.smearing:.3f}, R2 {power.r2:.2f})")
plots["BGB_fitted"] = inv.belowground(plots["B_Mg_ha"], model=power)

# %%
# Plot quality control (FineKarstAGB)
# -----------------------------------
# Field AGB measured years before the imagery (harvest, disturbance, regrowth) contradicts the
# image. :func:`geoagb.inventory.filter_inconsistent_plots` drops incomplete and non-positive
# records, predicts each plot's AGB out of fold from mean NDVI, crown cover and canopy height with
# a small random forest, and drops the plots whose relative error exceeds 50 %. The synthetic
# plots of :func:`geoagb.datasets.make_plots` carry planted inconsistent plots to check against.
import matplotlib.pyplot as plt

from geoagb.datasets import make_plots

field, truth = make_plots(600, random_state=1, return_truth=True, inconsistent_fraction=0.05)
kept, report = inv.filter_inconsistent_plots(field, threshold=0.5)
print(report[["reason", "observed", "predicted", "relative_error"]].head().round(2))
planted = truth["inconsistent"].to_numpy()
dropped = field.index.isin(report.index)
hit = int((planted & dropped).sum())
print(
    f"dropped {dropped.sum()} of {len(field)} plots; found {hit} of {planted.sum()} planted "
    f"(precision {hit / dropped.sum():.2f}, recall {hit / planted.sum():.2f})"
)

# %%
# Most false alarms are low-AGB plots: a relative error divides by the observed value, so the
# unexplained spatial residual and measurement noise of a 20 Mg/ha plot easily exceed 50 %.
fig, ax = plt.subplots(figsize=(5, 5))
rel = report[report["reason"] == "relative error"]
ax.scatter(
    field.loc[~dropped, "agb"], field.loc[~dropped, "agb"], s=4, c="0.7", label="kept (observed)"
)
ax.scatter(
    rel["observed"],
    rel["predicted"],
    s=12,
    c="tab:orange",
    label="dropped: observed vs OOF prediction",
)
ax.scatter(
    field.loc[planted, "agb"],
    field.loc[planted, "agb"],
    s=40,
    facecolors="none",
    edgecolors="k",
    label="planted inconsistent",
)
ax.set(xlabel="observed AGB (Mg/ha)", ylabel="AGB (Mg/ha)", xscale="log", yscale="log")
ax.legend(fontsize=7)
fig.tight_layout()
