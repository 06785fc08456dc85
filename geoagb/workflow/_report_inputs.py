"""What a report is made of, checked before any figure is drawn.

:func:`check_report_inputs` refuses a bundle whose manifest was altered, a MAP that is not a
geoagb map of the bundle's target or covers none of its plots, and regions that are missing or
lie off the map, each with one line naming the file, what was found and what a report needs.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from .._compat import renamed_kwargs
from ._manifest import validate_manifest
from ._plots_io import _crs_name

__all__ = ["check_report_inputs"]

#: Band descriptions of a map written by geoagb map / predict_raster: the estimate first, then
#: its standard deviation, the kriged residual, and the applicability bands.
_MAP_FIRST = "agb"
_MAP_MORE = ("agb_std", "residual", "di", "aoa")
_MAP_PRODUCT = "aboveground biomass"
_MAKE_MAP = "make it with geoagb map BUNDLE RASTERS OUT"


def _span(bounds, crs_name: str) -> str:
    left, bottom, right, top = (float(v) for v in bounds)
    return f"x {left:,.0f} to {right:,.0f}, y {bottom:,.0f} to {top:,.0f} in {crs_name}"


def _check_map(bundle, agb_raster) -> None:
    """Refuse a MAP that is not a geoagb map of the bundle's target or covers none of its plots."""
    import rasterio
    from pyproj import CRS, Transformer

    name = repr(str(agb_raster))
    with rasterio.open(agb_raster) as ds:
        desc = [d or "" for d in ds.descriptions]
        tags = ds.tags()
        crs, bounds = ds.crs, ds.bounds
    target = bundle.target
    firsts = {_MAP_FIRST, target.lower()}
    more = set(_MAP_MORE) | {f"{target.lower()}_std"}
    product = tags.get("geoagb_product")
    if (
        desc[0].lower() not in firsts
        or any(d.lower() not in more for d in desc[1:])
        or product not in (None, _MAP_PRODUCT, bundle.traits.description)
    ):
        shown = ", ".join(repr(d) if d else "(no description)" for d in desc)
        made = f"; its geoagb_product tag says {product!r}" if product else ""
        raise ValueError(
            f"MAP {name} is not a geoagb map of {target}: its {len(desc)} band(s) are described "
            f"{shown}{made}, while a map made with this bundle has band 1 {_MAP_FIRST!r} "
            f"(then {', '.join(_MAP_MORE[:2])}); {_MAKE_MAP}."
        )
    made_by = tags.get("geoagb_estimator")
    ours = bundle.manifest["model"]["class"].rsplit(".", 1)[-1]
    if made_by is not None and made_by != ours:
        raise ValueError(
            f"MAP {name} was made by a {made_by} (its geoagb_estimator tag), but the bundle's "
            f"model is a {ours}: the report would describe one model and map another; give the "
            f"map made with this bundle ({_MAKE_MAP})."
        )
    if crs is None:
        raise ValueError(
            f"MAP {name} has no CRS, so the bundle's plots cannot be placed on it; a geoagb map "
            f"has the CRS of the rasters; {_MAKE_MAP}."
        )
    x = bundle.plots["x"].to_numpy(float)
    y = bundle.plots["y"].to_numpy(float)
    plot_crs = bundle.crs
    map_crs = CRS.from_user_input(crs)
    if map_crs != plot_crs:
        x, y = Transformer.from_crs(plot_crs, map_crs, always_xy=True).transform(x, y)
        x, y = np.asarray(x, float), np.asarray(y, float)
    left, bottom, right, top = bounds
    inside = (x >= left) & (x <= right) & (y >= bottom) & (y <= top)
    if inside.any():
        return
    far = ""
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.any() and map_crs.is_projected:
        dx = np.maximum.reduce([left - x[ok], x[ok] - right, np.zeros(ok.sum())])
        dy = np.maximum.reduce([bottom - y[ok], y[ok] - top, np.zeros(ok.sum())])
        far = f" (the nearest plot is {np.hypot(dx, dy).min() / 1000:,.1f} km from it)"
    plots = bundle.plots
    plot_span = _span(
        (plots["x"].min(), plots["y"].min(), plots["x"].max(), plots["y"].max()),
        bundle.manifest["crs_name"],
    )
    raise ValueError(
        f"MAP {name} covers none of the bundle's {len(plots)} plots{far}: the map spans "
        f"{_span(bounds, _crs_name(map_crs))}, the plots {plot_span}; give the map made from "
        "the rasters the model was fitted on (geoagb map BUNDLE RASTERS OUT), or the bundle "
        "fitted on plots of the mapped area."
    )


def _read_regions(regions, agb_raster):
    """Regions as make_zones takes them: a vector file read, a missing file refused."""
    if regions is None:
        return None
    if agb_raster is None:
        raise ValueError(
            "regions were given without a map: the carbon stock per region is computed on the "
            "map; give MAP too (geoagb report BUNDLE MAP --regions FILE)."
        )
    if isinstance(regions, (str, Path)):
        path = Path(regions)
        if not path.exists():
            raise FileNotFoundError(
                f"regions file {str(path)!r} does not exist; give polygons (a vector file such "
                "as .gpkg, .shp or .geojson) or a zone raster (.tif) over the map."
            )
        if path.suffix.lower() not in (".tif", ".tiff"):
            import geopandas as gpd

            return gpd.read_file(path)
    return regions


def _few(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (" ..." if len(names) > k else "")


def _check_regions(regions, agb_raster, by=None) -> None:
    """Refuse regions that do not overlap the map; warn when some lie (partly) outside it."""
    import rasterio
    from rasterio.warp import transform_bounds
    from shapely.geometry import box

    with rasterio.open(agb_raster) as ds:
        crs, bounds, shape = ds.crs, ds.bounds, ds.shape
    map_name = repr(str(agb_raster))
    if isinstance(regions, np.ndarray):
        if regions.shape != shape:
            raise ValueError(
                f"the zone array has shape {regions.shape} but MAP {map_name} has "
                f"{shape[0]} x {shape[1]} cells; give one zone code per map cell."
            )
        return
    if crs is None:
        return  # refused by _check_map
    frame = box(*bounds)
    where = _crs_name(crs)
    if isinstance(regions, (str, Path)):  # a zone raster
        with rasterio.open(regions) as zs:
            if zs.crs is None:
                return  # make_zones reads it on the map grid and says so
            zb = transform_bounds(zs.crs, crs, *zs.bounds)
            what, span = f"zone raster {str(regions)!r}", _span(zs.bounds, _crs_name(zs.crs))
        if not box(*zb).intersects(frame) or box(*zb).intersection(frame).area == 0:
            raise ValueError(
                f"the {what} does not overlap MAP {map_name}: the zones span {span}, the map "
                f"{_span(bounds, where)}; give regions over the mapped area."
            )
        if not frame.buffer(1e-9 * max(map(abs, bounds))).contains(box(*zb)):
            warnings.warn(
                f"the {what} ({span}) reaches beyond MAP {map_name} ({_span(bounds, where)}): "
                "the stocks of zones partly outside the map count only the mapped cells.",
                UserWarning,
                stacklevel=4,  # the caller of write_report / report_figures
            )
        return
    import geopandas as gpd

    gdf = regions if isinstance(regions, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=regions)
    if gdf.crs is None or len(gdf) == 0:
        return  # make_zones asks for a CRS
    g = gdf.geometry if gdf.crs == crs else gdf.geometry.to_crs(crs)
    hit = g.intersects(frame).to_numpy()
    if not hit.any():
        raise ValueError(
            f"none of the {len(gdf)} regions overlaps MAP {map_name}: the regions span "
            f"{_span(gdf.total_bounds, _crs_name(gdf.crs))}, the map {_span(bounds, where)}; "
            "give regions over the mapped area (or in the right CRS)."
        )
    within = g.within(frame).to_numpy()
    if within.all():
        return
    names = gdf[by] if by is not None and by in gdf.columns else gdf.index.to_series()
    out = [str(n) for n in names[~hit]]
    part = [str(n) for n in names[hit & ~within]]
    said = []
    if out:
        said.append(f"{len(out)} wholly outside it (stock 0: {_few(out)})")
    if part:
        said.append(f"{len(part)} partly outside it ({_few(part)})")
    warnings.warn(
        f"of the {len(gdf)} regions, {' and '.join(said)} of MAP {map_name} "
        f"({_span(bounds, where)}): their stocks count only the mapped cells.",
        UserWarning,
        stacklevel=4,  # the caller of write_report / report_figures
    )


@renamed_kwargs({"map_path": "agb_raster"})
def check_report_inputs(bundle, agb_raster=None, regions=None, by=None):
    """Check what a report is made of before any figure is drawn; returns the regions (read).

    * the bundle's manifest (:func:`~geoagb.workflow._manifest.validate_manifest`);
    * MAP exists, is a geoagb map of the bundle's target (band 1 ``agb`` or the target, then
      only ``agb_std``, ``residual``, ``di``, ``aoa``; no other geoagb product; made by the
      bundle's estimator), has a CRS, and covers at least one of the bundle's plots;
    * the regions exist (a missing file: :class:`FileNotFoundError` naming it), come with a
      map, and overlap it (a warning names regions that lie partly or wholly outside it).

    Raises
    ------
    FileNotFoundError, ValueError
        One line naming the file, what was found and what a report needs.
    """
    validate_manifest(bundle.manifest, bundle.path)
    if agb_raster is not None and not Path(agb_raster).exists():
        raise FileNotFoundError(f"MAP {str(agb_raster)!r} does not exist; make it with geoagb map.")
    regions = _read_regions(regions, agb_raster)
    if agb_raster is not None:
        _check_map(bundle, agb_raster)
        if regions is not None:
            _check_regions(regions, agb_raster, by)
    return regions
