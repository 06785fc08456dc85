"""RasterFeatures: one declarative feature recipe for plots and for wall-to-wall maps."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._progress import show_progress
from ..raster import (
    band_table,
    check_projected,
    check_same_grid,
    context_block,
    footprint_rect,
    grid_dict,
    latitude_of,
    open_all,
    plot_xy,
    read_block,
    read_sources,
    resolve_band,
)
from ._indices import INDEX_BANDS, band_namer, pc1, spectral_indices
from ._terrain import TERRAIN_VARIABLES, terrain_from_context, terrain_halo, twi_from_dem
from ._texture import (
    DEFAULT_ANGLES,
    DEFAULT_FEATURES,
    GLCM_FEATURES,
    glcm_offsets,
    glcm_valid,
    quantize,
)

__all__ = ["RasterFeatures", "aggregate"]

_SPECTRAL = ("coastal", "blue", "green", "red", "nir", "swir1", "swir2")
_SAMPLE_SIDE = 512  # side of the nearest-neighbour sample used for scene-wide statistics


def _parse_stat(stat: str) -> str:
    s = str(stat).lower()
    if s in ("mean", "sd", "min", "max", "median"):
        return s
    if s.startswith("p") and s[1:].replace(".", "", 1).isdigit() and 0 <= float(s[1:]) <= 100:
        return s
    raise ValueError(
        f"statistic {stat!r} not understood; use 'mean', 'sd', 'min', 'max', "
        "'median' or 'pNN' (percentile, e.g. 'p95')."
    )


#: Smallest share of a footprint's (or map cell's) pixels that must be valid for its features
#: to be computed (from the valid pixels); below it the features are NaN.
MIN_VALID_SHARE = 0.5


def aggregate(
    values: np.ndarray, stats: Sequence[str], min_valid: float = MIN_VALID_SHARE
) -> np.ndarray:
    """Reduce (F, m, n) pixel values to (F, m) with one statistic per feature.

    Each statistic is taken over a cell's valid (non-NaN) pixels when they are at least
    ``min_valid`` (50 % by default, :data:`MIN_VALID_SHARE`) of its n pixels, else NaN: a 20 m
    footprint on a 0.5 m canopy height model with a few empty pixels keeps its features, one
    mostly off the raster does not. ``sd`` is the population standard deviation (ddof=0).
    Plots (:meth:`RasterFeatures.at_points`) and map cells (:meth:`RasterFeatures.on_window`)
    follow the same rule.
    """
    F, m, n = values.shape
    out = np.full((F, m), np.nan)
    for f, stat in enumerate(stats):
        v = np.ascontiguousarray(values[f], dtype=float)
        valid = ~np.isnan(v)
        count = valid.sum(axis=-1)
        ok = count >= max(1, min_valid * n - 1e-9)
        if not ok.any():
            continue
        v, valid, count = v[ok], valid[ok], count[ok]
        if stat in ("mean", "sd"):
            mean = np.where(valid, v, 0.0).sum(axis=-1) / count
            if stat == "mean":
                res = mean
            else:
                dev = np.where(valid, v - mean[:, None], 0.0)
                res = np.sqrt((dev**2).sum(axis=-1) / count)
        elif stat == "min":
            res = np.where(valid, v, np.inf).min(axis=-1)
        elif stat == "max":
            res = np.where(valid, v, -np.inf).max(axis=-1)
        else:
            q = 50.0 if stat == "median" else float(stat[1:])
            res = (
                np.nanpercentile(v, q, axis=-1) if not valid.all() else np.percentile(v, q, axis=-1)
            )
        out[f, ok] = res
    return out


def valid_share(values: np.ndarray) -> np.ndarray:
    """Per cell of (F, m, n) pixel values, the smallest share of valid pixels over the F features."""
    return (~np.isnan(values)).mean(axis=-1).min(axis=0)


@dataclass
class _Texture:
    band: str
    window: int
    levels: int
    features: list
    distances: tuple
    angles: tuple
    range: tuple | None
    prefix: str
    src: tuple | None = None  # (source, index) unless band == "pc1"


@dataclass
class _Plan:
    names: list = field(default_factory=list)
    stats: list = field(default_factory=list)


_TEXTURE_OPTIONS = {"band", "window", "levels", "features", "distances", "angles", "range", "name"}
_TERRAIN_OPTIONS = {
    "tpi_radius",
    "relief_radius",
    "sun_azimuth",
    "sun_elevation",
    "fill_depressions",
    "latitude",
    "source",
}


def _parse_texture(spec) -> _Texture:
    """One texture of a recipe, its options checked (its band is resolved by the recipe)."""
    spec = dict(spec)
    unknown = set(spec) - _TEXTURE_OPTIONS
    if unknown:
        raise ValueError(
            f"unknown texture option(s) {sorted(unknown)}; valid: band, "
            "window, levels, features, distances, angles, range, name."
        )
    band = str(spec.get("band", "nir"))
    t = _Texture(
        band=band,
        window=int(spec.get("window", 7)),
        levels=int(spec.get("levels", 32)),
        features=[str(f).lower() for f in spec.get("features", DEFAULT_FEATURES)],
        distances=tuple(spec.get("distances", (1,))),
        angles=tuple(spec.get("angles", DEFAULT_ANGLES)),
        range=None if spec.get("range") is None else tuple(map(float, spec["range"])),
        prefix=str(spec.get("name", band.replace(":", "_"))),
    )
    if t.window < 3 or t.window % 2 == 0:
        raise ValueError(f"texture window={t.window} must be an odd integer >= 3.")
    bad = [f for f in t.features if f not in GLCM_FEATURES]
    if bad:
        raise ValueError(f"unknown GLCM feature(s) {bad}; valid: {list(GLCM_FEATURES)}.")
    return t


def _check_feature_names(names: list) -> None:
    """A recipe has features, each name once."""
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"feature names {dup} appear twice; rename them (texture 'name', extra keys)."
        )
    if not names:
        raise ValueError(
            "the recipe has no features: give bands, indices, textures, terrain or extra."
        )


class RasterFeatures:
    """A feature recipe over co-registered rasters: the same numbers at plots and on windows.

    Parameters
    ----------
    sources : dict name -> path
        GeoTIFFs on one grid (same CRS, transform and size; the first source is the reference
        grid). Different grids raise an error that says what differs and how to align; nothing
        is resampled. Bands are found by their description (``"blue"``, ``"nir"`` ...), a
        single-band source by its key (``"chm"``), any band as ``"<source>:<number>"``.
    indices : sequence of str, default ("ndvi",)
        Spectral indices (see :func:`~geoagb.features.spectral_indices`).
    textures : dict or list of dict, optional
        GLCM textures, each ``dict(band="nir" or "pc1", window=7, levels=32,
        features=[...], distances=(1,), angles=(0, pi/4, pi/2, 3pi/4), range=None)``.
        ``range=(vmin, vmax)`` fixes the quantisation; by default it is the 1st-99th percentile
        of the band over a 512 x 512 nearest-neighbour sample of the whole raster, computed once,
        so that every tile shares it. ``"pc1"`` is the first principal component of the
        spectral bands (blue ... swir2 found in the sources), fitted once on that sample.
        Features are named ``<band>_glcm<window>_<feature>``.
    terrain : sequence of str, optional
        Terrain variables from the ``"dem"`` source (see :func:`~geoagb.features.terrain`).
        ``twi`` is computed once on the whole DEM (it depends on the upstream area); the
        others tile by tile with a halo.
    extra : dict name -> (source, band) or (source, band, statistic), optional
        Raw bands passed through, e.g. ``{"height_mean": ("chm", 1), "height_p95": ("chm", 1,
        "p95"), "crown_cover": ("crown", 1)}``. The statistic ("mean" default, "sd", "min",
        "max", "median", "pNN") is how pixels are summarised over a footprint or output cell.
    bands : sequence of str, optional
        Raw bands to pass through under their own names (e.g. ``["blue", "green", "red",
        "nir"]``).
    sensor : str, optional
        Band-id preset for band descriptions such as ``B4`` (see ``SENSOR_BANDS``).
    terrain_options : dict, optional
        Keyword arguments of :func:`~geoagb.features.terrain`: ``tpi_radius``,
        ``relief_radius`` (metres), ``sun_azimuth``, ``sun_elevation``, ``fill_depressions``,
        ``latitude`` (default: the centre of the grid, from its CRS).

    Attributes
    ----------
    feature_names : list of str
        Output order: bands, indices, textures, terrain, extra.
    grid : dict
        ``crs, transform, width, height, resolution`` of the reference grid.
    halo : int
        Cells of context a window needs so that textures and terrain are exact.

    Notes
    -----
    Sources are opened and checked when the recipe is built (an error here is better than
    one after an hour of mapping). Edges of the raster: textures see the band mirrored, terrain
    derivatives the DEM linearly extrapolated, neighbourhood statistics only the cells inside.
    Nodata in any input of a feature gives NaN at that pixel; a footprint or output cell is
    summarised over its valid pixels when they are at least :data:`MIN_VALID_SHARE` (50 %) of
    it, else NaN (:func:`aggregate`).

    Examples
    --------
    >>> import tempfile
    >>> from rasterio.windows import Window
    >>> from geoagb.datasets import make_scene
    >>> scene = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=1)
    >>> rf = RasterFeatures(scene.sources, indices=["ndvi"], terrain=["slope"],
    ...                     extra={"height_p95": ("chm", 1, "p95")})
    >>> rf.feature_names, rf.halo
    (['ndvi', 'slope', 'height_p95'], 1)
    >>> X = rf.at_points(scene.plots, footprint=scene.plot_size_m)     # 0.0667 ha squares
    >>> X.shape
    (10, 3)
    >>> rf.on_window(Window(0, 0, 300, 300), out_resolution=30.0).shape  # a 30 m map block
    (3, 10, 10)
    """

    def __init__(
        self,
        sources: Mapping[str, Any],
        indices: Sequence[str] | None = ("ndvi",),
        textures=None,
        terrain: Sequence[str] | None = None,
        extra: Mapping[str, tuple] | None = None,
        *,
        bands: Sequence[str] | None = None,
        sensor: str | None = None,
        terrain_options: Mapping[str, Any] | None = None,
    ):
        self.sources = dict(sources)
        self.indices = None if indices is None else list(indices)
        self.textures = textures
        self.terrain = None if terrain is None else list(terrain)
        self.extra = None if extra is None else dict(extra)
        self.bands = None if bands is None else list(bands)
        self.sensor = sensor
        self.terrain_options = dict(terrain_options or {})
        self._global: dict[str, Any] = {}
        self._setup()

    # ---- recipe ------------------------------------------------------------------------------
    def _read_infos(self) -> dict:
        """Metadata of the sources, key -> :class:`geoagb.raster.SourceInfo` (files: opened once).

        The one place the recipe planning touches files; :class:`geoagb.features.XarrayFeatures`
        overrides it to plan the same recipe on arrays.
        """
        return read_sources(self.sources)

    def _setup(self):
        self._infos = self._read_infos()
        self._ref = check_same_grid(self._infos)
        self._table = band_table(self._infos, band_namer(self.sensor))
        plan = _Plan()
        plan.names += self._plan_bands()
        plan.names += self._plan_indices()
        plan.names += self._plan_textures()
        plan.names += self._plan_terrain()
        plan.names += self._plan_extra()
        plan.stats = ["mean"] * (len(plan.names) - len(self._extra)) + [
            s for _, _, s in self._extra
        ]
        _check_feature_names(plan.names)
        self._plan = plan

    def _plan_bands(self) -> list[str]:
        """Raw bands passed through: ``self._band_specs``; returns their feature names."""
        self._band_specs = []
        names = []
        for b in self.bands or []:
            self._band_specs.append((str(b), resolve_band(self._table, b)))
            names.append(str(b))
        return names

    def _plan_indices(self) -> list[str]:
        """Spectral indices and the bands they read (``self._index_bands``); returns the names."""
        self._index_names = [str(i).lower() for i in (self.indices or [])]
        self._index_bands = {}
        names = []
        for name in self._index_names:
            if name not in INDEX_BANDS:
                raise ValueError(f"unknown index {name!r}; valid: {list(INDEX_BANDS)}.")
            for b in INDEX_BANDS[name]:
                self._index_bands[b] = resolve_band(self._table, b, what=f"band {b!r} (for {name})")
            names.append(name)
        return names

    def _plan_textures(self) -> list[str]:
        """GLCM textures (``self._tex``), their bands resolved; returns the feature names."""
        self._tex = []
        names = []
        tex = self.textures
        for spec in [] if tex is None else [tex] if isinstance(tex, Mapping) else list(tex):
            t = _parse_texture(spec)
            if t.band == "pc1":
                self._pc1_bands()
            else:
                t.src = resolve_band(self._table, t.band, what="texture band")
            self._tex.append(t)
            names += [f"{t.prefix}_glcm{t.window}_{f}" for f in t.features]
        return names

    def _plan_terrain(self) -> list[str]:
        """Terrain variables (``self._terrain_vars``) and their DEM (``self._dem``); returns names."""
        self._terrain_vars = [str(v).lower() for v in (self.terrain or [])]
        bad = sorted(set(self.terrain_options) - _TERRAIN_OPTIONS)
        if bad:
            raise ValueError(f"unknown terrain option(s) {bad}; valid: {sorted(_TERRAIN_OPTIONS)}.")
        if self._terrain_vars:  # slopes and neighbourhoods need metres: UTM zone in the fix
            r = self._ref
            check_projected(r.path, r.crs, r.transform, r.width, r.height)
        if not self._terrain_vars:
            return []
        bad = [v for v in self._terrain_vars if v not in TERRAIN_VARIABLES]
        if bad:
            raise ValueError(
                f"unknown terrain variable(s) {bad}; valid: {list(TERRAIN_VARIABLES)}."
            )
        dem_key = self.terrain_options.get("source", "dem")
        if dem_key not in self._infos:
            raise ValueError(
                f"terrain variables need a DEM source named {dem_key!r}; sources "
                f"are {list(self._infos)} (or set terrain_options={{'source': ...}})."
            )
        self._dem = (dem_key, 1)
        return list(self._terrain_vars)

    def _plan_extra(self) -> list[str]:
        """Extra raw bands with their statistics (``self._extra``); returns their names."""
        self._extra = []
        names = []
        for name, spec in (self.extra or {}).items():
            spec = tuple(spec)
            if len(spec) not in (2, 3):
                raise ValueError(
                    f"extra[{name!r}] = {spec!r}: give (source, band) or "
                    "(source, band, statistic), e.g. ('chm', 1, 'p95')."
                )
            src = resolve_band(self._table, (spec[0], spec[1]), what=f"extra[{name!r}]")
            self._extra.append((str(name), src, _parse_stat(spec[2]) if len(spec) == 3 else "mean"))
            names.append(str(name))
        return names

    def _geographic(self) -> bool:
        from pyproj import CRS

        return self._ref.crs is not None and CRS.from_user_input(self._ref.crs).is_geographic

    def _pc1_bands(self):
        found = [b for b in _SPECTRAL if b in self._table]
        if len(found) < 2:
            raise ValueError(
                f"texture on 'pc1' needs at least two spectral bands among {_SPECTRAL}; "
                f"found {found}."
            )
        return [(b, self._table[b]) for b in found]

    @property
    def feature_names(self) -> list[str]:
        """Feature names in output order."""
        return list(self._plan.names)

    @property
    def statistics(self) -> list[str]:
        """How each feature is summarised over a footprint / output cell ("mean", "p95", ...)."""
        return list(self._plan.stats)

    @property
    def grid(self) -> dict:
        """The reference grid: ``crs, transform, width, height, resolution`` (metres)."""
        return grid_dict(self._ref)

    @property
    def halo(self) -> int:
        """Cells of context around a window so that every feature is exact."""
        h = max([t.window // 2 for t in self._tex] or [0])
        if self._terrain_vars:
            o = self.terrain_options
            h = max(
                h,
                terrain_halo(
                    self._terrain_vars,
                    self.grid["resolution"],
                    o.get("tpi_radius"),
                    o.get("relief_radius"),
                ),
            )
        return int(h)

    def __repr__(self) -> str:
        return (
            f"RasterFeatures({len(self.feature_names)} features from {list(self.sources)}, "
            f"halo={self.halo})"
        )

    # ---- scene-wide state (computed once, shared by every tile) --------------------------------
    def _sample(self, src) -> np.ndarray:
        from rasterio.enums import Resampling

        key = ("sample", src)
        if key not in self._global:
            info = self._infos[src[0]]
            shape = (min(info.height, _SAMPLE_SIDE), min(info.width, _SAMPLE_SIDE))
            import rasterio

            with rasterio.open(info.path) as ds:
                a = ds.read(src[1], out_shape=shape, resampling=Resampling.nearest).astype(float)
            if info.nodata is not None:
                a[a == info.nodata] = np.nan
            self._global[key] = a
        return self._global[key]

    def _pc1_model(self):
        if "pc1_model" not in self._global:
            bands = self._pc1_bands()
            stack = np.stack([self._sample(src) for _, src in bands])
            _, model = pc1(stack, return_model=True)
            self._global["pc1_model"] = model
        return self._global["pc1_model"]

    def _texture_range(self, t: _Texture):
        if t.range is not None:
            return t.range
        key = ("range", t.band)
        if key not in self._global:
            if t.band == "pc1":
                bands = self._pc1_bands()
                vals = pc1(
                    np.stack([self._sample(src) for _, src in bands]), model=self._pc1_model()
                )
            else:
                vals = self._sample(t.src)
            vals = vals[np.isfinite(vals)]
            if not vals.size:
                raise ValueError(f"texture band {t.band!r} has no valid pixels.")
            lo, hi = np.percentile(vals, [1.0, 99.0])
            self._global[key] = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
        return self._global[key]

    def _twi(self):
        if "twi" not in self._global:
            info = self._infos[self._dem[0]]
            import rasterio

            with rasterio.open(info.path) as ds:
                dem = read_block(ds, 1, (0, info.height), (0, info.width), info.nodata)
            self._global["twi"] = twi_from_dem(
                dem, self.grid["resolution"], self.terrain_options.get("fill_depressions", True)
            )
        return self._global["twi"]

    def _latitude(self):
        lat = self.terrain_options.get("latitude")
        if lat is not None:
            return float(lat)
        if "latitude" not in self._global:
            self._global["latitude"] = latitude_of(self._ref)
        return self._global["latitude"]

    # ---- the engine ----------------------------------------------------------------------------
    def _needed_sources(self):
        srcs = {s for _, s in self._band_specs} | set(self._index_bands.values())
        srcs |= {t.src for t in self._tex if t.src is not None}
        if any(t.band == "pc1" for t in self._tex):
            srcs |= {s for _, s in self._pc1_bands()}
        if self._terrain_vars:
            srcs.add(self._dem)
        srcs |= {s for _, s, _ in self._extra}
        return srcs

    def _compute(self, dsets, win) -> np.ndarray:
        """Features (F, h, w) float64 of the tile win = (row0, col0, h, w) inside the raster."""
        row0, col0, h, w = win
        H, W = self._ref.height, self._ref.width
        halo = self.halo
        rr0, rr1 = max(0, row0 - halo), min(H, row0 + h + halo)
        cc0, cc1 = max(0, col0 - halo), min(W, col0 + w + halo)
        regions: dict = {}

        def region(src):
            if src not in regions:
                info = self._infos[src[0]]
                regions[src] = read_block(
                    dsets[src[0]], src[1], (rr0, rr1), (cc0, cc1), info.nodata
                )
            return regions[src]

        def ctx(src, r=0, mode="nan"):
            return context_block(region(src), (rr0, cc0), (H, W), win, r, mode)

        out = []
        for _, src in self._band_specs:
            out.append(ctx(src))
        if self._index_names:
            b = {name: ctx(src) for name, src in self._index_bands.items()}
            idx = spectral_indices(b, names=self._index_names)
            out += [idx[n] for n in self._index_names]
        for t in self._tex:
            r = t.window // 2
            if t.band == "pc1":
                stack = np.stack([ctx(src, r, "reflect") for _, src in self._pc1_bands()])
                band = pc1(stack, model=self._pc1_model())
            else:
                band = ctx(t.src, r, "reflect")
            vmin, vmax = self._texture_range(t)
            q, valid = quantize(band, t.levels, vmin, vmax)
            res = glcm_valid(
                q, valid, t.window, t.levels, t.features, glcm_offsets(t.distances, t.angles)
            )
            out += [res[f] for f in t.features]
        if self._terrain_vars:
            o = self.terrain_options
            twi = None
            if "twi" in self._terrain_vars:
                twi = self._twi()[row0 : row0 + h, col0 : col0 + w]
            need_lat = {"hli", "solar_radiation"} & set(self._terrain_vars)
            tv = terrain_from_context(
                lambda r, mode: ctx(self._dem, r, mode),
                self.grid["resolution"],
                self._terrain_vars,
                latitude=self._latitude() if need_lat else None,
                tpi_radius=o.get("tpi_radius"),
                relief_radius=o.get("relief_radius"),
                sun_azimuth=o.get("sun_azimuth", 315.0),
                sun_elevation=o.get("sun_elevation", 45.0),
                twi=twi,
            )
            out += [tv[v] for v in self._terrain_vars]
        for _, src, _ in self._extra:
            out.append(ctx(src))
        return np.stack([np.asarray(a, dtype=np.float64) for a in out])

    def _tile(self, dsets, row0, col0, h, w) -> np.ndarray:
        """Features of any rectangle, NaN where it leaves the raster."""
        H, W = self._ref.height, self._ref.width
        F = len(self._plan.names)
        out = np.full((F, h, w), np.nan)
        a0, a1 = max(0, row0), min(H, row0 + h)
        b0, b1 = max(0, col0), min(W, col0 + w)
        if a1 > a0 and b1 > b0:
            out[:, a0 - row0 : a1 - row0, b0 - col0 : b1 - col0] = self._compute(
                dsets, (a0, b0, a1 - a0, b1 - b0)
            )
        return out

    def _open(self):
        keys = sorted({s[0] for s in self._needed_sources()})
        return open_all(self._infos, keys)

    # ---- public API ----------------------------------------------------------------------------
    def at_points(
        self, plots, footprint: float | None = None, coords=None, progress: bool | None = None
    ) -> pd.DataFrame:
        """Features at plot centres, or summarised over square plot footprints.

        Parameters
        ----------
        plots : GeoDataFrame, DataFrame or (n, 2) array
            Plot centres. A GeoDataFrame in another CRS is reprojected to the rasters' CRS
            (the plots, never the rasters); a DataFrame's ``coords`` columns and an array are
            taken to be in the rasters' CRS.
        footprint : float, optional
            Side of the square plot footprint, metres (25.83 m for a 0.0667 ha plot): each
            feature is summarised (its statistic, "mean" by default) over the pixels whose
            centres fall inside the square. Default: the pixel containing the plot centre.
        coords : pair of str, default None
            Coordinate columns of a DataFrame (``None``: ``("x", "y")``); a GeoDataFrame's
            geometry is used.
        progress : bool or None, default None
            Show a progress bar; ``None``: only when stderr is a terminal (and there are 2000
            plots or more).

        Returns
        -------
        DataFrame
            Index aligned with ``plots``, one column per :attr:`feature_names`. A footprint
            with some nodata pixels (or partly off the rasters) is summarised over its valid
            pixels when they are at least :data:`MIN_VALID_SHARE` (50 %) of it, else NaN; a
            warning counts the NaN plots. ``attrs["valid_share"]`` holds, per plot, the
            share of valid pixels in its footprint (the smallest over the features).
        """
        xy = plot_xy(plots, self._ref.crs, coords)
        if footprint is not None and not float(footprint) > 0:
            raise ValueError(f"footprint={footprint} must be a positive side length in metres.")
        if footprint is not None and self._geographic():
            raise ValueError(
                f"footprint={footprint} is in metres but the rasters' CRS "
                f"({self._ref.crs}) is geographic; warp the rasters to a projected "
                "CRS (gdalwarp -t_srs EPSG:<utm zone> in.tif out.tif)."
            )
        r0, r1, c0, c1 = footprint_rect(xy, self._ref.transform, footprint)
        F = len(self._plan.names)
        vals = np.full((len(xy), F), np.nan)
        share = np.zeros(len(xy))
        from tqdm.auto import tqdm

        show = show_progress(progress) and (progress is True or len(xy) >= 2000)
        dsets = self._open()
        try:
            for i in tqdm(range(len(xy)), desc="plot features", disable=not show):
                h, w = int(r1[i] - r0[i] + 1), int(c1[i] - c0[i] + 1)
                if h < 1 or w < 1:
                    continue
                block = self._tile(dsets, int(r0[i]), int(c0[i]), h, w).reshape(F, 1, h * w)
                vals[i] = aggregate(block, self._plan.stats)[:, 0]
                share[i] = valid_share(block)[0]
        finally:
            for ds in dsets.values():
                ds.close()
        index = plots.index if isinstance(plots, pd.DataFrame) else pd.RangeIndex(len(xy))
        df = pd.DataFrame(vals, index=index, columns=self._plan.names)
        df.attrs["valid_share"] = share.tolist()
        df.attrs["min_valid_share"] = MIN_VALID_SHARE
        bad = df.isna()
        n_bad = int(bad.any(axis=1).sum())
        if n_bad:
            cols = bad.sum().sort_values(ascending=False)
            cols = [f"{c} ({int(k)})" for c, k in cols.items() if k][:6]
            warnings.warn(
                f"{n_bad} of {len(df)} plots have nodata in their footprint or lie outside the "
                f"rasters; their features are NaN (most affected: {', '.join(cols)}). Drop them "
                "(X.dropna()) or fill the rasters' nodata.",
                stacklevel=2,
            )
        return df

    def on_window(self, window, out_resolution: float | None = None) -> np.ndarray:
        """Features of a raster window, optionally summarised onto a coarser output grid.

        Parameters
        ----------
        window : rasterio.windows.Window
            Pixel window of the reference grid (may extend beyond the raster: NaN there).
            The halo is read internally.
        out_resolution : float, optional
            Output cell size, metres, a whole multiple ``k`` of the raster resolution; the
            window's height and width must be multiples of ``k``. Each output cell holds each
            feature's statistic over its k x k pixels, the same numbers as
            ``at_points(<cell centres>, footprint=out_resolution)``.

        Returns
        -------
        ndarray of shape (F, h, w) (or (F, h / k, w / k)), float32, NaN for nodata.
        """
        row0, col0 = int(round(window.row_off)), int(round(window.col_off))
        h, w = int(round(window.height)), int(round(window.width))
        if h < 1 or w < 1:
            raise ValueError(f"window {window} is empty.")
        k = 1
        if out_resolution is not None:
            if self._geographic():
                raise ValueError(
                    f"out_resolution={float(out_resolution):g} m but the rasters' CRS "
                    f"({self._ref.crs}) is geographic (pixel size in degrees); resolutions are in "
                    "metres. Reproject the rasters to a metric CRS first (gdalwarp -t_srs "
                    "EPSG:<utm zone> in.tif out.tif)."
                )
            res = self.grid["resolution"]
            kf = float(out_resolution) / res
            k = int(round(kf))
            if k < 1 or abs(kf - k) > 1e-6:
                raise ValueError(
                    f"out_resolution={out_resolution} m is not a whole multiple of the "
                    f"raster resolution {res} m; use e.g. {max(1, k) * res:g} m."
                )
            if h % k or w % k:
                raise ValueError(
                    f"window of {h}x{w} pixels is not a whole number of {k}x{k} output "
                    f"cells ({out_resolution} m); use a window of {h // k * k or k}x"
                    f"{w // k * k or k} pixels aligned to the output grid."
                )
        dsets = self._open()
        try:
            block = self._tile(dsets, row0, col0, h, w)
        finally:
            for ds in dsets.values():
                ds.close()
        if k > 1:
            F = block.shape[0]
            cells = block.reshape(F, h // k, k, w // k, k).transpose(0, 1, 3, 2, 4)
            cells = cells.reshape(F, (h // k) * (w // k), k * k)
            block = aggregate(cells, self._plan.stats).reshape(F, h // k, w // k)
        return block.astype(np.float32)
