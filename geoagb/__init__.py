"""geoagb: forest aboveground biomass and carbon mapping from plots and remote sensing.

Sub-packages: :mod:`geoagb.datasets`, :mod:`geoagb.model_selection`, :mod:`geoagb.metrics`,
:mod:`geoagb.features`, :mod:`geoagb.inventory`, :mod:`geoagb.kriging`, :mod:`geoagb.explain`,
:mod:`geoagb.deep` (torch, optional), :mod:`geoagb.mapping`, :mod:`geoagb.plotting`,
:mod:`geoagb.workflow` (``geoagb fit`` / ``map`` / ``report``).
Importing geoagb imports none of them eagerly and never imports torch; ``geoagb.load_bundle``
(a model bundle written by ``geoagb fit``) is resolved on first use.
"""

from ._lazy import attach as _attach

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = _attach(
    __name__, {"load_bundle": ".workflow"}, eager=["__version__"]
)
