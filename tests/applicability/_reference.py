"""Literal numpy transcriptions of CAST's R code, used as references in the tests."""

import numpy as np
from scipy.spatial.distance import cdist


def cast_train_di(train, weight, cvtest=None, cvtrain=None):
    """CAST ``trainDI`` (L2): standardise (ddof=1), weight, loop over samples."""
    X = (train - train.mean(0)) / train.std(0, ddof=1) * weight
    n = len(X)
    avrg, tmin = [], []
    for i in range(n):
        dall = np.sort(cdist(X[i : i + 1], X)[0])[1:]
        avrg.append(dall.mean())
        d = cdist(X[i : i + 1], X)[0]
        d[i] = np.nan
        if cvtest is not None:
            which = [f for f, t in enumerate(cvtest) if i in set(np.asarray(t).tolist())]
            if not which:
                tmin.append(np.nan)
                continue
            allowed = np.zeros(n, bool)
            allowed[np.asarray(cvtrain[which[0]])] = True
            d[~allowed] = np.nan
        tmin.append(np.nanmin(d))
    dbar = np.mean(avrg)
    return np.array(tmin) / dbar, dbar


def cast_new_di(train, weight, new, dbar):
    X = (train - train.mean(0)) / train.std(0, ddof=1) * weight
    N = (new - train.mean(0)) / train.std(0, ddof=1) * weight
    return cdist(N, X).min(1) / dbar


def r_boxplot_upper(x):
    """R: boxplot.stats(x)$stats[5], written from its source."""
    x = np.sort(np.asarray(x, float))
    n = len(x)
    n4 = np.floor((n + 3) / 2) / 2
    d = np.array([1, n4, (n + 1) / 2, n + 1 - n4, n])
    st = 0.5 * (x[np.floor(d).astype(int) - 1] + x[np.ceil(d).astype(int) - 1])
    iqr = st[3] - st[1]
    out = (x < st[1] - 1.5 * iqr) | (x > st[3] + 1.5 * iqr)
    return x[~out].max() if out.any() else st[4]


def cast_nndm(tpoints, ppoints, phi, min_train):
    """CAST ``nndm`` loop, transcribed line by line (full matrix with NaN, recomputed mins)."""
    Gij = cdist(ppoints, tpoints).min(1)
    tdist = cdist(tpoints, tpoints)
    np.fill_diagonal(tdist, np.nan)
    n = len(tpoints)
    Gjstar = np.nanmin(tdist, axis=1)
    rmin = Gjstar.min()
    jmin = int(np.flatnonzero(Gjstar == rmin)[0])
    kmin = np.flatnonzero(tdist[jmin] == rmin)
    while rmin <= phi:
        if (np.sum(Gjstar <= rmin) - 1) / n >= np.sum(Gij <= rmin) / len(Gij) and np.sum(
            ~np.isnan(tdist[jmin])
        ) / n > min_train:
            tdist[jmin, kmin] = np.nan
            with np.errstate(all="ignore"):
                Gjstar = np.array([np.nanmin(r) if np.any(~np.isnan(r)) else np.inf for r in tdist])
            rmin = Gjstar[Gjstar >= rmin].min()
            jmin = int(np.flatnonzero(Gjstar == rmin)[0])
            kmin = np.flatnonzero(tdist[jmin] == rmin)
        elif np.sum(Gjstar > rmin) == 0:
            break
        else:
            rmin = Gjstar[Gjstar > rmin].min()
            jmin = int(np.flatnonzero(Gjstar == rmin)[0])
            kmin = np.flatnonzero(tdist[jmin] == rmin)
    train = [np.flatnonzero(~np.isnan(tdist[i])) for i in range(n)]
    return train, Gjstar, Gij
