"""Benchmark: SHAP interaction values of an XGBoost model, geoagb vs shap, in the same run.

geoagb computes XGBoost interaction values with exact per-leaf tables
(:mod:`geoagb.explain._interactions`); ``shap.TreeExplainer(model).shap_interaction_values``
hands XGBoost models to XGBoost's own ``pred_interactions``, which reruns TreeSHAP twice per
feature. Both are timed here on the same model and data; because the shap path costs about
0.5 s per row on 2 cores at the default size, it is timed on ``--shap-rows`` rows and scaled
linearly to ``--rows`` (its cost is linear in the rows; the scaling is printed).

Memory: the n x p x p output is float32 in both; geoagb fills it batch by batch (a float64
accumulator of about 64 MB plus leaf tables), while XGBoost builds the whole
n x (p + 1) x (p + 1) float32 array in C++ and copies it into numpy. Peak resident memory of the
geoagb path is measured in a fresh process; the shap / XGBoost figure is estimated from those
array sizes.

Run: ``python benchmarks/bench_shap.py`` (defaults: 500 trees, depth 6, 30 features, 10 000
rows, shap on 100 rows). ``--quick`` runs a small configuration in seconds.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time

import numpy as np


def make_data(n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)).astype(np.float32)
    y = (
        X[:, 0] * X[:, 1]
        + np.sin(2 * X[:, 2])
        + X[:, 3] * (X[:, 4] > 0)
        + X[:, 5:10].sum(axis=1)
        + rng.normal(0, 0.5, n)
    )
    return X, y


def _rss_mb():
    """Current resident memory of this process, MB (Linux /proc; else the high-water mark)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _PeakSampler:
    """Samples the resident memory every few milliseconds in a thread; ``.peak`` in MB."""

    def __init__(self, every=0.005):
        import threading

        self.every, self.peak, self._stop = every, _rss_mb(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def _child(model_path, data_path, queue):
    """Fresh process: peak RSS of geoagb's explain(..., interactions=True)."""
    import xgboost

    from geoagb.explain import explain

    model = xgboost.XGBRegressor()
    model.load_model(model_path)
    X = np.load(data_path)
    explain(model, X[:50], interactions=True)  # compile / load the kernels first
    before = _rss_mb()
    t0 = time.perf_counter()
    with _PeakSampler() as sampler:
        ex = explain(model, X, interactions=True)
    dt = time.perf_counter() - t0
    queue.put(
        {
            "before_mb": before,
            "peak_mb": sampler.peak,
            "seconds": dt,
            "output_mb": ex.interaction_values.nbytes / 2**20,
        }
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--features", type=int, default=30)
    ap.add_argument("--trees", type=int, default=500)
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--shap-rows", type=int, default=100)
    ap.add_argument(
        "--quick", action="store_true", help="100 trees, depth 4, 2000 rows, shap on 100"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.rows, args.trees, args.depth, args.shap_rows = 2000, 100, 4, 100

    import shap
    import xgboost

    from geoagb.explain import explain

    n, p = args.rows, args.features
    X, y = make_data(n, p)
    t0 = time.perf_counter()
    model = xgboost.XGBRegressor(
        n_estimators=args.trees, max_depth=args.depth, learning_rate=0.05, random_state=0
    ).fit(X, y)
    print(
        f"model: {args.trees} trees, depth {args.depth}, {p} features; data {n} rows "
        f"(fit {time.perf_counter() - t0:.1f} s); xgboost {xgboost.__version__}, shap {shap.__version__}, "
        f"{os.cpu_count()} CPU cores"
    )

    t0 = time.perf_counter()
    explain(model, X[:10], interactions=True)
    print(
        f"geoagb warm-up on 10 rows (numba kernels compiled or loaded from cache): "
        f"{time.perf_counter() - t0:.2f} s"
    )

    t0 = time.perf_counter()
    ours = explain(model, X, interactions=True)
    t_ours = time.perf_counter() - t0
    print(f"geoagb explain(interactions=True), {n} rows: {t_ours:.2f} s ({ours.method})")

    m = min(args.shap_rows, n)
    t0 = time.perf_counter()
    explainer = shap.TreeExplainer(model)
    ref = explainer.shap_interaction_values(X[:m])
    t_shap_m = time.perf_counter() - t0
    t_shap = t_shap_m * n / m
    print(
        f"shap.TreeExplainer(model).shap_interaction_values, {m} rows: {t_shap_m:.2f} s "
        f"-> scaled to {n} rows: {t_shap:.1f} s (x {n / m:g}, linear in rows)"
    )
    print(f"ratio (shap time / geoagb time): {t_shap / t_ours:.1f}")

    diff = np.abs(ours.interaction_values[:m].astype(np.float64) - ref)
    scale = np.abs(ref).max()
    print(
        f"max |difference| of interaction values: {diff.max():.3g} "
        f"(largest |value| {scale:.3g}; relative {diff.max() / scale:.2g}); "
        f"base value {ours.base_values[0]:.6g} vs shap {float(explainer.expected_value):.6g}"
    )
    pred = model.predict(X)
    print(
        f"additivity: max |base + sum of SHAP values - prediction| = "
        f"{np.abs(ours.prediction - pred).max():.3g}; max |row sum of interactions - SHAP value| = "
        f"{np.abs(ours.interaction_values.sum(axis=2, dtype=np.float64) - ours.values).max():.3g}"
    )

    # memory: geoagb measured in a fresh process, shap/XGBoost from array sizes
    with tempfile.TemporaryDirectory() as tmp:
        mp_path, dp_path = os.path.join(tmp, "model.json"), os.path.join(tmp, "X.npy")
        model.save_model(mp_path)
        np.save(dp_path, X)
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        proc = ctx.Process(target=_child, args=(mp_path, dp_path, q))
        proc.start()
        mem = q.get()
        proc.join()
    extra = mem["peak_mb"] - mem["before_mb"]
    work = extra - mem["output_mb"]
    print(
        f"memory, geoagb at n={n}: output {mem['output_mb']:.0f} MB (float32 n x p x p), peak RSS "
        f"+{extra:.0f} MB over the process before the call (working memory ~{max(work, 0):.0f} MB)"
    )
    print(f"n x p x p at larger n (p = {p}):")
    print(
        f"{'n':>10} {'output float32':>16} {'geoagb peak (est.)':>20} {'shap/xgboost peak (est.)':>26}"
    )
    for nn in (10_000, 100_000, 1_000_000):
        out = nn * p * p * 4 / 2**20
        full = nn * (p + 1) ** 2 * 4 / 2**20
        print(f"{nn:>10,d} {out:>13.0f} MB {out + max(work, 0):>17.0f} MB {2 * full:>23.0f} MB")
    print(
        "(geoagb: output + bounded working memory measured above; shap/xgboost: the "
        "n x (p+1) x (p+1) float32 buffer in C++ plus its numpy copy, no batching)"
    )
    print(
        json.dumps(
            {
                "rows": n,
                "t_geoagb_s": round(t_ours, 3),
                "t_shap_scaled_s": round(t_shap, 1),
                "ratio": round(t_shap / t_ours, 1),
                "max_abs_diff": float(diff.max()),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
