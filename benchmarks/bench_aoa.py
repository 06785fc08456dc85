"""Benchmark: dissimilarity index (DI) of map cells, geoagb vs CAST's algorithm done naively.

Training data: ``n_train`` synthetic plots of :func:`geoagb.datasets.make_plots` (its 19
predictors, uniform weights). Map: a raster of ``cells`` cells covering the same 60 km
landscape (same seed), its 19 predictors computed with make_plots' equations from the
landscape fields (fields evaluated on a 200 m grid and interpolated bilinearly, per-cell noise as
at the plots). Cells are made window by window (``chunk`` cells, whole rows), as a map is
written, so memory stays bounded; making them is not timed.

geoagb: ``AreaOfApplicability(weights="uniform", n_jobs=threads)``: a KD-tree on the weighted,
standardised and PCA-rotated predictors; one ``di`` call per window.

Naive: CAST's algorithm written directly in numpy/scipy: for each block of 1000 cells the full
distance matrix to all training samples (``scipy.spatial.distance.cdist``), row minimum, divided
by the exact mean training distance (blocked full distance matrix). It is timed on the first
``naive_cells`` cells and extrapolated linearly to all cells (the output says so); the DI of
both is compared on those cells (geoagb estimates the mean training distance on a 5000-sample
subsample when n > 5000, so the DIs differ by that estimate's relative error).

Prints cells/s, the time for all cells, the peak memory traced during the DI calls (tracemalloc,
numpy buffers included), the process peak RSS, and the speed ratio geoagb / naive.

    OMP_NUM_THREADS=1 python benchmarks/bench_aoa.py [--cells 1e7] [--train 1e4] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np


class LandscapeRaster:
    """The 19 make_plots predictors on a square raster over make_plots' landscape."""

    def __init__(self, n_cells, random_state=0, coarse=200.0):
        from geoagb.datasets import Landscape

        seed_land, _ = np.random.SeedSequence(random_state).spawn(2)  # make_plots' landscape seed
        self.land = land = Landscape(
            60_000.0, 30_000.0, 25.0, random_state=int(seed_land.generate_state(1)[0])
        )
        self.side = int(np.ceil(np.sqrt(n_cells)))
        self.cell = 60_000.0 / self.side
        g = np.arange(-coarse, 60_000.0 + 2 * coarse, coarse)
        gx, gy = np.meshgrid(g + land.origin[0], g + land.origin[1])
        self.g0, self.step = g[0], coarse
        elev = land.elevation(gx, gy)
        dzdy, dzdx = np.gradient(elev, coarse)
        self.fields = {
            "E": elev,
            "dx": dzdx,
            "dy": dzdy,
            "H": land.z("H", gx, gy),
            "C": land.z("C", gx, gy),
            "V": land.z("V", gx, gy),
        }
        self.rows_done = 0

    def window(self, i, size):
        from scipy.ndimage import map_coordinates

        land, rng = self.land, np.random.default_rng(1000 + i)
        r0 = self.rows_done
        nrows = max(1, size // self.side)
        rows = np.arange(r0, min(self.side, r0 + nrows))
        self.rows_done = rows[-1] + 1
        cx = (np.arange(self.side) + 0.5) * self.cell
        cy = (rows + 0.5) * self.cell
        X, Y = np.meshgrid(cx, cy)
        pos = [((Y - self.g0) / self.step).ravel(), ((X - self.g0) / self.step).ravel()]
        f = {k: map_coordinates(v, pos, order=1) for k, v in self.fields.items()}
        n = f["E"].size
        elev = f["E"]
        slope = np.degrees(np.arctan(np.hypot(f["dx"], f["dy"])))
        aspect = np.degrees(np.arctan2(-f["dx"], -f["dy"])) % 360.0
        height = np.clip(14.0 + 5.0 * f["H"] - 0.004 * (elev - 900.0), 2.0, 38.0) * rng.lognormal(
            0, 0.05, n
        )
        cover = np.clip(
            1 / (1 + np.exp(-(0.9 + 1.2 * f["C"] + 0.25 * f["H"]))) + rng.normal(0, 0.03, n),
            0.02,
            1,
        )
        agb0 = land.agb_from_structure(land.structural_agb(height, cover), elev, f["V"])
        ndvi = np.clip(land.ndvi(agb0, elev, f["V"]) + rng.normal(0, 0.015, n), 0.02, 0.95)
        bd = land.reflectance(ndvi, agb0, slope, aspect, rng)
        b, g, r, nn, s1, s2 = (bd[k] for k in ("blue", "green", "red", "nir", "swir1", "swir2"))
        return np.column_stack(
            [
                b,
                g,
                r,
                nn,
                s1,
                s2,
                (nn - r) / (nn + r),
                2.5 * (nn - r) / (nn + 6 * r - 7.5 * b + 1),
                1.5 * (nn - r) / (nn + r + 0.5),
                (nn - s1) / (nn + s1),
                (nn - s2) / (nn + s2),
                elev,
                slope,
                np.sin(np.radians(aspect)),
                np.cos(np.radians(aspect)),
                height,
                height * (1.25 + rng.normal(0, 0.03, n)),
                height * (0.22 + 0.1 * (1 - cover)) * rng.lognormal(0, 0.1, n),
                cover,
            ]
        )


def naive_fit(T):
    """Mean pairwise distance of the standardised training data, CAST's way (blocked rows)."""
    from scipy.spatial.distance import cdist

    n = len(T)
    tot = 0.0
    for i in range(0, n, 1000):
        tot += cdist(T[i : i + 1000], T).sum()
    return tot / (n * (n - 1))


def naive_di(T, dbar, C, block=1000):
    from scipy.spatial.distance import cdist

    out = np.empty(len(C))
    for i in range(0, len(C), block):
        out[i : i + block] = cdist(C[i : i + block], T).min(axis=1)
    return out / dbar


def main():
    from geoagb.applicability import AreaOfApplicability
    from geoagb.datasets import PLOT_FEATURES, make_plots

    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=float, default=1e7)
    ap.add_argument("--train", type=float, default=1e4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunk", type=int, default=250_000)
    ap.add_argument("--naive-cells", type=float, default=2e4)
    args = ap.parse_args()
    n_train, n_cells = int(args.train), int(args.cells)
    import os

    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start "
        "(other processes share the cores: wall times include their interference)"
    )

    t0 = time.perf_counter()
    plots = make_plots(n_train, random_state=0)
    train = plots[PLOT_FEATURES].to_numpy(dtype=np.float64)
    raster = LandscapeRaster(n_cells, random_state=0)
    print(
        f"data: {n_train} training plots x {train.shape[1]} predictors; map of {raster.side} x "
        f"{raster.side} cells of {raster.cell:.1f} m ({time.perf_counter() - t0:.1f} s to simulate)"
    )

    def chunk(i, size):
        return raster.window(i, size)

    t0 = time.perf_counter()
    aoa = AreaOfApplicability(weights="uniform", n_jobs=args.threads, random_state=0).fit(train)
    t_fit = time.perf_counter() - t0

    # geoagb, all cells, chunk by chunk (timed: di only)
    tracemalloc.start()
    t_di, cpu_di, peak, inside, done, i = 0.0, 0.0, 0, 0, 0, 0
    first = None
    while raster.rows_done < raster.side:
        c = chunk(i, args.chunk)
        size = len(c)
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        di = aoa.di(c)
        t_di += time.perf_counter() - t0
        cpu_di += time.process_time() - c0
        peak = max(peak, tracemalloc.get_traced_memory()[1] - base)
        inside += int((di <= aoa.threshold_).sum())
        if first is None:
            first = (c[: int(args.naive_cells)], di[: int(args.naive_cells)])
        done += size
        i += 1
    tracemalloc.stop()
    n_cells = done
    rate = n_cells / t_di

    # naive CAST algorithm on a subsample, extrapolated
    mu, sd = train.mean(axis=0), train.std(axis=0, ddof=1)
    T = (train - mu) / sd
    t0 = time.perf_counter()
    dbar = naive_fit(T)
    t_nfit = time.perf_counter() - t0
    C, di_ours = first
    t0, c0 = time.perf_counter(), time.process_time()
    di_naive = naive_di(T, dbar, (C - mu) / sd)
    t_naive, cpu_naive = time.perf_counter() - t0, time.process_time() - c0
    naive_rate = len(C) / t_naive
    err = float(np.max(np.abs(di_naive - di_ours) / di_naive))

    print(
        f"fit (training DI, threshold): geoagb {t_fit:.2f} s, naive mean distance alone {t_nfit:.2f} s"
    )
    print(f"threshold {aoa.threshold_:.3f}; {100 * inside / n_cells:.1f} % of cells inside the AOA")
    print(
        f"geoagb DI: {n_cells:.3g} cells in {t_di:.1f} s with {args.threads} thread(s) = {rate:,.0f} cells/s "
        f"(CPU time {cpu_di:.1f} s: {n_cells / cpu_di:,.0f} cells per CPU-second, i.e. "
        f"{cpu_di / args.threads:.0f} s on {args.threads} free core(s)); "
        f"\n  peak traced memory during DI {peak / 2**20:.0f} MiB (chunks of {args.chunk} cells); "
        f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB"
    )
    print(
        f"naive DI (full distance matrix per 1000-cell chunk): {len(C):,} cells in {t_naive:.1f} s = "
        f"{naive_rate:,.0f} cells/s -> extrapolated {n_cells / naive_rate:,.0f} s for {n_cells:.3g} cells"
    )
    print(
        f"speed ratio geoagb / naive: {rate / naive_rate:.1f}x wall clock, "
        f"{(n_cells / cpu_di) / (len(C) / cpu_naive):.1f}x per CPU-second; max relative DI difference on the "
        f"{len(C):,} common cells: {err:.2e} (mean training distance: geoagb "
        f"{'exact' if aoa.mean_distance_exact_ else 'estimated on 5000 samples'}, naive exact)"
    )


if __name__ == "__main__":
    main()
