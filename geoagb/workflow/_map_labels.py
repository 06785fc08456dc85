"""A bundle's map named after its target: band names, units, tags, and the clip at 0.

:func:`geoagb.mapping.predict_raster` writes bands ``agb`` / ``agb_std`` / ``residual`` and the
tag ``geoagb_product="aboveground biomass"`` whatever the model predicts (its default, kept for
bare models). ``Bundle.predict_map`` then names band 1 after the bundle's target (``richness``,
``axis1``), its standard deviation ``<target>_std``, every band in the target's unit, records
the target in the tags, and, for a non-negative target (:func:`~geoagb.workflow.target_traits`),
sets cells below 0 to 0 and records how many (``geoagb_clipped_cells`` of
``geoagb_valid_cells``).
"""

from __future__ import annotations

from pathlib import Path

import rasterio

from ..raster import relabel_geotiff
from ._units import TargetTraits

__all__ = ["label_map"]

_DEFAULT = ("agb", "agb_std")


def _names(descriptions, target: str) -> list[str]:
    renamed = {"agb": target, "agb_std": f"{target}_std"}
    return [renamed.get(d or "", d or f"band{i}") for i, d in enumerate(descriptions, 1)]


def label_map(path, traits: TargetTraits) -> tuple[int, int]:
    """Name the bands of a bundle's map after its target; clip a non-negative target at 0.

    Parameters
    ----------
    path : str or Path
        A map written by :func:`geoagb.mapping.predict_raster`.
    traits : TargetTraits
        The bundle's target (:func:`~geoagb.workflow.target_traits`).

    Returns
    -------
    (int, int)
        Cells clipped to 0 and valid cells (``(0, 0)`` for a signed target).
    """
    path = Path(path)
    with rasterio.open(path) as ds:
        desc = list(ds.descriptions)
    names = _names(desc, traits.name)
    units = [traits.unit if d in _DEFAULT else "" for d in desc]
    tags = {
        "geoagb_product": traits.description,
        "geoagb_target": traits.name,
        "geoagb_unit": traits.unit,
        "geoagb_nonnegative": str(traits.nonnegative).lower(),
    }
    return relabel_geotiff(path, names, units, tags, floor=0.0 if traits.nonnegative else None)
