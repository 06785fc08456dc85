"""Wall-to-wall mapping: predict_raster throughput and peak memory vs the learner's in-memory predict.

A stack of ``--features`` float32 features (tiled GeoTIFF, band descriptions = names) of
``--size`` x ``--size`` cells is mapped with an XGBoost model by :func:`predict_raster` under a
memory budget (``--memory-mb``) far below the raster size, so the window loop, the read-ahead
thread and the atomic tiled writer are all exercised. In the same run:

* the learner's own ``predict`` on cells already in memory (the same kind of DataFrame that
  mapping builds, and a float32 array), timed on ``--inmem-cells`` cells: the ceiling;
* predict_raster without read-ahead (I/O not overlapped with compute), to show the overlap;
* predict_raster on a 2-worker ``LocalCluster`` (separate processes, one thread each).

Each mapping run happens in a fresh child process so that its peak resident memory (ru_maxrss,
minus the child's memory after imports) is its own. The 20k x 20k raster of the issue is
extrapolated from the measured throughput (printed as such).

Run: ``python benchmarks/bench_mapping.py [--size 6000] [--features 10] [--memory-mb 64]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from _timing import PeakSampler, _current_rss_mb


def _rss_mb() -> float:
    """Lifetime peak resident memory of this process, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_stack(path, size, n_feat, seed=0, strip=512):
    """Smooth random features, written strip by strip (bounded memory)."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    freq = rng.uniform(0.001, 0.02, (n_feat, 2))
    phase = rng.uniform(0, 6.3, (n_feat, 2))
    prof = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=n_feat,
        dtype="float32",
        crs="EPSG:32648",
        transform=from_origin(500_000, 2_800_000, 30, 30),
        nodata=np.nan,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        BIGTIFF="IF_SAFER",
    )
    cols = np.arange(size)
    with rasterio.open(path, "w", **prof) as ds:
        for i in range(n_feat):
            ds.set_band_description(i + 1, f"f{i}")
        for r0 in range(0, size, strip):
            rows = np.arange(r0, min(size, r0 + strip))[:, None]
            arr = np.empty((n_feat, rows.size, size), np.float32)
            for i in range(n_feat):
                arr[i] = np.sin(freq[i, 0] * rows + phase[i, 0]) * np.cos(
                    freq[i, 1] * cols + phase[i, 1]
                )
                arr[i] += 0.1 * rng.standard_normal((rows.size, size)).astype(np.float32)
            ds.write(arr, window=rasterio.windows.Window(0, r0, size, rows.size))


def make_model(n_feat, n_jobs, seed=0):
    import pandas as pd
    from xgboost import XGBRegressor

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        rng.uniform(-1.1, 1.1, (20_000, n_feat)), columns=[f"f{i}" for i in range(n_feat)]
    )
    y = (
        100
        + 40 * X["f0"]
        - 25 * X["f1"] * X["f2"]
        + 10 * np.sin(3 * X["f3"])
        + rng.normal(0, 5, len(X))
    )
    return XGBRegressor(
        n_estimators=200, max_depth=6, learning_rate=0.1, n_jobs=n_jobs, random_state=seed
    ).fit(X, y)


def _child_map(q, stack, out, n_feat, memory_mb, prefetch, workers):
    """Run one mapping in a fresh process; report seconds, windows and memory."""
    import geoagb.raster._engine as engine
    from geoagb.mapping import predict_raster

    model = make_model(n_feat, n_jobs=1 if workers else 2)
    if prefetch == 0:  # no read-ahead: read and compute strictly one after the other
        orig = engine.run_windows
        engine.run_windows = lambda *a, **k: orig(*a, **{**k, "prefetch": 0})
        import geoagb.mapping._predict as pr

        pr.run_windows = engine.run_windows
    client = cluster = None
    if workers:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            memory_limit=0,
        )
        client = Client(cluster)
    base = _current_rss_mb()
    with PeakSampler() as peak:
        t0 = time.perf_counter()
        predict_raster(
            model, stack, out, return_std=False, memory_mb=memory_mb, client=client, progress=False
        )
        dt = time.perf_counter() - t0
    worker_peak = None
    if client is not None:
        worker_peak = max(client.run(_rss_mb).values())
        client.close()
        cluster.close()
    q.put(dict(seconds=dt, base_mb=base, peak_mb=peak.peak, worker_peak_mb=worker_peak))


def run_child(*args):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child_map, args=(q, *args))
    p.start()
    res = q.get()
    p.join()
    return res


def inmemory(stack, n_feat, n_cells, batch):
    """The learner's own predict on ``n_cells`` cells already in memory: one call on a float64
    DataFrame (what mapping builds), one on a float32 array, and calls on ``batch``-cell slices of
    the DataFrame (the window size mapping uses). Returns cells and the three times."""
    import pandas as pd
    import rasterio
    from rasterio.windows import Window

    model = make_model(n_feat, n_jobs=2)
    side = int(np.sqrt(n_cells))
    with rasterio.open(stack) as ds:
        arr = ds.read(window=Window(0, 0, side, side))
    X32 = arr.reshape(n_feat, -1).T.copy()
    X = pd.DataFrame(X32.astype(np.float64), columns=[f"f{i}" for i in range(n_feat)])
    model.predict(X.iloc[:1000])
    t0 = time.perf_counter()
    model.predict(X)
    t_df = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.predict(X32)
    t_np = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(0, len(X), batch):
        model.predict(X.iloc[i : i + batch])
    t_b = time.perf_counter() - t0
    return X32.shape[0], t_df, t_np, t_b


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=6000, help="raster side, cells (default 6000)")
    ap.add_argument("--features", type=int, default=10, help="number of features (default 10)")
    ap.add_argument("--memory-mb", type=float, default=64.0, help="mapping memory budget, MiB")
    ap.add_argument(
        "--inmem-cells", type=int, default=4_000_000, help="cells for the in-memory predict"
    )
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary folder)")
    a = ap.parse_args(argv)

    from geoagb.mapping._predict import make_task, resolve_window_size

    work = Path(a.dir or tempfile.mkdtemp(prefix="bench_mapping_"))
    stack = work / "stack.tif"
    n = a.size * a.size
    t0 = time.perf_counter()
    if not stack.exists():
        write_stack(stack, a.size, a.features)
    print(
        f"stack: {a.size} x {a.size} cells x {a.features} float32 features = "
        f"{n * a.features * 4 / 2**30:.2f} GiB on disk (written in {time.perf_counter() - t0:.0f} s)"
    )
    task = make_task(make_model(a.features, 2), str(stack), return_std=False)
    win = resolve_window_size(task, None, a.memory_mb)
    n_win = (-(-a.size // win)) ** 2
    print(
        f"memory budget {a.memory_mb:g} MiB -> windows of {win} x {win} cells ({n_win} windows); "
        f"one window of features = {win * win * a.features * 4 / 2**20:.1f} MiB"
    )

    m, t_df, t_np, t_b = inmemory(stack, a.features, a.inmem_cells, win * win)
    rate_df = max(m / t_df, m / t_b)  # the learner's best in-memory rate: the ceiling
    rate_np = m / t_np
    print(
        f"\nXGBoost (200 trees, depth 6, 2 threads) in-memory predict on {m:,} cells: "
        f"{m / t_df / 1e6:.2f} M cells/s (one float64 DataFrame), {m / t_b / 1e6:.2f} M cells/s "
        f"(DataFrame in {win * win:,}-cell slices), {rate_np / 1e6:.2f} M cells/s (one float32 array)"
    )

    rows = []
    runs = [("predict_raster (read-ahead thread)", 2, 0), ("predict_raster (no read-ahead)", 0, 0)]
    if not a.no_dask:
        runs.append(("predict_raster, LocalCluster 2 workers x 1 thread", 2, 2))
    for label, prefetch, workers in runs:
        out = work / f"agb_{prefetch}_{workers}.tif"
        r = run_child(str(stack), str(out), a.features, a.memory_mb, prefetch, workers)
        rate = n / r["seconds"]
        rows.append((label, r, rate))
        extra = ""
        if r["worker_peak_mb"] is not None:
            extra = f", peak worker RSS {r['worker_peak_mb']:.0f} MB"
        print(
            f"\n{label}: {r['seconds']:.1f} s = {rate / 1e6:.2f} M cells/s; "
            f"ratio to in-memory predict {rate / rate_df:.2f} (best DataFrame rate), "
            f"{rate / rate_np:.2f} (float32)\n"
            f"  peak RSS while mapping {r['peak_mb']:.0f} MB, {r['peak_mb'] - r['base_mb']:.0f} MB above the "
            f"process before the call{extra}"
        )
        out.unlink(missing_ok=True)
    best = rows[0][2]
    big = 20_000 * 20_000
    print(
        f"\nextrapolated to the issue's 20k x 20k x {a.features} raster "
        f"({big * a.features * 4 / 2**30:.0f} GiB): "
        f"{big / best / 60:.1f} min single-process at the measured {best / 1e6:.2f} M cells/s; "
        "peak memory is set by the window budget, not the raster size (windows stay the same)."
    )
    if a.dir is None:
        stack.unlink(missing_ok=True)
        os.rmdir(work)


if __name__ == "__main__":
    main()
