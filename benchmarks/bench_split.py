"""Benchmark: spatial block k-fold labelling and splitting vs verde.BlockKFold.

For n = 1e5, 1e6, 1e7 random points over a 200 km square, times (same run, same points):
- geoagb ``block_labels`` alone, and a full pass over ``SpatialBlockKFold(10, 5 km).split``;
- verde ``BlockKFold(spacing=5 km, n_splits=10, shuffle=True).split`` (full pass).
Prints seconds and the ratio verde / geoagb. verde is skipped at a size when its previous size
took longer than ``--verde-budget`` seconds times the size factor (it then says so).

    python benchmarks/bench_split.py [--sizes 1e5 1e6 1e7] [--verde-budget 120]
"""

from __future__ import annotations

import argparse

import numpy as np
from _timing import best_time


def main():
    from geoagb.model_selection import SpatialBlockKFold, block_labels

    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7])
    ap.add_argument("--verde-budget", type=float, default=120.0)
    args = ap.parse_args()
    try:
        import verde
    except ImportError:  # pragma: no cover
        verde = None
    print(
        f"{'n':>10} {'labels_s':>9} {'geoagb_split_s':>15} {'verde_split_s':>14} {'ratio_verde/geoagb':>19}"
    )
    last_verde = None
    rng = np.random.default_rng(0)
    for n in (int(s) for s in args.sizes):
        xy = rng.uniform(0, 200_000, (n, 2)) + [300_000, 2_500_000]
        t_lab = best_time(lambda: block_labels(xy, 5_000), repeat=3 if n <= 1e6 else 1)
        cv = SpatialBlockKFold(10, block_size=5_000, random_state=0)

        def ours():
            for _tr, _te in cv.split(xy):
                pass

        t_ours = best_time(ours, repeat=3 if n <= 1e6 else 1)
        t_verde, note = np.nan, ""
        if verde is None:
            note = "verde not installed"
        elif last_verde is not None and last_verde[1] * (n / last_verde[0]) > args.verde_budget:
            note = f"verde skipped: extrapolated {last_verde[1] * n / last_verde[0]:.0f} s > budget"
        else:
            vcv = verde.BlockKFold(spacing=5_000, n_splits=10, shuffle=True, random_state=0)

            def theirs():
                for _tr, _te in vcv.split(xy):
                    pass

            t_verde = best_time(theirs)
            last_verde = (n, t_verde)
        ratio = t_verde / t_ours if np.isfinite(t_verde) else np.nan
        print(f"{n:>10d} {t_lab:>9.3f} {t_ours:>15.3f} {t_verde:>14.3f} {ratio:>19.1f}  {note}")


if __name__ == "__main__":
    main()
