"""PatchSet: plot-centred image chips with band names and coordinates (no torch needed)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["PatchSet"]


def _mixed_shapes_message(data) -> str:
    """Say which patches differ in shape when ``data`` is a ragged list of patches."""
    try:
        shapes = [tuple(np.shape(d)) for d in data]
    except TypeError:  # pragma: no cover - not a sequence at all
        shapes = []
    if len(set(shapes)) > 1:
        first = shapes[0]
        odd = [i for i, s in enumerate(shapes) if s != first]
        fmt = lambda s: "x".join(map(str, s))  # noqa: E731
        return (
            f"PatchSet data holds patches of different shapes: patch 0 is {fmt(first)} (C x H x W) "
            f"but patch(es) {odd[:10]} are {sorted({fmt(shapes[i]) for i in odd})}; all patches "
            "need the same bands and size. Extract them with one size (extract_patches(sources, "
            "plots, size_m=...)) or crop them to a common size first."
        )
    return (
        "PatchSet data could not be read as one (n, C, H, W) float array (ragged or non-"
        "numeric values); give an array, or a list of equally shaped (C, H, W) arrays."
    )


class PatchSet:
    """A stack of image patches, one per plot, that carries its coordinates.

    Indexable like an array along the first axis (``X[idx]`` returns a PatchSet), so
    :func:`sklearn.model_selection.cross_validate` and geoagb splitters work on it; geoagb finds
    the coordinates in its ``.coords`` attribute (geoagb's coordinate rule (docs: Coordinates travel with X)).

    Parameters
    ----------
    data : array-like of shape (n, C, H, W)
        Patch values, float32 is kept as is (other dtypes are converted to float32).
    bands : sequence of str, length C
        Band names, e.g. ``["blue", "green", "red", "nir", "crown", "height"]``.
    coords : array-like of shape (n, 2), optional
        Plot centres in a projected CRS (metres).
    mask : bool array of shape (n, H, W), optional
        True where a pixel is nodata.
    crs : optional
        CRS of ``coords`` (anything pyproj understands).
    resolution : float, optional
        Pixel size in metres.

    Examples
    --------
    >>> import numpy as np
    >>> ps = PatchSet(np.zeros((4, 2, 8, 8)), bands=["red", "nir"], coords=np.ones((4, 2)))
    >>> ps.shape, len(ps[[0, 2]])
    ((4, 2, 8, 8), 2)
    """

    def __init__(
        self, data, bands: Sequence[str], coords=None, mask=None, crs=None, resolution=None
    ):
        try:
            arr = np.asarray(data)
        except ValueError as err:
            raise ValueError(_mixed_shapes_message(data)) from err
        if arr.dtype == object:
            raise ValueError(_mixed_shapes_message(data))
        if arr.dtype != np.float32:
            arr = arr.astype(np.float32)
        if arr.ndim != 4:
            raise ValueError(f"PatchSet data must have shape (n, C, H, W); got {arr.shape}.")
        bands = [str(b) for b in bands]
        if len(bands) != arr.shape[1]:
            raise ValueError(
                f"{len(bands)} band names for {arr.shape[1]} channels; give one name per channel."
            )
        if len(set(bands)) != len(bands):
            raise ValueError(f"band names must be unique; got {bands}.")
        self.data = arr
        self.bands = bands
        self.coords = None if coords is None else np.asarray(coords, dtype=float).reshape(-1, 2)
        if self.coords is not None and len(self.coords) != len(arr):
            raise ValueError(f"{len(self.coords)} coordinates for {len(arr)} patches.")
        self.mask = None if mask is None else np.asarray(mask, dtype=bool)
        if self.mask is not None and self.mask.shape != (arr.shape[0],) + arr.shape[2:]:
            raise ValueError(
                f"mask must have shape {(arr.shape[0],) + arr.shape[2:]}; got {self.mask.shape}."
            )
        self.crs = crs
        self.resolution = resolution

    # array protocol -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return 4

    def __len__(self) -> int:
        return self.data.shape[0]

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __getitem__(self, idx) -> PatchSet:
        if isinstance(idx, tuple):  # sklearn's _safe_indexing asks for X[idx, ...]
            if len(idx) == 2 and idx[1] is Ellipsis:
                idx = idx[0]
            else:
                raise IndexError(
                    f"a PatchSet is indexed along patches only (X[idx] or X[idx, ...]); got {idx!r}. "
                    "Use .select(bands) to pick bands."
                )
        if isinstance(idx, (int, np.integer)):
            idx = [int(idx)]
        idx = np.asarray(idx) if not isinstance(idx, slice) else idx
        return PatchSet(
            self.data[idx],
            self.bands,
            None if self.coords is None else self.coords[idx],
            None if self.mask is None else self.mask[idx],
            self.crs,
            self.resolution,
        )

    def __repr__(self) -> str:
        return f"PatchSet(n={len(self)}, bands={self.bands}, size={self.data.shape[2]}x{self.data.shape[3]})"

    def band(self, name: str) -> np.ndarray:
        """Return one band as an (n, H, W) array."""
        try:
            return self.data[:, self.bands.index(name)]
        except ValueError:
            raise KeyError(f"band {name!r} not in PatchSet bands {self.bands}") from None

    def select(self, bands: Sequence[str]) -> PatchSet:
        """Return a PatchSet with only ``bands``, in that order."""
        missing = [b for b in bands if b not in self.bands]
        if missing:
            raise KeyError(f"bands {missing} not in PatchSet bands {self.bands}")
        idx = [self.bands.index(b) for b in bands]
        return PatchSet(
            self.data[:, idx], list(bands), self.coords, self.mask, self.crs, self.resolution
        )

    def summarize(self, crown_band: str = "crown", height_band: str = "height") -> pd.DataFrame:
        """Per-patch tabular features so tabular learners can be compared on the same plots.

        Columns: ``<band>_mean`` for every band, ``ndvi_mean`` (mean of the per-pixel NDVI when
        ``red`` and ``nir`` exist), ``crown_cover`` (mean of the crown band, a 0/1 mask),
        ``height_mean`` and ``height_p95`` (canopy height, metres), and ``x``, ``y`` when the
        PatchSet has coordinates. Nodata pixels (``mask``) are ignored.
        """
        d = self.data.astype(np.float64)
        if self.mask is not None:
            d = np.where(self.mask[:, None], np.nan, d)
        out = {f"{b}_mean": np.nanmean(d[:, i], axis=(1, 2)) for i, b in enumerate(self.bands)}
        if "red" in self.bands and "nir" in self.bands:
            red, nir = d[:, self.bands.index("red")], d[:, self.bands.index("nir")]
            with np.errstate(invalid="ignore", divide="ignore"):
                ndvi = (nir - red) / (nir + red)
            out["ndvi_mean"] = np.nanmean(ndvi, axis=(1, 2))
        if crown_band in self.bands:
            out["crown_cover"] = np.nanmean(d[:, self.bands.index(crown_band)] > 0.5, axis=(1, 2))
        if height_band in self.bands:
            h = d[:, self.bands.index(height_band)].reshape(len(self), -1)
            out["height_mean"] = np.nanmean(h, axis=1)
            out["height_p95"] = np.nanpercentile(h, 95, axis=1)
        df = pd.DataFrame(out)
        if self.coords is not None:
            df["x"], df["y"] = self.coords[:, 0], self.coords[:, 1]
        return df
