"""Benchmark: do patch models, CSMF-Net most, beat patch-mean models when the biomass lives
inside the plot?

Data: ``make_scene(structure="crowns")`` (stands with and without emergents over a lower
canopy at the same mean height and cover, coarse- and fine-crowned stands, DBH growing with
crown width, big crowns cut by the plot edge, understorey that reflects like canopy),
``inconsistent_fraction=0``; plot patches of the 25.83 m footprint at 1 m (26 x 26 px; blue,
green, red, nir, crown mask, canopy height). Spatial block k-fold (blocks of 1/4 of the scene
side), the same folds for every model.

Part 1, the signal split (random forest, same folds): R2 of a forest on the patch means
(``PatchSet.summarize()``, no coordinates), of a linear fit on the oracle per-tree sum
``sum 0.0673 (0.55 D^2 h)^0.976`` over the stems inside (true heights and DBHs, mean wood
density: what a perfect reading of the trees could give), and of both together, on the
structured and on the default ``structure="mean"`` scene.

Part 2, the models: CSMF-Net, PatchResNet, CNN-Transformer (whole patches), PixelMLP on patch
means, random forest and XGBoost on ``summarize()`` (patch means, no coordinates; a random
forest with x, y added is listed too, but it sees what no patch model sees). Settings a priori
(``benchmarks/_structured.py``); early stopping on a random 15 % of each training fold. Prints
fold-wise mean and sd of R2, mean RMSE, +-1 sd coverage (models with a predicted std) and the
difference and ratio to the best patch-mean model; writes the out-of-fold results to
``--save`` (JSON, read by ``bench_csmf_ablation.py``) and the calibration figure of CSMF-Net
to ``--figure``.

    python benchmarks/bench_structured_scene.py [--quick] [--size-m 1500] [--n-plots 800]
        [--folds 5] [--epochs 60] [--seed 0] [--save PATH] [--figure PATH]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _baselines import random_forest, xgboost
from _structured import (
    add_data_args,
    apply_quick,
    build_data,
    csmf,
    deep_common,
    run_folds,
    save,
    spatial_folds,
    summary_row,
)

PATCH_MEAN = ("PixelMLP (patch means)", "RandomForest (summarize)", "XGBoost (summarize)")


def _oracle_sum(scene, n):
    """Per plot: sum of the allometric biomass of the stems inside (mean wood density), Mg/ha."""
    from geoagb.datasets._scene import tree_biomass

    t = scene.trees[scene.trees["plot_id"] >= 0]
    kg = tree_biomass(t["dbh"], t["height"], 0.55).to_numpy()
    area_ha = scene.plot_size_m**2 / 10_000
    s = pd.Series(kg / 1000 / area_ha).groupby(t["plot_id"].to_numpy()).sum()
    return s.reindex(range(n), fill_value=0.0).to_numpy()


def signal_split(args):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    rows = []
    for structure in ("mean", "crowns"):
        X, y, scene = build_data(args.size_m, args.n_plots, args.seed, structure)
        folds = spatial_folds(X, y, args.size_m, args.folds, args.seed)
        tab = X.summarize().drop(columns=["x", "y"])
        oracle = pd.DataFrame({"oracle_tree_sum": _oracle_sum(scene, len(y))})

        def rf():
            return RandomForestRegressor(300, min_samples_leaf=2, random_state=args.seed, n_jobs=1)

        for name, make, data in (
            ("RF on patch means (summarize)", rf, tab),
            ("linear on oracle per-tree sum", LinearRegression, oracle),
            ("RF on patch means + oracle sum", rf, pd.concat([tab, oracle], axis=1)),
        ):
            res = run_folds(f"{structure}: {name}", make, data, y, folds)
            rows.append({"scene": structure, **summary_row(res)})
    df = pd.DataFrame(rows).drop(columns=["coverage_1sd", "seconds"])
    with pd.option_context("display.width", 160, "display.float_format", "{:.3f}".format):
        print(f"\nSignal split ({args.folds}-fold spatial block CV, {args.n_plots} plots):")
        print(df.to_string(index=False))
    return df


def models(args):

    from geoagb.deep import CNNTransformerRegressor, PatchResNetRegressor, PixelMLPRegressor

    common = deep_common(args.epochs, args.seed)
    s = args.seed
    return {
        "CSMF-Net": (lambda: csmf(args.epochs, s), "patch", True),
        "PatchResNet": (
            lambda: PatchResNetRegressor(width=8, n_stages=3, head=(64, 32), **common),
            "patch",
            False,
        ),
        "CNN-Transformer": (
            lambda: CNNTransformerRegressor(
                width=8, d_model=32, n_heads=4, n_layers=1, dim_feedforward=64, head=(32,), **common
            ),
            "patch",
            False,
        ),
        "PixelMLP (patch means)": (
            lambda: PixelMLPRegressor(pixel="mean", head=(64, 32), **{**common, "lr": 1e-2}),
            "patch",
            False,
        ),
        "RandomForest (summarize)": (lambda: random_forest(s), "tab", False),
        "XGBoost (summarize)": (lambda: xgboost(s), "tab", False),
        "RandomForest (summarize + x, y)": (lambda: random_forest(s), "tab_xy", False),
    }


def compare(args):
    t0 = time.perf_counter()
    X, y, _ = build_data(args.size_m, args.n_plots, args.seed)
    folds = spatial_folds(X, y, args.size_m, args.folds, args.seed)
    tab_xy = X.summarize()
    data = {"patch": X, "tab": tab_xy.drop(columns=["x", "y"]), "tab_xy": tab_xy}
    print(
        f"\nstructured scene {args.size_m:g} m, {len(y)} plots (AGB mean {y.mean():.1f}, sd "
        f"{y.std():.1f} Mg/ha), patches {X.shape[2]}x{X.shape[3]} px, {args.folds} spatial folds "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    results = []
    chosen = models(args)
    if args.models:
        unknown = sorted(set(args.models) - set(chosen))
        if unknown:
            raise SystemExit(f"--models {unknown} unknown; choose from {list(chosen)}")
        chosen = {k: v for k, v in chosen.items() if k in args.models}
    for name, (make, kind, with_std) in chosen.items():
        results.append(run_folds(name, make, data[kind], y, folds, with_std=with_std))
    df = pd.DataFrame([summary_row(r) for r in results])
    means = df[df["model"].isin(PATCH_MEAN)]
    if means.empty:
        return X, y, results
    best = means.sort_values("r2_mean").iloc[-1]
    df["dR2_vs_best_mean"] = df["r2_mean"] - best["r2_mean"]
    df["R2_ratio"] = df["r2_mean"] / best["r2_mean"]
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(
            f"\nSpatial block CV, {args.folds} folds, {args.epochs} epochs max, 1 thread; "
            f"best patch-mean model: {best['model']} (R2 {best['r2_mean']:.3f}):"
        )
        print(df.to_string(index=False))
    return X, y, results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(ap)
    ap.add_argument("--part", choices=["all", "split", "models"], default="all")
    ap.add_argument("--save", default=None, help="JSON of the out-of-fold results")
    ap.add_argument(
        "--models", nargs="+", default=None, help="run only these models (names as printed)"
    )
    ap.add_argument(
        "--figure",
        default=None,
        help="calibration figure of CSMF-Net (default: the docs figure, not with --quick)",
    )
    args = apply_quick(ap.parse_args())
    if args.figure is None and not args.quick:
        args.figure = str(Path(__file__).resolve().parents[1] / "docs/_static/csmf_calibration.png")
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    meta = {k: getattr(args, k) for k in ("size_m", "n_plots", "folds", "epochs", "seed")}
    print(f"settings: {meta}")
    if args.part in ("all", "split"):
        signal_split(args)
    if args.part in ("all", "models"):
        X, y, results = compare(args)
        if args.save:
            save(args.save, meta, results)
        if args.figure and any(r["model"] == "CSMF-Net" for r in results):
            from geoagb.deep import plot_calibration

            res = next(r for r in results if r["model"] == "CSMF-Net")
            fig = plot_calibration(
                y, np.asarray(res["pred"]), np.asarray(res["std"]), label="CSMF-Net"
            )
            fig.axes[0].set_title("CSMF-Net, out-of-fold", fontsize=9)
            fig.savefig(args.figure, dpi=120)
            print(f"calibration figure: {args.figure}")
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
