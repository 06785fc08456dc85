"""GLCM texture: geoagb's vectorised moving window vs a per-window scikit-image loop.

Both compute, for every pixel of a band, the 7x7-window GLCM (32 levels, distance 1, angles 0,
45, 90, 135 degrees, symmetric, normed) and eight measures averaged over the angles. geoagb runs
on the whole band; the scikit-image loop (graycomatrix + graycoprops per window) is timed on a
random subset of windows and extrapolated to the whole band (printed as such), and the two are
checked to agree on that subset.

Run: ``python benchmarks/bench_texture.py [--size 2000] [--sample 2000]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.ndimage import gaussian_filter
from skimage.feature import graycomatrix, graycoprops

from geoagb.features import glcm_texture
from geoagb.features._texture import DEFAULT_ANGLES, DEFAULT_FEATURES, quantize

WINDOW, LEVELS = 7, 32


def skimage_window(qp, i, j):
    P = graycomatrix(
        qp[i : i + WINDOW, j : j + WINDOW],
        [1],
        DEFAULT_ANGLES,
        levels=LEVELS,
        symmetric=True,
        normed=True,
    )
    return [graycoprops(P, "ASM" if f == "asm" else f).mean() for f in DEFAULT_FEATURES]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=2000, help="band side, pixels (default 2000)")
    ap.add_argument("--sample", type=int, default=2000, help="windows timed with scikit-image")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    rng = np.random.default_rng(a.seed)
    band = gaussian_filter(rng.normal(size=(a.size, a.size)), 2.0)  # image-like texture
    n_pix = a.size * a.size

    t0 = time.perf_counter()
    ours = glcm_texture(band, window=WINDOW, levels=LEVELS, features=DEFAULT_FEATURES)
    t_ours = time.perf_counter() - t0

    q, _ = quantize(band, LEVELS)
    qp = np.pad(q, WINDOW // 2, mode="reflect").astype(np.uint8)
    ii = rng.integers(0, a.size, a.sample)
    jj = rng.integers(0, a.size, a.sample)
    t0 = time.perf_counter()
    ref = np.array([skimage_window(qp, i, j) for i, j in zip(ii, jj)])
    t_loop = time.perf_counter() - t0
    t_sk = t_loop / a.sample * n_pix

    mine = np.column_stack([ours[f][ii, jj] for f in DEFAULT_FEATURES])
    err = np.max(np.abs(mine - ref))

    print(
        f"GLCM texture, {a.size} x {a.size} band, {WINDOW}x{WINDOW} window, {LEVELS} levels, "
        f"4 angles, {len(DEFAULT_FEATURES)} measures ({', '.join(DEFAULT_FEATURES)})"
    )
    print(f"  geoagb glcm_texture (whole band):        {t_ours:10.2f} s")
    print(
        f"  scikit-image loop, {a.sample} windows timed:  {t_loop:10.2f} s "
        f"({t_loop / a.sample * 1e6:.0f} us per window)"
    )
    print(
        f"  scikit-image loop, whole band:           {t_sk:10.1f} s  (EXTRAPOLATED from the "
        f"{a.sample} timed windows to {n_pix} windows)"
    )
    print(f"  ratio (scikit-image / geoagb):           {t_sk / t_ours:10.1f} x")
    print(f"  max |difference| on the timed windows:   {err:10.2e}")


if __name__ == "__main__":
    main()
