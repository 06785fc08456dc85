"""Window task for patch models: a plot-sized window slides over sub-metre inputs.

A patch model (``predict(PatchSet)``, ``.bands_``, ``.patch_size_``) was trained on plot-centred
chips of ``patch_size_`` pixels. To map it at a coarser output resolution (30 m cells from 1 m
inputs, FineKarstAGB) every output cell gets the patch of ``patch_size_`` pixels centred on the cell
centre, and the model's value for that patch is written to the cell: "patch to point", one value
per output cell. Patches of neighbouring cells overlap when the patch is larger than the cell;
the window reads that halo so windows join seamlessly.

Geometry: output cell ``i`` covers input pixels ``[i f, (i + 1) f)`` (``f`` input pixels per
cell); its patch starts at pixel ``i f + (f - P + 1) // 2`` and has ``P`` pixels, so it is the
patch :func:`geoagb.features.extract_patches` cuts around a plot at the cell centre: the same
band names and order, the same pixels, NaN (and ``PatchSet.mask``) for nodata. A cell is mapped
when at least half of its patch's pixels are valid in every band.
"""

from __future__ import annotations

import warnings

import numpy as np
from rasterio.windows import Window

from ..raster import OutputGrid
from ._masks import MIN_VALID_FRACTION, mask_window

__all__ = ["PatchTask", "is_patch_model", "patch_offset"]


def is_patch_model(estimator) -> bool:
    """True for fitted patch models (``bands_`` and ``patch_size_`` attributes)."""
    return hasattr(estimator, "bands_") and hasattr(estimator, "patch_size_")


def patch_offset(factor: int, size: int) -> int:
    """Offset (pixels) of a cell's patch start from the cell's first pixel.

    ``(f - P + 1) // 2``: the patch is centred on the cell centre, and when it cannot be
    (``f - P`` odd) it is shifted half a pixel right / down, exactly as
    :func:`geoagb.features.extract_patches` places a patch around a plot centre.
    """
    return (int(factor) - int(size) + 1) // 2


#: Model band names tried against another source band when absent from the rasters.
BAND_ALIASES = {"height": "chm"}


def _source_dict(features) -> dict:
    from collections.abc import Mapping
    from pathlib import Path

    if hasattr(features, "on_window") and hasattr(features, "sources"):
        return dict(features.sources)
    if isinstance(features, Mapping):
        return dict(features)
    if isinstance(features, (str, Path)):
        return {Path(features).stem: str(features)}
    return {Path(p).stem: str(p) for p in features}


def patch_reader(features, model_bands, bands=None):
    """A RasterFeatures that reads ``model_bands`` (raw, in order) from the sources of ``features``.

    Band names follow :func:`geoagb.features.extract_patches` (band descriptions, single-band
    source keys, ``"<source>:<i>"``); ``bands`` maps a model band to another source band, like
    extract_patches' ``bands={"height": "chm"}``. A model band ``height`` missing from the
    rasters falls back to ``chm``.
    """
    from ..features import RasterFeatures

    sources = _source_dict(features)
    bands = dict(bands or {})
    specs = [str(bands.get(b, b)) for b in model_bands]
    try:
        return RasterFeatures(sources, indices=None, bands=specs)
    except ValueError as err:
        alias = [BAND_ALIASES.get(b, b) if b not in bands else bands[b] for b in model_bands]
        if alias != specs:
            try:
                return RasterFeatures(sources, indices=None, bands=alias)
            except ValueError:
                pass
        raise ValueError(
            f"the patch model was fitted on bands {list(model_bands)} but they cannot all be read "
            f"from the sources {list(sources)} ({err}). Pass the sources used by extract_patches "
            "(e.g. scene.sources) and, for renamed channels, bands={model band: source band}, "
            "e.g. bands={'height': 'chm'}."
        ) from err


class PatchTask:
    """Read a window of sub-metre bands and predict one AGB value per output cell.

    Parameters
    ----------
    estimator : fitted patch model
    reader : object with ``on_window(window) -> (C, h, w)``
        Reads the model's bands, in ``estimator.bands_`` order, over any input-grid window
        (NaN outside the rasters): see :func:`patch_reader`.
    grid : OutputGrid
    mask_items : list
    return_std : bool
    nodata : float
    """

    def __init__(
        self, estimator, reader, grid: OutputGrid, mask_items, return_std=True, nodata=np.nan
    ):
        self.estimator = estimator
        self.reader = reader
        self.grid = grid
        self.mask_items = mask_items
        self.nodata = nodata
        self.bands = [str(b) for b in estimator.bands_]
        ph, pw = (int(s) for s in estimator.patch_size_)
        self.patch_size = (ph, pw)
        self.offsets = (patch_offset(grid.factor, ph), patch_offset(grid.factor, pw))
        self.with_std = bool(return_std) and self._probe_std()
        self.band_names = ["agb"] + (["agb_std"] if self.with_std else [])
        self.units = ["Mg/ha"] * len(self.band_names)

    def _probe_std(self) -> bool:
        from ..deep import PatchSet

        ph, pw = self.patch_size
        probe = PatchSet(
            np.zeros((1, len(self.bands), ph, pw), np.float32),
            self.bands,
            coords=np.zeros((1, 2)),
            resolution=self.grid.in_resolution,
        )
        try:
            out = self.estimator.predict(probe, return_std=True)
            ok = isinstance(out, tuple) and len(out) == 2
        except (TypeError, ValueError):
            ok = False
        if not ok:
            warnings.warn(
                f"{type(self.estimator).__name__} gives no uncertainty (trained without an "
                "uncertainty loss); the map has no agb_std band. Pass return_std=False to silence "
                "this, or train with loss='r2_unc' / 'nll'.",
                UserWarning,
                stacklevel=5,
            )
        return ok

    @property
    def bytes_per_cell(self) -> float:
        ph, pw = self.patch_size
        c = len(self.bands)
        return 4.0 * c * (3 * ph * pw + self.grid.factor**2) + 64

    def region(self, win: Window) -> Window:
        """Input-grid window holding every patch of the cells of output window ``win``."""
        f = self.grid.factor
        (ph, pw), (orow, ocol) = self.patch_size, self.offsets
        iw = self.grid.input_window(win)
        return Window(
            int(iw.col_off) + ocol,
            int(iw.row_off) + orow,
            (int(win.width) - 1) * f + pw,
            (int(win.height) - 1) * f + ph,
        )

    def read(self, win):
        data = np.asarray(self.reader.on_window(self.region(win)), dtype=np.float32)
        return win, data, mask_window(self.mask_items, self.grid, win)

    def patches(self, data: np.ndarray, h: int, w: int) -> np.ndarray:
        """(h, w, C, P, P) view of the patch of every cell of the window (no copy)."""
        f = self.grid.factor
        ph, pw = self.patch_size
        view = np.lib.stride_tricks.sliding_window_view(data, (ph, pw), axis=(1, 2))[:, ::f, ::f]
        return view[:, :h, :w].transpose(1, 2, 0, 3, 4)

    def compute(self, inputs) -> np.ndarray:
        from ..deep import PatchSet

        win, data, keep = inputs
        h, w = int(win.height), int(win.width)
        out = np.full((len(self.band_names), h, w), self.nodata, dtype=np.float32)
        finite = np.all(np.isfinite(data), axis=0)
        ph, pw = self.patch_size
        f = self.grid.factor
        frac = np.lib.stride_tricks.sliding_window_view(finite, (ph, pw))[::f, ::f][:h, :w].mean(
            axis=(-2, -1)
        )
        valid = frac >= MIN_VALID_FRACTION
        if keep is not None:
            valid &= keep
        if not valid.any():
            return out
        rows, cols = np.nonzero(valid)
        arr = np.ascontiguousarray(self.patches(data, h, w)[rows, cols])  # (n, C, P, P)
        bad = ~np.all(np.isfinite(arr), axis=1)
        xs, ys = self.grid.cell_centres(win)
        ps = PatchSet(
            arr,
            self.bands,
            coords=np.column_stack([xs[rows, cols], ys[rows, cols]]),
            mask=bad if bad.any() else None,
            crs=self.grid.crs,
            resolution=self.grid.in_resolution,
        )
        if self.with_std:
            mean, std = self.estimator.predict(ps, return_std=True)
            out[1][rows, cols] = np.asarray(std, dtype=float).ravel()
        else:
            mean = self.estimator.predict(ps)
        out[0][rows, cols] = np.asarray(mean, dtype=float).ravel()
        return out
