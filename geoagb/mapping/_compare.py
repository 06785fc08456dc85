"""Map comparison: map vs map, map vs plots, and structural consistency with a canopy-height model.

FineKarstAGB evaluates its 30 m AGB map three ways, all here:

* pixel differences with other AGB products (mean and sd of the differences and their map,
  Fig. 11): :func:`compare_maps`;
* accuracy against independent plots (r, R2, RMSE, MAE, overall bias, binned errors, Figs. 5-6):
  :func:`evaluate_against_plots`;
* structural consistency with a LiDAR canopy-height model by fitting AGB = a H^b per map cell
  (section 4.2, Fig. 7; R2 0.54 for FineKarstAGB, < 0.1 for other products):
  :func:`canopy_height_consistency` and :func:`fit_power_law`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
from affine import Affine
from rasterio.enums import Resampling

from .._compat import renamed_kwargs
from .._progress import progress_disabled
from ..raster import (
    OutputGrid,
    atomic_geotiff,
    find_band,
    geotiff_profile,
    map_windows,
    read_on_grid,
)
from ._masks import mask_window, normalize_mask

__all__ = [
    "compare_maps",
    "MapComparison",
    "evaluate_against_plots",
    "PlotEvaluation",
    "canopy_height_consistency",
    "fit_power_law",
    "PowerLawFit",
]


def _band(ds, band) -> int:
    if isinstance(band, str):
        i = find_band(ds, band)
        if i is None:
            if band == "agb":
                return 1
            raise ValueError(
                f"{ds.name} has no band described {band!r} (descriptions: {list(ds.descriptions)})."
            )
        return i
    return int(band)


def _grid_of(ds) -> OutputGrid:
    return OutputGrid(
        crs=ds.crs,
        transform=ds.transform,
        width=ds.width,
        height=ds.height,
        factor=1,
        in_transform=ds.transform,
    )


def _read(ds, win, idx) -> np.ndarray:
    a = ds.read(idx, window=win, out_dtype=np.float64)
    nd = ds.nodatavals[idx - 1]
    if nd is not None and not np.isnan(nd):
        a[a == nd] = np.nan
    return a


class _Moments:
    """Running means, variances and covariance of pairs (Chan et al. parallel update)."""

    def __init__(self):
        self.n = 0
        self.ma = self.mb = self.m2a = self.m2b = self.cab = 0.0

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        k = a.size
        if k == 0:
            return
        ma, mb = a.mean(), b.mean()
        da, db = a - ma, b - mb
        m2a, m2b, cab = float(da @ da), float(db @ db), float(da @ db)
        n = self.n + k
        fa, fb = ma - self.ma, mb - self.mb
        self.m2a += m2a + fa * fa * self.n * k / n
        self.m2b += m2b + fb * fb * self.n * k / n
        self.cab += cab + fa * fb * self.n * k / n
        self.ma += fa * k / n
        self.mb += fb * k / n
        self.n = n


@dataclass
class MapComparison:
    """Pixel-wise comparison of map ``a`` with map ``b`` (differences are a - b, Mg/ha).

    Attributes
    ----------
    n : int
        Cells valid in both maps.
    mean_difference, sd_difference : float
        Mean and standard deviation (ddof=0) of a - b (FineKarstAGB Fig. 11's mu and sigma).
    rmse : float
        Root mean squared difference.
    r : float
        Pearson correlation of the two maps over the common cells.
    mean_a, mean_b : float
        Mean of each map over the common cells.
    difference_path : Path or None
        The difference raster, when written.
    """

    n: int
    mean_difference: float
    sd_difference: float
    rmse: float
    r: float
    mean_a: float
    mean_b: float
    difference_path: Path | None = None

    def to_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in ("n", "mean_difference", "sd_difference", "rmse", "r", "mean_a", "mean_b")
        }


@renamed_kwargs({"a": "agb_raster_a", "b": "agb_raster_b"})
def compare_maps(
    agb_raster_a,
    agb_raster_b,
    out_path=None,
    *,
    band_a="agb",
    band_b="agb",
    mask=None,
    progress: bool | None = None,
) -> MapComparison:
    """Compare two AGB maps cell by cell on the grid of ``agb_raster_a``.

    Parameters
    ----------
    agb_raster_a, agb_raster_b : str or Path
        AGB maps (Mg/ha). ``agb_raster_b`` is resampled onto ``agb_raster_a``'s grid (rasterio
        WarpedVRT, average resampling) when their grids differ, e.g. a 100 m product against a
        30 m map.
    out_path : str or Path, optional
        Write the difference raster agb_raster_a - agb_raster_b (Mg/ha) there (tiled GeoTIFF, atomic write).
    band_a, band_b : str or int, default "agb"
        Band description or 1-based number in each map.
    mask : optional
        Cells to compare (same forms as in :func:`predict_raster`), e.g. a forest mask.
    progress : bool or None, default None
        Show a progress bar. ``None``: only when stderr is a terminal.

    Returns
    -------
    MapComparison

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from rasterio.transform import from_origin
    >>> d = tempfile.mkdtemp()
    >>> def put(name, arr):
    ...     with rasterio.open(os.path.join(d, name), "w", driver="GTiff", width=3, height=1,
    ...                        count=1, dtype="float32", crs="EPSG:32648",
    ...                        transform=from_origin(0, 30, 30, 30)) as ds:
    ...         ds.write(np.asarray([[arr]], dtype="float32"))
    ...     return os.path.join(d, name)
    >>> c = compare_maps(put("a.tif", [10, 20, 30]), put("b.tif", [12, 18, 36]))
    >>> c.n, c.mean_difference, round(c.r, 4)
    (3, -2.0, 0.9608)
    """
    from tqdm.auto import tqdm

    if out_path is not None:
        from .._io import check_output_path

        check_output_path(out_path)  # before any work
    with rasterio.open(agb_raster_a) as da, rasterio.open(agb_raster_b) as db:
        ia, ib = _band(da, band_a), _band(db, band_b)
        same = db.crs == da.crs and db.transform == da.transform and db.shape == da.shape
        grid = _grid_of(da)
        items = normalize_mask(mask, grid)
        mom = _Moments()
        sum_d2 = 0.0
        windows = map_windows(da, 512)

        def diff_windows():
            nonlocal sum_d2
            for win in tqdm(
                windows, desc="compare_maps", disable=progress_disabled(progress), leave=False
            ):
                va = _read(da, win, ia)
                if same:
                    vb = _read(db, win, ib)
                else:
                    vb = read_on_grid(
                        agb_raster_b,
                        da.window_transform(win),
                        va.shape,
                        da.crs,
                        ib,
                        Resampling.average,
                    )
                ok = np.isfinite(va) & np.isfinite(vb)
                keep = mask_window(items, grid, win)
                if keep is not None:
                    ok &= keep
                mom.add(va[ok], vb[ok])
                d = va[ok] - vb[ok]
                sum_d2 += float(d @ d)
                out = np.full(va.shape, np.nan, np.float32)
                out[ok] = d
                yield win, out

        path = None
        if out_path is None:
            for _ in diff_windows():
                pass
        else:
            prof = geotiff_profile(grid, 1, np.nan)
            with atomic_geotiff(
                out_path,
                prof,
                ["agb_difference"],
                ["Mg/ha"],
                dict(
                    geoagb_product=f"difference {Path(agb_raster_a).name} - {Path(agb_raster_b).name}"
                ),
            ) as dst:
                for win, out in diff_windows():
                    dst.write(out[None], window=win)
            path = Path(out_path)
    n = mom.n
    if n == 0:
        raise ValueError(
            "the two maps have no valid cell in common (check that they overlap and share a CRS)."
        )
    var_d = (mom.m2a + mom.m2b - 2 * mom.cab) / n
    r = mom.cab / np.sqrt(mom.m2a * mom.m2b) if mom.m2a > 0 and mom.m2b > 0 else float("nan")
    return MapComparison(
        n=int(n),
        mean_difference=float(mom.ma - mom.mb),
        sd_difference=float(np.sqrt(max(var_d, 0.0))),
        rmse=float(np.sqrt(sum_d2 / n)),
        r=float(r),
        mean_a=float(mom.ma),
        mean_b=float(mom.mb),
        difference_path=path,
    )


@dataclass
class PlotEvaluation:
    """Accuracy of a map at reference plots.

    Attributes
    ----------
    scores : dict
        n and :func:`geoagb.metrics.agb_scores` (r, r2, rmse, mae, overall_bias, ...).
    binned : DataFrame
        :func:`geoagb.metrics.binned_scores` per observed-AGB class (FineKarstAGB Fig. 5c).
    pairs : DataFrame
        Observed and mapped AGB per plot used (index of ``plots``).
    """

    scores: dict
    binned: pd.DataFrame
    pairs: pd.DataFrame = field(repr=False)


@renamed_kwargs({"agb_map": "agb_raster"})
def evaluate_against_plots(
    agb_raster, plots, target: str = "agb", *, band="agb", coords=None, bins=None
) -> PlotEvaluation:
    """Evaluate a map against plots: the map value of the cell holding each plot centre.

    Parameters
    ----------
    agb_raster : str or Path
        AGB map (Mg/ha).
    plots : GeoDataFrame or DataFrame
        Reference plots with the observed AGB in column ``target``; coordinates from the geometry
        (reprojected to the map CRS when needed) or the ``coords`` columns (map CRS assumed).
    target : str, default "agb"
    band : str or int, default "agb"
    coords : pair of str, default None
        Coordinate columns of a DataFrame (``None``: ``("x", "y")``).
    bins : sequence of float, optional
        Observed-AGB classes for the binned table (default 0-50, ..., >200 Mg/ha).

    Returns
    -------
    PlotEvaluation
        Plots outside the map or on nodata cells are left out (``scores["n"]`` says how many
        remain).
    """
    from .._coords import get_coords
    from ..metrics import DEFAULT_AGB_BINS, agb_scores, binned_scores

    if target not in plots.columns:
        raise ValueError(
            f"target={target!r} is not a column of plots (columns: {list(plots.columns)})."
        )
    with rasterio.open(agb_raster) as ds:
        idx = _band(ds, band)
        if (
            hasattr(plots, "geometry")
            and getattr(plots, "crs", None) is not None
            and ds.crs is not None
            and plots.crs != ds.crs
        ):
            plots = plots.to_crs(ds.crs)
        xy = get_coords(plots, coords)
        rows, cols = rasterio.transform.rowcol(ds.transform, xy[:, 0], xy[:, 1], op=np.floor)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < ds.height) & (cols >= 0) & (cols < ds.width)
        vals = np.full(len(xy), np.nan)
        if inside.any():
            sampled = np.array([v[0] for v in ds.sample(xy[inside], indexes=idx)], dtype=float)
            nd = ds.nodatavals[idx - 1]
            if nd is not None and not np.isnan(nd):
                sampled[sampled == nd] = np.nan
            vals[inside] = sampled
    obs = plots[target].to_numpy(dtype=float)
    ok = np.isfinite(vals) & np.isfinite(obs)
    if ok.sum() < 2:
        raise ValueError(
            f"only {int(ok.sum())} plot(s) fall on valid map cells; check that plots and map overlap "
            "and share a CRS."
        )
    scores = {"n": int(ok.sum()), **agb_scores(obs[ok], vals[ok])}
    binned = binned_scores(obs[ok], vals[ok], bins=DEFAULT_AGB_BINS if bins is None else bins)
    pairs = pd.DataFrame({"observed": obs[ok], "mapped": vals[ok]}, index=plots.index[ok])
    return PlotEvaluation(scores=scores, binned=binned, pairs=pairs)


@dataclass
class PowerLawFit:
    """AGB = a H^b fitted to map cells (H canopy height, metres; AGB Mg/ha).

    Attributes
    ----------
    a, b : float
        Coefficient and exponent.
    r2 : float
        1 - SS_res / SS_tot of the fitted curve on the AGB scale.
    rmse : float
        Root mean squared error of the fit, Mg/ha.
    n : int
        Cells used.
    method : str
        "nls" (least squares on the AGB scale, started from the log-log fit) or "loglog".
    height, agb : ndarray
        The pairs used (for a scatter plot).
    """

    a: float
    b: float
    r2: float
    rmse: float
    n: int
    method: str
    height: np.ndarray = field(repr=False, default=None)
    agb: np.ndarray = field(repr=False, default=None)

    def predict(self, height) -> np.ndarray:
        """A * height ** b."""
        return self.a * np.asarray(height, dtype=float) ** self.b


def fit_power_law(height, agb, method: str = "nls") -> PowerLawFit:
    """Fit AGB = a H^b.

    Parameters
    ----------
    height, agb : array-like
        Canopy height (metres, > 0) and AGB (Mg/ha, > 0 for the log-log start) per cell.
    method : {"nls", "loglog"}, default "nls"
        "loglog": ordinary least squares of log AGB on log H. "nls": least squares on the AGB
        scale (scipy ``curve_fit``) started from the log-log solution, the usual fit of the
        allometric curve (FineKarstAGB Fig. 7).

    Returns
    -------
    PowerLawFit

    Examples
    --------
    >>> h = np.array([5.0, 10.0, 20.0, 30.0])
    >>> fit = fit_power_law(h, 3.2 * h ** 1.35)
    >>> round(fit.a, 6), round(fit.b, 6), round(fit.r2, 6)
    (3.2, 1.35, 1.0)
    """
    from scipy.optimize import curve_fit

    if method not in ("nls", "loglog"):
        raise ValueError(f"method={method!r} is not one of ['nls', 'loglog'].")
    h = np.asarray(height, dtype=float).ravel()
    y = np.asarray(agb, dtype=float).ravel()
    if h.shape != y.shape:
        raise ValueError(f"height has {h.size} values but agb has {y.size}; they must align.")
    ok = np.isfinite(h) & np.isfinite(y) & (h > 0) & (y > 0)
    h, y = h[ok], y[ok]
    if h.size < 3:
        raise ValueError(
            f"{h.size} cell(s) with height > 0 and AGB > 0; fitting AGB = a H^b needs at least 3."
        )
    b0, loga0 = np.polyfit(np.log(h), np.log(y), 1)
    a, b = float(np.exp(loga0)), float(b0)
    if method == "nls":
        (a, b), _ = curve_fit(lambda x, a_, b_: a_ * x**b_, h, y, p0=(a, b), maxfev=10_000)
        a, b = float(a), float(b)
    pred = a * h**b
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - pred) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return PowerLawFit(
        a=a,
        b=b,
        r2=r2,
        rmse=float(np.sqrt(ss_res / h.size)),
        n=int(h.size),
        method=method,
        height=h,
        agb=y,
    )


def canopy_height_consistency(
    agb,
    chm,
    *,
    stat: str = "mean",
    mask=None,
    band="agb",
    min_height: float = 0.0,
    method: str = "nls",
) -> PowerLawFit:
    """Structural consistency of an AGB map with a canopy-height model: fit AGB = a H^b per cell.

    Parameters
    ----------
    agb : str or Path
        AGB map (Mg/ha), e.g. 30 m.
    chm : str or Path
        Canopy-height model (metres), typically finer (1 m LiDAR). For each map cell the CHM
        pixels inside it are summarised by ``stat``.
    stat : {"mean", "max", "p95"}, default "mean"
        Height metric per cell (FineKarstAGB: mean CHM in Fig. 7, max and 95th percentile in S4-S5).
    mask : optional
        Cells to use (same forms as in :func:`predict_raster`), e.g. ``("landcover.tif", [1])``
        for forest only (FineKarstAGB: R2 0.54 in forest, 0.22 outside).
    band : str or int, default "agb"
    min_height : float, default 0
        Cells with a height metric <= ``min_height`` metres are left out.
    method : {"nls", "loglog"}, default "nls"
        See :func:`fit_power_law`.

    Returns
    -------
    PowerLawFit
    """
    reducers = {
        "mean": lambda x: np.nanmean(x, axis=(1, 3)),
        "max": lambda x: np.nanmax(x, axis=(1, 3)),
        "p95": lambda x: np.nanpercentile(
            x.transpose(0, 2, 1, 3).reshape(x.shape[0], x.shape[2], -1), 95, axis=2
        ),
    }
    if stat not in reducers:
        raise ValueError(f"stat={stat!r} is not one of {list(reducers)}.")
    hs, ys = [], []
    with rasterio.open(agb) as da, rasterio.open(chm) as dc:
        idx = _band(da, band)
        k = max(1, int(round(abs(da.transform.a) / abs(dc.transform.a))))
        grid = _grid_of(da)
        items = normalize_mask(mask, grid)
        for win in map_windows(da, 256):
            a = _read(da, win, idx)
            h, w = a.shape
            fine = read_on_grid(
                chm, da.window_transform(win) @ Affine.scale(1.0 / k), (h * k, w * k), da.crs
            )
            blocks = fine.reshape(h, k, w, k)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # cells without CHM pixels
                hcell = reducers[stat](blocks)
            ok = np.isfinite(a) & np.isfinite(hcell) & (hcell > min_height)
            keep = mask_window(items, grid, win)
            if keep is not None:
                ok &= keep
            hs.append(hcell[ok])
            ys.append(a[ok])
    return fit_power_law(np.concatenate(hs), np.concatenate(ys), method=method)
