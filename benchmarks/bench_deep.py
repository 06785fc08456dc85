"""Benchmark: deep patch regressors, speed (patches/s) and accuracy under spatial block CV.

Part 1, throughput, at the seed's patch size (a 0.0667 ha NFI plot, 25.83 m, at 1 m: 26 x 26
px; 6 bands: blue, green, red, nir, crown, height) and batch 32, on the CPU and on CUDA when
present, for every model at its default (seed-sized) architecture and at the small settings of
the demo:
- ``raw_train`` / ``raw_infer``: a bare torch loop (AdamW step / no_grad forward) over the same
  network: the peer every training library reduces to;
- ``fit`` / ``predict``: the geoagb estimator (data preparation, standardisation,
  flip/rot90 augmentation, progress bar) on the same patches; ``fit/raw`` is the share of the
  bare loop's speed that the training core keeps.

Part 2, accuracy: ``make_scene`` landscape, plot patches from ``extract_patches``, spatial block
k-fold (block side 1/4 of the scene), every patch model against XGBoost and random forest on
``PatchSet.summarize()`` features (the same plots, the same folds). Prints one table.

    python benchmarks/bench_deep.py [--part all|speed|accuracy] [--threads 2]
        [--size-m 1500] [--n-plots 400] [--folds 5] [--epochs 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import numpy as np
import pandas as pd
from _baselines import random_forest, xgboost
from _timing import best_time

PATCH = 26
BATCH = 32


def _configs(small: bool) -> dict:
    from geoagb.deep import (
        AlexNetRegressor,
        CNNTransformerRegressor,
        CSMFNetRegressor,
        PatchResNetRegressor,
        PixelMLPRegressor,
        VGGRegressor,
    )

    if not small:  # seed-sized defaults
        return {
            "CSMF-Net": CSMFNetRegressor(),
            "PatchResNet": PatchResNetRegressor(),
            "CNN-Transformer": CNNTransformerRegressor(),
            "AlexNet": AlexNetRegressor(),
            "VGG": VGGRegressor(),
            "PixelMLP": PixelMLPRegressor(),
        }
    return {
        "CSMF-Net": CSMFNetRegressor(width=8, n_stages=3, d_k=32, head=(64, 32)),
        "PatchResNet": PatchResNetRegressor(width=8, n_stages=3, head=(64, 32)),
        "CNN-Transformer": CNNTransformerRegressor(
            width=8, d_model=32, n_heads=4, n_layers=1, dim_feedforward=64, head=(32,)
        ),
        "AlexNet": AlexNetRegressor(width=8, head=(64, 32)),
        "VGG": VGGRegressor(width=8, head=(64, 32)),
        "PixelMLP": PixelMLPRegressor(head=(64, 32)),
    }


def _raw_speed(est, X, device, n_batches=4):
    """Bare torch loop on the estimator's network: (train patches/s, inference patches/s)."""
    import torch

    net = est._build_net(list(X.bands), (PATCH, PATCH)).to(device)
    x = torch.from_numpy(X.data[:BATCH]).to(device)
    y = torch.randn(BATCH, device=device)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    ac = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if device.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )

    def step():
        with ac:
            out = net(x)
        loss = ((out[:, 0].float() - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def train_loop():
        for _ in range(n_batches):
            step()
        sync()

    def infer_loop():
        with torch.no_grad():
            for _ in range(n_batches):
                with ac:
                    net(x)
        sync()

    net.train()
    step()  # warm-up
    train = n_batches * BATCH / best_time(train_loop, repeat=3)
    net.eval()
    infer_loop()
    infer = n_batches * BATCH / best_time(infer_loop, repeat=3)
    return train, infer


def speed(devices):
    from sklearn.base import clone

    from geoagb.deep._toy import toy_patches

    X, y = toy_patches(4 * BATCH, size=PATCH, random_state=0)
    rows = []
    for device in devices:
        for small in (False, True):
            for name, est in _configs(small).items():
                raw_train, raw_infer = _raw_speed(est, X, device)
                fit_est = clone(est).set_params(
                    max_epochs=2,
                    batch_size=BATCH,
                    validation_fraction=0.0,
                    patience=None,
                    verbose=0,
                    random_state=0,
                    device=device.type,
                )
                fit = 2 * len(X) / best_time(lambda: fit_est.fit(X, y), repeat=2)
                pred = len(X) / best_time(lambda: fit_est.predict(X), repeat=3)
                n_par = sum(p.numel() for p in fit_est.module_.parameters())
                rows.append(
                    {
                        "device": device.type,
                        "config": "small" if small else "default",
                        "model": name,
                        "params": n_par,
                        "raw_train": raw_train,
                        "fit": fit,
                        "fit/raw": fit / raw_train,
                        "raw_infer": raw_infer,
                        "predict": pred,
                    }
                )
                print(f"  {device.type:4s} {rows[-1]['config']:7s} {name:16s} done", flush=True)
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:,.1f}".format):
        print(f"\nThroughput, patches/s ({PATCH}x{PATCH} px, 6 bands, batch {BATCH}):")
        print(df.to_string(index=False))
    return df


def accuracy(size_m, n_plots, folds, epochs, seed=0):

    from geoagb.datasets import make_scene
    from geoagb.features import extract_patches
    from geoagb.model_selection import SpatialBlockKFold, spatial_cross_validate

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        scene = make_scene(tmp, size_m=size_m, n_plots=n_plots, random_state=seed)
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
        print(
            f"\nscene {size_m:g} m, {len(X)} plots, patches {X.shape[2]}x{X.shape[3]} px "
            f"({time.perf_counter() - t0:.1f} s)"
        )
    y = scene.plots["agb"].to_numpy(float)
    cv = SpatialBlockKFold(n_splits=folds, block_size=size_m / 4, random_state=seed)
    common = dict(
        max_epochs=epochs, batch_size=32, patience=15, verbose=0, random_state=seed, device="auto"
    )
    small = _configs(True)
    models = {
        name: est.set_params(**common, lr=3e-3 if name != "PixelMLP" else 1e-2)
        for name, est in small.items()
    }
    from geoagb.deep import PixelMLPRegressor

    models["PixelMLP (centre pixel)"] = PixelMLPRegressor(
        pixel="centre", head=(64, 32), lr=1e-2, **common
    )
    tab = X.summarize()
    tabular = {
        "XGBoost (summarize)": xgboost(seed, n_jobs=2),
        "RandomForest (summarize)": random_forest(seed, n_jobs=2),
    }
    rows = []
    for name, est in {**models, **tabular}.items():
        data = tab if name in tabular else X
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
                "oof_bias_%": 100 * oof["overall_bias"],
                "seconds": time.perf_counter() - t0,
            }
        )
        print(f"  {name:26s} R2 {rows[-1]['oof_r2']:.3f} ({rows[-1]['seconds']:.0f} s)", flush=True)
    df = pd.DataFrame(rows)
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(f"\nSpatial block CV ({folds} folds, blocks {size_m / 4:g} m), AGB Mg/ha:")
        print(df.to_string(index=False))
    _ceiling(scene, y)
    return df


def _ceiling(scene, y):
    """What a perfect eye could reach: R2 of a linear fit of y on the plot biomass computed from
    every stem's true height with the mean wood density and height-predicted DBH (what imagery,
    crowns and height could at best reveal), and on the true tree biomass (noise only)."""
    from geoagb.datasets._scene import dbh_from_height, tree_biomass

    def r2_lin(a):
        A = np.column_stack([a, np.ones_like(a)])
        res = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
        return 1 - res @ res / ((y - y.mean()) @ (y - y.mean()))

    t = scene.trees[scene.trees["plot_id"] >= 0]
    area_ha = scene.plot_size_m**2 / 1e4
    b = tree_biomass(dbh_from_height(t["height"]), t["height"], 0.55) / 1000.0 / area_ha
    visible = (
        pd.Series(b)
        .groupby(t["plot_id"].to_numpy())
        .sum()
        .reindex(scene.plots["plot_id"])
        .fillna(0.0)
    )
    print(
        f"ceiling: R2 {r2_lin(visible.to_numpy()):.3f} from every stem's height (mean wood density), "
        f"R2 {r2_lin(scene.truth['agb_trees'].to_numpy()):.3f} from the true tree biomass "
        "(in-sample linear fits)"
    )


def main():
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["all", "speed", "accuracy"], default="all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size-m", type=float, default=1500.0)
    ap.add_argument("--n-plots", type=int, default=400)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=60)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"CUDA: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}"
    )
    if args.part in ("all", "speed"):
        devices = [torch.device("cpu")] + (
            [torch.device("cuda")] if torch.cuda.is_available() else []
        )
        speed(devices)
    if args.part in ("all", "accuracy"):
        accuracy(args.size_m, args.n_plots, args.folds, args.epochs)


if __name__ == "__main__":
    main()
