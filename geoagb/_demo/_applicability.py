"""Demo step: where the AGB map may be trusted (kNNDM CV, geographic distances, DI and AOA)."""

from __future__ import annotations

from ..applicability import KNNDM, AreaOfApplicability, geodist, prediction_locations
from ..mapping import carbon_stock, predict_raster
from ..model_selection import SpatialBlockKFold
from ._mapping import _scene_data

TITLE = (
    "Where the model may be trusted: kNNDM CV, nearest-neighbour distances, area of applicability"
)


def run(ctx) -> None:
    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import rasterio
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold

    scene, rf, plots = _scene_data(ctx)
    data = plots.dropna(subset=rf.feature_names + ["agb"])
    X, y = data[rf.feature_names + ["x", "y"]], data["agb"]
    model = RandomForestRegressor(
        n_estimators=50 if ctx.quick else 100,
        min_samples_leaf=2,
        max_features=0.5,
        n_jobs=2,
        random_state=ctx.random_state,
    ).fit(X[rf.feature_names], y)

    # which CV resembles the map? nearest-neighbour distances of plots, map cells and held-out plots
    lc = scene.sources["landcover"]
    cells = prediction_locations(lc, n=1000)
    res = KNNDM(cells, n_splits=5, random_state=ctx.random_state).match(X)  # folds computed once
    extent = float(max(np.ptp(X["x"]), np.ptp(X["y"])))
    cvs = {
        "random 5-fold": KFold(5, shuffle=True, random_state=ctx.random_state),
        f"blocks of {extent / 5:.0f} m": SpatialBlockKFold(
            5, block_size=extent / 5, random_state=ctx.random_state
        ),
        "kNNDM 5-fold": res.folds,
    }
    g = geodist(X, cells, cv=cvs)
    fig = g.plot(title="Nearest-neighbour distances: plots, map cells, CV folds")
    fig.savefig(ctx.path("geodist.png"), dpi=110)
    plt.close(fig)
    how = (
        "random folds (the cells are no farther from the plots than the plots from each other)"
        if res.random_cv
        else f"{res.n_clusters} clusters merged into 5 folds"
    )
    ctx.echo(
        "    Wasserstein distance of the CV distances to the cell-to-plot distances: "
        + ", ".join(f"{k} {v:,.1f} m" for k, v in g.W_cv.items())
        + f"; kNNDM chose {how}"
    )

    # dissimilarity index and area of applicability, weighted by mean |SHAP|, threshold from kNNDM
    aoa = AreaOfApplicability().fit(X, y, model=model, folds=res.folds)
    top = aoa.weights_.sort_values(ascending=False)
    ctx.echo(
        f"    AOA: threshold DI {aoa.threshold_:.3f} ({aoa.weight_rule_} weights, heaviest "
        f"{', '.join(top.index[:3])}); {100 * np.mean(aoa.training_di_ <= aoa.threshold_):.0f} % "
        "of the plots inside under kNNDM"
    )
    out = predict_raster(
        model,
        rf,
        ctx.path("agb_aoa.tif"),
        resolution=30.0,
        mask=(lc, [1, 2]),
        return_std=False,
        applicability=aoa,
        progress=False,
    )
    with rasterio.open(out) as ds:
        names = ds.descriptions
        di, inside = ds.read(names.index("di") + 1), ds.read(names.index("aoa") + 1)
    stock = carbon_stock(out, aoa=True).loc["all"]
    ctx.echo(
        f"    {stock['outside_aoa_pct']:.1f} % of the mapped area ({stock['outside_aoa_area_ha']:.1f} ha, "
        f"{stock['outside_aoa_stock_MgC']:,.0f} MgC) lies outside the AOA; carbon stock inside it "
        f"{stock['stock_MgC']:,.0f} MgC -> {out}"
    )
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, arr, title, cmap in [
        (axes[0], di, "dissimilarity index", "magma_r"),
        (
            axes[1],
            inside,
            "area of applicability (green = inside)",
            matplotlib.colors.ListedColormap(["tab:red", "tab:green"]),
        ),
    ]:
        im = ax.imshow(arr, cmap=cmap)
        ax.set_title(title)
        ax.set_axis_off()
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(ctx.path("aoa.png"), dpi=110)
    plt.close(fig)
    ctx.echo(f"    wrote {ctx.path('geodist.png')} and {ctx.path('aoa.png')}")
    ctx.data.update(aoa=aoa, aoa_map=out, knndm=res, geodist=g)
