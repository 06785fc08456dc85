"""suggest_block_size: a block size from the effective range of the (residual) variogram."""

from __future__ import annotations

import warnings

import numpy as np
from scipy.spatial import cKDTree
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_predict

from .._coords import drop_coords, metric_coords
from .._random import check_generator
from ..base import handles_coords
from ..kriging import Variogram

__all__ = ["suggest_block_size", "BlockSizeSuggestion"]


class BlockSizeSuggestion(float):
    """A suggested block size in metres (a float) that carries its diagnostics.

    Attributes
    ----------
    effective_range : float
        Effective range of the fitted variogram, metres (95 % of the partial sill).
    nugget_to_sill : float
        Nugget / total sill of the fitted variogram (1: no spatial structure).
    plot_spacing : float
        Median distance from a plot to its nearest neighbour, metres.
    extent : float
        Largest side of the bounding box of the plots, metres.
    model : str
        Variogram model chosen.
    variogram : geoagb.kriging.Variogram
        The fitted variogram (``.plot()``, ``.fits_``).
    source : str
        ``"residuals of <estimator>"`` or ``"values"``.
    trustworthy : bool
        False when a warning was raised (answer below the plot spacing, above the extent,
        nugget-dominated, or a fit on its bound).
    notes : list of str
        The warnings, one per problem.
    """

    def __new__(cls, value, **info):
        obj = super().__new__(cls, float(value))
        for k, v in info.items():
            setattr(obj, k, v)
        return obj

    def __reduce__(self):
        return (_rebuild, (float(self), dict(self.__dict__)))

    def as_dict(self) -> dict:
        """The suggestion and its diagnostics (without the Variogram object)."""
        out = {"block_size": float(self)}
        out.update({k: v for k, v in self.__dict__.items() if k != "variogram"})
        return out

    def plot(self, ax=None):
        """The variogram with its effective range, the plot spacing and the suggestion marked."""
        fig = self.variogram.plot(ax=ax)
        ax = fig.axes[0]
        ax.axvline(
            float(self), color="tab:red", ls="--", label=f"suggested block size {float(self):.4g} m"
        )
        ax.axvline(
            self.plot_spacing,
            color="0.4",
            ls=":",
            label=f"median plot spacing {self.plot_spacing:.4g} m",
        )
        ax.legend(loc="lower right", fontsize=8)
        ax.set_title(
            f"Block size from the variogram of {self.source}\n{self.model}, nugget:sill "
            f"{self.nugget_to_sill:.2f}, effective range {self.effective_range:.4g} m"
        )
        return fig

    def __repr__(self) -> str:
        flag = "" if self.trustworthy else " (not trustworthy: see .notes)"
        return (
            f"BlockSizeSuggestion({float(self):.4g} m; effective range "
            f"{self.effective_range:.4g} m, nugget:sill {self.nugget_to_sill:.2f}, plot "
            f"spacing {self.plot_spacing:.4g} m, model {self.model}){flag}"
        )


def _rebuild(value, info):
    return BlockSizeSuggestion(value, **info)


def suggest_block_size(
    X,
    values=None,
    *,
    estimator=None,
    cv=None,
    coords=None,
    model="auto",
    n_lags=30,
    max_lag=None,
    random_state=None,
) -> BlockSizeSuggestion:
    """Suggest a spatial-CV block size (metres): the effective range of the residual variogram.

    Blocks at least as large as the distance over which residuals stay correlated keep test
    plots nearly independent of training plots (Roberts et al. 2017; Valavi et al. 2019).
    The variogram is estimated and fitted with :class:`geoagb.kriging.Variogram` (gstat's
    binning: ``n_lags`` bins up to ``max_lag``, default one third of the bounding-box diagonal;
    bounded weighted least-squares fit; ``model="auto"`` picks spherical, exponential or
    gaussian stably). With ``estimator`` the variogram is that of the estimator's out-of-fold
    residuals (what spatial CV must break); otherwise that of ``values`` (the target, or
    residuals computed elsewhere).

    The answer is checked and a warning names the problem and the fix when it is below the
    median nearest-neighbour plot spacing (blocks would not separate neighbours), above the
    extent of the plots (no fold structure possible), from a nugget-dominated variogram
    (nugget:sill > 0.9: no spatial structure to break; any block of a few plot spacings will
    do), or from a fit that stopped on its bound.

    Parameters
    ----------
    X : GeoDataFrame, DataFrame, object with ``.coords``, or (n, 2) array
        Plots with their coordinates (and the features, with ``estimator``).
    values : array-like (n,), column name of X, or None
        The variable; with ``estimator`` the target ``y``.
    estimator : regressor or None
        Learner whose out-of-fold residuals are used (fitted with ``cv``).
    cv : splitter, int or None
        Folds of the out-of-fold residuals (default 5 random folds).
    coords : pair of str or None
        Coordinate columns of a DataFrame X (None: ``("x", "y")``).
    model : {"auto", "spherical", "exponential", "gaussian", "matern"}, default "auto"
    n_lags : int, default 30
        Lag bins: twice :class:`~geoagb.kriging.Variogram`'s default, so that the range is
        resolved by several bins (on simulated fields 15 bins left 15-17 of 20 estimates within
        25 % of the true effective range, 30 bins 18-19).
    max_lag : float or None
        Largest lag, metres.
    random_state : int, RandomState, Generator or None, default None

    Returns
    -------
    BlockSizeSuggestion
        A float (metres) with diagnostics (``effective_range``, ``nugget_to_sill``,
        ``plot_spacing``, ``extent``, ``model``, ``variogram``, ``trustworthy``, ``notes``)
        and ``.plot()``.

    References
    ----------
    Roberts, D. R. et al. (2017). Cross-validation strategies for data with temporal, spatial,
    hierarchical, or phylogenetic structure. Ecography 40, 913-929.
    Valavi, R., Elith, J., Lahoz-Monfort, J. J. and Guillera-Arroita, G. (2019). blockCV: an R
    package for generating spatially or environmentally separated folds for k-fold
    cross-validation of species distribution models. Methods in Ecology and Evolution 10,
    225-232.

    Examples
    --------
    >>> import gstools as gs
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 20_000, (600, 2))
    >>> srf = gs.SRF(gs.Exponential(dim=2, var=1.0, len_scale=1_000.0), seed=1)
    >>> z = srf((xy[:, 0], xy[:, 1])) + rng.normal(0, 0.2, 600)
    >>> s = suggest_block_size(xy, z, random_state=0)
    >>> 2_000 < float(s) < 4_500   # true effective range: 3 x 1000 m
    True
    """
    xy = metric_coords(X, coords, distance=max_lag, name="max_lag")
    v = _values_of(X, values, len(xy))
    rng = check_generator(random_state)
    source = "values"
    if estimator is not None:
        v = v - _oof_predictions(estimator, X, v, cv, coords, rng)
        source = f"out-of-fold residuals of {type(estimator).__name__}"
    xy, v = _finite_values(xy, v)
    vg, notes = _fit_variogram(xy, v, model, n_lags, max_lag, rng)
    spacing, extent = _plot_spacing_and_extent(xy)
    eff = float(vg.effective_range_)
    ratio = float(vg.nugget_ / vg.sill_) if vg.sill_ > 0 else 1.0
    notes += _suggestion_problems(eff, ratio, spacing, extent, source)
    for msg in notes:
        warnings.warn(msg, UserWarning, stacklevel=2)
    return BlockSizeSuggestion(
        eff,
        effective_range=eff,
        nugget_to_sill=ratio,
        plot_spacing=spacing,
        extent=extent,
        model=vg.model_,
        variogram=vg,
        source=source,
        trustworthy=not notes,
        notes=notes,
    )


# ---- the steps of suggest_block_size -------------------------------------------------------------
def _values_of(X, values, n: int) -> np.ndarray:
    """``values`` (an array or a column name of ``X``) as n floats."""
    if values is None:
        raise ValueError(
            "values is None: give the target (or residuals) as an array or the name "
            "of a column of X, e.g. suggest_block_size(plots, 'agb')."
        )
    v = (
        X[values].to_numpy(dtype=float)
        if isinstance(values, str)
        else np.asarray(values, dtype=float).ravel()
    )
    if len(v) != n:
        raise ValueError(f"values has {len(v)} entries but X has {n} samples.")
    return v


def _oof_predictions(estimator, X, y: np.ndarray, cv, coords, rng) -> np.ndarray:
    """Out-of-fold predictions of ``estimator`` (default 5 shuffled folds seeded from ``rng``)."""
    folds = (
        cv
        if cv is not None and not isinstance(cv, int)
        else KFold(
            5 if cv is None else int(cv),
            shuffle=True,
            random_state=int(rng.integers(0, 2**31 - 1)),
        )
    )
    Xf = X if handles_coords(estimator) else drop_coords(X, coords)
    oof = cross_val_predict(clone(estimator), Xf, y, cv=list(folds.split(X, y)))
    return np.asarray(oof, dtype=float)


def _finite_values(xy: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The plots with a finite value; at least 30 of them."""
    ok = np.isfinite(v)
    xy, v = xy[ok], v[ok]
    if len(v) < 30:
        raise ValueError(
            f"{len(v)} finite values: a variogram needs at least 30 plots to "
            "suggest a block size (about 100 or more are advisable)."
        )
    return xy, v


def _fit_variogram(xy, v, model, n_lags, max_lag, rng) -> tuple[Variogram, list[str]]:
    """The fitted variogram and the messages of the UserWarnings its fit raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vg = Variogram(model, n_lags=n_lags, max_lag=max_lag, random_state=rng).fit(xy, v)
    return vg, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def _plot_spacing_and_extent(xy: np.ndarray) -> tuple[float, float]:
    """Median nearest-neighbour distance and largest bounding-box side of the plots, metres."""
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(np.median(d[:, 1])), float(np.max(np.ptp(xy, axis=0)))


def _suggestion_problems(
    eff: float, ratio: float, spacing: float, extent: float, source: str
) -> list[str]:
    """One message per reason not to trust the effective range ``eff`` as a block size."""
    notes = []
    if ratio > 0.9:
        notes.append(
            f"the variogram is {ratio:.0%} nugget: the {source} have almost no spatial "
            "structure, so the range (and this block size) is poorly determined; any "
            f"block of a few plot spacings (>= {3 * spacing:.4g} m) separates the folds."
        )
    if eff < spacing:
        notes.append(
            f"the suggested block size {eff:.4g} m is below the median plot spacing "
            f"{spacing:.4g} m, so blocks would not separate neighbouring plots; use at "
            f"least a few plot spacings (e.g. {3 * spacing:.4g} m), or check the "
            "coordinates' units."
        )
    if eff > extent:
        notes.append(
            f"the suggested block size {eff:.4g} m exceeds the extent of the plots "
            f"({extent:.4g} m): spatial k-fold cannot separate them at that scale; use "
            "the largest block size that still gives n_splits non-empty blocks, and "
            "report that test plots remain correlated with training plots."
        )
    return notes
