"""One decorator for geoagb's compiled kernels (explain's TreeSHAP tables, kriging's solver)."""

import numba

__all__ = ["njit"]


def njit(**kw):
    """``numba.njit(**kw)``, without the on-disk cache where no folder is writable."""

    def deco(fn):
        try:
            return numba.njit(**kw)(fn)
        except RuntimeError:  # pragma: no cover - numba found no writable cache location
            return numba.njit(**{**kw, "cache": False})(fn)

    return deco
