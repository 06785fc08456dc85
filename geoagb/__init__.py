"""geoagb: forest aboveground biomass and carbon mapping from plots and remote sensing.

Sub-packages: :mod:`geoagb.datasets`, :mod:`geoagb.model_selection`, :mod:`geoagb.metrics`,
:mod:`geoagb.features`, :mod:`geoagb.inventory`, :mod:`geoagb.kriging`, :mod:`geoagb.explain`,
:mod:`geoagb.deep` (torch, optional), :mod:`geoagb.mapping`, :mod:`geoagb.plotting`,
:mod:`geoagb.workflow` (``geoagb fit`` / ``map`` / ``report``).
Importing geoagb imports none of them eagerly and never imports torch; ``geoagb.load_bundle``
(a model bundle written by ``geoagb fit``) is resolved on first use.
"""

__version__ = "0.1.0"
__all__ = ["__version__", "load_bundle"]

_LAZY = {"load_bundle": "geoagb.workflow"}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'geoagb' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
