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
from ..kriging import (
    Variogram,
    VariogramError,
    empirical_variogram,
    fit_variogram_model,
    plot_spacing,
)
from ._blocks import block_labels
from ._split import as_splitter

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
        False when a warning was raised (no usable spatial structure, answer above the
        extent, or a fit on its bound).
    notes : list of str
        The warnings, one per problem.
    verdict : str
        ``"structure"``: the block size is the effective range; ``"no usable spatial
        structure"``: the residuals do not identify a range and the block size is the fallback.
    reasons : list of str
        Why the verdict is "no usable spatial structure" (empty otherwise).
    fallback : str or None
        How the fallback block size was set, e.g. ``"4 x plot spacing"``; None when the block
        size is the effective range.
    structure_p_value : float
        Permutation p-value of the short-lag semivariance (see :func:`suggest_block_size`).
    jackknife_ranges : list of float
        Effective range refitted on each of the five delete-a-fifth subsamples, metres.
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
        if self.variogram is None:
            raise ValueError(
                f"no variogram to plot: {self.reasons[0]}; the block size {float(self):.4g} m "
                f"is the fallback, {self.fallback}."
            )
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
        head = (
            f"Block size from the variogram of {self.source}"
            if getattr(self, "fallback", None) is None
            else f"No usable spatial structure in the {self.source}: {self.fallback}"
        )
        ax.set_title(
            f"{head}\n{self.model}, nugget:sill "
            f"{self.nugget_to_sill:.2f}, effective range {self.effective_range:.4g} m"
        )
        return fig

    def __repr__(self) -> str:
        flag = "" if self.trustworthy else " (not trustworthy: see .notes)"
        fb = getattr(self, "fallback", None)
        how = "" if fb is None else f"; {self.verdict}, fallback {fb}"
        return (
            f"BlockSizeSuggestion({float(self):.4g} m{how}; effective range "
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
    n_lags="auto",
    max_lag=None,
    n_splits=5,
    random_state=None,
) -> BlockSizeSuggestion:
    """Suggest a spatial-CV block size (metres): the effective range of the residual variogram.

    Blocks at least as large as the distance over which residuals stay correlated keep test
    plots nearly independent of training plots (Roberts et al. 2017; Valavi et al. 2019).
    The variogram is estimated and fitted with :class:`geoagb.kriging.Variogram`: lag bins
    from the data's spacing (``n_lags="auto"``: no bin narrower than the median
    nearest-neighbour distance of the distinct plot locations, at least 30 pairs in the first
    bin; Journel and Huijbregts 1978; Webster and Oliver 2007), bins with fewer than 30 pairs
    left out of the fit, bounded weighted least squares, and ``model="auto"`` picking
    spherical, exponential or gaussian stably. With ``estimator`` the variogram is that of the
    estimator's out-of-fold residuals (what spatial CV must break); otherwise that of
    ``values`` (the target, or residuals computed elsewhere).

    The verdict is "no usable spatial structure" when any of these holds:

    * the semivariance of the short-lag pairs (those in the first three bins with 30 or more
      pairs) is not below that of randomly permuted values: permutation test in the manner
      of Geary's contiguity ratio (Geary 1954), 199 permutations from a fixed seed, p > 0.01;
    * the fitted variogram is more than 80 % nugget (nugget:sill > 0.8);
    * the effective range is below 3 plot spacings (the data cannot resolve it);
    * the effective range is unstable: refitted on five delete-a-fifth jackknife subsamples
      (fixed by the plot locations), the largest exceeds three times the smallest.

    The block size is then a fallback, 4 plot spacings, shrunk by steps of 20 % until the plots
    occupy at least ``2 x n_splits`` blocks: with no spatial structure any block of a few plot
    spacings separates the folds. The answer depends on neither ``random_state`` (which only
    seeds the sample of pairs above 2 000 000 pairs) nor coordinate noise below a millimetre;
    the out-of-fold residuals use 5 shuffled folds from the fixed seed 0 unless ``cv`` is given.
    A warning names any problem and its fix: no usable structure, an answer above the extent
    of the plots, or a fit that stopped on its bound.

    Parameters
    ----------
    X : GeoDataFrame, DataFrame, object with ``.coords``, or (n, 2) array
        Plots with their coordinates (and the features, with ``estimator``).
    values : array-like (n,), column name of X, or None
        The variable; with ``estimator`` the target ``y``.
    estimator : regressor or None
        Learner whose out-of-fold residuals are used (fitted with ``cv``).
    cv : splitter, int or None
        Folds of the out-of-fold residuals (default 5 folds shuffled with seed 0).
    coords : pair of str or None
        Coordinate columns of a DataFrame X (None: ``("x", "y")``).
    model : {"auto", "spherical", "exponential", "gaussian", "matern"}, default "auto"
    n_lags : int or "auto", default "auto"
        Lag bins (see :func:`geoagb.kriging.lag_edges`).
    max_lag : float or None
        Largest lag, metres.
    n_splits : int, default 5
        Folds the block size is for: the fallback leaves at least ``2 x n_splits`` blocks.
    random_state : int, RandomState, Generator or None, default None
        Seed of the pair sample (used only above 2 000 000 pairs).

    Returns
    -------
    BlockSizeSuggestion
        A float (metres) with diagnostics (``verdict``, ``reasons``, ``fallback``,
        ``effective_range``, ``nugget_to_sill``, ``plot_spacing``, ``extent``, ``model``,
        ``variogram``, ``trustworthy``, ``notes``) and ``.plot()``.

    References
    ----------
    Roberts, D. R. et al. (2017). Cross-validation strategies for data with temporal, spatial,
    hierarchical, or phylogenetic structure. Ecography 40, 913-929.
    Valavi, R., Elith, J., Lahoz-Monfort, J. J. and Guillera-Arroita, G. (2019). blockCV: an R
    package for generating spatially or environmentally separated folds for k-fold
    cross-validation of species distribution models. Methods in Ecology and Evolution 10,
    225-232.
    Journel, A. G. and Huijbregts, C. J. (1978). Mining Geostatistics. Academic Press, London.
    Webster, R. and Oliver, M. A. (2007). Geostatistics for Environmental Scientists, 2nd
    edition. Wiley, Chichester.
    Geary, R. C. (1954). The contiguity ratio and statistical mapping. The Incorporated
    Statistician 5, 115-146.

    Examples
    --------
    >>> import gstools as gs
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 20_000, (600, 2))
    >>> srf = gs.SRF(gs.Exponential(dim=2, var=1.0, len_scale=1_000.0), seed=1)
    >>> z = srf((xy[:, 0], xy[:, 1])) + rng.normal(0, 0.2, 600)
    >>> s = suggest_block_size(xy, z)
    >>> s.verdict, 2_000 < float(s) < 4_500   # true effective range: 3 x 1000 m
    ('structure', True)
    >>> s = suggest_block_size(xy, rng.normal(size=600))   # white noise
    >>> s.verdict, s.fallback
    ('no usable spatial structure', '4 x plot spacing')
    """
    xy = metric_coords(X, coords, distance=max_lag, name="max_lag")
    v = _values_of(X, values, len(xy))
    rng = check_generator(random_state)
    source = "values"
    if estimator is not None:
        v = v - _oof_predictions(estimator, X, v, cv, coords)
        source = f"out-of-fold residuals of {type(estimator).__name__}"
    xy, v = _finite_values(xy, v)
    spacing = plot_spacing(xy)
    extent = float(np.max(np.ptp(xy, axis=0)))
    d = _diagnose(xy, v, model, n_lags, max_lag, rng)
    notes, reasons, eff = d.pop("notes"), d["reasons"], d["effective_range"]
    size, fallback = eff, None
    if reasons:
        size, fallback = _fallback_size(xy, spacing, int(n_splits))
        notes.insert(0, _no_structure_note(source, reasons, size, fallback))
    elif eff > extent:
        notes.append(_above_extent_note(eff, extent))
    for msg in notes:
        warnings.warn(msg, UserWarning, stacklevel=2)
    return BlockSizeSuggestion(
        size,
        plot_spacing=spacing,
        extent=extent,
        source=source,
        trustworthy=not notes,
        notes=notes,
        verdict=NO_STRUCTURE if reasons else "structure",
        fallback=fallback,
        **d,
    )


def _diagnose(xy, v, model, n_lags, max_lag, rng) -> dict:
    """The fitted variogram, its diagnostics, the warnings of its fit and the reasons (if any)
    to call the spatial structure unusable; a variogram the data refuse is such a reason.
    """
    try:
        vg, notes = _fit_variogram(xy, v, model, n_lags, max_lag, rng)
    except VariogramError as err:
        return dict(
            effective_range=float("nan"),
            nugget_to_sill=float("nan"),
            model="none",
            variogram=None,
            structure_p_value=float("nan"),
            jackknife_ranges=[],
            reasons=[f"no variogram can be fitted ({str(err).splitlines()[0]})"],
            notes=[],
        )
    eff = float(vg.effective_range_)
    ratio = float(vg.nugget_ / vg.sill_) if vg.sill_ > 0 else 1.0
    p_value = structure_p_value(xy, v, vg.bin_edges_)
    ranges = _jackknife_ranges(xy, v, vg)
    return dict(
        effective_range=eff,
        nugget_to_sill=ratio,
        model=vg.model_,
        variogram=vg,
        structure_p_value=p_value,
        jackknife_ranges=ranges,
        reasons=_no_structure_reasons(ratio, eff, plot_spacing(xy), p_value, ranges),
        notes=notes,
    )


#: The verdict of a suggestion whose residuals do not identify a range.
NO_STRUCTURE = "no usable spatial structure"
#: Thresholds of the verdict (see :func:`suggest_block_size`).
MAX_NUGGET_TO_SILL, MIN_RANGE_SPACINGS, MAX_JACKKNIFE_RATIO, ALPHA = 0.8, 3.0, 3.0, 0.01
#: The fallback block size, in plot spacings.
FALLBACK_SPACINGS = 4


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


def _oof_predictions(estimator, X, y: np.ndarray, cv, coords) -> np.ndarray:
    """Out-of-fold predictions of ``estimator`` (default 5 folds shuffled with seed 0)."""
    folds = KFold(5, shuffle=True, random_state=0) if cv is None else as_splitter(cv, 0)
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


def _short_pairs(xy: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs in the first three lag bins holding at least 30 pairs (all if fewer)."""
    tree = cKDTree(xy)
    within = (tree.count_neighbors(tree, edges[1:]) - len(xy)) / 2  # pairs with d <= edge
    counts = np.diff(np.r_[0.0, within])
    full = np.flatnonzero(counts >= 30)
    top = edges[full[min(2, len(full) - 1)] + 1] if len(full) else edges[-1]
    ij = tree.query_pairs(float(top), output_type="ndarray")
    if not len(ij):
        return np.empty(0, int), np.empty(0, int)
    keep = ij
    if len(keep) > _MAX_TEST_PAIRS:  # a fixed subsample bounds time and memory
        keep = keep[np.random.default_rng(0).choice(len(keep), _MAX_TEST_PAIRS, replace=False)]
    return keep[:, 0], keep[:, 1]


_MAX_TEST_PAIRS, _N_PERMUTATIONS = 50_000, 199


def structure_p_value(coords, values, bin_edges) -> float:
    """Permutation p-value of spatial structure at short lags (Geary 1954, by permutation).

    The statistic is the mean squared difference of the values over the pairs in the first
    three lag bins of ``bin_edges`` that hold at least 30 pairs. Under no spatial structure
    the values are exchangeable across locations, so the statistic is compared with its
    value under 199 permutations of the values (fixed seed 0: the same data give the same
    p-value). Small p: nearby plots are more alike than random pairs.

    Parameters
    ----------
    coords : array (n, 2)
        Easting and northing, metres.
    values : array (n,)
        The variable (e.g. residuals).
    bin_edges : array
        Lag bin edges, metres (e.g. ``Variogram.bin_edges_``).

    Returns
    -------
    float
        ``(1 + #{permuted <= observed}) / 200``, in [0.005, 1].

    Examples
    --------
    >>> xy = np.c_[np.arange(100.0) * 50, np.zeros(100)]
    >>> structure_p_value(xy, np.sin(xy[:, 0] / 800), np.linspace(0, 1500, 16))
    0.005
    """
    xy = np.asarray(coords, dtype=float)
    z = np.asarray(values, dtype=float)
    i, j = _short_pairs(xy, np.asarray(bin_edges, dtype=float))
    if not len(i):
        return 1.0
    observed = np.mean((z[i] - z[j]) ** 2)
    rng = np.random.default_rng(0)
    below = 0
    for chunk in np.array_split(np.arange(_N_PERMUTATIONS), max(1, len(i) * len(z) // 10**7)):
        zp = z[np.argsort(rng.random((len(chunk), len(z))), axis=1)]
        below += int(np.sum(np.mean((zp[:, i] - zp[:, j]) ** 2, axis=1) <= observed))
    return (1 + below) / (_N_PERMUTATIONS + 1)


def _jackknife_ranges(xy: np.ndarray, v: np.ndarray, vg: Variogram) -> list[float]:
    """Effective range of ``vg``'s model refitted without each fifth of the locations.

    The fifths are fixed by the locations (every fifth plot in order of the coordinates
    rounded to the millimetre), so neither the input order nor a seed changes them.
    """
    order = np.lexsort(np.round(xy, 3).T[::-1])
    group = np.empty(len(xy), int)
    group[order] = np.arange(len(xy)) % 5
    unit = vg.effective_range_ / vg.range_ if vg.range_ > 0 else 1.0
    max_lag = float(vg.bin_edges_[-1])
    out = []
    for g in range(5):
        keep = group != g
        lags, gamma, counts = empirical_variogram(xy[keep], v[keep], vg.bin_edges_, random_state=0)
        full = np.where(counts >= 30, counts, 0)
        try:
            f = fit_variogram_model(
                lags,
                gamma,
                full if np.count_nonzero(full) >= 3 else counts,
                vg.model_,
                max_range=float(vg.max_range_factor) * max_lag / unit,
                max_sill=float(vg.max_sill_factor) * float(np.var(v[keep], ddof=1)),
            )
        except ValueError:
            out.append(float("nan"))
            continue
        out.append(float(f["range"] * unit))
    return out


def _no_structure_reasons(
    ratio: float, eff: float, spacing: float, p_value: float, ranges: list[float]
) -> list[str]:
    """One line per reason to call the residuals' spatial structure unusable."""
    reasons = []
    if p_value > ALPHA:
        reasons.append(
            f"short-lag pairs are no more alike than random pairs (permutation p = "
            f"{p_value:.2f} > {ALPHA})"
        )
    if ratio > MAX_NUGGET_TO_SILL:
        reasons.append(f"nugget:sill {ratio:.2f} > {MAX_NUGGET_TO_SILL}")
    if eff < MIN_RANGE_SPACINGS * spacing:
        reasons.append(
            f"effective range {eff:,.0f} m < {MIN_RANGE_SPACINGS:g} plot spacings "
            f"({MIN_RANGE_SPACINGS * spacing:,.0f} m)"
        )
    r = np.asarray(ranges, dtype=float)
    if (~np.isfinite(r)).any() or r.max() > MAX_JACKKNIFE_RATIO * r.min():
        reasons.append(
            f"effective range unstable under jackknife ({np.nanmin(r):,.0f}-"
            f"{np.nanmax(r):,.0f} m without a fifth of the plots)"
        )
    return reasons


def _fallback_size(xy: np.ndarray, spacing: float, n_splits: int) -> tuple[float, str]:
    """4 plot spacings, shrunk by 20 % steps until the plots occupy ``2 x n_splits`` blocks."""
    size = FALLBACK_SPACINGS * spacing
    how = f"{FALLBACK_SPACINGS} x plot spacing"
    for _ in range(50):
        if len(np.unique(block_labels(xy, size))) >= 2 * n_splits:
            return float(size), how
        size *= 0.8
        how = f"{size / spacing:.2g} x plot spacing, for {2 * n_splits} blocks"
    return float(size), how  # pragma: no cover - 50 shrinks reach any layout of 30 plots


def _no_structure_note(source: str, reasons: list[str], size: float, fallback: str) -> str:
    return (
        f"{NO_STRUCTURE} in the {source} ({'; '.join(reasons)}): the variogram range "
        f"cannot set the block size, so it falls back to {fallback} = {size:,.4g} m; "
        "any block of a few plot spacings separates the folds. Give block_size= to override."
    )


def _above_extent_note(eff: float, extent: float) -> str:
    return (
        f"the suggested block size {eff:.4g} m exceeds the extent of the plots "
        f"({extent:.4g} m): spatial k-fold cannot separate them at that scale; use "
        "the largest block size that still gives n_splits non-empty blocks, and "
        "report that test plots remain correlated with training plots."
    )
