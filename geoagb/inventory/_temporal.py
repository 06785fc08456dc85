"""Growth normalisation of plot values to a reference year (as in the Shenzhen study)."""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array

__all__ = ["normalize_to_year"]


def normalize_to_year(value, year, ref_year, rate):
    """Carry a plot value measured in ``year`` to ``ref_year`` by compound growth.

    ``C_ref = C_year * (1 + rate) ** (ref_year - year)`` (the Shenzhen study's growth factors);
    years after ``ref_year`` are discounted by the same law.

    Parameters
    ----------
    value : float or array-like
        Carbon or biomass density measured in ``year`` (e.g. MgC/ha); the unit is kept.
    year : int or array-like of int
        Year(s) of measurement, one for all plots or one per plot.
    ref_year : int
        Reference year, e.g. the year of the imagery.
    rate : float or array-like
        Annual relative growth rate(s), e.g. 0.03 for 3 %/yr; > -1. One for all plots or one per
        plot (species-specific rates looked up by the caller).

    Returns
    -------
    float or ndarray
        Value at ``ref_year``, same unit as ``value``.

    References
    ----------
    Estimation of urban above-ground vegetation carbon density and analysis of
    topography-modulated spectral responses in Shenzhen, China. Remote Sensing, 2026 (the
    Shenzhen study), section 2.2: plots of 2014 and 2015 carried to 2016.

    Examples
    --------
    >>> round(float(normalize_to_year(20.0, 2014, 2016, 0.05)), 4)   # 20 * 1.05**2
    22.05
    >>> normalize_to_year([10.0, 10.0], [2015, 2016], 2016, 0.1).round(6).tolist()
    [11.0, 10.0]
    """
    v = as_float_array(value, "value")
    y = as_float_array(year, "year")
    r = as_float_array(rate, "rate")
    ref = as_float_array(ref_year, "ref_year")
    if ref.ndim != 0:
        raise ValueError(f"ref_year must be one year, e.g. 2016; got shape {ref.shape}.")
    for name, arr in (("year", y), ("ref_year", ref)):
        if np.any(arr != np.round(arr)):
            raise ValueError(
                f"{name} must be whole years (e.g. 2014); got {arr.ravel()[:5].tolist()}."
            )
    if np.any(r <= -1):
        raise ValueError(
            f"rate must be > -1 (a relative annual growth rate such as 0.03 for 3 %/yr); got "
            f"{np.ravel(r)[:5].tolist()}. Give percentages as fractions."
        )
    if np.any(np.abs(r) > 1):
        raise ValueError(
            f"rate={np.ravel(r)[:5].tolist()} means more than 100 %/yr growth; give the rate as a "
            "fraction (0.05, not 5)."
        )
    try:
        out = v * np.power(1.0 + r, ref - y)
    except ValueError as exc:
        raise ValueError(
            f"value (shape {v.shape}), year (shape {y.shape}) and rate (shape {r.shape}) must have "
            "one entry per plot or be single values."
        ) from exc
    return float(out) if np.ndim(out) == 0 else out
