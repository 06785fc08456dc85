"""Optional and heavy dependencies, imported at first use through one function.

``import geoagb`` and every non-deep module never import torch; modules that need torch, xarray,
dask, shap or xgboost ask :func:`optional_import` for them when a function first needs them, and
a missing package raises one ImportError that names the extra to install.
"""

from __future__ import annotations

import importlib

__all__ = ["EXTRAS", "install_hint", "optional_import"]

#: top-level package -> the geoagb extra that installs it (None: a core dependency)
EXTRAS = {
    "torch": "deep",
    "xarray": "xarray",
    "rioxarray": "xarray",
    "dask": "dask",
    "distributed": "dask",
    "shap": None,
    "xgboost": None,
}


def install_hint(name: str) -> str:
    """The pip command that installs top-level package ``name`` for geoagb.

    Examples
    --------
    >>> install_hint("torch")
    'pip install "geoagb[deep]"'
    >>> install_hint("shap")
    'pip install shap'
    """
    top = name.split(".")[0]
    extra = EXTRAS.get(top)
    return f'pip install "geoagb[{extra}]"' if extra else f"pip install {top}"


def optional_import(name: str, purpose: str | None = None):
    """Import module ``name`` now, or raise an ImportError that says what to install.

    Parameters
    ----------
    name : str
        The module, e.g. ``"torch"`` or ``"dask.distributed"``.
    purpose : str, optional
        What needs it, for the message (``"geoagb's deep patch models"``).

    Examples
    --------
    >>> optional_import("json").__name__
    'json'
    >>> optional_import("no_such_module_xyz", "the demo")
    Traceback (most recent call last):
    ...
    ImportError: the demo needs no_such_module_xyz, which is not installed ...
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"{purpose or 'this feature of geoagb'} needs {name}, which is not installed ({exc}); "
            f"install it with `{install_hint(name)}`."
        ) from exc
