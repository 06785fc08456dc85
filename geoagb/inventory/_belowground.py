"""Belowground biomass from aboveground biomass: a root:shoot ratio or a fitted model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._random import check_random_state
from ._validate import as_float_array, check_nonnegative, check_positive

__all__ = ["belowground", "fit_belowground", "PowerLaw"]


@dataclass(frozen=True)
class PowerLaw:
    """``BGB = a * AGB ** b`` (Mg/ha), the fitted model of :func:`fit_belowground`.

    Attributes
    ----------
    a, b : float
        Coefficients (a in (Mg/ha)^(1-b), b dimensionless; b = 1 for a ratio).
    smearing : float
        Duan's smearing factor applied to the back-transformed log-log fit (1 for a ratio).
    r2 : float
        Coefficient of determination of the fit on the original scale.

    Examples
    --------
    >>> m = PowerLaw(a=2.0, b=0.5)
    >>> m.predict([4.0, 100.0]).tolist()          # 2 * sqrt(AGB)
    [4.0, 20.0]
    >>> PowerLaw(a=2.0, b=0.5, smearing=1.1).predict([100.0]).round(6).tolist()
    [22.0]
    """

    a: float
    b: float
    smearing: float = 1.0
    r2: float = float("nan")

    def predict(self, agb):
        """BGB (Mg/ha) for AGB (Mg/ha); accepts an array or a one-column table."""
        x = check_nonnegative(np.asarray(agb, dtype=float).reshape(-1), "agb", "AGB is in Mg/ha.")
        return self.smearing * self.a * np.power(x, self.b)


def fit_belowground(agb, bgb, method="power", *, X=None, random_state=None, n_estimators=300):
    """Fit belowground biomass to paired AGB / BGB observations.

    Parameters
    ----------
    agb, bgb : array-like
        Paired aboveground and belowground biomass, Mg/ha (> 0 for ``"power"``).
    method : {"power", "ratio", "random_forest"}, default "power"
        ``"power"``: ``BGB = a AGB^b`` by least squares on logs with Duan's smearing correction;
        ``"ratio"``: ``BGB = r AGB`` by least squares through the origin (r is the root:shoot
        ratio); ``"random_forest"``: a scikit-learn RandomForestRegressor on ``X`` (default: AGB
        alone), as the China 1 km AGBC/BGBC dataset mapped BGB from AGB and site variables.
    X : array-like of shape (n, p), optional
        Predictors for ``"random_forest"`` (e.g. AGB, climate, soil); default AGB alone.
    random_state : int, RandomState, Generator or None, default None
    n_estimators : int, default 300
        Trees of the random forest.

    Returns
    -------
    model : PowerLaw or sklearn.ensemble.RandomForestRegressor
        Anything with ``.predict``; pass it to :func:`belowground` as ``model=``.

    References
    ----------
    Duan, N. (1983). Smearing estimate: a nonparametric retransformation method. Journal of the
    American Statistical Association 78, 605-610.

    Maps with 1 km resolution reveal increases in above- and belowground forest biomass carbon
    pools in China over the past 20 years (dataset, 2002-2021; NCDC, 2024).

    Examples
    --------
    >>> import numpy as np
    >>> agb = np.array([50.0, 100.0, 200.0])
    >>> m = fit_belowground(agb, 0.3 * agb ** 0.95)
    >>> round(m.a, 3), round(m.b, 3)
    (0.3, 0.95)
    >>> round(fit_belowground(agb, 0.25 * agb, method="ratio").a, 3)
    0.25
    """
    methods = ("power", "ratio", "random_forest")
    if method not in methods:
        raise ValueError(f"method={method!r} is not one of {methods}.")
    x = as_float_array(agb, "agb").reshape(-1)
    y = as_float_array(bgb, "bgb").reshape(-1)
    if x.size != y.size:
        raise ValueError(f"agb has {x.size} values and bgb {y.size}; give paired observations.")
    if x.size < 3:
        raise ValueError(f"need at least 3 paired observations to fit; got {x.size}.")
    if method == "random_forest":
        from sklearn.ensemble import RandomForestRegressor

        feats = x.reshape(-1, 1) if X is None else np.asarray(X, dtype=float)
        if feats.ndim == 1:
            feats = feats.reshape(-1, 1)
        if len(feats) != y.size:
            raise ValueError(f"X has {len(feats)} rows for {y.size} observations.")

        return RandomForestRegressor(
            n_estimators=n_estimators, random_state=check_random_state(random_state)
        ).fit(feats, y)
    if method == "ratio":
        check_nonnegative(x, "agb")
        check_nonnegative(y, "bgb")
        r = float(np.dot(x, y) / np.dot(x, x))
        pred = r * x
        return PowerLaw(a=r, b=1.0, smearing=1.0, r2=_r2(y, pred))
    fix = "A power law is fitted on logarithms; drop zero plots or use method='ratio'."
    lx = np.log(check_positive(x, "agb", fix))
    ly = np.log(check_positive(y, "bgb", fix))
    b, loga = np.polyfit(lx, ly, 1)
    resid = ly - (loga + b * lx)
    smear = float(np.mean(np.exp(resid)))
    model = PowerLaw(a=float(np.exp(loga)), b=float(b), smearing=smear)
    return PowerLaw(a=model.a, b=model.b, smearing=smear, r2=_r2(y, model.predict(x)))


def _r2(y, pred):
    ss = float(np.sum((y - y.mean()) ** 2))
    return float(1.0 - np.sum((y - pred) ** 2) / ss) if ss > 0 else float("nan")


def belowground(agb, root_shoot=0.35, *, model=None, X=None):
    """Belowground biomass (Mg/ha) from aboveground biomass.

    Parameters
    ----------
    agb : float or array-like
        Aboveground biomass, Mg/ha (or MgC/ha: the unit is kept); >= 0.
    root_shoot : float, default 0.35
        Root:shoot ratio, ``BGB = root_shoot * AGB`` (the Tibet ResNet study used 0.35). Ignored
        with ``model``.
    model : fitted model, optional
        From :func:`fit_belowground` (or any object with ``.predict``).
    X : array-like, optional
        Predictors for a model fitted on ``X`` (random forest); default AGB alone.

    Returns
    -------
    float or ndarray
        Belowground biomass, unit of ``agb``.

    References
    ----------
    Tibet ResNet study: forest biomass carbon stock and sink of Tibet's mountain forests,
    2015-2020, from a ResNet on Sentinel-1/2, Landsat 8 and L-VOD (root:shoot ratio 0.35).

    Examples
    --------
    >>> round(float(belowground(100.0)), 6)
    35.0
    >>> belowground([10.0, 20.0], root_shoot=0.2).tolist()
    [2.0, 4.0]
    """
    a = check_nonnegative(agb, "agb", "AGB is in Mg/ha and cannot be negative.")
    if model is not None:
        if not hasattr(model, "predict"):
            raise TypeError(
                f"model must have a .predict method (see fit_belowground); got {type(model).__name__}."
            )
        feats = a.reshape(-1, 1) if X is None else X
        return np.asarray(model.predict(feats), dtype=float)
    r = float(root_shoot)
    if not np.isfinite(r) or r <= 0 or r > 5:
        raise ValueError(
            f"root_shoot={root_shoot!r} must be a ratio in (0, 5]; forests typically have 0.2-0.4 "
            "(0.35 is a common choice)."
        )
    out = a * r
    return float(out) if np.ndim(out) == 0 else out
