"""Empirical semivariograms and variogram model fitting (gstat conventions).

Pure functions :func:`lag_edges` (from ``_lags``), :func:`empirical_variogram` and
:func:`fit_variogram_model`, and the :class:`Variogram` object built on them. Conventions follow
R gstat so that any result can be checked against it:

* lags: ``n_lags`` equal bins from 0 to ``max_lag`` (default one third of the bounding-box
  diagonal, gstat's ``cutoff``); a pair at distance ``d`` falls in the bin ``(lo, hi]``; the lag
  reported for a bin is the mean distance of its pairs (gstat's ``dist``);
* fit: weighted least squares with weights ``N_h / h^2`` (gstat's default ``fit.method = 7``);
* parameters: ``nugget_``, ``psill_`` (gstat's *partial* sill of the structure), ``sill_`` =
  ``nugget_ + psill_`` (the total sill), ``range_`` (gstat's range ``a``) and
  ``effective_range_`` (95 % of the partial sill reached; see :mod:`geoagb.kriging._models`).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._coords import check_metric, get_coords, get_crs
from ..base import TableStateMixin
from . import _models
from ._lags import distinct_locations, lag_edges
from ._plot import plot_variogram

__all__ = [
    "Variogram",
    "empirical_variogram",
    "fit_variogram_model",
    "MIN_POINTS",
    "MIN_PAIRS",
    "VariogramError",
]

#: Fewest distinct locations from which a variogram is estimated (about 100 are advisable).
MIN_POINTS = 10
#: Fewest pairs a lag bin needs to count in ``model="auto"``'s fit and choice (Journel and
#: Huijbregts 1978; Webster and Oliver 2007).
MIN_PAIRS = 30
_AUTO_MODELS = ("spherical", "exponential", "gaussian")


class VariogramError(ValueError):
    """The data cannot give a variogram: too few distinct locations, no variance, or no fit.

    A ``ValueError``; raised by :meth:`Variogram.fit` so that callers (e.g.
    :func:`geoagb.model_selection.block_size_sensitivity`) can skip a training set the
    variogram refuses without hiding other errors.

    Examples
    --------
    >>> issubclass(VariogramError, ValueError)
    True
    """


def check_dense(X, who: str) -> None:
    """Refuse a scipy sparse or a complex ``X``: a point kriger reads real, dense coordinates.

    Examples
    --------
    >>> from scipy import sparse
    >>> check_dense(sparse.csr_array(np.eye(2)), "OrdinaryKriging.fit")
    Traceback (most recent call last):
    ...
    TypeError: OrdinaryKriging.fit got a sparse csr_array as X: sparse input is not supported. ...
    """
    if sparse.issparse(X):
        raise TypeError(
            f"{who} got a sparse {type(X).__name__} as X: sparse input is not supported. "
            "X is the dense (n, 2) array of coordinates (easting, northing in metres), a "
            "DataFrame with coordinate columns or a GeoDataFrame; pass X.toarray()."
        )
    if isinstance(X, (np.ndarray, list, tuple)) and np.iscomplexobj(X):
        raise ValueError(
            f"Complex data not supported: {who} got complex coordinates; X must hold real "
            "eastings and northings in metres."
        )


def _pairs(xy, max_lag, max_pairs, rng):
    """Index pairs (i < j or random distinct) with their distances, all within ``max_lag``."""
    from scipy.spatial import cKDTree

    n = len(xy)
    if n * (n - 1) // 2 <= max_pairs:
        ij = cKDTree(xy).query_pairs(max_lag, output_type="ndarray")
        i, j = (ij[:, 0], ij[:, 1]) if len(ij) else (np.empty(0, int), np.empty(0, int))
    else:  # uniform random sample of pairs of distinct points
        i = rng.integers(0, n, int(max_pairs))
        j = rng.integers(0, n - 1, int(max_pairs))
        j = j + (j >= i)
    d = np.hypot(xy[i, 0] - xy[j, 0], xy[i, 1] - xy[j, 1])
    keep = d <= max_lag
    return i[keep], j[keep], d[keep]


def empirical_variogram(
    coords,
    values,
    bin_edges,
    *,
    estimator: str = "matheron",
    direction: float | None = None,
    tolerance: float = 22.5,
    max_pairs: int = 2_000_000,
    random_state=None,
):
    """Empirical (cross-)semivariogram of ``values`` in lag bins.

    Parameters
    ----------
    coords : array of shape (n, 2)
        Easting and northing, metres.
    values : array of shape (n,) or (n, V)
        One variable, or V variables observed at every location (then all direct and cross
        semivariograms ``0.5 mean((z_u(x) - z_u(x+h)) (z_v(x) - z_v(x+h)))`` are returned).
    bin_edges : array of shape (n_bins + 1,)
        Increasing lag edges, metres; a pair at distance ``d`` counts in ``(lo, hi]`` (distance 0
        counts in the first bin).
    estimator : {"matheron", "cressie"}
        Matheron's method of moments, or Cressie and Hawkins' robust estimator
        ``(mean |dz|^0.5)^4 / (2 (0.457 + 0.494 / N_h))`` (one variable only).
    direction : float or None
        Azimuth in degrees clockwise from north (gstat's ``alpha``); only pairs whose direction
        is within ``tolerance`` degrees of it are used. None: omnidirectional.
    tolerance : float, default 22.5
        Half-width of the direction window, degrees.
    max_pairs : int, default 2 000 000
        When the data hold more pairs than this, a uniform random sample of ``max_pairs`` pairs
        of distinct points is used instead of all of them (bounding time and memory for large n).
    random_state : int, Generator or None
        Seed of the pair sample.

    Returns
    -------
    lags : ndarray (n_bins,)
        Mean distance of the pairs in each bin (NaN where empty), metres.
    gamma : ndarray (n_bins,) or (n_bins, V, V)
        Semivariance (units of values squared); NaN where empty.
    counts : ndarray (n_bins,)
        Number of pairs per bin.

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    >>> lags, gamma, counts = empirical_variogram(xy, [0.0, 1.0, 3.0], [0.0, 1.5, 2.5])
    >>> lags.tolist(), gamma.tolist(), counts.tolist()
    ([1.0, 2.0], [1.25, 4.5], [2, 1])
    """
    xy = np.asarray(coords, dtype=float)
    z = np.asarray(values, dtype=float)
    multi = z.ndim == 2
    z2 = z if multi else z[:, None]
    edges = np.asarray(bin_edges, dtype=float)
    if estimator not in ("matheron", "cressie"):
        raise ValueError(f"estimator={estimator!r}; choose 'matheron' or 'cressie'.")
    if estimator == "cressie" and multi and z2.shape[1] > 1:
        raise ValueError(
            "estimator='cressie' is defined for one variable; use 'matheron' for cross-variograms."
        )
    rng = np.random.default_rng(random_state)
    i, j, d = _pairs(xy, float(edges[-1]), int(max_pairs), rng)
    if direction is not None:
        az = np.degrees(np.arctan2(xy[j, 0] - xy[i, 0], xy[j, 1] - xy[i, 1])) % 180.0
        diff = np.abs(az - float(direction) % 180.0)
        keep = np.minimum(diff, 180.0 - diff) <= float(tolerance) + 1e-9
        i, j, d = i[keep], j[keep], d[keep]
    nb = len(edges) - 1
    b = np.clip(np.searchsorted(edges, d, side="left") - 1, 0, nb - 1)
    counts = np.bincount(b, minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        lags = np.bincount(b, weights=d, minlength=nb) / counts
        dz = z2[i] - z2[j]
        V = z2.shape[1]
        gamma = np.empty((nb, V, V))
        for u in range(V):
            for v in range(u, V):
                if estimator == "cressie":
                    s = np.bincount(b, weights=np.sqrt(np.abs(dz[:, u])), minlength=nb) / counts
                    g = 0.5 * s**4 / (0.457 + 0.494 / counts)
                else:
                    g = 0.5 * np.bincount(b, weights=dz[:, u] * dz[:, v], minlength=nb) / counts
                gamma[:, u, v] = gamma[:, v, u] = g
    lags[counts == 0] = np.nan
    gamma[counts == 0] = np.nan
    return lags, (gamma if multi else gamma[:, 0, 0]), counts


def _table(lags, gamma, counts) -> str:
    rows = [f"{'lag (m)':>12} {'gamma':>12} {'pairs':>7}"]
    rows += [f"{h:12.4g} {g:12.4g} {int(c):7d}" for h, g, c in zip(lags, gamma, counts)]
    return "\n".join(rows)


def fit_variogram_model(
    lags,
    gamma,
    counts,
    model: str = "spherical",
    *,
    nugget=True,
    kappa: float = 0.5,
    max_range: float | None = None,
    max_sill: float | None = None,
) -> dict:
    """Fit one model to an empirical variogram by gstat's weighted least squares.

    Minimises ``sum N_h / h^2 (gamma_h - model(h))^2`` (gstat ``fit.method = 7``) with GSTools'
    ``CovModel.fit_variogram`` (plain least-squares loss, GSTools ``weights = sqrt(N_h) / h``).

    Parameters
    ----------
    lags, gamma, counts : arrays (n_bins,)
        Output of :func:`empirical_variogram` (empty bins are ignored).
    model : str
        ``"spherical"``, ``"exponential"``, ``"gaussian"`` or ``"matern"`` (or gstat names).
    nugget : bool or float, default True
        True: fit the nugget; False: no nugget; a number: nugget fixed at that value.
    kappa : float, default 0.5
        Matérn smoothness, kept fixed.
    max_range : float or None
        Upper bound of the range parameter ``a``, metres (None: unbounded).
    max_sill : float or None
        Upper bound of the partial sill and of the nugget (None: unbounded).

    Returns
    -------
    dict
        ``model``, ``psill``, ``range``, ``nugget``, ``kappa``, ``wsse`` (the weighted sum
        of squares reached) and ``at_bound`` (names of the parameters that ended on their
        upper bound, comma-separated; empty when none did).

    Examples
    --------
    >>> h = np.array([100.0, 200.0, 300.0, 400.0, 500.0])
    >>> g = 0.1 + 1.0 * (1 - np.exp(-h / 150.0))
    >>> f = fit_variogram_model(h, g, np.full(5, 50), "exponential")
    >>> round(f["nugget"], 4), round(f["psill"], 4), round(f["range"], 2)
    (0.1, 1.0, 150.0)

    Raises
    ------
    ValueError
        Too few non-empty lag bins, or the optimiser fails; the message lists the empirical
        variogram.
    """
    name = _models.canonical_model(model)
    lags, gamma, counts = (np.asarray(a, dtype=float) for a in (lags, gamma, counts))
    ok = (counts > 0) & np.isfinite(gamma) & (lags > 0)
    fit_nugget = nugget is True
    n_free = 2 + int(fit_nugget)
    if ok.sum() < n_free:
        raise ValueError(
            f"cannot fit a {name} variogram: {int(ok.sum())} non-empty lag bin(s) but {n_free} "
            f"parameters to fit; widen max_lag or use more lags, or give a fixed model with "
            f"Variogram.from_params(...). Empirical variogram:\n{_table(lags, gamma, counts)}"
        )
    h, g, w = lags[ok], gamma[ok], counts[ok] / lags[ok] ** 2
    fixed_nug = 0.0 if nugget is False or nugget is True else float(nugget)
    gmax = float(np.max(g))
    init = {
        "var": max(gmax - float(np.min(g)), 0.5 * gmax, 1e-12),
        "len_scale": float(h.max()) / 3.0,
    }
    if fit_nugget:
        init["nugget"] = 0.5 * float(np.min(g))
    if max_range is not None:
        init["len_scale"] = min(init["len_scale"], 0.5 * float(max_range))
    if max_sill is not None:
        init["var"] = min(init["var"], 0.5 * float(max_sill))
        if fit_nugget:
            init["nugget"] = min(init["nugget"], 0.5 * float(max_sill))
    cm = _models.covmodel(
        name, init["var"], init["len_scale"], init.get("nugget", fixed_nug), kappa
    )
    if max_range is not None:
        cm.len_scale_bounds = [0.0, float(max_range)]
    if max_sill is not None:
        cm.var_bounds = [0.0, float(max_sill)]
        if fit_nugget:
            cm.nugget_bounds = [0.0, float(max_sill)]
    select = {"nugget": fit_nugget}
    if name == "matern":
        select["nu"] = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cm.fit_variogram(
                h,
                g,
                weights=np.sqrt(w / w.max()),
                loss="linear",
                init_guess=init,
                max_eval=20_000,
                **select,
            )
    except (RuntimeError, ValueError) as err:
        raise ValueError(
            f"cannot fit a {name} variogram ({err}); try another model, fewer lags or a fixed "
            f"model via Variogram.from_params(...). Empirical variogram:\n"
            f"{_table(lags, gamma, counts)}"
        ) from None
    res = {
        "model": name,
        "psill": float(cm.var),
        "range": float(cm.len_scale),
        "nugget": float(cm.nugget),
        "kappa": float(kappa),
    }
    if not all(np.isfinite(v) for k, v in res.items() if k != "model"):
        raise ValueError(
            f"the {name} variogram fit did not converge (parameters {res}). "
            f"Empirical variogram:\n{_table(lags, gamma, counts)}"
        )
    pred = res["nugget"] + res["psill"] * (1.0 - _models.correlation(name, h, res["range"], kappa))
    res["wsse"] = float(np.sum(w * (g - pred) ** 2))
    hit = []
    if max_range is not None and res["range"] >= (1 - 1e-4) * float(max_range):
        hit.append("range")
    if max_sill is not None and res["psill"] >= (1 - 1e-4) * float(max_sill):
        hit.append("psill")
    if max_sill is not None and fit_nugget and res["nugget"] >= (1 - 1e-4) * float(max_sill):
        hit.append("nugget")
    res["at_bound"] = ",".join(hit)
    return res


def _choose(fits: list, tolerance: float) -> dict:
    """The simplest fit (list order) within ``1 + tolerance`` of the best weighted SSE,
    preferring fits that stay off their bounds.
    """
    pool = [f for f in fits if not f["at_bound"]] or fits
    best = min(f["wsse"] for f in pool)
    for f in pool:
        if f["wsse"] <= (1.0 + tolerance) * best + 1e-300:
            return f
    return min(pool, key=lambda f: f["wsse"])  # pragma: no cover - the loop always returns


class Variogram(TableStateMixin, BaseEstimator):
    """Semivariogram: empirical estimate and fitted model, in gstat's parameterisation.

    Parameters
    ----------
    model : {"spherical", "exponential", "gaussian", "matern", "auto"}, default "spherical"
        Model family (gstat's ``"Sph"``, ``"Exp"``, ``"Gau"``, ``"Mat"`` are accepted too);
        ``"auto"`` fits spherical, exponential and gaussian and keeps the simplest one (in that
        order) whose weighted sum of squares is within ``selection_tolerance`` of the best, so
        that the choice does not flip between resamples on a near tie.
    psill, range : float or None, default None
        Give both to fix the model (gstat's ``vgm(psill, model, range, nugget)``): ``fit`` then
        only computes the empirical variogram. :meth:`from_params` is the short form.
    nugget : bool or float, default True
        Fit a nugget (True), none (False), or fix it at a value (units of values squared).
    kappa : float, default 0.5
        Matérn smoothness (fixed; gstat's ``kappa``).
    n_lags : int or "auto", default 15
        Number of lag bins (gstat: ``cutoff / width = 15``); ``"auto"``: from the data's
        spacing, no bin narrower than the median nearest-neighbour distance and at least
        ``min_pairs`` pairs in the first bin (see :func:`lag_edges`).
    max_lag : float or None
        Largest lag, metres; None: one third of the bounding-box diagonal (gstat's ``cutoff``).
    estimator : {"matheron", "cressie"}, default "matheron"
        Empirical estimator (gstat's ``cressie = TRUE`` for Cressie-Hawkins).
    direction : float or None
        Directional variogram: azimuth, degrees clockwise from north; None: omnidirectional.
    tolerance : float, default 22.5
        Half-width of the direction window, degrees.
    max_pairs : int, default 2 000 000
        Above this many point pairs, a uniform random sample of pairs is used.
    random_state : int, Generator or None, default None
        Seed of the pair sample.
    max_range_factor : float, default 2.0
        Bound of the fit: the effective range may not exceed ``max_range_factor x max_lag``
        (beyond it the data cannot tell the range; a fit that reaches it warns).
    max_sill_factor : float, default 2.0
        Bound of the fit: partial sill and nugget may not exceed ``max_sill_factor`` times the
        sample variance of the values (a fit that reaches it warns).
    selection_tolerance : float, default 0.1
        ``model="auto"``: relative excess of weighted SSE over the best model that a simpler
        model may have and still be chosen.
    min_pairs : int, default 30
        With ``model="auto"`` or ``n_lags="auto"``, lag bins holding fewer pairs are left out
        of the fits and of the model choice (kept when fewer than 3 bins would remain), so
        that a sparsely filled first bin, heavily weighted by ``N_h / h^2``, cannot decide
        the model (Journel and Huijbregts 1978; Webster and Oliver 2007). A single named
        model with a numeric ``n_lags`` uses every bin, as gstat does.

    Attributes
    ----------
    model_ : str
        Fitted model family.
    nugget_ : float
        Nugget (semivariance jump at the origin), units of values squared.
    psill_ : float
        Partial sill of the structure (gstat's ``psill`` of the non-nugget row).
    sill_ : float
        Total sill ``nugget_ + psill_``.
    range_ : float
        gstat's range parameter ``a``, metres (for spherical: where the sill is reached).
    effective_range_ : float
        Distance where 95 % of the partial sill is reached, metres.
    kappa_ : float
        Matérn smoothness used.
    lags_, gamma_, n_pairs_ : ndarray
        Empirical variogram (mean lag distance, semivariance, pair count per bin); None for a
        model made with :meth:`from_params`.
    bin_edges_ : ndarray
        Lag bin edges, metres.
    covmodel_ : gstools.CovModel
        The same model as a GSTools object (``len_scale`` equals ``range_``).
    n_samples_ : int
        Number of data points used.
    n_features_in_ : int
        2: the easting and northing read from the coordinates (set by :meth:`fit`).
    fits_ : pandas.DataFrame or None
        One row per candidate model: parameters, weighted SSE (``wsse``), parameters that ended
        on a bound (``at_bound``) and ``chosen``.

    See Also
    --------
    OrdinaryKriging, CoKriging

    References
    ----------
    Pebesma, E. J. (2004). Multivariable geostatistics in S: the gstat package. Computers &
    Geosciences 30, 683-691. Cressie, N. and Hawkins, D. M. (1980). Robust estimation of the
    variogram. Mathematical Geology 12, 115-125.

    Examples
    --------
    >>> v = Variogram.from_params(model="spherical", psill=0.59, range=897.0, nugget=0.05)
    >>> v.sill_, round(float(v(897.0)), 2), float(v(0.0))
    (0.64, 0.64, 0.0)
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 1000, (200, 2))
    >>> z = np.sin(xy[:, 0] / 150) + rng.normal(0, 0.1, 200)
    >>> Variogram("gaussian").fit(xy, z).model_
    'gaussian'
    """

    def __init__(
        self,
        model="spherical",
        *,
        psill=None,
        range=None,
        nugget=True,
        kappa=0.5,
        n_lags=15,
        max_lag=None,
        estimator="matheron",
        direction=None,
        tolerance=22.5,
        max_pairs=2_000_000,
        random_state=None,
        max_range_factor=2.0,
        max_sill_factor=2.0,
        selection_tolerance=0.1,
        min_pairs=30,
    ):
        self.model = model
        self.psill = psill
        self.range = range
        self.nugget = nugget
        self.kappa = kappa
        self.n_lags = n_lags
        self.max_lag = max_lag
        self.estimator = estimator
        self.direction = direction
        self.tolerance = tolerance
        self.max_pairs = max_pairs
        self.random_state = random_state
        self.max_range_factor = max_range_factor
        self.max_sill_factor = max_sill_factor
        self.selection_tolerance = selection_tolerance
        self.min_pairs = min_pairs

    @property
    def is_fixed(self) -> bool:
        """True when the model parameters are given (``psill`` and ``range``), not fitted."""
        return self.psill is not None and self.range is not None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_params(cls, model="spherical", psill=1.0, range=1.0, nugget=0.0, kappa=0.5):
        """A fixed model in gstat's parameterisation, ``vgm(psill, model, range, nugget)``.

        Parameters
        ----------
        model : str
            ``"spherical"``/``"Sph"``, ``"exponential"``/``"Exp"``, ``"gaussian"``/``"Gau"``,
            ``"matern"``/``"Mat"``.
        psill : float
            Partial sill of the structure (negative only for a cross-variogram).
        range : float
            gstat's range ``a``, metres (> 0).
        nugget : float, default 0
            Nugget (negative only for a cross-variogram).
        kappa : float, default 0.5
            Matérn smoothness.

        Returns
        -------
        Variogram
            Already "fitted": usable directly by :class:`OrdinaryKriging`.
        """
        v = cls(
            model=_models.canonical_model(model),
            psill=psill,
            range=range,
            nugget=nugget,
            kappa=kappa,
        )
        v._set_fixed()
        v.lags_ = v.gamma_ = v.n_pairs_ = v.bin_edges_ = None
        v.n_samples_ = 0
        v.fits_ = None
        return v

    def __sklearn_clone__(self):
        """A fitted Variogram is a fixed model: ``clone`` (every CV fold) keeps its parameters.

        The clone is unfitted, as scikit-learn's contract asks, but its ``psill``, ``range``,
        ``nugget`` (and ``model``, ``kappa``) are the fitted values, so fitting it in a fold
        gives the same model (the fixed-model path, as ``gstat::krige.cv`` with a given
        ``vgm``). An unfitted one is cloned as usual (parameters only), so it is fitted in each
        fold.
        """
        fresh = super().__sklearn_clone__()
        if "psill_" in self.__dict__:
            fresh.set_params(**self.fixed_params())
        return fresh

    def fixed_params(self) -> dict:
        """The fitted model as constructor parameters (``model``, ``psill``, ``range``,
        ``nugget``, ``kappa``): ``Variogram(**v.fixed_params())`` is the same fixed model.
        """
        check_is_fitted(self, "psill_")
        return {
            "model": self.model_,
            "psill": float(self.psill_),
            "range": float(self.range_),
            "nugget": float(self.nugget_),
            "kappa": float(self.kappa_),
        }

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("covmodel_", None)  # a gstools object: rebuilt on load (skops trusts no gstools)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "psill_" in self.__dict__ and "covmodel_" not in self.__dict__:
            self.covmodel_ = _models.covmodel(
                self.model_, max(self.psill_, 0.0), self.range_, max(self.nugget_, 0.0), self.kappa_
            )

    def _set_fixed(self):
        name = _models.canonical_model(self.model)
        nugget = 0.0 if self.nugget is False else self.nugget
        vals = {"psill": self.psill, "range": self.range, "nugget": nugget, "kappa": self.kappa}
        try:
            bad = {k: v for k, v in vals.items() if not np.isfinite(float(v))}
        except (TypeError, ValueError):
            bad = vals
        if bad or nugget is True:
            raise ValueError(
                f"a fixed variogram needs finite numbers for psill, range, nugget "
                f"and kappa; got {vals}."
            )
        if float(self.range) <= 0 or float(self.kappa) <= 0:
            raise ValueError(
                f"range={self.range!r} and kappa={self.kappa!r} must be > 0 (range in metres)."
            )
        self._set(name, float(self.psill), float(self.range), float(nugget), float(self.kappa))

    def _set(self, model, psill, range_, nugget, kappa):
        self.model_ = model
        self.psill_ = psill
        self.range_ = range_
        self.nugget_ = nugget
        self.kappa_ = kappa
        self.sill_ = nugget + psill
        self.effective_range_ = _models.effective_range(model, range_, kappa)
        self.covmodel_ = _models.covmodel(model, max(psill, 0.0), range_, max(nugget, 0.0), kappa)

    def fit(self, coords, values):
        """Estimate the empirical variogram of ``values`` and fit the model.

        Parameters
        ----------
        coords : array (n, 2), DataFrame or GeoDataFrame
            Locations in a projected CRS, metres (see :func:`geoagb._coords.get_coords`).
        values : array (n,)
            The variable (e.g. residuals in Mg/ha).

        Returns
        -------
        self
        """
        check_dense(coords, "Variogram.fit")
        xy = get_coords(coords, allow_array=True)
        z = np.asarray(values, dtype=float).reshape(-1)
        if len(z) != len(xy):
            raise ValueError(f"values has {len(z)} entries but coords has {len(xy)} rows.")
        if not np.all(np.isfinite(z)):
            bad = np.flatnonzero(~np.isfinite(z))
            raise ValueError(
                f"{bad.size} value(s) are NaN or infinite (rows {bad[:5].tolist()}); "
                "drop them before fitting a variogram."
            )
        n_loc = len(distinct_locations(xy))
        if n_loc < MIN_POINTS:
            raise VariogramError(
                f"a variogram needs at least {MIN_POINTS} distinct locations (got {n_loc}); about "
                "100 or more give a usable estimate. Give more data or a fixed model with "
                "Variogram.from_params(...)."
            )
        if np.ptp(z) == 0:
            raise VariogramError(
                f"values have zero variance (all equal to {z[0]:g}): there is no "
                "spatial structure to fit a variogram to."
            )
        if self.max_lag is not None:
            check_metric(xy, float(self.max_lag), "max_lag", get_crs(coords))
        edges = lag_edges(xy, self.n_lags, self.max_lag, min_pairs=int(self.min_pairs))
        lags, gamma, counts = empirical_variogram(
            xy,
            z,
            edges,
            estimator=self.estimator,
            direction=self.direction,
            tolerance=self.tolerance,
            max_pairs=self.max_pairs,
            random_state=self.random_state,
        )
        self.lags_, self.gamma_, self.n_pairs_, self.bin_edges_ = lags, gamma, counts, edges
        self.n_samples_ = len(z)
        self.n_features_in_ = 2  # easting and northing
        if self.is_fixed:
            self._set_fixed()
            self.fits_ = None
            return self
        auto = str(self.model).lower() == "auto"
        models = _AUTO_MODELS if auto else (self.model,)
        fit_counts = self._fit_counts(counts, auto)
        var = float(np.var(z, ddof=1))
        max_lag = float(edges[-1])
        fits, errors = [], []
        for m in models:
            name = _models.canonical_model(m)
            unit_eff = _models.effective_range(name, 1.0, self.kappa)
            try:
                fits.append(
                    fit_variogram_model(
                        lags,
                        gamma,
                        fit_counts,
                        name,
                        nugget=self.nugget,
                        kappa=self.kappa,
                        max_range=float(self.max_range_factor) * max_lag / unit_eff,
                        max_sill=float(self.max_sill_factor) * var,
                    )
                )
            except ValueError as err:
                errors.append(err)
        if not fits:
            raise VariogramError(str(errors[0])) from None
        best = _choose(fits, float(self.selection_tolerance))
        import pandas as pd

        table = pd.DataFrame(fits)
        table["effective_range"] = [
            _models.effective_range(f["model"], f["range"], f["kappa"]) for f in fits
        ]
        table["chosen"] = [f is best for f in fits]
        self.fits_ = table
        self._set(best["model"], best["psill"], best["range"], best["nugget"], best["kappa"])
        if best["at_bound"]:
            bounds = {
                "range": f"effective range <= {self.max_range_factor:g} x max_lag = "
                f"{self.max_range_factor * max_lag:.4g} m",
                "psill": f"partial sill <= {self.max_sill_factor:g} x variance = "
                f"{self.max_sill_factor * var:.4g}",
                "nugget": f"nugget <= {self.max_sill_factor:g} x variance = "
                f"{self.max_sill_factor * var:.4g}",
            }
            hit = "; ".join(bounds[b] for b in best["at_bound"].split(","))
            warnings.warn(
                f"the {best['model']} variogram fit stopped at its bound ({hit}): the empirical "
                f"variogram does not level off within max_lag={max_lag:.4g} m, so range and sill "
                "are not identifiable from these data. Increase max_lag, or fix the model with "
                "Variogram(model, psill=..., range=..., nugget=...).",
                UserWarning,
                stacklevel=2,
            )
        return self

    def _fit_counts(self, counts: np.ndarray, auto: bool) -> np.ndarray:
        """Pair counts the fit sees: bins under ``min_pairs`` zeroed (see ``min_pairs``)."""
        if not (auto or isinstance(self.n_lags, str)):
            return counts
        kept = np.where(counts >= int(self.min_pairs), counts, 0)
        return kept if np.count_nonzero(kept) >= 3 else counts

    # ------------------------------------------------------------------ evaluation
    def _check_fitted(self):
        if not hasattr(self, "psill_"):
            raise AttributeError(
                "this Variogram is not fitted yet; call fit(coords, values) or "
                "build it with Variogram.from_params(...)."
            )

    def correlation(self, h) -> np.ndarray:
        """Correlation of the structure at distance(s) ``h`` (metres), without nugget."""
        self._check_fitted()
        return _models.correlation(self.model_, h, self.range_, self.kappa_)

    def __call__(self, h) -> np.ndarray:
        """Model semivariance at distance(s) ``h`` (metres); 0 at ``h = 0``."""
        h = np.asarray(h, dtype=float)
        g = self.nugget_ + self.psill_ * (1.0 - self.correlation(h))
        return np.where(h == 0, 0.0, g)

    def covariance(self, h) -> np.ndarray:
        """Covariance ``C(h) = sill_ - gamma(h)``; ``C(0) = sill_`` (nugget included)."""
        h = np.asarray(h, dtype=float)
        return self.psill_ * self.correlation(h) + np.where(h == 0, self.nugget_, 0.0)

    def to_gstat(self) -> str:
        """The same model as an R gstat ``vgm()`` call.

        Examples
        --------
        >>> Variogram.from_params("exponential", psill=2.0, range=300.0, nugget=0.5).to_gstat()
        'vgm(psill=2, model="Exp", range=300, nugget=0.5)'
        """
        self._check_fitted()
        kap = f", kappa={self.kappa_:.17g}" if self.model_ == "matern" else ""
        return (
            f'vgm(psill={self.psill_:.17g}, model="{_models.gstat_name(self.model_)}", '
            f"range={self.range_:.17g}, nugget={self.nugget_:.17g}{kap})"
        )

    def plot(self, ax=None):
        """Empirical points and fitted model; see :func:`geoagb.kriging.plot_variogram`."""
        return plot_variogram(self, ax=ax)

    def __repr__(self, N_CHAR_MAX=700) -> str:
        if not hasattr(self, "psill_"):
            return super().__repr__(N_CHAR_MAX)
        return (
            f"Variogram({self.model_}: nugget={self.nugget_:.4g}, psill={self.psill_:.4g}, "
            f"sill={self.sill_:.4g}, range={self.range_:.4g} m, "
            f"effective range={self.effective_range_:.4g} m)"
        )
