"""geoagb: forest aboveground biomass and carbon mapping from plots and remote sensing.

Sub-packages: :mod:`geoagb.datasets`, :mod:`geoagb.model_selection`, :mod:`geoagb.metrics`,
:mod:`geoagb.features`, :mod:`geoagb.inventory`, :mod:`geoagb.kriging`, :mod:`geoagb.explain`,
:mod:`geoagb.deep` (torch, optional), :mod:`geoagb.mapping`, :mod:`geoagb.plotting`.
Importing geoagb imports none of them eagerly and never imports torch.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
