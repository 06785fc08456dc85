"""Plot density: sum of single-tree values over a plot, per hectare."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._validate import as_float_array, check_positive

__all__ = ["plot_density"]


def plot_density(trees, plot_area_m2, *, column="biomass", by=None, unit_factor=1.0):
    """Per-hectare density of a tree quantity: ``sum over trees / plot area``.

    Parameters
    ----------
    trees : DataFrame or array-like
        The tree table (one row per tree) or the values themselves.
    plot_area_m2 : float, or Series / dict indexed by plot id
        Plot area, m^2 (an NFI plot of 25.82 m x 25.82 m is 667 m^2 = 0.0667 ha). With ``by``, a
        Series or dict gives one area per plot; plots listed there without trees get 0.
    column : str, default "biomass"
        Column of ``trees`` to sum (ignored for an array).
    by : str, optional
        Column of ``trees`` naming the plot; one density per plot (a Series) instead of one number.
    unit_factor : float, default 1.0
        Multiplies the sum: 1.0 for a column in Mg per tree (gives Mg/ha) or m^3 per tree (gives
        the stand volume M in m^3/ha for :func:`bef_biomass`); 0.001 for kg per tree -> Mg/ha.

    Returns
    -------
    float or pandas.Series
        Density per hectare (unit of ``column`` x ``unit_factor`` per ha).

    Examples
    --------
    >>> import pandas as pd
    >>> trees = pd.DataFrame({"plot_id": [1, 1, 2], "biomass": [400.0, 600.0, 200.0]})  # kg
    >>> plot_density(trees, 500.0, by="plot_id", unit_factor=0.001).tolist()   # Mg/ha
    [20.0, 4.0]
    >>> plot_density([0.2, 0.3], 400.0)   # m^3 per tree -> m^3/ha
    12.5
    """
    factor = float(unit_factor)
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(
            f"unit_factor must be a positive number (e.g. 0.001 for kg -> Mg); got {unit_factor!r}."
        )
    if isinstance(trees, pd.DataFrame):
        if column not in trees.columns:
            raise ValueError(
                f"column {column!r} not in the tree table (columns: {list(trees.columns)}); pass "
                "column='<name of the per-tree value>'."
            )
        values = as_float_array(trees[column], f"trees[{column!r}]")
    else:
        if by is not None:
            raise ValueError("by= needs a tree DataFrame with a plot-id column; got an array.")
        values = as_float_array(trees, "trees").ravel()

    if by is None:
        area = float(np.asarray(plot_area_m2, dtype=float)) if np.ndim(plot_area_m2) == 0 else None
        if area is None:
            raise ValueError(
                "plot_area_m2 must be one number without by=; give by='plot_id' for several plots."
            )
        check_positive(area, "plot_area_m2", "Give the plot area in m^2.")
        return float(values.sum() * factor / (area / 10_000.0))

    if by not in trees.columns:
        raise ValueError(
            f"by={by!r} is not a column of the tree table (columns: {list(trees.columns)})."
        )
    sums = pd.Series(values, index=trees.index).groupby(trees[by].to_numpy()).sum()
    sums.index.name = by
    if isinstance(plot_area_m2, (dict, pd.Series)):
        areas = pd.Series(plot_area_m2, dtype=float)
        missing = sums.index.difference(areas.index)
        if len(missing):
            raise ValueError(
                f"plot_area_m2 has no area for plot(s) {missing[:5].tolist()}; give an area for "
                "every plot id in the tree table."
            )
        check_positive(areas.to_numpy(), "plot_area_m2", "Give plot areas in m^2.")
        sums = sums.reindex(areas.index, fill_value=0.0)
        sums.index.name = by
        return sums * factor / (areas / 10_000.0)
    area = float(np.asarray(plot_area_m2, dtype=float))
    check_positive(area, "plot_area_m2", "Give the plot area in m^2.")
    return sums * factor / (area / 10_000.0)
