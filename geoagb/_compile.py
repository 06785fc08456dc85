"""Compile geoagb's numba kernels ahead of their first use (``geoagb compile``).

numba compiles a kernel the first time it runs and caches the machine code next to the module
(``__pycache__``), so only the first call after an installation pays: about 10 s of CPU for the
kriging walk, a few seconds for the time-series tests, the NNDM search and the SHAP interaction
tables. ``geoagb compile`` pays it at a moment of the user's choosing, e.g. in the ``RUN`` step
of a container image, so that a service or a batch job never does. Where the package folder is
read-only, point ``NUMBA_CACHE_DIR`` at a writable folder, both when compiling and when running.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from numba.core.dispatcher import Dispatcher

from .applicability import nndm_exclusion
from .explain import explain
from .kriging import OrdinaryKriging, Variogram
from .timeseries import mann_kendall, pettitt

__all__ = ["KERNEL_FAMILIES", "compile_kernels", "kernel_cache", "cache_message"]


def _kriging():

    rng = np.random.default_rng(0)
    xy = rng.uniform(0.0, 1000.0, (300, 2))
    z = rng.normal(size=300)
    g = np.linspace(0.0, 1000.0, 60)
    t = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    v = Variogram.from_params("spherical", psill=1.0, range=300.0, nugget=0.1)
    for n_jobs in (1, 2):  # the serial walk and the parallel one (where 2 threads exist)
        OrdinaryKriging(v, n_neighbors=8, n_jobs=n_jobs).fit(xy, z).predict(t, return_std=True)


def _timeseries():

    rng = np.random.default_rng(0)
    years = np.arange(2000, 2012)
    y = 0.5 * (years - 2000) + rng.normal(size=years.size)
    stack = y[:, None, None] + rng.normal(size=(years.size, 2, 2))
    for data in (y, stack):  # one series and a pixel stack
        mann_kendall(data, years)
        pettitt(data, years)


def _applicability():

    rng = np.random.default_rng(0)
    nndm_exclusion(rng.uniform(0, 100, (40, 2)), rng.uniform(0, 100, (60, 2)))


def _explain():
    import pandas as pd
    from xgboost import XGBRegressor

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


def _compiled_kernels() -> list:
    """The numba dispatchers of the imported geoagb modules that hold compiled code."""
    found = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "geoagb" or name.startswith("geoagb.")):
            continue
        for obj in list(vars(module).values()):
            if isinstance(obj, Dispatcher) and obj.signatures:
                found[id(obj)] = obj
    return list(found.values())


def _index_file(dispatcher) -> str | None:
    """The cache index file of a dispatcher (None: its cache is off)."""
    cache = getattr(dispatcher, "_cache", None)
    if cache is None or getattr(cache, "cache_path", None) is None:
        return None  # numba's NullCache: geoagb's njit turned the cache off (no writable folder)
    index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
    return str(index) if index is not None else None


def kernel_cache(dispatchers=None) -> dict:
    """Where compiled kernels are cached on disk, and which are not.

    Parameters
    ----------
    dispatchers : list of numba dispatchers, optional
        Default: every compiled numba kernel of the imported geoagb modules.

    Returns
    -------
    dict
        ``folders``: the cache folders holding an index file of a kernel (sorted);
        ``uncached``: names of the kernels without one (cache off, or the file was not written).
    """
    kernels = _compiled_kernels() if dispatchers is None else list(dispatchers)
    folders, uncached = set(), []
    for d in kernels:
        index = _index_file(d)
        if index is not None and os.path.exists(index):
            folders.add(str(Path(index).parent))
        else:
            uncached.append(getattr(d, "__name__", repr(d)))
    return {"folders": sorted(folders), "uncached": sorted(uncached)}


def cache_message(seconds: float, cache: dict) -> str:
    """The one line ``geoagb compile`` ends with: cached where, or why not and the fix.

    Examples
    --------
    >>> cache_message(2.0, {"folders": ["/opt/geoagb/kriging/__pycache__"], "uncached": []})
    'compiled and cached in 2.0 s (numba cache: /opt/geoagb/kriging/__pycache__)'
    """
    from numba import config

    folders, uncached = cache["folders"], cache["uncached"]
    env = os.environ.get("NUMBA_CACHE_DIR") or getattr(config, "CACHE_DIR", "") or ""
    note = ""
    if env and folders and not any(str(f).startswith(str(env)) for f in folders):
        note = f"; NUMBA_CACHE_DIR={env} is not writable, so numba cached next to the package"
    if not uncached:
        return f"compiled and cached in {seconds:.1f} s (numba cache: {', '.join(folders)}){note}"
    package = Path(__file__).resolve().parent
    where = (
        f"NUMBA_CACHE_DIR={env} is not writable"
        if env
        else f"{package} (its __pycache__ folders) is not writable, nor numba's user cache folder"
    )
    names = ", ".join(uncached[:4]) + (" ..." if len(uncached) > 4 else "")
    return (
        f"compiled in {seconds:.1f} s, but not cached ({len(uncached)} kernels: {names}): {where}; "
        "set NUMBA_CACHE_DIR to a writable folder (e.g. NUMBA_CACHE_DIR=$HOME/.cache/geoagb-numba), "
        "both for geoagb compile and where geoagb runs, or each process compiles again"
    )
