"""Repeated fold seeds: one cross-validation run under several fold assignments, summarised.

A block-to-fold assignment is one random draw; its score moves with the seed as much as with the
model (on the demo scene the spatial validation R² of five fold seeds spans 0.786-0.839). ``geoagb
fit`` therefore runs every scheme under ``n_repeats`` fold seeds and reports, per scheme, the mean
and sd over seeds of the mean over folds, the min and max over seeds, and the pooled scores (all
out-of-fold predictions of one seed together) averaged over seeds: the repeated k-fold design of
Nadeau and Bengio (2003), run on spatial blocks (Roberts et al., 2017).

The first seed is ``random_state`` itself, so ``n_repeats=1`` is the single-seed fit exactly; the
others are drawn from :class:`numpy.random.SeedSequence` (``random_state``), the same for the same
``random_state``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

#: Metrics of each scheme's summary (those of :func:`geoagb.metrics.agb_scores` the manifest keeps).
METRICS = ("r", "r2", "rmse", "mae", "overall_bias", "mean_residual")


def check_n_repeats(n_repeats) -> int:
    """``n_repeats`` as an int >= 1, else a ValueError naming the value, the rule and the fix."""
    ok = isinstance(n_repeats, numbers.Integral) and not isinstance(n_repeats, bool)
    if not ok or n_repeats < 1:
        raise ValueError(
            f"n_repeats={n_repeats!r} must be a whole number >= 1 (fold seeds of the CV), "
            "e.g. 5; 1 runs one fold assignment."
        )
    return int(n_repeats)


def fold_seeds(random_state: int, n_repeats: int) -> list[int]:
    """The fold seeds of ``n_repeats`` repeats: ``random_state``, then SeedSequence children.

    Examples
    --------
    >>> fold_seeds(0, 1)
    [0]
    >>> s = fold_seeds(0, 3); s[0], len(set(s)), s == fold_seeds(0, 3)
    (0, 3, True)
    """
    children = np.random.SeedSequence(int(random_state)).spawn(max(n_repeats - 1, 0))
    # 31 bits: a seed every consumer takes (sklearn, xgboost, geoagb._random.seed_int)
    return [int(random_state)] + [int(c.generate_state(1)[0] >> 1) for c in children]


def _stat(values: list[float], how: str):
    """Mean, sd (ddof=1; None for one value: not defined), min or max of ``values``."""
    a = np.asarray(values, dtype=float)
    if how == "sd":
        return float(np.std(a, ddof=1)) if len(a) > 1 else None
    return float({"mean": np.mean, "min": np.min, "max": np.max}[how](a))


def repeat_summary(results: list) -> dict:
    """One scheme's CV summary over its repeats, for the manifest (flat numbers).

    ``results`` holds one :class:`~geoagb.model_selection.SpatialCVResult` per fold seed.
    Keys, ``m`` in :data:`METRICS`: ``train_m_mean`` / ``validation_m_mean`` (mean over seeds
    of the mean over folds), ``train_m_sd`` / ``validation_m_sd`` (mean over seeds of the sd
    over folds), ``pooled_<metric>`` for every metric of :func:`geoagb.metrics.agb_scores`
    (mean over seeds of the score of each seed's pooled out-of-fold predictions); over the
    seeds: ``validation_m_mean_sd`` / ``_mean_min`` / ``_mean_max`` and ``pooled_m_sd`` /
    ``_min`` / ``_max`` (sd None for one seed: not defined); ``n_folds`` and ``n_repeats``.
    With one seed the train, validation and pooled numbers are the seed's own, unchanged.
    """
    summaries = [res.summary(METRICS, fmt=None) for res in results]
    pooled = [res.oof_scores() for res in results]
    out: dict = {}
    for st in ("train", "validation"):
        for c in summaries[0].columns:
            out[f"{st}_{c}"] = _stat([float(s.loc[st, c]) for s in summaries], "mean")
    for m in pooled[0]:  # every metric of geoagb.metrics.agb_scores
        out[f"pooled_{m}"] = _stat([p[m] for p in pooled], "mean")
    for m in METRICS:
        means = [float(s.loc["validation", f"{m}_mean"]) for s in summaries]
        for how in ("sd", "min", "max"):
            out[f"validation_{m}_mean_{how}"] = _stat(means, how)
            out[f"pooled_{m}_{how}"] = _stat([p[m] for p in pooled], how)
    out["n_folds"] = int(results[0].folds["fold"].nunique())
    out["n_repeats"] = len(results)
    return out


def repeat_frame(results: dict, repeat: int, used: float) -> pd.DataFrame:
    """One repeat's rows of the bundle's cv table: ``scheme``, ``block_size``, ``repeat``, then
    the fold rows of each result (``results``: block size or ``"random"`` -> result).
    """
    frames = []
    for key, res in results.items():
        f = res.folds.copy()
        f.insert(0, "repeat", repeat)
        f.insert(0, "block_size", np.nan if key == "random" else float(key))
        scheme = "random" if key == "random" else ("spatial" if key == used else "sensitivity")
        f.insert(0, "scheme", scheme)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def with_repeat(cv: pd.DataFrame) -> pd.DataFrame:
    """A bundle's cv table with a ``repeat`` column: tables written before repeated fold seeds
    have none and hold one repeat (0).
    """
    if "repeat" in cv.columns:
        return cv
    cv = cv.copy()
    cv.insert(min(2, len(cv.columns)), "repeat", 0)
    return cv


def format_repeats(s: dict, metric: str, digits: int) -> str:
    """``0.824 +- 0.022 [0.786, 0.839] (pooled 0.845)``: mean +- sd over seeds, their range and
    the pooled score; one seed: ``0.826 (pooled 0.843)``.
    """
    mean, pooled = s[f"validation_{metric}_mean"], s[f"pooled_{metric}"]
    sd = s.get(f"validation_{metric}_mean_sd")
    text = f"{mean:.{digits}f}"
    if sd is not None and s.get("n_repeats", 1) > 1:
        lo, hi = s[f"validation_{metric}_mean_min"], s[f"validation_{metric}_mean_max"]
        text += f" +- {sd:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
    return text + f" (pooled {pooled:.{digits}f})"
