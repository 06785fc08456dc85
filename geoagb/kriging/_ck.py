"""Ordinary co-kriging: collocated (Markov model 1) or full (linear model of coregionalisation)."""

from __future__ import annotations

import numpy as np

from ._base import _BaseKriging, resolve_variogram
from ._lmc import fit_lmc, nearest_psd
from ._solve import CovTable, krige
from ._variogram import Variogram

__all__ = ["CoKriging"]

_MODES = ("collocated", "full")


class CoKriging(_BaseKriging):
    """Ordinary co-kriging of a primary variable with one or more secondary variables.

    Two modes:

    ``"collocated"``
        The secondary is known at every target (elevation from a DEM is the usual case). Each
        estimate uses the primary data of the neighbourhood plus the secondary value *at the
        target* (Xu et al., 1992). Cross-covariances follow Markov model 1,
        ``C_12(h) = C_12(0) / C_11(0) * C_11(h)`` with ``C_12(0) = r sqrt(C_11(0) s2^2)``, ``r``
        the correlation of primary and secondary at the data and ``s2^2`` the secondary's
        variance. The estimator is standardised ordinary co-kriging (Goovaerts, 1997,
        ch. 6): the secondary enters shifted to the primary's mean, ``s - m_s + m_z`` (means at
        the data), and all weights, primary and secondary, sum to one; so the secondary can
        take as much weight as its correlation warrants (with separate constraints its single
        value would get none). With ``r = 0`` the secondary still acts as one uncorrelated
        datum at the primary mean, pulling the estimate slightly towards it.
    ``"full"``
        Primary and secondaries observed at the data locations (isotopic); covariances from a
        linear model of coregionalisation, fitted like gstat's ``fit.lmc`` (primary structure
        kept, sills fitted by weighted least squares, coregionalisation matrices made positive
        semi-definite) or given fixed with ``lmc``. Constraints: primary weights sum to 1, each
        secondary's to 0 (gstat's ordinary co-kriging). If the secondary is also passed to
        :meth:`predict`, it is used as one more (collocated) datum.

    Parameters
    ----------
    mode : {"collocated", "full"}, default "collocated"
    variogram : "auto", str or Variogram, default "auto"
        Primary variogram (for ``"full"``: its model and range define the LMC structure).
    lmc : dict or None
        Full mode with a fixed model: ``{"primary": Variogram, "secondary": Variogram,
        "cross": Variogram}`` in gstat's parameterisation (one secondary variable; the cross
        variogram may have negative sills).
    n_neighbors : int or None
        Nearest data locations per target (each contributes all its variables); None: all.
    max_distance : float or None
        Search radius, metres.
    chunk_size : int or None
        Targets per batch.
    n_jobs : int or None
        Threads solving chunks of targets in parallel (None: 1; -1: all cores). The chunks
        are planned from the data and targets alone, so results are the same, bit for bit,
        for every ``n_jobs``.
    exact : bool, default True
        False: filtering co-kriging (the primary's nugget treated as measurement error at
        prediction points); see :class:`OrdinaryKriging`.

    Attributes
    ----------
    variogram_ : Variogram
        Primary variogram.
    lmc_ : list of lists of Variogram
        ``lmc_[u][v]``: direct (u == v) and cross variograms used, primary first.
    correlation_ : ndarray (p,)
        Correlation of the primary with each secondary at the data.
    secondary_mean_ : ndarray (p,)
        Mean of each secondary at the data.
    primary_mean_ : float
        Mean of the primary at the data (collocated mode shifts the secondary to it).
    n_secondary_ : int
    empirical_ : dict or None
        Empirical direct and cross variograms of a fitted LMC (``"full"`` mode).

    References
    ----------
    Xu, W., Tran, T. T., Srivastava, R. M. and Journel, A. G. (1992). Integrating seismic data in
    reservoir modeling: the collocated cokriging alternative. SPE 24742. Goovaerts, P. (1997),
    ch. 6. Pebesma (2004), gstat's ``fit.lmc``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 1000, (150, 2))
    >>> dem = 200 + xy[:, 0] / 5
    >>> z = 0.01 * dem + np.sin(xy[:, 1] / 200) + rng.normal(0, 0.1, 150)
    >>> ck = CoKriging(mode="collocated", n_neighbors=20).fit(xy, z, dem)
    >>> bool(ck.correlation_[0] > 0.5)
    True
    >>> mean, std = ck.predict([[500.0, 500.0]], secondary=[300.0], return_std=True)
    >>> mean.shape, bool(std[0] > 0)
    ((1,), True)
    """

    def __init__(
        self,
        mode="collocated",
        variogram="auto",
        lmc=None,
        n_neighbors=None,
        max_distance=None,
        chunk_size=None,
        n_jobs=None,
        exact=True,
    ):
        super().__init__(
            variogram=variogram,
            n_neighbors=n_neighbors,
            max_distance=max_distance,
            chunk_size=chunk_size,
            n_jobs=n_jobs,
            exact=exact,
        )
        self.mode = mode
        self.lmc = lmc

    def fit(self, coords, values, secondary_values):
        """Fit the covariance model and store the data.

        Parameters
        ----------
        coords : array (n, 2), DataFrame or GeoDataFrame
            Data locations, metres.
        values : array (n,)
            Primary variable.
        secondary_values : array (n,) or (n, p)
            Secondary variable(s) at the same locations.

        Returns
        -------
        self
        """
        if self.mode not in _MODES:
            raise ValueError(f"mode={self.mode!r}; choose one of {list(_MODES)}.")
        z = np.asarray(values, dtype=float)
        if z.ndim != 1:
            raise ValueError(f"values must be one-dimensional (n,); got shape {z.shape}.")
        if secondary_values is None:
            raise ValueError(
                "CoKriging.fit needs secondary_values (n,) or (n, p); for no "
                "secondary variable use OrdinaryKriging."
            )
        S = np.asarray(secondary_values, dtype=float)
        S = S.reshape(len(S), -1)
        if len(S) != len(z):
            raise ValueError(f"secondary_values has {len(S)} rows but values has {len(z)}.")
        xy, Z = self._prepare(coords, np.column_stack([z, S]))
        p = Z.shape[1] - 1
        self.n_secondary_ = p
        self.values_ = Z[:, 0]
        self.secondary_values_ = Z[:, 1:]
        self.secondary_mean_ = Z[:, 1:].mean(axis=0)
        self.primary_mean_ = float(Z[:, 0].mean())
        sd = Z.std(axis=0)
        if np.any(sd[1:] == 0):
            raise ValueError(
                "a secondary variable has zero variance at the data locations; it "
                "carries no information for co-kriging. Use OrdinaryKriging."
            )
        R = np.corrcoef(Z, rowvar=False) if sd[0] > 0 else np.eye(p + 1)
        self.correlation_ = R[0, 1:]
        self.empirical_ = None
        if self.mode == "full" and self.lmc is not None:
            self.lmc_ = self._fixed_lmc(p)
            self.variogram_ = self.lmc_[0][0]
        else:
            self.variogram_ = resolve_variogram(self.variogram, xy, self.values_)
            if self.mode == "collocated":
                self.lmc_ = self._markov_lmc(R, Z.var(axis=0, ddof=1))
            else:
                edges = getattr(self.variogram_, "bin_edges_", None)
                lags = (
                    {} if edges is None else {"max_lag": float(edges[-1]), "n_lags": len(edges) - 1}
                )
                self.lmc_, self.empirical_ = fit_lmc(xy, Z, self.variogram_, **lags)
        self.table_ = CovTable(self.lmc_)
        return self

    def _fixed_lmc(self, p):
        keys = {"primary", "secondary", "cross"}
        if not isinstance(self.lmc, dict) or set(self.lmc) != keys:
            raise ValueError(
                f"lmc must be a dict with keys {sorted(keys)} (Variograms in gstat's "
                f"parameterisation); got {self.lmc!r}."
            )
        if p != 1:
            raise ValueError(f"a fixed lmc dict describes one secondary variable; got {p}.")
        g = {k: v for k, v in self.lmc.items()}
        for k, v in g.items():
            if isinstance(v, Variogram) and v.is_fixed and not hasattr(v, "psill_"):
                v._set_fixed()
            if not isinstance(v, Variogram) or not hasattr(v, "psill_"):
                raise ValueError(
                    f"lmc[{k!r}] must be a fitted Variogram, e.g. "
                    f"Variogram.from_params(...); got {v!r}."
                )
        grid = [[g["primary"], g["cross"]], [g["cross"], g["secondary"]]]
        table = CovTable(grid)
        if table.is_lmc():
            for M, name in zip(table.matrices(), ("nugget", "partial sill")):
                if np.linalg.eigvalsh(M).min() < -1e-10 * max(1.0, np.abs(M).max()):
                    raise ValueError(
                        f"the given lmc is not positive definite: its {name} matrix {M.tolist()} "
                        "has a negative eigenvalue; reduce the cross sill (|cross| <= "
                        "sqrt(primary * secondary)) or use mode='full' without lmc to fit one."
                    )
        return grid

    def _markov_lmc(self, R, var):
        """Markov-model-1 table: cross = r * primary structure, secondaries at h = 0 only."""
        v = self.variogram_
        p = len(var) - 1
        c11 = v.sill_
        sd = np.sqrt(np.concatenate([[c11], var[1:]]))
        C0 = nearest_psd(R * np.outer(sd, sd))  # covariances at distance 0
        grid = [[None] * (p + 1) for _ in range(p + 1)]
        grid[0][0] = v
        for a in range(1, p + 1):
            ratio = C0[0, a] / c11 if c11 > 0 else 0.0
            grid[0][a] = grid[a][0] = Variogram.from_params(
                v.model_,
                psill=ratio * v.psill_,
                range=v.range_,
                nugget=ratio * v.nugget_,
                kappa=v.kappa_,
            )
            for b in range(a, p + 1):  # only used at distance 0 (collocated): a pure nugget
                grid[a][b] = grid[b][a] = Variogram.from_params(
                    v.model_, psill=0.0, range=v.range_, nugget=C0[a, b], kappa=v.kappa_
                )
        return grid

    def predict(self, coords, secondary=None, return_std=False):
        """Co-kriging estimate of the primary variable at ``coords``.

        Parameters
        ----------
        coords : array (T, 2), DataFrame or GeoDataFrame
            Target locations, metres.
        secondary : array (T,) or (T, p), optional
            Secondary variable(s) at the targets; required in ``"collocated"`` mode.
        return_std : bool, default False
            Also return the co-kriging standard deviation.

        Returns
        -------
        mean : ndarray (T,)
        std : ndarray (T,), only with ``return_std=True``
        """
        tx = self._targets(coords)
        p = self.n_secondary_
        sec = None
        if secondary is not None:
            sec = np.asarray(secondary, dtype=float)
            if sec.ndim == 1 and p == 1:
                sec = sec[:, None]
            if sec.shape != (len(tx), p):
                raise ValueError(
                    f"secondary must have shape ({len(tx)},) or ({len(tx)}, {p}) "
                    f"(one value per target and secondary variable); got "
                    f"{np.shape(secondary)}."
                )
            if not np.all(np.isfinite(sec)):
                rows = np.flatnonzero(~np.isfinite(sec).all(axis=1))
                raise ValueError(
                    f"the secondary variable is missing (NaN) at {rows.size} "
                    f"target(s) (rows {rows[:5].tolist()}); fill it from the "
                    "source raster or drop those targets."
                )
        sv = list(range(1, p + 1))
        common = dict(
            n_neighbors=self.n_neighbors,
            max_distance=self.max_distance,
            tree=self.tree_,
            chunk_size=self.chunk_size,
            return_var=return_std,
            n_jobs=self.n_jobs,
        )
        if self.mode == "collocated":
            if sec is None:
                raise ValueError(
                    "the secondary variable is missing at prediction time: collocated "
                    "co-kriging needs it at every target (e.g. elevation read from the DEM); "
                    "call predict(coords, secondary=values)."
                )
            shifted = sec - self.secondary_mean_ + self.primary_mean_
            out = krige(
                tx,
                self.coords_,
                self.values_[:, None],
                self.table_,
                data_vars=(0,),
                groups=[[0] + sv],
                colloc=shifted,
                colloc_vars=sv,
                **common,
            )
        else:
            Z = np.column_stack([self.values_, self.secondary_values_])
            out = krige(
                tx,
                self.coords_,
                Z,
                self.table_,
                data_vars=[0] + sv,
                colloc=sec,
                colloc_vars=sv if sec is not None else (),
                **common,
            )
        if return_std:
            return out[0], np.sqrt(out[1])
        return out
