"""Deep patch regressors (torch, behind the ``deep`` extra) and :class:`PatchSet` (no torch).

``from geoagb.deep import PatchSet`` never imports torch; the model classes import it on first
use and raise an ImportError naming ``pip install "geoagb[deep]"`` when it is missing.
"""

from ._patchset import PatchSet

__all__ = ["PatchSet"]
