"""Window planning for wall-to-wall mapping: output grid, window size from a memory budget, tiles.

A map is computed window by window so that peak memory depends on the window size, never on the
raster size. Windows are laid on the *output* grid (e.g. 30 m cells); each output cell covers
``factor x factor`` input pixels (e.g. 30 x 30 pixels of a 1 m image). The context pixels a
window needs around it (texture and terrain kernels, a plot-sized patch centred on an edge cell)
are its *halo*; they are read but not written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS
from rasterio.windows import Window

__all__ = [
    "OutputGrid",
    "output_grid",
    "check_metric_resolution",
    "window_size_for_budget",
    "plan_windows",
    "block_mean",
    "TILE",
]

#: Tile size of the GeoTIFFs written by geoagb (the usual Cloud-Optimized GeoTIFF block size).
TILE = 256


@dataclass(frozen=True)
class OutputGrid:
    """The grid of a map: ``width`` x ``height`` cells of ``factor`` input pixels each.

    Attributes
    ----------
    crs : rasterio CRS or None
    transform : affine.Affine
        Transform of the output grid (its cells are ``resolution`` metres).
    width, height : int
        Size in output cells.
    factor : int
        Input pixels per output cell along each axis.
    in_transform : affine.Affine
        Transform of the input (reference) grid.
    """

    crs: object
    transform: Affine
    width: int
    height: int
    factor: int
    in_transform: Affine

    @property
    def resolution(self) -> float:
        """Output cell size, metres."""
        return abs(self.transform.a)

    @property
    def in_resolution(self) -> float:
        """Input pixel size, metres."""
        return abs(self.in_transform.a)

    def input_window(self, win: Window) -> Window:
        """The input-grid window covered by output window ``win`` (no halo)."""
        f = self.factor
        return Window(
            int(win.col_off) * f, int(win.row_off) * f, int(win.width) * f, int(win.height) * f
        )

    def window_transform(self, win: Window) -> Affine:
        """Affine transform of output window ``win``."""
        return self.transform @ Affine.translation(int(win.col_off), int(win.row_off))

    def cell_centres(self, win: Window) -> tuple[np.ndarray, np.ndarray]:
        """Easting and northing (metres) of the centres of the cells of ``win``, each (h, w)."""
        cols = np.arange(int(win.col_off), int(win.col_off) + int(win.width)) + 0.5
        rows = np.arange(int(win.row_off), int(win.row_off) + int(win.height)) + 0.5
        c, r = np.meshgrid(cols, rows)
        t = self.transform
        return t.a * c + t.b * r + t.c, t.d * c + t.e * r + t.f


def output_grid(grid: dict, resolution: float | None = None) -> OutputGrid:
    """Output grid for a reference ``grid`` (dict with crs, transform, width, height).

    Parameters
    ----------
    grid : dict
        The input (reference) grid, e.g. ``RasterFeatures.grid``.
    resolution : float, optional
        Output cell size in metres, a whole multiple of the input pixel size. ``None`` keeps the
        input grid. Cells that would only partly lie inside the input (right and bottom edges)
        are dropped, so every output cell is made of whole input pixels.

    Examples
    --------
    >>> from affine import Affine
    >>> g = output_grid(dict(crs=None, transform=Affine(1, 0, 0, 0, -1, 100), width=95, height=100), 30)
    >>> g.width, g.height, g.factor, g.transform.a
    (3, 3, 30, 30.0)
    """
    tr = grid["transform"]
    if not isinstance(tr, Affine):
        tr = Affine(*tr[:6])
    if tr.b != 0 or tr.d != 0:
        raise ValueError(
            f"the input grid is rotated (transform {tuple(tr)[:6]}); mapping needs north-up "
            "rasters: warp them with rasterio.warp.reproject or `gdalwarp` first."
        )
    xres, yres = abs(tr.a), abs(tr.e)
    if resolution is None:
        factor = 1
    else:
        resolution = float(resolution)
        check_metric_resolution(grid.get("crs"), resolution)
        fx, fy = resolution / xres, resolution / yres
        factor = int(round(fx))
        if (
            factor < 1
            or abs(fx - factor) > 1e-6 * max(1.0, fx)
            or abs(fy - round(fy)) > 1e-6 * max(1.0, fy)
            or int(round(fy)) != factor
        ):
            ok = [m * xres for m in (1, 2, 5, 10, 20, 25, 30) if m * xres >= 0.5 * resolution][:3]
            raise ValueError(
                f"resolution={resolution:g} m is not a whole multiple of the input pixel size "
                f"{xres:g} x {yres:g} m; output cells must be made of whole input pixels. "
                f"Choose e.g. resolution={ok[0]:g}"
                + ("" if len(ok) < 2 else f" or {ok[1]:g}")
                + "."
            )
    width, height = int(grid["width"]) // factor, int(grid["height"]) // factor
    if width < 1 or height < 1:
        raise ValueError(
            f"resolution={resolution} m is coarser than the whole input raster "
            f"({grid['width']} x {grid['height']} pixels of {xres:g} m); choose a finer resolution."
        )
    return OutputGrid(
        crs=grid.get("crs"),
        transform=tr @ Affine.scale(factor),
        width=width,
        height=height,
        factor=factor,
        in_transform=tr,
    )


def check_metric_resolution(crs, resolution, what: str = "resolution") -> None:
    """Refuse a resolution in metres for rasters whose CRS is geographic (degrees).

    Examples
    --------
    >>> check_metric_resolution("EPSG:32648", 30)  # UTM: fine
    >>> try:
    ...     check_metric_resolution("EPSG:4326", 30)
    ... except ValueError as err:
    ...     print(str(err)[:58])
    resolution=30 m but the raster CRS EPSG:4326 is geographic
    """
    if crs is None:
        return
    try:
        c = CRS.from_user_input(crs)
    except Exception:  # pragma: no cover - a CRS pyproj cannot read: let later checks speak
        return
    if c.is_geographic:
        raise ValueError(
            f"{what}={resolution:g} m but the raster CRS {c.to_string()} is geographic (pixel size "
            "in degrees); resolutions are in metres. Reproject the rasters to a metric CRS first, "
            "e.g. `gdalwarp -t_srs EPSG:<code> in.tif out.tif` with the area's UTM zone "
            "(geoagb.raster.utm_epsg(lon, lat) gives the code) or rasterio.warp.reproject."
        )


def window_size_for_budget(
    bytes_per_cell: float,
    memory_mb: float = 512.0,
    in_flight: int = 3,
    tile: int = TILE,
    minimum: int = 16,
) -> int:
    """Side (output cells) of square windows that keep ``in_flight`` windows under ``memory_mb``.

    Parameters
    ----------
    bytes_per_cell : float
        Working memory per output cell (inputs, features, model copies), bytes.
    memory_mb : float, default 512
        Budget for all windows in flight (read-ahead, compute, write), MiB.
    in_flight : int, default 3
        Windows alive at once (one being read, one computed, one being written).
    tile : int, default 256
        Windows at least one tile wide are whole multiples of it, so each written tile is
        compressed once.
    minimum : int, default 16
        Smallest window side.

    Examples
    --------
    >>> window_size_for_budget(280, memory_mb=512)   # 10 float32 features at 1 output cell/pixel
    768
    >>> window_size_for_budget(4 * 6 * 26 * 26 * 2, memory_mb=512)  # 26 x 26 px patches, 6 bands
    64
    """
    if memory_mb <= 0:
        raise ValueError(f"memory_mb={memory_mb} must be > 0 (MiB available to mapping windows).")
    per_window = memory_mb * 2**20 / max(1, in_flight)
    side = int(math.sqrt(per_window / max(float(bytes_per_cell), 1.0)))
    if side >= tile:
        return side // tile * tile
    return max(minimum, side // 16 * 16)


def plan_windows(width: int, height: int, window_size: int | tuple[int, int]) -> list[Window]:
    """Row-major windows of ``window_size`` cells covering a ``width`` x ``height`` grid.

    Windows at the right and bottom edges are clipped to the grid; together the windows cover
    every cell exactly once.

    Examples
    --------
    >>> [tuple(map(int, w.flatten())) for w in plan_windows(5, 3, 2)][:4]
    [(0, 0, 2, 2), (2, 0, 2, 2), (4, 0, 1, 2), (0, 2, 2, 1)]
    """
    if isinstance(window_size, (tuple, list)):
        wh, ww = int(window_size[0]), int(window_size[1])
    else:
        wh = ww = int(window_size)
    if wh < 1 or ww < 1:
        raise ValueError(f"window_size={window_size} must be >= 1 output cell.")
    return [
        Window(c, r, min(ww, width - c), min(wh, height - r))
        for r in range(0, height, wh)
        for c in range(0, width, ww)
    ]


def block_mean(arr: np.ndarray, factor: int, skipna: bool = True) -> np.ndarray:
    """Mean over ``factor x factor`` blocks of the last two axes (input pixels -> output cells).

    With ``skipna`` the mean of the valid pixels (NaN when none is valid); without, any NaN
    pixel makes the block NaN. The last two axes must be multiples of ``factor``.

    Examples
    --------
    >>> block_mean(np.arange(16, dtype=float).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    if factor == 1:
        return arr
    *lead, h, w = arr.shape
    blocks = arr.reshape(*lead, h // factor, factor, w // factor, factor)
    if not skipna:
        out = blocks.mean(axis=(-3, -1), dtype=np.float64)
        return out.astype(arr.dtype if arr.dtype.kind == "f" else np.float64, copy=False)
    valid = np.isfinite(blocks)
    s = np.where(valid, blocks, 0).sum(axis=(-3, -1), dtype=np.float64)
    n = valid.sum(axis=(-3, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / n
    return out.astype(arr.dtype if arr.dtype.kind == "f" else np.float64, copy=False)
