"""DI and AOA bands for wall-to-wall maps (used by :func:`geoagb.mapping.predict_raster`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..raster import find_band, same_grid

__all__ = [
    "APPLICABILITY_BANDS",
    "APPLICABILITY_UNITS",
    "check_applicability",
    "applicability_bands",
    "AOAMask",
]

#: Band descriptions written by ``predict_raster(..., applicability=aoa)``.
APPLICABILITY_BANDS = ("di", "aoa")
#: Their units: the DI is dimensionless; the AOA band is 1 inside, 0 outside.
APPLICABILITY_UNITS = ("1", "1 inside / 0 outside")


def check_applicability(aoa, columns) -> None:
    """Refuse an unfitted AOA or one whose predictors the map's design matrix lacks."""
    from sklearn.utils.validation import check_is_fitted

    if not (hasattr(aoa, "di") and hasattr(aoa, "fit")):
        raise TypeError(
            f"applicability must be a geoagb.applicability.AreaOfApplicability; got "
            f"{type(aoa).__name__}."
        )
    check_is_fitted(aoa, "tree_")
    names = [str(c) for c in aoa.feature_names_in_]
    missing = [c for c in names if c not in list(columns)]
    if missing:
        raise ValueError(
            f"the AreaOfApplicability uses predictor(s) {missing} that the map's model inputs do not "
            f"include (model inputs: {list(columns)}); fit it on a DataFrame whose columns are the "
            "model's feature names, e.g. AreaOfApplicability().fit(X_train, model=model)."
        )


def applicability_bands(aoa, X, columns) -> list[np.ndarray]:
    """``[di, aoa]`` for the design matrix ``X`` (DataFrame, or array with ``columns``)."""
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X), columns=list(columns))
    di = aoa.di(X)
    inside = np.where(np.isnan(di), np.nan, (di <= aoa.threshold_).astype(np.float64))
    return [di, inside]


class AOAMask:
    """Which cells of an AGB map lie inside the area of applicability, window by window.

    ``aoa`` is True (the map's own ``aoa`` band, as written by ``predict_raster(...,
    applicability=...)``), a band name or number of the map, a raster path (its ``aoa`` band,
    else band 1) or a ``(path, band)`` pair; the raster must be on the map's grid. A cell is
    inside where the band equals 1; 0, nodata and NaN are outside.
    """

    def __init__(self, ds, aoa):
        import os

        import rasterio

        self._own = None
        if aoa is True:
            src, band = ds, "aoa"
        elif isinstance(aoa, tuple) and len(aoa) == 2:
            src, band = aoa
        elif isinstance(aoa, (str, os.PathLike)) and os.path.exists(aoa):
            src, band = aoa, None
        elif isinstance(aoa, (str, int)) and not isinstance(aoa, bool):
            src, band = ds, aoa
        else:
            raise ValueError(
                f"aoa={aoa!r} is not an AOA source: pass True (the map's own 'aoa' band), "
                "a band name or number, a raster path, or (path, band)."
            )
        if src is not ds:
            self._own = src = rasterio.open(src)
            g = lambda d: dict(crs=d.crs, transform=d.transform, width=d.width, height=d.height)  # noqa: E731
            if not same_grid(g(ds), g(src)):
                self._own.close()
                raise ValueError(
                    f"the AOA raster {src.name} is not on the grid of the map {ds.name}; write "
                    "both with predict_raster on the same features and resolution."
                )
            if band is None:
                band = find_band(src, "aoa", default=1)
        if isinstance(band, str):
            idx = find_band(src, band)
            if idx is None:
                if self._own is not None:
                    self._own.close()
                raise ValueError(
                    f"{src.name} has no band described {band!r} (descriptions: "
                    f"{list(src.descriptions)}); write the map with predict_raster(..., "
                    "applicability=aoa) or pass aoa=<raster path>."
                )
        else:
            idx = int(band)
            if not 1 <= idx <= src.count:
                raise ValueError(
                    f"aoa band {idx} is out of range for {src.name} ({src.count} bands)."
                )
        self.src, self.idx = src, idx

    def read(self, win) -> np.ndarray:
        """Boolean (h, w): True inside the area of applicability."""
        return self.src.read(self.idx, window=win, out_dtype=np.float64) == 1.0

    def close(self) -> None:
        if self._own is not None:
            self._own.close()
