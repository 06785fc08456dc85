"""Terrain variables from a DEM: slope, aspect, curvature, TPI, TWI, heat load, hillshade ...

Conventions (x east, y north, rows run south; units in the table of :func:`terrain`):

* first derivatives by Horn (1981)'s 3x3 weighted differences; second derivatives and the
  curvatures by Zevenbergen & Thorne (1987);
* aspect is the downslope direction, degrees clockwise from north (0 = N, 90 = E); flat cells
  have aspect NaN and eastness = northness = 0;
* raster edges: 3x3 stencils see the DEM extended by odd reflection (``2 z_edge - z_inside``,
  i.e. linear extrapolation), so slope and aspect of a plane are exact up to the edge;
  neighbourhood statistics (TPI, relief) use only the cells inside the raster; nodata (NaN)
  spreads to the 3x3 neighbourhood for derivatives and is skipped by neighbourhood statistics.

Every variable is a function of a fixed neighbourhood except TWI (flow accumulation depends on
the whole upstream area): :class:`~geoagb.features.RasterFeatures` computes TWI once on the
whole DEM and the others tile by tile with a halo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._flow import flow_accumulation

__all__ = ["terrain", "TERRAIN_VARIABLES", "heat_load_index", "solar_radiation_proxy"]

#: Variables :func:`terrain` computes, in its output order.
TERRAIN_VARIABLES = (
    "elevation",
    "slope",
    "aspect",
    "eastness",
    "northness",
    "curvature",
    "profile_curvature",
    "plan_curvature",
    "tpi",
    "relief",
    "twi",
    "hli",
    "solar_radiation",
    "hillshade",
)

_DERIVATIVE_VARS = {
    "slope",
    "aspect",
    "eastness",
    "northness",
    "curvature",
    "profile_curvature",
    "plan_curvature",
    "hli",
    "solar_radiation",
    "hillshade",
    "twi",
}
_DEFAULT_RADIUS_CELLS = 15
_MIN_TAN_SLOPE = 1e-3


def _check_variables(variables):
    if variables is None:
        return list(TERRAIN_VARIABLES)
    out = [str(v).lower() for v in variables]
    bad = [v for v in out if v not in TERRAIN_VARIABLES]
    if bad:
        raise ValueError(f"unknown terrain variable(s) {bad}; valid: {list(TERRAIN_VARIABLES)}.")
    return out


def neighbourhood_radius(resolution: float, radius_m: float | None) -> int:
    """Radius in cells of a neighbourhood given in metres (default 15 cells)."""
    if radius_m is None:
        return _DEFAULT_RADIUS_CELLS
    r = int(round(float(radius_m) / float(resolution)))
    if r < 1:
        raise ValueError(
            f"radius {radius_m} m is less than one cell of {resolution} m; use a "
            "radius of at least one cell."
        )
    return r


def terrain_halo(variables, resolution, tpi_radius=None, relief_radius=None) -> int:
    """Cells of context a tile needs around it for the local (non-TWI) variables."""
    v = set(_check_variables(variables))
    h = 1 if v & (_DERIVATIVE_VARS - {"twi"}) else 0
    if "tpi" in v:
        h = max(h, neighbourhood_radius(resolution, tpi_radius))
    if "relief" in v:
        h = max(h, neighbourhood_radius(resolution, relief_radius))
    return h


# --- derivatives ----------------------------------------------------------------------------
def _derivatives(zp: np.ndarray, res: float) -> dict[str, np.ndarray]:
    """Horn gradient and Zevenbergen-Thorne coefficients from a DEM padded by one cell."""
    z1, z2, z3 = zp[:-2, :-2], zp[:-2, 1:-1], zp[:-2, 2:]
    z4, z5, z6 = zp[1:-1, :-2], zp[1:-1, 1:-1], zp[1:-1, 2:]
    z7, z8, z9 = zp[2:, :-2], zp[2:, 1:-1], zp[2:, 2:]
    p = ((z3 + 2 * z6 + z9) - (z1 + 2 * z4 + z7)) / (8 * res)  # dz/dx (east)
    q = ((z1 + 2 * z2 + z3) - (z7 + 2 * z8 + z9)) / (8 * res)  # dz/dy (north)
    D = ((z4 + z6) / 2 - z5) / res**2  # zxx / 2
    E = ((z2 + z8) / 2 - z5) / res**2  # zyy / 2
    F = (-z1 + z3 + z7 - z9) / (4 * res**2)  # zxy
    G = (z6 - z4) / (2 * res)  # dz/dx (central)
    Hc = (z2 - z8) / (2 * res)  # dz/dy (central)
    centre_nan = np.isnan(z5)  # Horn's stencil skips the centre cell
    p, q = np.where(centre_nan, np.nan, p), np.where(centre_nan, np.nan, q)
    return {"p": p, "q": q, "D": D, "E": E, "F": F, "G": G, "H": Hc}


def _slope_aspect(d):
    grad = np.hypot(d["p"], d["q"])
    slope = np.degrees(np.arctan(grad))
    with np.errstate(invalid="ignore"):
        aspect = np.degrees(np.arctan2(-d["p"], -d["q"])) % 360.0
    aspect = np.where(grad > 0, aspect, np.nan)
    return slope, aspect


def heat_load_index(slope, aspect, latitude: float):
    """McCune & Keon (2002) heat load index, their equation 3.

    ``HLI = 0.339 + 0.808 cos(L) cos(S) - 0.196 sin(L) sin(S) - 0.482 cos(A) sin(S)`` with
    latitude L, slope S and aspect folded about the north-east / south-west axis,
    ``A = |180 - |aspect - 225||`` (south-west slopes hottest). The equation was fitted for
    latitudes 30-60 and slopes up to 60 degrees; in the southern hemisphere aspect is mirrored
    north-south first. Flat cells (aspect NaN) have no aspect term.

    Parameters
    ----------
    slope, aspect : array, degrees
    latitude : float, degrees

    Examples
    --------
    >>> round(float(heat_load_index(0.0, np.nan, 40.0)), 4)   # 0.339 + 0.808 cos(40)
    0.958
    """
    S = np.radians(np.asarray(slope, dtype=float))
    asp = np.asarray(aspect, dtype=float)
    if latitude < 0:
        asp = (180.0 - asp) % 360.0
    L = np.radians(abs(float(latitude)))
    A = np.radians(np.abs(180.0 - np.abs(asp - 225.0)))
    cosA = np.where(np.isfinite(A), np.cos(A), 0.0)
    return (
        0.339
        + 0.808 * np.cos(L) * np.cos(S)
        - 0.196 * np.sin(L) * np.sin(S)
        - 0.482 * cosA * np.sin(S)
    )


def solar_radiation_proxy(slope, aspect, latitude: float):
    """Potential annual direct incident radiation, MJ cm^-2 yr^-1 (McCune & Keon 2002, eq. 1).

    ``ln R = -1.467 + 1.582 cos(L) cos(S) - 1.500 cos(A) sin(S) sin(L) - 0.262 sin(L) sin(S)
    + 0.607 sin(A) sin(S)`` with aspect folded about the north-south axis,
    ``A = 180 - |aspect - 180|``. A terrain-only proxy: no shading by surrounding relief, no
    cloud. Southern hemisphere: aspect mirrored north-south.

    Examples
    --------
    >>> round(float(solar_radiation_proxy(0.0, np.nan, 0.0)), 4)  # exp(-1.467 + 1.582)
    1.1219
    """
    S = np.radians(np.asarray(slope, dtype=float))
    asp = np.asarray(aspect, dtype=float)
    if latitude < 0:
        asp = (180.0 - asp) % 360.0
    L = np.radians(abs(float(latitude)))
    A = np.radians(180.0 - np.abs(asp - 180.0))
    ok = np.isfinite(A)
    cosA, sinA = np.where(ok, np.cos(A), 0.0), np.where(ok, np.sin(A), 0.0)
    return np.exp(
        -1.467
        + 1.582 * np.cos(L) * np.cos(S)
        - 1.500 * cosA * np.sin(S) * np.sin(L)
        - 0.262 * np.sin(L) * np.sin(S)
        + 0.607 * sinA * np.sin(S)
    )


# --- neighbourhood statistics ----------------------------------------------------------------
def _shift_sum(a: np.ndarray, r: int) -> np.ndarray:
    """Sum over (2r+1)^2 squares of an array padded by r, added in a fixed order (so a pixel's
    value does not depend on the array's extent).
    """
    H, W = a.shape[0] - 2 * r, a.shape[1] - 2 * r
    rows = a[0:H].copy()
    for i in range(1, 2 * r + 1):
        rows += a[i : i + H]
    out = rows[:, 0:W].copy()
    for j in range(1, 2 * r + 1):
        out += rows[:, j : j + W]
    return out


def _tpi(zp: np.ndarray, r: int) -> np.ndarray:
    """Z minus the mean of the other valid cells of the (2r+1)^2 square (padded by r, NaN)."""
    ok = np.isfinite(zp)
    s = _shift_sum(np.where(ok, zp, 0.0), r)
    n = _shift_sum(ok.astype(float), r)
    z = zp[r:-r, r:-r]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = z - (s - z) / (n - 1)
    return np.where(np.isfinite(z) & (n > 1), out, np.nan)


def _relief(zp: np.ndarray, r: int) -> np.ndarray:
    """Max minus min of the valid cells of the (2r+1)^2 square (padded by r, NaN)."""
    from scipy.ndimage import maximum_filter, minimum_filter

    size = 2 * r + 1
    hi = maximum_filter(np.where(np.isnan(zp), -np.inf, zp), size=size)[r:-r, r:-r]
    lo = minimum_filter(np.where(np.isnan(zp), np.inf, zp), size=size)[r:-r, r:-r]
    z = zp[r:-r, r:-r]
    return np.where(np.isfinite(z), hi - lo, np.nan)


# --- the engine shared by terrain() and RasterFeatures ----------------------------------------
def terrain_from_context(
    context: Callable[[int, str], np.ndarray],
    resolution: float,
    variables: Sequence[str],
    *,
    latitude=None,
    tpi_radius=None,
    relief_radius=None,
    sun_azimuth=315.0,
    sun_elevation=45.0,
    twi=None,
) -> dict[str, np.ndarray]:
    """Compute ``variables`` for a tile given ``context(r, mode)``, the tile's DEM padded by
    ``r`` cells (``mode`` "odd": odd reflection beyond the raster edge; "nan": NaN beyond it).
    ``twi`` is the tile's TWI computed beforehand on the whole DEM (or None to skip).
    """
    res = float(resolution)
    variables = _check_variables(variables)
    out: dict[str, np.ndarray] = {}
    d = slope = aspect = None
    if set(variables) & (_DERIVATIVE_VARS - {"twi"}):
        d = _derivatives(context(1, "odd"), res)
        slope, aspect = _slope_aspect(d)
    if set(variables) & {"hli", "solar_radiation"} and latitude is None:
        raise ValueError(
            "hli and solar_radiation need the site latitude in degrees: pass "
            "latitude=... (RasterFeatures derives it from the raster's CRS)."
        )
    for v in variables:
        if v == "elevation":
            out[v] = np.array(context(0, "nan"), dtype=float)
        elif v == "slope":
            out[v] = slope
        elif v == "aspect":
            out[v] = aspect
        elif v in ("eastness", "northness"):
            f = np.sin if v == "eastness" else np.cos
            out[v] = np.where(
                np.isnan(aspect), np.where(np.isnan(slope), np.nan, 0.0), f(np.radians(aspect))
            )
        elif v in ("curvature", "profile_curvature", "plan_curvature"):
            D, E, F, G, H = d["D"], d["E"], d["F"], d["G"], d["H"]
            if v == "curvature":
                out[v] = -2.0 * (D + E)
            else:
                g2 = G * G + H * H
                num = (
                    -2.0 * (D * G * G + E * H * H + F * G * H)
                    if v == "profile_curvature"
                    else 2.0 * (D * H * H + E * G * G - F * G * H)
                )
                with np.errstate(invalid="ignore", divide="ignore"):
                    out[v] = np.where(
                        g2 > 0, num / np.where(g2 > 0, g2, 1.0), np.where(np.isnan(g2), np.nan, 0.0)
                    )
        elif v == "tpi":
            r = neighbourhood_radius(res, tpi_radius)
            out[v] = _tpi(context(r, "nan"), r)
        elif v == "relief":
            r = neighbourhood_radius(res, relief_radius)
            out[v] = _relief(context(r, "nan"), r)
        elif v == "hli":
            out[v] = heat_load_index(slope, aspect, latitude)
        elif v == "solar_radiation":
            out[v] = solar_radiation_proxy(slope, aspect, latitude)
        elif v == "hillshade":
            alt, az = np.radians(sun_elevation), np.radians(sun_azimuth)
            s = np.radians(slope)
            a = np.where(np.isnan(aspect), 0.0, np.radians(aspect))
            hs = np.sin(alt) * np.cos(s) + np.cos(alt) * np.sin(s) * np.cos(az - a)
            out[v] = np.clip(hs, 0.0, None)
        elif v == "twi":
            if twi is not None:
                out[v] = twi
    return out


def twi_from_dem(dem, resolution: float, fill: bool = True) -> np.ndarray:
    """Topographic wetness index ln(a / tan(beta)) on a whole DEM (Beven & Kirkby 1979).

    ``a`` = D8 upslope cells x resolution (specific catchment area, m^2 per m of contour),
    ``beta`` = Horn slope of the input DEM, ``tan(beta)`` floored at 0.001.
    """
    z = np.asarray(dem, dtype=float)
    res = float(resolution)
    acc = flow_accumulation(z, res, fill=fill)
    d = _derivatives(np.pad(z, 1, mode="reflect", reflect_type="odd"), res)
    tanb = np.maximum(np.hypot(d["p"], d["q"]), _MIN_TAN_SLOPE)
    with np.errstate(invalid="ignore"):
        return np.log(acc * res / tanb)


def terrain(
    dem,
    resolution: float,
    variables: Sequence[str] | None = None,
    *,
    latitude: float | None = None,
    tpi_radius: float | None = None,
    relief_radius: float | None = None,
    sun_azimuth: float = 315.0,
    sun_elevation: float = 45.0,
    fill_depressions: bool = True,
) -> dict[str, np.ndarray]:
    """Terrain variables of a DEM.

    =====================  ===========================================================  =========
    name                   definition                                                   unit
    =====================  ===========================================================  =========
    ``elevation``          the DEM                                                      m
    ``slope``              arctan(|grad z|), Horn (1981) 3x3 gradient                   degrees
    ``aspect``             downslope direction clockwise from north; NaN on flats       degrees
    ``eastness``           sin(aspect) (0 on flats)                                     -
    ``northness``          cos(aspect) (0 on flats)                                     -
    ``curvature``          -(z_xx + z_yy) (ArcGIS "curvature" / 100; > 0 convex)        1/m
    ``profile_curvature``  -2 (D G^2 + E H^2 + F G H) / (G^2 + H^2)  (ZT 1987)           1/m
    ``plan_curvature``     2 (D H^2 + E G^2 - F G H) / (G^2 + H^2)  (ZT 1987)            1/m
    ``tpi``                z - mean(z) of the other cells of a square of radius         m
                           ``tpi_radius`` (Weiss 2001)
    ``relief``             max(z) - min(z) in a square of radius ``relief_radius``      m
    ``twi``                ln(a / tan beta), D8 specific catchment area a (m),          ln(m)
                           tan beta floored at 0.001 (Beven & Kirkby 1979)
    ``hli``                heat load index, McCune & Keon (2002) eq. 3                  -
    ``solar_radiation``    potential direct radiation, McCune & Keon (2002) eq. 1       MJ/cm2/yr
    ``hillshade``          cos(illumination angle), clipped at 0, sun at                0-1
                           ``sun_azimuth`` / ``sun_elevation``
    =====================  ===========================================================  =========

    D, E, F, G, H are Zevenbergen & Thorne's coefficients (D = z_xx/2, E = z_yy/2,
    F = z_xy, G = z_x, H = z_y from the 3x3 window). Signs, from the closed forms tested:
    ``profile_curvature`` is minus the second derivative along the gradient (> 0 where the
    slope steepens downhill, e.g. ``z = -x^2``); ``plan_curvature`` is the second derivative
    along the contour (``-k / r`` on a cone ``z = -k r``: < 0 on diverging ground such as ridges
    and peaks, > 0 in hollows). See the module docstring for edges and nodata.

    Parameters
    ----------
    dem : 2-D array
        Elevation, metres, north-up (row 0 is the northern edge); NaN is nodata.
    resolution : float
        Cell size, metres.
    variables : sequence of str, optional
        Default: all of :data:`TERRAIN_VARIABLES`.
    latitude : float, optional
        Degrees; needed for ``hli`` and ``solar_radiation``.
    tpi_radius, relief_radius : float, optional
        Neighbourhood radius, metres (the square has side 2 r + 1 cells); default 15 cells.
    sun_azimuth, sun_elevation : float
        Hillshade sun position, degrees (default 315, 45 as in most GIS).
    fill_depressions : bool, default True
        Fill depressions before the flow accumulation of ``twi``.

    Returns
    -------
    dict name -> float64 array of the DEM's shape

    References
    ----------
    Horn (1981) Proc. IEEE 69, 14-47. Zevenbergen & Thorne (1987) Earth Surf. Process.
    Landforms 12, 47-56. Weiss (2001) Topographic position and landforms analysis. Beven &
    Kirkby (1979) Hydrol. Sci. Bull. 24, 43-69. McCune & Keon (2002) J. Veg. Sci. 13, 603-606.

    Examples
    --------
    >>> x, y = np.meshgrid(np.arange(5.0), -np.arange(5.0))     # x east, y north (row 0 north)
    >>> t = terrain(0.5 * x, resolution=1.0, variables=["slope", "aspect"])
    >>> round(float(t["slope"][0, 0]), 3), float(t["aspect"][4, 4])   # rises east: faces west
    (26.565, 270.0)
    """
    z = np.asarray(dem, dtype=float)
    if z.ndim != 2:
        raise ValueError(f"dem must be 2-D; got shape {z.shape}.")
    variables = _check_variables(variables)

    def context(r, mode):
        if r == 0:
            return z
        if mode == "odd":
            return np.pad(z, r, mode="reflect", reflect_type="odd")
        return np.pad(z, r, constant_values=np.nan)

    twi = twi_from_dem(z, resolution, fill_depressions) if "twi" in variables else None
    return terrain_from_context(
        context,
        resolution,
        variables,
        latitude=latitude,
        tpi_radius=tpi_radius,
        relief_radius=relief_radius,
        sun_azimuth=sun_azimuth,
        sun_elevation=sun_elevation,
        twi=twi,
    )
