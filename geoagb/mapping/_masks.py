"""Masks for mapping (land cover, cloud, forest), evaluated on windows of the output grid.

A mask specification is one of

* a raster path: cells whose mask value is non-zero (and not nodata) are mapped, e.g. a 0/1
  forest or clear-sky mask;
* a pair ``(path, values)``: cells whose mask value is in ``values`` are mapped, e.g.
  ``("landcover.tif", [1, 2])`` keeps forest and shrub/grass, or ``("cloud.tif", [0])``;
* a boolean array of the output grid's shape (True = map the cell);
* a list of the above, all of which must hold.

A mask raster may have any resolution and CRS. When it is finer than the output grid an output
cell is mapped when at least half of its area is valid in the mask (majority rule); when it is
coarser or equal the mask cell under the output cell centre decides.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine
from rasterio.windows import Window

from ..raster import OutputGrid, read_on_grid

__all__ = ["normalize_mask", "mask_window"]

#: Fraction of an output cell that must be valid in a finer mask raster for the cell to be mapped.
MIN_VALID_FRACTION = 0.5


def normalize_mask(mask: Any, grid: OutputGrid | None = None) -> list:
    """Turn a mask specification into a list of ``(kind, payload)`` items (picklable)."""
    if mask is None:
        return []
    if isinstance(mask, np.ndarray):
        if mask.dtype != bool:
            raise ValueError(
                f"a mask array must be boolean (True = map the cell); got dtype {mask.dtype}."
            )
        if grid is not None and mask.shape != (grid.height, grid.width):
            raise ValueError(
                f"mask array has shape {mask.shape} but the output grid is {(grid.height, grid.width)} "
                "(rows, cols); give it on the output grid or pass a mask raster path instead."
            )
        return [("array", mask)]
    if isinstance(mask, (str, Path)):
        _check_exists(mask)
        return [("raster", (str(mask), None, _mask_resolution(mask)))]
    if isinstance(mask, tuple) and len(mask) == 2 and isinstance(mask[0], (str, Path)):
        _check_exists(mask[0])
        values = np.atleast_1d(np.asarray(mask[1], dtype=float))
        return [("raster", (str(mask[0]), values, _mask_resolution(mask[0])))]
    if isinstance(mask, (list, tuple)):
        out = []
        for m in mask:
            out.extend(normalize_mask(m, grid))
        return out
    raise TypeError(
        f"mask of type {type(mask).__name__} not understood: give a raster path (non-zero = map), "
        "a (path, [values to map]) pair, a boolean array on the output grid, or a list of these."
    )


def _check_exists(path) -> None:
    if not Path(path).exists():
        raise FileNotFoundError(f"mask raster {path} does not exist.")


def _mask_resolution(path) -> float:
    import rasterio

    with rasterio.open(path) as ds:
        return abs(ds.transform.a)


def mask_window(items: list, grid: OutputGrid, win: Window) -> np.ndarray | None:
    """Boolean (h, w) array, True where output window ``win`` is to be mapped; None = no mask."""
    if not items:
        return None
    h, w = int(win.height), int(win.width)
    keep = np.ones((h, w), dtype=bool)
    tr = grid.window_transform(win)
    for kind, payload in items:
        if kind == "array":
            r, c = int(win.row_off), int(win.col_off)
            keep &= payload[r : r + h, c : c + w]
            continue
        path, values, res = payload
        k = max(1, int(round(grid.resolution / res)))
        sub = read_on_grid(path, tr @ Affine.scale(1.0 / k), (h * k, w * k), grid.crs)
        valid = np.isfinite(sub)
        if values is None:
            ok = valid & (np.nan_to_num(sub) != 0)
        else:
            ok = valid & np.isin(sub, values)
        if k > 1:
            frac = ok.reshape(h, k, w, k).mean(axis=(1, 3))
            ok = frac >= MIN_VALID_FRACTION
        keep &= ok
    return keep
