"""Biomass from stand volume (BEF), carbon from biomass, shrub and grass biomass from height."""

from __future__ import annotations

import warnings

import numpy as np

from ._tables import lookup_coefficients
from ._validate import as_float_array, check_nonnegative

__all__ = ["bef_biomass", "carbon_content", "shrub_biomass", "grass_biomass"]


def _out(v):
    return float(v) if np.ndim(v) == 0 else v


def _coefs(kind, species, table, n_values, ncoef):
    coef = lookup_coefficients(kind, species, table)
    if coef.ndim == 2 and coef.shape[0] != n_values:
        raise ValueError(
            f"{coef.shape[0]} species for {n_values} value(s): give one species per value or a "
            "single species string."
        )
    return coef


def bef_biomass(volume_m3_ha, forest_type=None, *, coefficients=None, table=None, return_bef=False):
    """Stand aboveground biomass from stand volume with a biomass expansion factor.

    ``BEF = a + b / M`` and ``B = BEF * M = a M + b`` (the continuous BEF of Fang et al. 2001,
    eqs. 1-2 of the Shenzhen study), where **M is the stand volume per hectare** (m^3/ha: the
    sum of the tree volumes of a plot divided by the plot area, see :func:`tree_volume` and
    :func:`plot_density`), not the volume of one tree.

    Parameters
    ----------
    volume_m3_ha : float or array-like
        Stand volume M, m^3/ha; >= 0. ``M = 0`` (no trees) gives ``B = 0``: the BEF relation is
        fitted on stands and its limit ``b`` at ``M -> 0`` is not the biomass of an empty plot.
    forest_type : str or array-like of str, optional
        Key (or printed name) of Table A2 of the Shenzhen study, e.g. ``"pinus_massoniana"``,
        ``"cunninghamia_lanceolata"``, ``"subtropical_evergreen_broadleaved"``,
        ``"eucalyptus"`` (see :func:`species_table` ``("bef")``); one or one per value.
    coefficients : (a, b), optional
        Your own a (Mg/m^3) and b (Mg/ha) instead of a forest type.
    table : DataFrame or path, optional
        Your own table (columns ``species``, ``a``, ``b``).
    return_bef : bool, default False
        Also return the BEF (Mg/m^3; NaN where M = 0).

    Returns
    -------
    biomass : float or ndarray
        Aboveground biomass density B, Mg/ha.
    bef : float or ndarray
        Only with ``return_bef=True``.

    Warns
    -----
    UserWarning
        When every M is below 1 m^3/ha: such values look like single-tree volumes (m^3), and
        ``b / M`` then inflates biomass; sum tree volumes per hectare first.

    References
    ----------
    Fang, J., Chen, A., Peng, C., Zhao, S. and Ci, L. (2001). Changes in forest biomass carbon
    storage in China between 1949 and 1998. Science 292, 2320-2322.

    Estimation of urban above-ground vegetation carbon density and analysis of
    topography-modulated spectral responses in Shenzhen, China. Remote Sensing, 2026 (the
    Shenzhen study), section 2.2 and Table A2.

    Examples
    --------
    >>> round(float(bef_biomass(150.0, "pinus_massoniana")), 3)   # 0.5034 * 150 + 20.547
    96.057
    >>> b, bef = bef_biomass([0.0, 100.0], coefficients=(0.5, 20.0), return_bef=True)
    >>> b.tolist(), bef.round(2).tolist()
    ([0.0, 70.0], [nan, 0.7])
    """
    m = check_nonnegative(
        volume_m3_ha,
        "volume_m3_ha",
        "M is the stand volume per hectare (m^3/ha) and cannot be negative.",
    )
    if (forest_type is None) == (coefficients is None):
        raise ValueError(
            "give exactly one of forest_type= (a key of the BEF table, see "
            "species_table('bef')) or coefficients=(a, b)."
        )
    if m.size and np.all(m < 1.0) and np.any(m > 0):
        warnings.warn(
            f"all stand volumes are below 1 m^3/ha (max {m.max():.3g}): these look like single-tree "
            "volumes. BEF = a + b/M needs M = stand volume per hectare; sum tree volumes with "
            "plot_density(trees, plot_area_m2, column='volume') first.",
            UserWarning,
            stacklevel=2,
        )
    if coefficients is not None:
        coef = np.asarray(coefficients, dtype=float)
        if coef.shape != (2,) or not np.all(np.isfinite(coef)):
            raise ValueError(
                f"coefficients must be finite (a, b) of BEF = a + b/M; got {coefficients!r}."
            )
        a, b = coef
    else:
        coef = _coefs("bef", forest_type, table, m.size, 2)
        if coef.ndim == 2:
            coef = coef.reshape(m.shape + (2,))
        a, b = coef[..., 0], coef[..., 1]
    positive = m > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        bef = np.where(positive, a + b / np.where(positive, m, 1.0), np.nan)
    biomass = np.where(positive, bef * m, 0.0)
    if return_bef:
        return _out(biomass), _out(bef)
    return _out(biomass)


def carbon_content(biomass, species=None, *, ratio=None, table=None):
    """Carbon from dry biomass: ``C = biomass * carbon ratio``.

    Parameters
    ----------
    biomass : float or array-like
        Dry biomass in any unit (Mg, Mg/ha, kg); >= 0. The result has the same unit of carbon
        (Mg/ha of biomass gives MgC/ha).
    species : str or array-like of str, optional
        Key (or printed name) of Table A3 of the Shenzhen study, e.g. ``"pinus_massoniana"``
        (0.5271), ``"eucalyptus"`` (0.4748), ``"bush"`` (shrubs, 0.4672), ``"herbal"`` (grasses,
        0.3270); see :func:`species_table` ``("carbon")``.
    ratio : float or array-like, optional
        Your own carbon fraction(s) in (0, 1], e.g. 0.47 (IPCC default), instead of a species.
    table : DataFrame or path, optional
        Your own table (columns ``species``, ``ratio``).

    Returns
    -------
    carbon : float or ndarray
        Carbon, in the unit of ``biomass`` (e.g. MgC/ha).

    References
    ----------
    Estimation of urban above-ground vegetation carbon density and analysis of
    topography-modulated spectral responses in Shenzhen, China. Remote Sensing, 2026 (the
    Shenzhen study), section 2.2 and Table A3.

    Examples
    --------
    >>> round(float(carbon_content(100.0, "pinus_massoniana")), 2)
    52.71
    >>> carbon_content([10.0, 20.0], ratio=0.5).tolist()
    [5.0, 10.0]
    """
    bm = check_nonnegative(biomass, "biomass", "Biomass cannot be negative; check the input units.")
    if (species is None) == (ratio is None):
        raise ValueError(
            "give exactly one of species= (a key of the carbon-ratio table, see "
            "species_table('carbon')) or ratio= (carbon fraction, e.g. 0.47)."
        )
    if ratio is not None:
        r = as_float_array(ratio, "ratio")
        if np.any((r <= 0) | (r > 1)):
            raise ValueError(
                f"ratio is the carbon fraction of dry biomass and must lie in (0, 1]; got {ratio!r}. "
                "Typical values are 0.45-0.53."
            )
    else:
        r = _coefs("carbon", species, table, bm.size, 1)[..., 0]
        if r.ndim == 1:
            r = r.reshape(bm.shape)
    return _out(bm * r)


def shrub_biomass(height_m):
    """Shrub-layer biomass from mean shrub height, ``0.0398 h^0.3326`` (Fan et al. 2011).

    Parameters
    ----------
    height_m : float or array-like
        Mean shrub height h, metres; >= 0 (0 gives 0).

    Returns
    -------
    biomass : float or ndarray
        The equation's value. The Shenzhen study applies it to the 2 m x 2 m shrub sub-plots of
        NFI plots and does not state the unit; convert to Mg/ha the way your source equation
        defines it before adding it to tree biomass.

    References
    ----------
    Fan, W. Y., Li, M. Z. and Yu, Y. (2011). Quantitative retrieving of vegetation factors for
    desertification area. Advanced Materials Research 183, 376-380.

    The Shenzhen urban vegetation carbon study (Remote Sensing, 2026), section 2.2, eq. (3).

    Examples
    --------
    >>> round(float(shrub_biomass(2.0)), 5)
    0.05012
    """
    h = check_nonnegative(height_m, "height_m", "Give the mean shrub height in metres.")
    return _out(0.0398 * np.power(h, 0.3326))


def grass_biomass(height_m):
    """Grass-layer biomass from mean grass height, ``0.0175 h^0.2888`` (Fan et al. 2011).

    Parameters
    ----------
    height_m : float or array-like
        Mean grass height h, metres; >= 0 (0 gives 0).

    Returns
    -------
    biomass : float or ndarray
        The equation's value, in the (unstated) unit of the source; see :func:`shrub_biomass`.

    References
    ----------
    Fan, W. Y., Li, M. Z. and Yu, Y. (2011). Quantitative retrieving of vegetation factors for
    desertification area. Advanced Materials Research 183, 376-380.

    The Shenzhen urban vegetation carbon study (Remote Sensing, 2026), section 2.2, eq. (4).

    Examples
    --------
    >>> round(float(grass_biomass(0.5)), 5)
    0.01433
    """
    h = check_nonnegative(height_m, "height_m", "Give the mean grass height in metres.")
    return _out(0.0175 * np.power(h, 0.2888))
