"""Shared by bench_structured_scene.py and bench_csmf_ablation.py: the structured scene, its
plot patches, the spatial folds, the model settings and the fold loop.

Every choice here is made a priori (or by early stopping on an inner random validation split
of each training fold), never on the test folds.
"""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

BANDS = {"blue": "blue", "green": "green", "red": "red", "nir": "nir", "crown": "crown"}
BANDS["height"] = "chm"


def add_data_args(ap):
    """Scene, CV and training-size options shared by both scripts."""
    ap.add_argument(
        "--quick", action="store_true", help="1 km scene, 300 plots, 3 folds, 15 epochs"
    )
    ap.add_argument("--size-m", type=float, default=1500.0)
    ap.add_argument("--n-plots", type=int, default=800)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)


def apply_quick(args):
    if args.quick:
        args.size_m, args.n_plots, args.folds, args.epochs = 1000.0, 300, 3, 15
    return args


def build_data(size_m, n_plots, seed, structure="crowns"):
    """Scene (inconsistent_fraction=0: this study is about structure, not outlier filtering),
    plot patches (the 25.83 m footprint at 1 m: 26 x 26 px), targets and the scene."""
    from geoagb.datasets import make_scene
    from geoagb.features import extract_patches

    with tempfile.TemporaryDirectory() as tmp:
        scene = make_scene(
            tmp,
            size_m=size_m,
            n_plots=n_plots,
            random_state=seed,
            structure=structure,
            inconsistent_fraction=0.0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X = extract_patches(scene.sources, scene.plots, size_m=scene.plot_size_m, bands=BANDS)
    return X, scene.plots["agb"].to_numpy(float), scene


def spatial_folds(X, y, size_m, n_folds, seed):
    from geoagb.model_selection import SpatialBlockKFold

    cv = SpatialBlockKFold(n_splits=n_folds, block_size=size_m / 4, random_state=seed)
    return list(cv.split(X, y))


def deep_common(epochs, seed):
    """Training settings shared by every patch network (a priori: AdamW, cosine decay, D4
    augmentation, batch 16, early stopping on a random 15 % of the training fold)."""
    return dict(
        max_epochs=epochs,
        patience=20,
        batch_size=16,
        lr=2e-3,
        weight_decay=1e-2,
        validation_fraction=0.15,
        augment=True,
        verbose=0,
        random_state=seed,
        n_jobs=1,
        device="cpu",
    )


def csmf(epochs, seed, **kw):
    """CSMF-Net at the size used throughout: three width-8 ResNet branches of 3 stages,
    d_k 32, head (64, 32), loss r2 + 0.1 heteroscedastic NLL (FineKarstAGB)."""
    from geoagb.deep import CSMFNetRegressor

    params = dict(
        width=8, n_stages=3, d_k=32, head=(64, 32), loss="r2_unc", **deep_common(epochs, seed)
    )
    params.update(kw)
    return CSMFNetRegressor(**params)


def r2(y, p):
    return float(1 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))


def run_folds(name, make, data, y, folds, with_std=False):
    """Fit a fresh ``make()`` per fold; per-fold R2, RMSE, +-1 sd coverage, out-of-fold arrays."""
    t0 = time.perf_counter()
    pred = np.full(len(y), np.nan)
    std = np.full(len(y), np.nan)
    rows = []
    for k, (tr, te) in enumerate(folds):
        est = make()
        take = (lambda idx: data.iloc[idx]) if isinstance(data, pd.DataFrame) else data.__getitem__
        est.fit(take(tr), y[tr])
        if with_std:
            p, s = est.predict(take(te), return_std=True)
            std[te] = s
        else:
            p = est.predict(take(te))
        pred[te] = p
        rows.append(
            {
                "fold": k,
                "r2": r2(y[te], p),
                "rmse": float(np.sqrt(np.mean((y[te] - p) ** 2))),
                "coverage": float(np.mean(np.abs(y[te] - p) <= std[te])) if with_std else np.nan,
            }
        )
    secs = time.perf_counter() - t0
    f = pd.DataFrame(rows)
    print(
        f"  {name:34s} R2 {f['r2'].mean():.3f} +- {f['r2'].std():.3f}  ({secs:.0f} s)", flush=True
    )
    return {
        "model": name,
        "folds": rows,
        "pred": pred.tolist(),
        "std": std.tolist(),
        "seconds": secs,
    }


def summary_row(res):
    f = pd.DataFrame(res["folds"])
    return {
        "model": res["model"],
        "r2_mean": f["r2"].mean(),
        "r2_sd": f["r2"].std(),
        "rmse_mean": f["rmse"].mean(),
        "coverage_1sd": f["coverage"].mean(),
        "seconds": res["seconds"],
    }


def save(path, meta, results):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"meta": meta, "results": results}))


def load(path, meta):
    """Results saved by :func:`save` with the same ``meta`` (scene, folds, epochs), else None."""
    p = Path(path)
    if not p.exists():
        return None
    blob = json.loads(p.read_text())
    return blob["results"] if blob["meta"] == meta else None
