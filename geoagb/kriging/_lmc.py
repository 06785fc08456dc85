"""Linear model of coregionalisation (LMC): fitting direct and cross variograms jointly.

In an LMC every direct and cross variogram is a combination of the same basic structures,
``gamma_uv(h) = N_uv [h > 0] + S_uv (1 - rho(h))``, and the model is valid (the co-kriging
system positive definite) when the nugget matrix ``N`` and the partial-sill matrix ``S`` are
positive semi-definite. :func:`fit_lmc` does what gstat's ``fit.lmc`` does: keep the structure
(model and range) of the primary variogram, fit the sills of each direct and cross variogram by
weighted least squares (weights ``N_h / h^2``), then make each coregionalisation matrix positive
semi-definite by setting its negative eigenvalues to zero (and, when that leaves the model
singular, multiplying the diagonals by 1.01, gstat's ``correct.diagonal``).
"""

from __future__ import annotations

import numpy as np

from ._variogram import Variogram, _table, empirical_variogram, lag_edges

__all__ = ["fit_lmc", "nearest_psd", "lmc_grid"]


def nearest_psd(M: np.ndarray) -> np.ndarray:
    """Symmetric matrix with the negative eigenvalues of ``M`` set to zero (gstat's posdef).

    Examples
    --------
    >>> nearest_psd(np.array([[1.0, 2.0], [2.0, 1.0]])).round(3).tolist()
    [[1.5, 1.5], [1.5, 1.5]]
    """
    M = 0.5 * (np.asarray(M, dtype=float) + np.asarray(M, dtype=float).T)
    w, Q = np.linalg.eigh(M)
    return (Q * np.clip(w, 0.0, None)) @ Q.T


def lmc_grid(structure: Variogram, N: np.ndarray, S: np.ndarray):
    """V x V table of Variograms sharing ``structure``'s model and range, sills from N and S."""
    V = len(N)
    return [
        [
            Variogram.from_params(
                structure.model_,
                psill=S[u, v],
                range=structure.range_,
                nugget=N[u, v],
                kappa=structure.kappa_,
            )
            for v in range(V)
        ]
        for u in range(V)
    ]


def fit_lmc(
    coords,
    values,
    structure: Variogram,
    *,
    fit_nugget=None,
    n_lags=15,
    max_lag=None,
    max_pairs=2_000_000,
    random_state=None,
    correct_diagonal=None,
):
    """Fit a linear model of coregionalisation to V variables observed at the same locations.

    Parameters
    ----------
    coords : (n, 2) array
        Locations, metres.
    values : (n, V) array
        Primary variable first, then the secondary variables.
    structure : Variogram
        Fitted or fixed model whose family and range the LMC keeps (e.g. the primary's).
    fit_nugget : bool or None
        Fit a nugget matrix; None: when ``structure`` has a nugget.
    n_lags, max_lag, max_pairs, random_state
        Lag bins and pair sampling, as for :class:`Variogram`.

    Returns
    -------
    grid : list of lists of Variogram (V x V)
        ``grid[u][v]`` the fitted direct (u == v) or cross variogram.
    empirical : dict
        ``lags`` (n_bins,), ``gamma`` (n_bins, V, V), ``counts`` (n_bins,).
    """
    xy = np.asarray(coords, dtype=float)
    Z = np.asarray(values, dtype=float)
    V = Z.shape[1]
    edges = lag_edges(xy, n_lags, max_lag)
    lags, gamma, counts = empirical_variogram(
        xy, Z, edges, max_pairs=max_pairs, random_state=random_state
    )
    ok = (counts > 0) & (lags > 0)
    if fit_nugget is None:
        fit_nugget = structure.nugget_ != 0
    n_par = 1 + int(fit_nugget)
    if ok.sum() < n_par + 1:
        raise ValueError(
            "cannot fit the coregionalisation: too few non-empty lag bins. "
            f"Empirical primary variogram:\n{_table(lags, gamma[:, 0, 0], counts)}"
        )
    h, w = lags[ok], counts[ok] / lags[ok] ** 2
    g = 1.0 - structure.correlation(h)
    X = np.column_stack([np.ones_like(h), g]) if fit_nugget else g[:, None]
    sw = np.sqrt(w)
    N = np.zeros((V, V))
    S = np.zeros((V, V))
    for u in range(V):
        for v in range(u, V):
            coef, *_ = np.linalg.lstsq(X * sw[:, None], gamma[ok, u, v] * sw, rcond=None)
            if fit_nugget:
                N[u, v] = N[v, u] = coef[0]
            S[u, v] = S[v, u] = coef[-1]
    N, S = nearest_psd(N), nearest_psd(S)
    if correct_diagonal is None:  # gstat's remedy when the model leaves a variable combination
        tot = N + S  # without variance (singular co-kriging systems)
        w = np.linalg.eigvalsh(tot)
        correct_diagonal = 1.01 if w.min() <= 1e-10 * max(w.max(), 1e-300) else 1.0
    N[np.diag_indices(V)] *= correct_diagonal
    S[np.diag_indices(V)] *= correct_diagonal
    return lmc_grid(structure, N, S), {"lags": lags, "gamma": gamma, "counts": counts}
