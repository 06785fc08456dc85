"""The generative model shared by :func:`make_plots` and :func:`make_scene`.

A :class:`Landscape` is a set of continuous fields over a projected study area, each evaluable at
any coordinates, so that tabular plots and raster scenes drawn from the same landscape agree.

Fields (x, y in metres; z_* are unit-variance Gaussian random fields from gstools' randomisation
method, fixed by the seed):

* elevation      E = 900 + 350 z_E + 120 z_K     (Gaussian covariances, lengths 15 km and 1.2 km:
  regional relief plus karst hills), metres
* canopy height  H = clip(14 + 5 z_H - 0.004 (E - 900), 2, 38)     (exponential, length 3 km), metres
* crown cover    CC = 1 / (1 + exp(-(0.9 + 1.2 z_C + 0.25 z_H)))    (exponential, length 2 km)
* vigour         V = z_V                                  (exponential, length 4 km)
* structural AGB A_s = a H^b (0.35 + 0.65 CC),  a = 3.2, b = 1.35          (Mg/ha)
* noise-free AGB A_0 = A_s exp(gamma e V),  e = (E - 900) / 350,  gamma = 0.25
  (the planted elevation x vigour interaction; vigour is seen only through the spectra)
* NDVI           0.08 + 0.78 (1 - exp(-A_0 / 55)) (0.9 + 0.1 tanh V)     (saturates above
  ~150 Mg/ha) and NDVI is lowered on bright rock at high elevation: - 0.04 max(e, 0)
* residual       R = s_R z_R (exponential covariance, ``residual_range`` metres, default 30 km)
  which no feature explains: what residual kriging should find.

The observed AGB of a plot is A_0 + R + eps, eps ~ N(0, noise_sd^2), clipped at 1 Mg/ha.
"""

from __future__ import annotations

import numpy as np

from .._random import seed_int

__all__ = ["Landscape", "DEFAULT_CRS", "DEFAULT_ORIGIN"]

#: UTM zone 48N: Guizhou / Guangxi, the karst of Southwest China.
DEFAULT_CRS = "EPSG:32648"
#: Lower-left corner of the default study area (easting, northing), metres.
DEFAULT_ORIGIN = (500_000.0, 2_750_000.0)

ALLOMETRY_A = 3.2
ALLOMETRY_B = 1.35
GAMMA = 0.25


class Landscape:
    """Continuous fields of one synthetic forest landscape (see the module docstring).

    Parameters
    ----------
    extent_m : float
        Side of the square study area, metres.
    residual_range : float
        Range (gstools length scale of an exponential covariance) of the residual field, metres.
    residual_sd : float
        Standard deviation s_R of the spatial residual, Mg/ha.
    random_state : int
        Seed for every field.
    origin : (float, float)
        Lower-left corner of the study area.
    len_scales : dict, optional
        Length scales (metres) replacing the defaults of some fields, keyed by field name:
        ``"E"`` (15 000), ``"H"`` (3 000), ``"C"`` (2 000), ``"V"`` (4 000), ``"K"`` (1 200);
        the residual ``"R"`` is set by ``residual_range``. :func:`make_scene` shortens them so
        that a scene of a kilometre or two still varies. ``None`` keeps every default (and
        :func:`make_plots` bit-identical).
    z_offsets : dict, optional
        Constants added to the unit-variance fields, keyed by field name (``"E", "H", "C", "V",
        "K", "R"``); :func:`make_scene` uses them to centre a small scene on the landscape's
        mean state. ``None`` adds nothing.

    Examples
    --------
    >>> round(float(Landscape.structural_agb(20.0, 1.0)), 2)    # 3.2 * 20^1.35 * (0.35 + 0.65)
    182.62
    >>> round(float(Landscape.agb_from_structure(100.0, 1250.0, 1.0)), 4)   # 100 exp(0.25)
    128.4025
    >>> land = Landscape(extent_m=5_000.0, random_state=0)
    >>> x, y = land.origin[0] + 2_500.0, land.origin[1] + 2_500.0
    >>> e = 900.0 + 350.0 * land.z("E", x, y) + 120.0 * land.z("K", x, y)
    >>> bool(np.isclose(land.elevation(x, y), e)), 2.0 <= float(land.canopy_height(x, y)) <= 38.0
    (True, True)
    """

    #: Default gstools length scales (metres) of the fields other than the residual.
    LEN_SCALES = {"E": 15_000.0, "H": 3_000.0, "C": 2_000.0, "V": 4_000.0, "K": 1_200.0}

    def __init__(
        self,
        extent_m=60_000.0,
        residual_range=30_000.0,
        residual_sd=25.0,
        random_state=None,
        origin=DEFAULT_ORIGIN,
        len_scales=None,
        z_offsets=None,
    ):
        import gstools as gs

        self.extent_m = float(extent_m)
        self.residual_range = float(residual_range)
        self.residual_sd = float(residual_sd)
        self.origin = tuple(float(v) for v in origin)
        scales = dict(self.LEN_SCALES)
        if len_scales is not None:
            unknown = sorted(set(len_scales) - set(scales))
            if unknown:
                raise ValueError(
                    f"len_scales keys {unknown} are not fields; valid keys: {sorted(scales)} "
                    "(the residual range is set by residual_range)."
                )
            for k, v in len_scales.items():
                if not (np.isfinite(v) and v > 0):
                    raise ValueError(
                        f"len_scales[{k!r}]={v!r} must be a positive length in metres."
                    )
                scales[k] = float(v)
        self.len_scales = scales
        if z_offsets is not None:
            unknown = sorted(set(z_offsets) - set(scales) - {"R"})
            if unknown:
                raise ValueError(
                    f"z_offsets keys {unknown} are not fields; valid keys: {sorted(scales) + ['R']}."
                )
        self.z_offsets = None if z_offsets is None else {k: float(v) for k, v in z_offsets.items()}
        seeds = np.random.SeedSequence(seed_int(random_state)).generate_state(6)
        mk = lambda model, s: gs.SRF(model, mean=0.0, seed=int(s), mode_no=800)  # noqa: E731
        self._srf = {
            "E": mk(gs.Gaussian(dim=2, var=1.0, len_scale=scales["E"]), seeds[0]),
            "H": mk(gs.Exponential(dim=2, var=1.0, len_scale=scales["H"]), seeds[1]),
            "C": mk(gs.Exponential(dim=2, var=1.0, len_scale=scales["C"]), seeds[2]),
            "V": mk(gs.Exponential(dim=2, var=1.0, len_scale=scales["V"]), seeds[3]),
            "K": mk(gs.Gaussian(dim=2, var=1.0, len_scale=scales["K"]), seeds[5]),
            "R": mk(gs.Exponential(dim=2, var=1.0, len_scale=self.residual_range), seeds[4]),
        }

    # raw Gaussian fields -----------------------------------------------------------------------
    def z(self, name: str, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast(x, y).shape
        xb, yb = np.broadcast_to(x, shape).ravel(), np.broadcast_to(y, shape).ravel()
        out = np.empty(xb.size)
        step = 200_000  # bound memory of the randomisation method (mode_no x chunk)
        for i in range(0, xb.size, step):
            out[i : i + step] = self._srf[name]((xb[i : i + step], yb[i : i + step]))
        if self.z_offsets is not None and name in self.z_offsets:
            out += self.z_offsets[name]
        return out.reshape(shape)

    # physical fields ---------------------------------------------------------------------------
    def elevation(self, x, y):
        """Elevation, metres."""
        return 900.0 + 350.0 * self.z("E", x, y) + 120.0 * self.z("K", x, y)

    def terrain(self, x, y, h=30.0):
        """Slope (degrees), aspect (degrees clockwise from north, downslope), eastness, northness.

        Gradients by central differences with step ``h`` metres on the continuous field.
        """
        dzdx = (self.elevation(x + h, y) - self.elevation(x - h, y)) / (2 * h)
        dzdy = (self.elevation(x, y + h) - self.elevation(x, y - h)) / (2 * h)
        slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
        aspect = np.degrees(np.arctan2(-dzdx, -dzdy)) % 360.0
        return slope, aspect, np.sin(np.radians(aspect)), np.cos(np.radians(aspect))

    def canopy_height(self, x, y, elevation=None):
        """Mean canopy height, metres."""
        e = self.elevation(x, y) if elevation is None else elevation
        return np.clip(14.0 + 5.0 * self.z("H", x, y) - 0.004 * (e - 900.0), 2.0, 38.0)

    def crown_cover(self, x, y):
        """Crown cover fraction, 0-1."""
        return 1.0 / (1.0 + np.exp(-(0.9 + 1.2 * self.z("C", x, y) + 0.25 * self.z("H", x, y))))

    def vigour(self, x, y):
        return self.z("V", x, y)

    def residual(self, x, y):
        """Spatially autocorrelated AGB residual, Mg/ha."""
        return self.residual_sd * self.z("R", x, y)

    @staticmethod
    def structural_agb(height, cover):
        """A H^b (0.35 + 0.65 CC), Mg/ha."""
        return ALLOMETRY_A * np.power(height, ALLOMETRY_B) * (0.35 + 0.65 * cover)

    @staticmethod
    def agb_from_structure(structural, elevation, vigour):
        """Noise-free AGB with the planted elevation x vigour interaction, Mg/ha."""
        e = (np.asarray(elevation) - 900.0) / 350.0
        return structural * np.exp(GAMMA * e * vigour)

    @staticmethod
    def ndvi(agb0, elevation, vigour):
        """NDVI that saturates at high AGB and is darkened by rock at high elevation."""
        e = (np.asarray(elevation) - 900.0) / 350.0
        return (
            0.08
            + 0.78 * (1.0 - np.exp(-agb0 / 55.0)) * (0.9 + 0.1 * np.tanh(vigour))
            - 0.04 * np.maximum(e, 0.0)
        )

    @staticmethod
    def reflectance(ndvi, agb0, slope, aspect, rng, sun_azimuth=135.0, sun_elevation=50.0):
        """Surface reflectance of six bands modulated by terrain illumination.

        Illumination cos(i) = cos(z) cos(s) + sin(z) sin(s) cos(A_sun - A); bands are scaled by
        a C-correction-like factor (cos i + 0.3) / (cos z + 0.3), so band values carry terrain
        while band ratios (NDVI) do not.
        """
        zen = np.radians(90.0 - sun_elevation)
        s = np.radians(slope)
        cos_i = np.cos(zen) * np.cos(s) + np.sin(zen) * np.sin(s) * np.cos(
            np.radians(sun_azimuth - aspect)
        )
        illum = (np.clip(cos_i, 0.05, None) + 0.3) / (np.cos(zen) + 0.3)
        n = np.shape(ndvi)
        wet = 1.0 - np.exp(-agb0 / 120.0)
        nir = (0.18 + 0.17 * ndvi + rng.normal(0, 0.008, n)) * illum
        red = nir * (1.0 - ndvi) / (1.0 + ndvi)
        green = red * (1.15 + 0.25 * ndvi) + rng.normal(0, 0.003, n) * illum
        blue = red * 0.75 + 0.01 * illum + rng.normal(0, 0.002, n) * illum
        swir1 = (0.26 - 0.10 * wet + rng.normal(0, 0.006, n)) * illum
        swir2 = (0.17 - 0.09 * wet + rng.normal(0, 0.005, n)) * illum
        return {
            "blue": blue,
            "green": green,
            "red": red,
            "nir": nir,
            "swir1": swir1,
            "swir2": swir2,
        }
