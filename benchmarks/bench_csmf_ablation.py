"""Benchmark: CSMF-Net ablations on the structured scene, the folds of bench_structured_scene.py.

Variants of the same network (``benchmarks/_structured.py``: three width-8 ResNet branches,
d_k 32, same training settings), each trained on the same spatial block folds:

* full: crown-gated height, cross-attention (queries imagery, keys / values height + crown),
  loss ``r2 + 0.1 heteroscedastic NLL``;
* no gate: ``gate=False``, the height branch sees the whole canopy height model;
* concatenation: ``fusion="concat"``, the three token sets concatenated and projected, no
  attention;
* no uncertainty loss: ``loss="r2"`` (no predicted std).

Prints R2 mean +- sd over the folds, RMSE, +-1 sd coverage and the difference to the full
model. The full model's folds are read from ``--reuse`` (the JSON that
bench_structured_scene.py saves) when it was run with the same scene, folds and epochs, else
trained here.

    python benchmarks/bench_csmf_ablation.py [--quick] [--size-m 1500] [--n-plots 800]
        [--folds 5] [--epochs 60] [--seed 0] [--reuse PATH]
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
from _structured import (
    add_data_args,
    apply_quick,
    build_data,
    csmf,
    load,
    run_folds,
    spatial_folds,
    summary_row,
)

VARIANTS = {
    "no gate": dict(gate=False),
    "concatenation (no cross-attention)": dict(fusion="concat"),
    "no uncertainty loss (r2 only)": dict(loss="r2"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_args(ap)
    ap.add_argument("--reuse", default=None, help="--save JSON of bench_structured_scene.py")
    args = apply_quick(ap.parse_args())
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    meta = {k: getattr(args, k) for k in ("size_m", "n_plots", "folds", "epochs", "seed")}
    print(f"settings: {meta}")
    X, y, _ = build_data(args.size_m, args.n_plots, args.seed)
    folds = spatial_folds(X, y, args.size_m, args.folds, args.seed)
    results = []
    for name, kw in VARIANTS.items():
        results.append(
            run_folds(
                f"CSMF-Net, {name}",
                lambda kw=kw: csmf(args.epochs, args.seed, **kw),
                X,
                y,
                folds,
                with_std=kw.get("loss", "r2_unc") != "r2",
            )
        )
    saved = load(args.reuse, meta) if args.reuse else None
    full = next((r for r in saved or [] if r["model"] == "CSMF-Net"), None)
    if full is None:
        full = run_folds("CSMF-Net", lambda: csmf(args.epochs, args.seed), X, y, folds, True)
    else:
        print(f"  full model: folds read from {args.reuse}")
    full = {**full, "model": "CSMF-Net, full"}
    df = pd.DataFrame([summary_row(r) for r in [full, *results]])
    ref = pd.DataFrame(full["folds"])["r2"].to_numpy()
    df["dR2_vs_full"] = df["r2_mean"] - df["r2_mean"].iloc[0]
    df["dR2_sd_over_folds"] = [
        float(pd.Series(pd.DataFrame(r["folds"])["r2"].to_numpy() - ref).std())
        for r in [full, *results]
    ]
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(f"\nCSMF-Net ablations, spatial block CV ({args.folds} folds, {len(y)} plots):")
        print(df.to_string(index=False))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
