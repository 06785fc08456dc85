"""The one export mechanism of geoagb's lazy sub-packages (the root, kriging, deep, plotting).

A lazy package lists, for each public name, the module that defines it; the module is imported
on the first access to the name (PEP 562 ``__getattr__``), the value is kept in the package, and
``dir(package)`` lists ``__all__``.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["attach"]


def attach(package: str, names: dict[str, str], eager: tuple[str, ...] | list[str] = ()):
    """``__getattr__``, ``__dir__`` and ``__all__`` for a package whose names load on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : dict of str to str
        Public name -> module that defines it; ``".x"`` is relative to ``package``.
    eager : sequence of str
        Public names the package defines or imports itself; listed first in ``__all__``.

    Examples
    --------
    >>> getattr_, dir_, all_ = attach("json", {"dumps": ".encoder"}, eager=["loads"])
    >>> all_
    ['loads', 'dumps']
    """
    public = [*eager, *(n for n in names if n not in eager)]

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name], package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__, public
