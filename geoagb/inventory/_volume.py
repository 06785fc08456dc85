"""Tree volume from DBH and height: V = a D^b H^c (Table A1 of the Shenzhen study)."""

from __future__ import annotations

import numpy as np

from ._tables import lookup_coefficients
from ._validate import check_positive

__all__ = ["tree_volume"]


def _coefficient_triple(coefficients) -> np.ndarray:
    if isinstance(coefficients, dict):
        missing = [k for k in ("a", "b", "c") if k not in coefficients]
        if missing:
            raise ValueError(f"coefficients dict needs keys 'a', 'b', 'c'; missing {missing}.")
        coefficients = (coefficients["a"], coefficients["b"], coefficients["c"])
    coef = np.asarray(coefficients, dtype=float)
    if coef.shape != (3,):
        raise ValueError(
            f"coefficients must be (a, b, c) of V = a D^b H^c; got shape {coef.shape}."
        )
    if not np.all(np.isfinite(coef)) or coef[0] <= 0:
        raise ValueError(f"coefficients (a, b, c) must be finite with a > 0; got {coef.tolist()}.")
    return coef


def tree_volume(dbh_cm, height_m, species=None, *, coefficients=None, table=None):
    """Stem volume of single trees, ``V = a D^b H^c`` (m^3).

    Parameters
    ----------
    dbh_cm : float or array-like
        Diameter at breast height (1.3 m), centimetres; > 0.
    height_m : float or array-like
        Total tree height, metres; > 0. Broadcast against ``dbh_cm``.
    species : str or array-like of str, optional
        Species key (or printed name) of Table A1 of the Shenzhen study, one for all trees or
        one per tree: ``eucalyptus``, ``pinus_elliottii``, ``acacia_mangium``,
        ``pinus_tabuliformis``, ``castanopsis_fissa``, ``broadleaved``,
        ``cunninghamia_lanceolata``, ``hardwood`` (see :func:`species_table` ``("volume")``).
    coefficients : (a, b, c) or dict, optional
        Coefficients of your own equation instead of a species (D in cm, H in m, V in m^3).
    table : DataFrame or path, optional
        Your own species table (columns ``species``, ``a``, ``b``, ``c``) to look ``species`` up in.

    Returns
    -------
    volume : float or ndarray
        Stem volume per tree, m^3.

    Raises
    ------
    ValueError
        Non-positive or missing DBH / height, an unknown species (the valid ones are listed),
        or neither / both of ``species`` and ``coefficients``.

    Notes
    -----
    Table A1 holds the Guangdong equations used by the Shenzhen study; e.g. for Eucalyptus
    ``V = 8.71419e-5 D^1.94801 H^0.74929``. Plot stand volume M (m^3/ha) is the sum of the tree
    volumes over the plot area (:func:`plot_density`), the input of :func:`bef_biomass`.

    References
    ----------
    Estimation of urban above-ground vegetation carbon density and analysis of
    topography-modulated spectral responses in Shenzhen, China. Remote Sensing, 2026 (the
    Shenzhen study), section 2.2 and Table A1.

    Examples
    --------
    >>> round(float(tree_volume(20.0, 15.0, "cunninghamia_lanceolata")), 4)
    0.2385
    >>> tree_volume([10, 20], 12.0, coefficients=(6e-5, 1.9, 1.0)).round(4).tolist()
    [0.0572, 0.2134]
    """
    fix = "Measure DBH in cm and height in m and drop trees with missing or zero values."
    d = check_positive(dbh_cm, "dbh_cm", fix)
    h = check_positive(height_m, "height_m", fix)
    try:
        d, h = np.broadcast_arrays(d, h)
    except ValueError as exc:
        raise ValueError(
            f"dbh_cm (shape {np.shape(d)}) and height_m (shape {np.shape(h)}) must have the same "
            "length (one value per tree) or one of them a single value."
        ) from exc
    if (species is None) == (coefficients is None):
        raise ValueError(
            "give exactly one of species= (a key of the volume table, see "
            "species_table('volume')) or coefficients=(a, b, c)."
        )
    if coefficients is not None:
        a, b, c = _coefficient_triple(coefficients)
    else:
        coef = lookup_coefficients("volume", species, table)
        if coef.ndim == 2:
            if d.ndim == 0 or coef.shape[0] != d.size:
                raise ValueError(
                    f"{coef.shape[0]} species for {d.size} tree(s): give one species per tree "
                    "or a single species string."
                )
            coef = coef.reshape(d.shape + (3,))
        a, b, c = (coef[..., k] for k in range(3))
    v = a * np.power(d, b) * np.power(h, c)
    return float(v) if np.ndim(v) == 0 else v
