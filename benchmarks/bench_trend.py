"""Per-pixel trends: geoagb's compiled kernels vs pymannkendall looped over pixels, and a large stack.

Two measurements in one run:

1. **Speed vs the reference.** ``--pixels`` random 20-year series (a third with ties) are tested
   by ``pymannkendall`` one pixel at a time (``original_test``, which includes ``sens_slope``,
   and ``hamed_rao_modification_test``) and by :func:`geoagb.timeseries.mann_kendall` on the
   whole (T, n) stack in one call, on one thread (mann_kendall never uses more) so that the
   ratio measures the algorithm, not the cores. The results are checked to agree (1e-10) and
   the ratio is printed.
2. **Bounded memory.** A ``--size`` x ``--size`` x ``--years`` float32 stack (a random walk plus
   trends and a step, one band per year) is written as a tiled GeoTIFF strip by strip, then
   :func:`geoagb.timeseries.trend_map` (Theil-Sen, Mann-Kendall, detrended Pettitt) maps it into a
   trend GeoTIFF in row chunks under ``--memory-mb``, in a fresh child process whose peak
   resident memory (sampled every 10 ms, minus its memory after imports) is reported with the
   time. The stack itself is ``size^2 x years x 4`` bytes (1.2 GiB for 4000 x 4000 x 20).

Run: ``python benchmarks/bench_trend.py [--size 4000] [--years 20] [--pixels 3000] [--memory-mb 256]``
(``--size 1000`` for a quick run; ``--threads`` sets ``n_jobs`` of the big run, default all cores).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import PeakSampler, _current_rss_mb, best_time  # noqa: E402


def reference_comparison(n_pixels: int, n_years: int, seed: int = 0) -> None:
    import pymannkendall as mk

    from geoagb.timeseries import mann_kendall

    warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)  # pymannkendall
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_pixels, n_years)).cumsum(axis=1) + 0.05 * np.arange(n_years)
    x[: n_pixels // 3] = np.round(x[: n_pixels // 3])  # ties
    mann_kendall(x[:4].T, hamed_rao=True)  # compile / load the kernels
    for name, ref_fn, hr in (
        ("original_test + sens_slope", mk.original_test, False),
        ("hamed_rao_modification_test", mk.hamed_rao_modification_test, True),
    ):
        refs = []
        t_ref = best_time(lambda: refs.append([ref_fn(row) for row in x]), repeat=1)
        t_ours = best_time(lambda: mann_kendall(x.T, hamed_rao=hr), repeat=3)
        ours = mann_kendall(x.T, hamed_rao=hr)
        err = max(
            np.nanmax(np.abs(np.array([float(r.p) for r in refs[0]]) - ours.p_value)),
            np.nanmax(np.abs(np.array([float(r.slope) for r in refs[0]]) - ours.slope)),
        )
        print(
            f"  {name:30s} pymannkendall loop {t_ref:7.2f} s ({1e6 * t_ref / n_pixels:7.1f} us/pixel) | "
            f"geoagb {t_ours:7.4f} s ({1e6 * t_ours / n_pixels:5.2f} us/pixel) | "
            f"ratio {t_ref / t_ours:6.0f}x | max |diff| p, slope {err:.1e}"
        )


def write_big_stack(path, size: int, n_years: int, seed: int = 0, strip: int = 256) -> None:
    """Random walks around planted trends, with a drop in a band of rows; strip by strip."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    prof = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=n_years,
        dtype="float32",
        crs="EPSG:32648",
        transform=from_origin(500_000, 2_800_000 + size * 1000, 1000, 1000),
        nodata=np.nan,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        BIGTIFF="IF_SAFER",
        compress="deflate",
        predictor=3,
        interleave="band",
    )
    t = np.arange(n_years, dtype=np.float32)[:, None, None]
    cols = np.arange(size, dtype=np.float32)
    with rasterio.open(path, "w", **prof) as ds:
        for i in range(n_years):
            ds.set_band_description(i + 1, str(2002 + i))
        for r0 in range(0, size, strip):
            h = min(strip, size - r0)
            slope = (np.sin(cols / 300.0) * np.ones((h, 1), np.float32))[None]  # MgC/ha/yr
            arr = 60.0 + slope * t + rng.standard_normal((n_years, h, size)).astype(np.float32)
            if (r0 // strip) % 4 == 1:
                arr[n_years // 2 :] -= 20.0
            ds.write(arr.astype(np.float32), window=rasterio.windows.Window(0, r0, size, h))


def _child_trend(q, stack, out, memory_mb, threads):
    import rasterio

    from geoagb.timeseries import trend_map

    with rasterio.open(stack) as ds:
        small = ds.read(window=rasterio.windows.Window(0, 0, 64, 16))
    trend_map(small, progress=False)  # load the compiled kernels before measuring
    base = _current_rss_mb()
    with PeakSampler() as peak:
        t0 = time.perf_counter()
        trend_map(stack, out=out, memory_mb=memory_mb, n_jobs=threads, progress=False)
        dt = time.perf_counter() - t0
    q.put(dict(seconds=dt, base_mb=base, peak_mb=peak.peak))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--size", type=int, default=4000, help="side of the big stack, cells (default 4000)"
    )
    ap.add_argument("--years", type=int, default=20, help="years of the stacks (default 20)")
    ap.add_argument(
        "--pixels", type=int, default=3000, help="pixels of the pymannkendall comparison"
    )
    ap.add_argument("--memory-mb", type=float, default=256.0, help="trend_map memory budget, MiB")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads (n_jobs) of the big run (default all cores)",
    )
    ap.add_argument(
        "--skip-big", action="store_true", help="only the comparison with pymannkendall"
    )
    args = ap.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPU(s); one thread for the comparison")
    print(f"1) {args.pixels} series of {args.years} years (a third with ties), one thread:")
    reference_comparison(args.pixels, args.years)
    if args.skip_big:
        return
    threads = args.threads or os.cpu_count() or 1
    size = args.size
    gib = size * size * args.years * 4 / 2**30
    print(
        f"2) {size} x {size} x {args.years} stack ({gib:.2f} GiB as float32), trend_map to a GeoTIFF, "
        f"memory_mb={args.memory_mb:g}, {threads} thread(s):"
    )
    with tempfile.TemporaryDirectory() as d:
        stack, out = Path(d) / "stack.tif", Path(d) / "trend.tif"
        t0 = time.perf_counter()
        write_big_stack(stack, size, args.years)
        mib = stack.stat().st_size / 2**20
        print(
            f"  wrote the input stack in {time.perf_counter() - t0:.1f} s ({mib:.0f} MiB on disk)"
        )
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(
            target=_child_trend, args=(q, str(stack), str(out), args.memory_mb, threads)
        )
        p.start()
        res = q.get()
        p.join()
        n = size * size
        print(
            f"  trend_map: {res['seconds']:.1f} s ({1e6 * res['seconds'] / n:.2f} us/pixel incl. I/O), "
            f"peak RSS {res['peak_mb']:.0f} MiB (after imports {res['base_mb']:.0f} MiB, so "
            f"+{res['peak_mb'] - res['base_mb']:.0f} MiB for a {gib * 1024:.0f} MiB stack)"
        )


if __name__ == "__main__":
    main()
