"""Plot sets with planted bad records, for the precision and recall of the QC drop rule.

Four kinds of target (``KINDS``), each a plot table with three imagery features that track the
true value with noise, on top of which ``n_bad`` records are spoiled the ways field data go
wrong (``ERRORS``): a unit error (x 10 or x 0.1), a plot matched to the wrong pixels (its
features taken from another plot whose value differs by at least 40 % of the range), and a
typo (one extra digit: ``v * 10 + d`` in magnitude, the sign kept). The table of
:func:`precision_recall` over 20 draws per kind is published in ``docs/qc.rst``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KINDS = ("agb", "zero_inflated", "heavy_tail", "centred")
ERRORS = ("x10", "x0.1", "wrong pixels", "typo")
FEATURES = ["ndvi", "crown_cover", "height_mean"]


def _true_values(kind: str, n: int, rng) -> np.ndarray:
    """The true target of ``n`` plots: AGB (Mg/ha) or an ordination axis (unitless)."""
    if kind == "agb":
        return rng.gamma(4.0, 40.0, n)  # mean 160, sd 80 Mg/ha
    if kind == "zero_inflated":
        v = rng.gamma(4.0, 40.0, n)
        v[rng.random(n) < 0.3] = 0.0  # 30 % clearings, real AGB = 0
        return v
    if kind == "heavy_tail":
        return rng.lognormal(np.log(100.0), 1.0, n)  # lognormal sigma 1: 99th pct ~ 1000
    if kind == "centred":
        return rng.normal(0.0, 1.0, n)  # an ordination axis, mean 0
    raise ValueError(f"kind={kind!r} must be one of {KINDS}.")


def _features(v: np.ndarray, kind: str, rng) -> pd.DataFrame:
    """Three imagery features, monotone in the true value with 10-20 % noise of their range."""
    s = (v - v.min()) / np.ptp(v)  # 0..1
    if kind == "heavy_tail":
        s = np.log1p(v) / np.log1p(v).max()  # optical features saturate on a log scale
    n = len(v)
    return pd.DataFrame(
        {
            "ndvi": 0.2 + 0.6 * s + rng.normal(0, 0.08, n),
            "crown_cover": 100 * np.clip(s + rng.normal(0, 0.12, n), 0, 1),
            # never negative; a canopy (>= 0.5 m) wherever there is biomass
            "height_mean": np.maximum(30 * s + rng.normal(0, 3.0, n), np.where(v > 0, 0.5, 0.0)),
        }
    )


def _spoil(values, feats, bad, rng):
    """Spoil the records at positions ``bad`` in place; return the error of each."""
    kinds = rng.choice(ERRORS, len(bad))
    span = np.ptp(values)
    for i, e in zip(bad, kinds):
        v = values[i]
        if e == "x10":
            values[i] = 10 * v
        elif e == "x0.1":
            values[i] = 0.1 * v
        elif e == "typo":
            values[i] = np.sign(v or 1.0) * (10 * abs(v) + rng.integers(0, 10))
        else:  # features of a plot far away in value
            far = np.flatnonzero(np.abs(values - v) > 0.4 * span)
            j = rng.choice(far)
            feats.iloc[i] = feats.iloc[j].to_numpy()
    return kinds


def make_case(kind: str, n: int = 120, n_bad: int = 8, random_state: int = 0):
    """One plot table and its truth.

    Returns
    -------
    plots : DataFrame
        ``target`` and the three features, index 0..n-1.
    truth : DataFrame
        ``bad`` (a planted error), ``error`` (its kind, "" for a true record), ``true`` (the
        value before spoiling).
    """
    rng = np.random.default_rng(random_state)
    v = _true_values(kind, n, rng)
    feats = _features(v, kind, rng)
    values = v.copy()
    bad = np.sort(rng.choice(n, n_bad, replace=False))
    # a zero spoiled by x10 / x0.1 stays zero: plant errors on non-zero records only
    if kind == "zero_inflated":
        bad = np.sort(rng.choice(np.flatnonzero(v > 0), n_bad, replace=False))
    errors = np.full(n, "", dtype=object)
    errors[bad] = _spoil(values, feats, bad, rng)
    plots = feats.assign(target=values)
    truth = pd.DataFrame({"bad": errors != "", "error": errors, "true": v})
    return plots, truth


def score(flagged: np.ndarray, truth: pd.DataFrame, plots: pd.DataFrame, reasons) -> dict:
    """Precision and recall of ``flagged`` for the planted records, and the false alarms that
    matter: true zeros, sign flags, true plots in the top decile.
    """
    bad = truth["bad"].to_numpy()
    tp = int(np.sum(flagged & bad))
    y = plots["target"].to_numpy(float)
    top = (~bad) & (truth["true"].to_numpy() >= np.quantile(truth["true"], 0.9))
    return {
        "flagged": int(flagged.sum()),
        "precision": tp / flagged.sum() if flagged.any() else np.nan,
        "recall": tp / bad.sum(),
        "true zeros flagged": int(np.sum(flagged & ~bad & (y == 0))),
        "sign flags": int(np.sum(np.asarray(reasons) == "negative target")),
        "true top-decile flagged": int(np.sum(flagged & top)),
    }


def precision_recall(qc, kinds=KINDS, n_draws: int = 20, **kwargs) -> pd.DataFrame:
    """Mean of :func:`score` over ``n_draws`` draws per kind; ``qc(plots, **kwargs)`` returns
    ``(kept, report)`` as :func:`geoagb.inventory.filter_inconsistent_plots` does.
    """
    rows = []
    for kind in kinds:
        draws = []
        for seed in range(n_draws):
            plots, truth = make_case(kind, random_state=seed)
            _, report = qc(plots, target="target", features=FEATURES, random_state=seed, **kwargs)
            flagged = plots.index.isin(report.index)
            reasons = report["reason"].to_numpy()
            draws.append(score(flagged, truth, plots, reasons))
        rows.append(pd.DataFrame(draws).mean().rename(kind))
    return pd.DataFrame(rows)
