"""CSMF-Net training on a shared CPU: epoch time alone and beside a CPU-bound process.

Compares, in the same run, torch's own default (every core: ``n_jobs=os.cpu_count()``) with
geoagb's thread policy (``n_jobs=None``: half the cores, see
``geoagb.deep._torch.default_threads``), each measured alone and while one other process spins
on a core. The ratio printed is the contention slowdown (epoch time with the competitor / alone);
the issue's bound is 2.5x.

    python benchmarks/bench_threads.py --patches 256 --epochs 3
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time


def _spin(stop):
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def epoch_seconds(n_threads, n_patches, epochs):
    from geoagb.deep import CSMFNetRegressor
    from geoagb.deep._toy import toy_patches

    X, y = toy_patches(n_patches, size=26, random_state=0)
    net = CSMFNetRegressor(
        image_bands=["blue", "green", "red", "nir"],
        max_epochs=epochs,
        patience=None,
        validation_fraction=0.0,
        device="cpu",
        verbose=0,
        random_state=0,
        n_jobs=n_threads,
    )
    t = time.perf_counter()
    net.fit(X, y)
    return (time.perf_counter() - t) / epochs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patches", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    from geoagb.deep._torch import default_threads

    n_cpu = len(os.sched_getaffinity(0))
    rows = []
    for label, n in (
        ("torch default (all cores)", n_cpu),
        (f"geoagb policy (n_jobs=None -> {default_threads()})", None),
    ):
        alone = epoch_seconds(n, args.patches, args.epochs)
        stop = mp.Event()
        proc = mp.Process(target=_spin, args=(stop,), daemon=True)
        proc.start()
        try:
            busy = epoch_seconds(n, args.patches, args.epochs)
        finally:
            stop.set()
            proc.join()
        rows.append((label, alone, busy))
    print(f"CSMF-Net, {args.patches} patches of 26 x 26, {args.epochs} epochs, {n_cpu} cores")
    print(f"{'threads':48s} {'alone s/epoch':>14s} {'with 1 busy proc':>17s} {'slowdown':>9s}")
    for label, alone, busy in rows:
        print(f"{label:48s} {alone:14.2f} {busy:17.2f} {busy / alone:8.2f}x")
    print(f"policy vs torch default beside a busy process: {rows[0][2] / rows[1][2]:.2f}x faster")


if __name__ == "__main__":
    main()
