"""Demo step: deep patch models against pixel and tabular learners under spatial block CV."""

from __future__ import annotations

import time
import warnings

from ..datasets import make_scene
from ..features import extract_patches
from ..model_selection import SpatialBlockKFold, spatial_cross_validate

TITLE = "Deep patch models on the synthetic scene"

#: PatchSet band name -> raster band (the height band is the canopy height model).
BANDS = {
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir",
    "crown": "crown",
    "height": "chm",
}


def _models(quick: bool, seed: int) -> dict:
    from xgboost import XGBRegressor

    from ..deep import CSMFNetRegressor, PatchResNetRegressor, PixelMLPRegressor

    epochs = 3 if quick else 30
    common = dict(max_epochs=epochs, batch_size=32, patience=8, verbose=0, random_state=seed)
    w = 4 if quick else 8
    return {
        "CSMF-Net": CSMFNetRegressor(
            width=w, n_stages=3, d_k=16 if quick else 32, head=(32,), lr=3e-3, **common
        ),
        "patch ResNet": PatchResNetRegressor(
            width=w, n_stages=3, head=(32,) if quick else (64, 32), lr=3e-3, **common
        ),
        "pixel MLP (30 m pixel)": PixelMLPRegressor(pixel="mean", head=(64, 32), lr=1e-2, **common),
        "XGBoost (patch summary)": XGBRegressor(
            n_estimators=60 if quick else 400,
            learning_rate=0.05,
            max_depth=4,
            subsample=0.8,
            random_state=seed,
            n_jobs=2,
        ),
    }


def run(ctx) -> None:
    try:
        import torch
    except ImportError:
        ctx.echo('    skipped: the deep models need PyTorch (pip install "geoagb[deep]")')
        return
    # the demo's networks are small: one intra-op thread is faster than two fighting over two
    # (shared) cores, often by a factor of ten
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _run(ctx)
    finally:
        torch.set_num_threads(n_threads)


def _run(ctx) -> None:
    import numpy as np
    import pandas as pd

    scene = ctx.data.get("scene")
    if scene is None:
        size, n_plots = (500.0, 60) if ctx.quick else (1500.0, 200)
        scene = make_scene(
            ctx.out / "scene", size_m=size, n_plots=n_plots, random_state=ctx.random_state
        )
    plots = ctx.data.get("scene_plots", scene.plots)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nodata counts: every demo plot lies inside the scene
        X = extract_patches(scene.sources, plots, size_m=scene.plot_size_m, bands=BANDS)
    y = plots["agb"].to_numpy(dtype=float)
    side = float(scene.bounds[2] - scene.bounds[0]) or float(np.ptp(X.coords[:, 0]))
    cv = SpatialBlockKFold(n_splits=4, block_size=side / 4, random_state=ctx.random_state)
    ctx.echo(
        f"    {len(X)} plots, patches {X.shape[2]}x{X.shape[3]} px of {', '.join(X.bands)}; "
        f"spatial block CV: 4 folds of {side / 4:.0f} m blocks"
    )

    summary = X.summarize()
    rows, fitted = [], {}
    for name, est in _models(ctx.quick, ctx.random_state).items():
        data = summary if name.startswith("XGBoost") else X
        t0 = time.perf_counter()
        res = spatial_cross_validate(est, data, y, cv=cv, progress=False, label=name)
        s = res.summary(fmt=None)
        oof = res.oof_scores()
        rows.append(
            {
                "model": name,
                "val_r2": s.loc["validation", "r2_mean"],
                "val_r2_sd": s.loc["validation", "r2_sd"],
                "train_r2": s.loc["train", "r2_mean"],
                "oof_r2": oof["r2"],
                "oof_rmse": oof["rmse"],
                "oof_mae": oof["mae"],
                "bias_pct": 100 * oof["overall_bias"],
                "seconds": time.perf_counter() - t0,
            }
        )
        fitted[name] = est
    table = pd.DataFrame(rows)
    table.to_csv(ctx.path("deep_models.csv"), index=False)
    ctx.echo(
        f"      {'model':<26}{'val R2':>15}{'train R2':>10}{'RMSE':>8}{'MAE':>8}{'bias %':>8}{'s':>6}"
    )
    for r in table.itertuples():
        ctx.echo(
            f"      {r.model:<26}{r.val_r2:>8.3f} ± {r.val_r2_sd:.2f}{r.train_r2:>10.3f}"
            f"{r.oof_rmse:>8.1f}{r.oof_mae:>8.1f}{r.bias_pct:>8.1f}{r.seconds:>6.0f}"
        )
    ctx.echo(
        "      (val R2: mean ± sd over folds; RMSE, MAE in Mg/ha and bias of the pooled "
        "out-of-fold predictions)"
    )

    patch_rows = table[~table["model"].str.startswith(("XGBoost", "pixel"))]
    best = patch_rows.sort_values("oof_r2", ascending=False)["model"].iloc[0]
    model = fitted[best].fit(X, y)
    ctx.data["deep_model"] = model
    ctx.data["deep_patches"] = X
    msg = f"    best patch model: {best}, refitted on all {len(X)} plots (ctx.data['deep_model'])"
    if hasattr(model, "_explain_patches"):
        ex = model._explain_patches(X[: min(len(X), 24)], n_steps=16)
        share = ex["branch_attributions"].abs().mean()
        share = (100 * share / share.sum()).round(0)
        msg += "; |attribution| share " + ", ".join(f"{k} {v:.0f}%" for k, v in share.items())
    ctx.echo(msg)
    ctx.echo(f"    wrote {ctx.path('deep_models.csv')}")
