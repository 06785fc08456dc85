"""Grey-level co-occurrence (GLCM, Haralick) texture in a moving window, vectorised.

For every pixel the GLCM of the ``window x window`` neighbourhood centred on it is the one
:func:`skimage.feature.graycomatrix` builds with ``symmetric=True, normed=True`` on that
neighbourhood, and each texture value is :func:`skimage.feature.graycoprops` averaged over the
``distances`` and ``angles`` (``graycoprops(P, prop).mean()``). The numbers match scikit-image
(tested) but no per-window matrix is built:

* properties that are sums over pixel pairs (mean, variance, std, contrast, dissimilarity,
  homogeneity, correlation) are box sums of per-pair maps (for the offset ``o``, the pair
  starting at pixel ``p`` is ``(q[p], q[p + o])``); a window holds a fixed rectangle of pair
  starts, so a summed-area table gives every window at once. All sums are integers (homogeneity
  in 2^-40 fixed point), so every pixel's value is exact and does not depend on the array
  extent: a tile computed with a halo equals the same pixels of the whole scene, bit for bit;
* entropy and ASM need the count ``c`` of each grey-level pair in the window. The windows of a
  row of pixels are swept from left to right, all rows at once: the pair column leaving the
  window decrements its counts, the entering one increments them, and the running sums of
  ``c ln c`` (fixed point) and ``c^2`` are updated in O(1) per pair. Small tiles (plot
  footprints) instead sort each window's pair keys; both paths use the same integer tables
  and give the same bits.

``benchmarks/bench_texture.py`` times this against a per-window scikit-image loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["glcm_texture", "GLCM_FEATURES", "quantize"]

#: Texture measures available, with graycoprops' names in lowercase (``asm`` is ``ASM``).
GLCM_FEATURES = (
    "mean",
    "variance",
    "std",
    "contrast",
    "dissimilarity",
    "homogeneity",
    "entropy",
    "asm",
    "energy",
    "correlation",
)
DEFAULT_FEATURES = (
    "mean",
    "variance",
    "contrast",
    "homogeneity",
    "dissimilarity",
    "entropy",
    "asm",
    "correlation",
)
DEFAULT_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)

_FIX = float(2**40)  # fixed-point scale for the non-integer per-pair sums
_SORT_MAX_WINDOWS = 40_000  # tiles up to this many pixels count pairs by sorting, larger ones sweep


def quantize(band, levels: int = 32, vmin: float | None = None, vmax: float | None = None):
    """Grey levels ``floor((x - vmin) / (vmax - vmin) * levels)`` clipped to ``0 .. levels-1``.

    Parameters
    ----------
    band : array
    levels : int, default 32
    vmin, vmax : float, optional
        Value range mapped onto the levels; default the band's finite minimum and maximum.
        For tiles of one scene pass the scene's range so that all tiles share one quantisation.

    Returns
    -------
    q : int16 array (NaN pixels get level 0)
    valid : bool array, False where ``band`` is NaN

    Examples
    --------
    >>> q, ok = quantize(np.array([0.0, 0.49, 0.5, 1.0, np.nan]), levels=2, vmin=0, vmax=1)
    >>> q.tolist(), ok.tolist()
    ([0, 0, 1, 1, 0], [True, True, True, True, False])
    """
    x = np.asarray(band, dtype=float)
    valid = np.isfinite(x)
    if not (2 <= int(levels) <= 4096):
        raise ValueError(f"levels={levels} must be an integer in 2..4096 (32 or 64 is usual).")
    if vmin is None or vmax is None:
        if not valid.any():
            lo = hi = 0.0
        else:
            lo, hi = float(np.min(x[valid])), float(np.max(x[valid]))
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    span = float(vmax) - float(vmin)
    with np.errstate(invalid="ignore"):
        scaled = (x - float(vmin)) / (span if span > 0 else 1.0) * levels
    q = np.floor(np.where(valid, scaled, 0.0))
    q = np.clip(q, 0, levels - 1).astype(np.int16)
    return q, valid


def glcm_offsets(distances: Sequence[int], angles: Sequence[float]) -> list[tuple[int, int]]:
    """(row, col) offsets exactly as scikit-image's graycomatrix derives them."""
    out = []
    for a in angles:
        for d in distances:
            out.append((int(round(math.sin(a) * d)), int(round(math.cos(a) * d))))
    return out


def glcm_texture(
    band,
    window: int = 7,
    *,
    levels: int = 32,
    features: Sequence[str] = DEFAULT_FEATURES,
    distances: Sequence[int] = (1,),
    angles: Sequence[float] = DEFAULT_ANGLES,
    vmin: float | None = None,
    vmax: float | None = None,
    padding: str | None = "reflect",
) -> dict[str, np.ndarray]:
    """Per-pixel GLCM texture measures in a moving window.

    Parameters
    ----------
    band : 2-D array
        One band (reflectance, PC1, ...). NaN is nodata: a window containing a NaN pixel gives
        NaN.
    window : int, default 7
        Odd side of the square moving window, pixels (7 x 7 as in the Lishui and Shenzhen
        studies).
    levels : int, default 32
        Number of grey levels (see :func:`quantize`).
    features : sequence of str
        Any of :data:`GLCM_FEATURES`: ``mean`` (sum i P), ``variance`` (sum P (i - mean)^2),
        ``std``, ``contrast`` (sum P (i-j)^2), ``dissimilarity`` (sum P |i-j|),
        ``homogeneity`` (sum P / (1 + (i-j)^2)), ``entropy`` (-sum P ln P), ``asm``
        (sum P^2), ``energy`` (sqrt(asm)), ``correlation`` (1 where the variance is 0, as in
        scikit-image). Grey levels are the quantised values 0 .. levels-1.
    distances : sequence of int, default (1,)
        Pixel-pair distances.
    angles : sequence of float, default (0, pi/4, pi/2, 3pi/4)
        Pair directions, radians. The offset is ``(round(sin a * d), round(cos a * d))`` as in
        scikit-image; values are averaged over all (distance, angle) combinations.
    vmin, vmax : float, optional
        Quantisation range; default the band's finite min and max.
    padding : {"reflect", None}
        ``"reflect"`` (numpy's mode, mirror without repeating the edge pixel) pads the band by
        ``window // 2`` so the output has the band's shape; ``None`` returns only the pixels
        whose window lies inside the band (shape reduced by ``window - 1``).

    Returns
    -------
    dict feature name -> float64 array

    References
    ----------
    Haralick, Shanmugam & Dinstein (1973) Textural features for image classification. IEEE
    Trans. Syst. Man Cybern. 3, 610-621. Hall-Beyer (2017) GLCM Texture: a tutorial, v. 3.0.

    Examples
    --------
    >>> img = np.tile([0.0, 1.0], (5, 3))          # vertical stripes, 5 x 6
    >>> t = glcm_texture(img, window=3, levels=2, features=["contrast"], angles=[0.0])
    >>> float(t["contrast"][2, 2])                  # every horizontal pair differs
    1.0
    """
    band = np.asarray(band, dtype=float)
    if band.ndim != 2:
        raise ValueError(f"glcm_texture needs a 2-D band; got shape {band.shape}.")
    window = int(window)
    if window < 3 or window % 2 == 0:
        raise ValueError(f"window={window} must be an odd integer >= 3 (e.g. 7 for 7x7).")
    feats = [str(f).lower() for f in features]
    bad = [f for f in feats if f not in GLCM_FEATURES]
    if bad:
        raise ValueError(f"unknown GLCM feature(s) {bad}; valid: {list(GLCM_FEATURES)}.")
    q, valid = quantize(band, levels, vmin, vmax)
    r = window // 2
    if padding == "reflect":
        if min(band.shape) <= r:
            raise ValueError(f"band of shape {band.shape} is too small for window={window}.")
        q = np.pad(q, r, mode="reflect")
        valid = np.pad(valid, r, mode="reflect")
    elif padding is not None:
        raise ValueError(f"padding={padding!r}; valid: 'reflect' or None.")
    return glcm_valid(q, valid, window, levels, feats, glcm_offsets(distances, angles))


# ---------------------------------------------------------------------------------------------
def _box_sum(a: np.ndarray, h: int, w: int) -> np.ndarray:
    """Sums of every h x w box of an integer array (exact, int64)."""
    cs = np.cumsum(a, axis=1, dtype=np.int64)
    cs = np.concatenate([np.zeros((cs.shape[0], 1), np.int64), cs], axis=1)
    rows = cs[:, w:] - cs[:, :-w]
    cs = np.cumsum(rows, axis=0)
    cs = np.concatenate([np.zeros((1, cs.shape[1]), np.int64), cs], axis=0)
    return cs[h:] - cs[:-h]


def _fixed_point(n_pairs: int):
    """Integer tables shared by both counting paths: ``E[c]`` = fixed-point ``c ln c``, the
    packing shift and the fixed-point scale. Identical tables make both paths bit-identical.
    """
    sq_bits = int(2 * n_pairs * n_pairs).bit_length()
    ent_bits = int(math.ceil(n_pairs * math.log(max(n_pairs, 2)) + 1)).bit_length()
    frac_bits = 62 - sq_bits - ent_bits
    packed = frac_bits >= 36  # both sums in one int64: (c ln c) << sq_bits | w c^2
    fix = float(2 ** (frac_bits if packed else 40))
    cnt = np.arange(n_pairs + 2, dtype=float)
    clc = cnt * np.log(np.maximum(cnt, 1.0))
    d_ent = np.rint((clc[1:] - clc[:-1]) * fix).astype(np.int64)[: n_pairs + 1]
    E = np.concatenate([[0], np.cumsum(d_ent)])  # E[c] = sum_{m < c} d_ent[m]
    return d_ent, E, sq_bits, packed, fix


def _entropy_asm_sort(lo, hi, levels, h_, w_, out_shape):
    """Same sums as :func:`_entropy_asm_sweep` by sorting each window's pair keys (faster for
    small tiles, e.g. plot footprints).
    """
    from numpy.lib.stride_tricks import sliding_window_view

    nrow, ncol = out_shape
    n_pairs = h_ * w_
    _, E, _, _, fix = _fixed_point(n_pairs)
    key = lo * levels + hi
    win = sliding_window_view(key, (h_, w_))[:nrow, :ncol].reshape(nrow * ncol, n_pairs)
    srt = np.sort(win, axis=1)
    new = np.ones(srt.shape, bool)
    np.not_equal(srt[:, 1:], srt[:, :-1], out=new[:, 1:])
    flat_new = new.ravel()
    starts = np.flatnonzero(flat_new)
    length = np.diff(np.append(starts, flat_new.size))
    k = srt.ravel()[starts]
    diag = (k // levels) == (k % levels)
    row_first = np.searchsorted(starts, np.arange(nrow * ncol) * n_pairs)
    ent = np.add.reduceat(E[length], row_first)
    sq = np.add.reduceat((1 + diag.astype(np.int64)) * length * length, row_first)
    return (ent / fix).reshape(nrow, ncol), sq.astype(float).reshape(nrow, ncol)


def _entropy_asm_sweep(lo, hi, levels, h_, w_, out_shape):
    """Per window: sum over grey-level pairs of ``c ln c`` and of ``w c^2`` (``w`` = 2 on the
    diagonal, 1 off it), ``c`` being the pair's count in the window.

    Windows are swept left to right, all rows of a chunk at once; the pair column leaving a
    window decrements its counts, the one entering increments them. Both running sums are kept
    in integers (``c ln c`` in fixed point), so a window's value does not depend on where the
    sweep started. Returns ``(sum c ln c, sum w c^2)`` as float64 arrays of ``out_shape``.
    """
    nrow, ncol = out_shape
    n_pairs = h_ * w_
    n_keys = levels * (levels + 1) // 2
    d_ent, _, sq_bits, packed, fix = _fixed_point(n_pairs)
    c = np.arange(n_pairs + 1, dtype=np.int64)
    d_sq = np.empty(2 * (n_pairs + 1), np.int64)  # index 2c + diag
    d_sq[0::2], d_sq[1::2] = 2 * c + 1, 2 * (2 * c + 1)
    d_e2 = np.repeat(d_ent, 2)
    table = (d_e2 << sq_bits) + d_sq if packed else None
    key_all = lo * (2 * levels - lo + 1) // 2 + (hi - lo)  # unordered pair id, 0..n_keys-1
    diag_all = lo == hi
    out_ent = np.empty((nrow, ncol))
    out_sq = np.empty((nrow, ncol))
    count_dtype = np.int16 if n_pairs < 32767 else np.int32
    chunk = max(8, min(nrow, (1 << 25) // n_keys))
    for r0 in range(0, nrow, chunk):
        rows = min(chunk, nrow - r0)
        kT = np.ascontiguousarray(key_all[r0 : r0 + rows + h_ - 1].T, dtype=np.intp)
        dT = np.ascontiguousarray(diag_all[r0 : r0 + rows + h_ - 1].T, dtype=np.intp)
        base = np.arange(rows, dtype=np.intp) * n_keys
        counts = np.zeros(rows * n_keys, count_dtype)
        acc = np.zeros(rows, np.int64)
        acc2 = None if packed else np.zeros(rows, np.int64)
        res = np.empty((ncol, rows), np.int64)
        res2 = None if packed else np.empty((ncol, rows), np.int64)

        def update(col, sign):
            for t in range(h_):
                idx = kT[col, t : t + rows] + base
                cc = counts[idx]
                if sign < 0:
                    cc -= 1
                ti = cc.astype(np.intp) * 2
                ti += dT[col, t : t + rows]
                if packed:
                    delta = table[ti]
                    acc.__iadd__(delta) if sign > 0 else acc.__isub__(delta)
                else:
                    if sign > 0:
                        acc.__iadd__(d_e2[ti])
                        acc2.__iadd__(d_sq[ti])
                    else:
                        acc.__isub__(d_e2[ti])
                        acc2.__isub__(d_sq[ti])
                if sign > 0:
                    cc += 1
                counts[idx] = cc

        for col in range(w_):
            update(col, +1)
        res[0] = acc
        if not packed:
            res2[0] = acc2
        for j in range(1, ncol):
            update(j - 1, -1)
            update(j + w_ - 1, +1)
            res[j] = acc
            if not packed:
                res2[j] = acc2
        if packed:
            out_ent[r0 : r0 + rows] = (res >> sq_bits).T / fix
            out_sq[r0 : r0 + rows] = (res & ((1 << sq_bits) - 1)).T
        else:
            out_ent[r0 : r0 + rows] = res.T / fix
            out_sq[r0 : r0 + rows] = res2.T
    return out_ent, out_sq


def glcm_valid(
    q: np.ndarray,
    valid: np.ndarray,
    window: int,
    levels: int,
    features: Sequence[str],
    offsets: Sequence[tuple[int, int]],
) -> dict[str, np.ndarray]:
    """Texture for every pixel whose whole window lies inside the quantised array ``q``.

    ``q`` (integer grey levels) and ``valid`` have shape (H + window - 1, W + window - 1); the
    output has shape (H, W). This is the kernel behind :func:`glcm_texture` and
    :class:`~geoagb.features.RasterFeatures` (which supplies the halo itself).
    """
    q = np.asarray(q)
    r = window // 2
    H, W = q.shape[0] - 2 * r, q.shape[1] - 2 * r
    if H < 1 or W < 1:
        raise ValueError(f"array of shape {q.shape} is smaller than one {window}x{window} window.")
    feats = list(features)
    qi = q.astype(np.int64)
    need_ea = any(f in ("entropy", "asm", "energy") for f in feats)
    acc = {f: np.zeros((H, W)) for f in feats}
    for dr, dc in offsets:
        if abs(dr) >= window or abs(dc) >= window:
            raise ValueError(
                f"offset {(dr, dc)} does not fit in a {window}x{window} window; "
                "use smaller distances or a larger window."
            )
        h_, w_ = window - abs(dr), window - abs(dc)
        n = h_ * w_
        r0, c0 = max(0, -dr), max(0, -dc)
        a = qi[r0 : qi.shape[0] - max(0, dr), c0 : qi.shape[1] - max(0, dc)]
        b = qi[r0 + dr : qi.shape[0] - max(0, dr) + dr, c0 + dc : qi.shape[1] - max(0, dc) + dc]
        box = lambda m: _box_sum(m, h_, w_)  # noqa: E731
        diff = a - b
        S1 = S2 = S11 = None
        if any(f in ("mean", "variance", "std", "correlation") for f in feats):
            S1 = box(a + b)
        if any(f in ("variance", "std", "correlation") for f in feats):
            S2 = box(a * a + b * b)
        for f in feats:
            if f == "mean":
                v = S1 / (2.0 * n)
            elif f in ("variance", "std"):
                v = (2 * n * S2 - S1 * S1) / (4.0 * n * n)
                if f == "std":
                    v = np.sqrt(v)
            elif f == "contrast":
                v = box(diff * diff) / n
            elif f == "dissimilarity":
                v = box(np.abs(diff)) / n
            elif f == "homogeneity":
                hom = np.rint(_FIX / (1.0 + diff * diff)).astype(np.int64)
                v = box(hom) / (_FIX * n)
            elif f == "correlation":
                if S11 is None:
                    S11 = box(a * b)
                num = 4 * n * S11 - S1 * S1
                den = 2 * n * S2 - S1 * S1
                with np.errstate(divide="ignore", invalid="ignore"):
                    v = np.where(den == 0, 1.0, num / np.where(den == 0, 1, den))
            else:
                continue
            acc[f] += v
        if need_ea:
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            count = _entropy_asm_sort if H * W <= _SORT_MAX_WINDOWS else _entropy_asm_sweep
            s_ent, s_sq = count(lo, hi, levels, h_, w_, (H, W))
            if "entropy" in feats:
                n_off = box((lo != hi).astype(np.int64))
                acc["entropy"] += math.log(n) + (math.log(2.0) * n_off - s_ent) / n
            if "asm" in feats or "energy" in feats:
                asm = s_sq / (2.0 * n * n)
                if "asm" in feats:
                    acc["asm"] += asm
                if "energy" in feats:
                    acc["energy"] += np.sqrt(asm)
    k = float(len(offsets))
    bad = _box_sum((~np.asarray(valid, bool)).astype(np.int64), window, window) > 0
    out = {}
    for f in feats:
        v = acc[f] / k
        v[bad] = np.nan
        out[f] = v
    return out
