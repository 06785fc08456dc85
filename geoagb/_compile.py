"""Compile geoagb's numba kernels ahead of their first use (``geoagb compile``).

numba compiles a kernel the first time it runs and caches the machine code next to the module
(``__pycache__``), so only the first call after an installation pays: about 10 s of CPU for the
kriging walk, a few seconds for the time-series tests, the NNDM search and the SHAP interaction
tables. ``geoagb compile`` pays it at a moment of the user's choosing, e.g. in the ``RUN`` step
of a container image, so that a service or a batch job never does. Where the package folder is
read-only, point ``NUMBA_CACHE_DIR`` at a writable folder, both when compiling and when running.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["KERNEL_FAMILIES", "compile_kernels"]


def _kriging():
    from .kriging import OrdinaryKriging, Variogram

    rng = np.random.default_rng(0)
    xy = rng.uniform(0.0, 1000.0, (300, 2))
    z = rng.normal(size=300)
    g = np.linspace(0.0, 1000.0, 60)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    v = Variogram.from_params("spherical", psill=1.0, range=300.0, nugget=0.1)
    for n_jobs in (1, 2):  # the serial walk and the parallel one (where 2 threads exist)
        OrdinaryKriging(v, n_neighbors=8, n_jobs=n_jobs).fit(xy, z).predict(t, return_std=True)


def _timeseries():
    from .timeseries import mann_kendall, pettitt

    rng = np.random.default_rng(0)
    years = np.arange(2000, 2012)
    y = 0.5 * (years - 2000) + rng.normal(size=years.size)
    stack = y[:, None, None] + rng.normal(size=(years.size, 2, 2))
    for data in (y, stack):  # one series and a pixel stack
        mann_kendall(data, years)
        pettitt(data, years)


def _applicability():
    from .applicability import nndm_exclusion

    rng = np.random.default_rng(0)
    nndm_exclusion(rng.uniform(0, 100, (40, 2)), rng.uniform(0, 100, (60, 2)))


def _explain():
    import pandas as pd
    from xgboost import XGBRegressor

    from .explain import explain

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(64, 3)), columns=["a", "b", "c"])
    y = X["a"] * X["b"] + X["c"]
    model = XGBRegressor(n_estimators=4, max_depth=3, n_jobs=1).fit(X, y)
    explain(model, X, interactions=True)


#: what ``compile_kernels`` can compile, in order: name -> a tiny workload that runs the kernels
KERNEL_FAMILIES = {
    "kriging": _kriging,
    "timeseries": _timeseries,
    "applicability": _applicability,
    "explain": _explain,
}


def compile_kernels(families=None, echo=None) -> dict:
    """Run a tiny workload through each family of numba kernels so that they are compiled and
    cached now rather than on first use.

    Parameters
    ----------
    families : sequence of str, optional
        Names from :data:`KERNEL_FAMILIES` (default: all).
    echo : callable, optional
        Called with one line per family as it finishes (e.g. ``print``).

    Returns
    -------
    dict
        Seconds per family: the compile time on the first run after an installation, the time
        to load the cached code after that.

    Examples
    --------
    >>> seconds = compile_kernels(["applicability"])
    >>> list(seconds)
    ['applicability']
    """
    names = list(KERNEL_FAMILIES) if families is None else list(families)
    unknown = [n for n in names if n not in KERNEL_FAMILIES]
    if unknown:
        raise ValueError(f"unknown kernel families {unknown}; choose from {list(KERNEL_FAMILIES)}.")
    seconds = {}
    for name in names:
        t0 = time.perf_counter()
        KERNEL_FAMILIES[name]()
        seconds[name] = time.perf_counter() - t0
        if echo is not None:
            echo(f"{name}: {seconds[name]:.1f} s")
    return seconds
