"""Does residual kriging do no harm? Learner vs learner + residual kriging under spatial CV.

Three settings, each compared on identical folds with ``geoagb.model_selection.compare_models``:

* synthetic plots whose residual is 80 % nugget (nugget:sill 0.8; unstructured):
  target RMSE(RK) <= 1.005 x RMSE(learner);
* synthetic plots whose residual is 20 % nugget (nugget:sill 0.2; structured):
  target RMSE(RK) <= 0.80 x RMSE(learner);
* meuse (log zinc, R's sp package; skipped without R): RK better than the learner.

The peer is the learner alone, measured in the same run on the same folds (and the classic
regression kriging, ``correction="full", method="ordinary"``, for reference). Run:

    python benchmarks/bench_residual_kriging.py --seeds 20
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def learner(seed):
    from xgboost import XGBRegressor

    return XGBRegressor(
        n_estimators=120,
        learning_rate=0.08,
        max_depth=4,
        subsample=0.8,
        n_jobs=1,
        random_state=seed,
    )


def synthetic(nugget_to_sill, seed, n=400, total_sd=50.0):
    from geoagb.datasets import make_plots

    noise = total_sd * np.sqrt(nugget_to_sill)
    resid = total_sd * np.sqrt(1.0 - nugget_to_sill)
    plots = make_plots(
        n,
        residual_range=15_000,
        residual_sd=resid,
        noise_sd=noise,
        inconsistent_fraction=0.0,
        random_state=seed,
    )
    return plots.drop(columns="agb"), plots["agb"].to_numpy()


def meuse():
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as d:
        script = (
            "suppressMessages(library(sp)); data(meuse); write.csv(meuse[, c('x','y','zinc',"
            "'dist','elev','ffreq','soil')], file.path(commandArgs(TRUE)[1], 'm.csv'), "
            "row.names=FALSE)"
        )
        r = subprocess.run(["Rscript", "-e", script, d], capture_output=True, text=True)
        if r.returncode != 0:
            return None
        m = pd.read_csv(os.path.join(d, "m.csv"))
    X = m[["x", "y", "dist", "elev", "ffreq", "soil"]].astype(float)
    return X, np.log(m["zinc"].to_numpy(float))


def compare(X, y, block, seed, n_repeats, model_seed):
    from sklearn.ensemble import RandomForestRegressor

    from geoagb.kriging import ResidualKrigingRegressor
    from geoagb.model_selection import SpatialBlockKFold, compare_models

    if model_seed == "rf":
        base = RandomForestRegressor(
            n_estimators=200, min_samples_leaf=3, n_jobs=1, random_state=seed
        )
    else:
        base = learner(seed)
    models = {
        "learner": base,
        "learner + RK (geoagb default)": ResidualKrigingRegressor(base, random_state=seed),
        "learner + RK (classic, full OK)": ResidualKrigingRegressor(
            base, method="ordinary", correction="full", exact=True, random_state=seed
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = compare_models(
            models,
            X,
            y,
            SpatialBlockKFold(5, block_size=block),
            n_repeats=n_repeats,
            random_state=seed,
            progress=False,
        )
    return cmp.summary()["pooled_rmse"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="synthetic fields per setting")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for ratio, target in ((0.8, "<= 1.005"), (0.2, "<= 0.80")):
        rm = []
        for seed in range(args.seeds):
            X, y = synthetic(ratio, seed)
            rm.append(compare(X, y, 5_000, seed, 1, "xgb"))
        rm = pd.DataFrame(rm)
        ratio_default = (rm.iloc[:, 1] / rm.iloc[:, 0]).to_numpy()
        ratio_classic = (rm.iloc[:, 2] / rm.iloc[:, 0]).to_numpy()
        rows.append(
            {
                "setting": f"synthetic nugget:sill {ratio} ({args.seeds} fields, 400 plots, "
                "5 km blocks, XGBoost)",
                "target RK/learner RMSE": target,
                "geoagb RK / learner (mean)": ratio_default.mean(),
                "worst field": (ratio_default.max() if ratio == 0.8 else ratio_default.max()),
                "classic RK / learner (mean)": ratio_classic.mean(),
            }
        )
    data = meuse()
    if data is not None:
        X, y = data
        r = compare(X, y, 400, 0, 5, "rf")
        rows.append(
            {
                "setting": "meuse log(zinc) (155 points, 400 m blocks, RF, 5 fold seeds)",
                "target RK/learner RMSE": "< 1",
                "geoagb RK / learner (mean)": r.iloc[1] / r.iloc[0],
                "worst field": np.nan,
                "classic RK / learner (mean)": r.iloc[2] / r.iloc[0],
            }
        )
    else:
        print("meuse skipped: R with the sp package is not installed")
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 90)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
