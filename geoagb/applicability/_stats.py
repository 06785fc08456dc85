"""Small statistics shared by the applicability tools: the AOA threshold rules and ECDFs.

Two threshold rules are offered, both computed on the cross-validated dissimilarity index (DI)
of the training data (NaN values, i.e. samples never held out, are ignored):

* ``"cast"`` (CAST >= 0.9.0): ``Q3 + 1.5 IQR`` with the usual linear-interpolation quantiles
  (R's type 7, numpy's default), capped at the largest training DI;
* ``"whisker"`` (Meyer & Pebesma 2021; CAST 0.7.1-0.8.x): the upper whisker of R's
  ``boxplot.stats``, the largest training DI not above ``upper hinge + 1.5 (upper - lower
  hinge)``, with Tukey's hinges from ``fivenum``.

The two differ: the first is the fence itself (unless no DI reaches it), the second is the
largest DI inside the fence.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fivenum", "upper_whisker", "cast_threshold", "aoa_threshold", "ecdf"]


def _finite(x) -> np.ndarray:
    x = np.asarray(x, dtype=float).ravel()
    x = x[~np.isnan(x)]
    if x.size == 0:
        raise ValueError(
            "no finite value to compute a threshold from (all DI values are NaN): "
            "every training sample must be held out once by the folds."
        )
    return x


def fivenum(x) -> np.ndarray:
    """Tukey's five-number summary (min, lower hinge, median, upper hinge, max), as R's ``fivenum``.

    Examples
    --------
    >>> fivenum([1, 2, 3, 4, 5, 6]).tolist()
    [1.0, 2.0, 3.5, 5.0, 6.0]
    """
    x = np.sort(_finite(x))
    n = x.size
    n4 = np.floor((n + 3) / 2) / 2
    d = np.array([1, n4, (n + 1) / 2, n + 1 - n4, n]) - 1  # 0-based positions
    return 0.5 * (x[np.floor(d).astype(int)] + x[np.ceil(d).astype(int)])


def upper_whisker(x, coef: float = 1.5) -> float:
    """Upper whisker of R's ``boxplot.stats(x, coef)``: the largest value not above
    ``upper hinge + coef * (upper hinge - lower hinge)``.

    Examples
    --------
    >>> upper_whisker([1, 2, 3, 4, 100])   # 100 is an outlier
    4.0
    """
    x = _finite(x)
    s = fivenum(x)
    fence = s[3] + coef * (s[3] - s[1])
    return float(np.max(x[x <= fence]))


def cast_threshold(x, coef: float = 1.5) -> float:
    """CAST's (>= 0.9.0) AOA threshold: ``min(Q3 + coef * IQR, max(x))`` with type-7 quantiles.

    Examples
    --------
    >>> cast_threshold([1, 2, 3, 4, 100])   # Q3 = 4, IQR = 2 -> 4 + 3
    7.0
    >>> cast_threshold([1, 2, 3, 4])        # the fence 5.125 exceeds the maximum
    4.0
    """
    x = _finite(x)
    q1, q3 = np.quantile(x, [0.25, 0.75])
    return float(min(q3 + coef * (q3 - q1), np.max(x)))


def aoa_threshold(training_di, rule="cast") -> float:
    """Threshold of the area of applicability from the training DI.

    Parameters
    ----------
    training_di : array
        Cross-validated DI of the training samples (NaN ignored).
    rule : {"cast", "whisker"} or float
        ``"cast"``: :func:`cast_threshold`; ``"whisker"``: :func:`upper_whisker`; a float in
        (0, 1): that quantile of the training DI.
    """
    if isinstance(rule, str):
        if rule == "cast":
            return cast_threshold(training_di)
        if rule == "whisker":
            return upper_whisker(training_di)
    elif isinstance(rule, (int, float)) and not isinstance(rule, bool) and 0 < float(rule) < 1:
        return float(np.quantile(_finite(training_di), float(rule)))
    raise ValueError(
        f"threshold={rule!r} is not a threshold rule: use 'cast' (Q3 + 1.5 IQR capped at "
        "the maximum, CAST >= 0.9), 'whisker' (boxplot upper whisker, Meyer & Pebesma "
        "2021) or a quantile in (0, 1), e.g. 0.95."
    )


def ecdf(x):
    """Sorted values and ECDF heights ``(x_sorted, i / n)`` of the finite values of ``x``.

    Examples
    --------
    >>> ecdf([3.0, 1.0, 2.0])[1].tolist()
    [0.3333333333333333, 0.6666666666666666, 1.0]
    """
    x = np.sort(np.asarray(x, dtype=float)[np.isfinite(np.asarray(x, dtype=float))])
    return x, np.arange(1, x.size + 1) / max(x.size, 1)
