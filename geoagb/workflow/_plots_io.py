"""Inputs of ``geoagb fit``: a plot file in any CRS and a folder (or list) of co-registered rasters.

Plots come from a GeoPackage, shapefile, GeoJSON/FlatGeobuf, GeoParquet or CSV. Their
coordinates end in the rasters' CRS (projected, metres), which is where features are read, CV
blocks laid and residuals kriged, and where a map's cell centres are: geographic plots are first
projected to their local UTM zone (:meth:`geopandas.GeoDataFrame.estimate_utm_crs`), then, when
the rasters use another projected CRS, to that one. Every such step is reported in one line.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..raster import band_table, categorical_reason, check_projected

__all__ = [
    "read_plots",
    "raster_sources",
    "RASTER_SUFFIXES",
    "numeric_band_names",
    "footprint_notes",
]

VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml")
PARQUET_SUFFIXES = (".parquet", ".geoparquet", ".pq")
CSV_SUFFIXES = (".csv", ".tsv", ".txt")
RASTER_SUFFIXES = (".tif", ".tiff", ".vrt")
#: Coordinate column pairs looked for in a CSV (or attribute-only table) when none are named.
XY_CANDIDATES = (
    ("x", "y"),
    ("easting", "northing"),
    ("lon", "lat"),
    ("longitude", "latitude"),
    ("long", "lat"),
    ("lng", "lat"),
)
_DEGREE_NAMES = {"lon", "lat", "long", "lng", "longitude", "latitude"}
#: What a plot file should be, by suffix (named in the error when it cannot be read).
_FORMATS = {
    ".gpkg": "GeoPackage",
    ".shp": "shapefile",
    ".geojson": "GeoJSON file",
    ".json": "GeoJSON file",
    ".fgb": "FlatGeobuf file",
    ".gml": "GML file",
    ".kml": "KML file",
    **dict.fromkeys(PARQUET_SUFFIXES, "Parquet file"),
    ".csv": "CSV table",
    ".tsv": "tab-separated table",
    ".txt": "text table",
}


def _crs_name(crs) -> str:
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    return f"EPSG:{epsg} ({c.name})" if epsg else c.name


def raster_sources(rasters) -> dict[str, str]:
    """``{name: path}`` of the rasters: a folder, a comma-separated string or a list of paths.

    In a folder every ``.tif``, ``.tiff`` and ``.vrt`` file is taken, sorted by name; hidden
    files and the part files of an interrupted write are skipped. Each raster is named by its
    file stem (``chm.tif`` -> ``chm``); the bands of a multi-band file are named by their band
    descriptions (``blue``, ``nir`` ...), see :class:`geoagb.features.RasterFeatures`.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> for n in ("dem.tif", "image.tif", ".hidden.tif", "notes.txt"):
    ...     _ = open(os.path.join(d, n), "w").write("")
    >>> list(raster_sources(d))
    ['dem', 'image']
    """
    from .._io import is_part_file

    if isinstance(rasters, (str, Path)) and "," in str(rasters):
        rasters = [t.strip() for t in str(rasters).split(",") if t.strip()]
    if isinstance(rasters, (str, Path)):
        p = Path(rasters)
        if not p.exists():
            raise FileNotFoundError(
                f"RASTERS {str(p)!r} does not exist; give a folder of GeoTIFFs "
                "or a comma-separated list of GeoTIFF files."
            )
        if p.is_dir():
            files = sorted(
                f
                for f in p.iterdir()
                if f.suffix.lower() in RASTER_SUFFIXES
                and not f.name.startswith(".")
                and not is_part_file(f)
                and f.is_file()
            )
            if not files:
                raise ValueError(
                    f"folder {p} holds no raster files ({', '.join(RASTER_SUFFIXES)}); "
                    "put the co-registered GeoTIFFs there or list them: a.tif,b.tif."
                )
        else:
            files = [p]
    else:
        files = [Path(f) for f in rasters]
        if not files:
            raise ValueError("no raster given; pass a folder of GeoTIFFs or a list of files.")
    out: dict[str, str] = {}
    for f in files:
        if not f.exists():
            raise FileNotFoundError(f"raster {str(f)!r} does not exist.")
        if f.stem in out:
            raise ValueError(
                f"two rasters are named {f.stem!r} ({out[f.stem]} and {f}); rasters are "
                "named by file stem, so rename one of them."
            )
        out[f.stem] = str(f)
    return out


def _reader_errors() -> tuple:
    """What the readers raise for a file that is not what its suffix says (or is empty)."""
    errors = [ValueError, csv.Error, UnicodeDecodeError, pd.errors.EmptyDataError]
    try:
        from pyogrio.errors import DataLayerError, DataSourceError  # geopandas' engine

        errors += [DataSourceError, DataLayerError]
    except ImportError:  # pragma: no cover - geopandas on fiona
        pass
    return tuple(errors)


def _unreadable(path: Path, err: BaseException) -> str:
    """One line: why ``path`` could not be read as its suffix says, and the fix."""
    kind = _FORMATS.get(path.suffix.lower(), "plot file")
    if path.is_file() and path.stat().st_size == 0:
        return (
            f"plot file {str(path)!r} is empty (0 bytes); write the plots into it again (a CSV "
            "needs a header line such as x,y,agb and one line per plot)."
        )
    head = b""
    if path.is_file():
        with open(path, "rb") as f:
            head = f.read(512)
    text = None
    if head and b"\0" not in head:
        try:
            text = head.decode("utf-8").splitlines()[0][:60]
        except (UnicodeDecodeError, IndexError):
            text = None
    reason = " ".join(str(err).split())[:160] or type(err).__name__
    if text is not None and path.suffix.lower() not in CSV_SUFFIXES:
        return (
            f"plot file {str(path)!r} is not a {kind}: it is a text file starting {text!r}; if it "
            "is a CSV table, name it .csv (or convert it: ogr2ogr plots.gpkg <file>)."
        )
    if path.suffix.lower() in CSV_SUFFIXES:
        return (
            f"plot file {str(path)!r} could not be read as a {kind} ({reason}); write one header "
            "line and one line per plot, columns separated by commas, e.g. x,y,agb."
        )
    return (
        f"plot file {str(path)!r} could not be read as a {kind} ({reason}); it is truncated or "
        "another format: copy it again, or convert it, e.g. ogr2ogr plots.gpkg <file>."
    )


def _no_layer(path: Path, layer) -> str:
    try:
        import pyogrio

        layers = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # noqa: BLE001 - the listing only adds to the message
        layers = []
    return (
        f"plot file {str(path)!r} has no layer {layer!r}; name one of its layers with layer= "
        f"({', '.join(layers) or 'none found'})."
    )


def _read_table(path: Path, layer=None):
    """GeoDataFrame or DataFrame from a plot file, chosen by suffix."""
    suffix = path.suffix.lower()
    if suffix in VECTOR_SUFFIXES + PARQUET_SUFFIXES + CSV_SUFFIXES or path.is_dir():
        try:
            return _read_known(path, suffix, layer)
        except _reader_errors() as err:
            if layer is not None and "layer" in str(err).lower():
                raise ValueError(_no_layer(path, layer)) from err
            raise ValueError(_unreadable(path, err)) from err
    raise ValueError(
        f"plot file {path.name!r}: the suffix {suffix or '(none)'!r} is not one of "
        f"{', '.join(VECTOR_SUFFIXES + PARQUET_SUFFIXES + CSV_SUFFIXES)}; convert it, e.g. "
        "ogr2ogr plots.gpkg <file>, or save a CSV with coordinate columns."
    )


def _read_known(path: Path, suffix: str, layer=None):
    import geopandas as gpd

    if suffix in VECTOR_SUFFIXES or path.is_dir():
        return gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
    if suffix in PARQUET_SUFFIXES:
        try:
            return gpd.read_parquet(path)
        except (ValueError, KeyError):  # a plain Parquet table without geo metadata
            return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if suffix == ".tsv" else None, engine="python")


def _xy_columns(df, x, y) -> tuple[str, str]:
    if (x is None) != (y is None):
        raise ValueError(f"give both x= and y= (got x={x!r}, y={y!r}).")
    if x is not None:
        missing = [c for c in (x, y) if c not in df.columns]
        if missing:
            raise ValueError(
                f"coordinate column(s) {missing} not in the plot table (columns: "
                f"{list(df.columns)[:15]}); name them with x=COL, y=COL."
            )
        return x, y
    lower = {str(c).lower(): c for c in df.columns}
    for cx, cy in XY_CANDIDATES:
        if cx in lower and cy in lower:
            return lower[cx], lower[cy]
    raise ValueError(
        f"no coordinate columns found in the plot table (looked for "
        f"{', '.join('/'.join(p) for p in XY_CANDIDATES)}; columns: "
        f"{list(df.columns)[:15]}); name them with x=COL, y=COL (and crs=)."
    )


def read_plots(
    path,
    *,
    target: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs=None,
    layer=None,
    raster_crs=None,
    echo: Callable[[str], None] = print,
):
    """Read field plots and bring them to a metric CRS (the rasters' CRS when it is projected).

    Parameters
    ----------
    path : str or Path
        GeoPackage, shapefile, GeoJSON, FlatGeobuf, GeoParquet (or plain Parquet) or CSV.
    target : str, optional
        Column that must exist (the field AGB); checked here so the error comes first.
    x, y : str, optional
        Coordinate columns of a table without geometry (default: the first of x/y,
        easting/northing, lon/lat, longitude/latitude found).
    crs : str, optional
        CRS of those columns (e.g. ``EPSG:4326``). Default: EPSG:4326 for lon/lat-like names,
        else the rasters' CRS (each said in one line). For a file with a CRS, overrides it only
        when the file has none.
    layer : str, optional
        Layer of a multi-layer file (GeoPackage).
    raster_crs : CRS-like, optional
        The rasters' CRS; projected plots in another CRS are reprojected to it.
    echo : callable
        Where the one-line notes go.

    Returns
    -------
    geopandas.GeoDataFrame
        Point geometry (polygon footprints become their centroids) in a projected CRS, with
        ``x`` and ``y`` columns equal to the point coordinates (metres). Rows without a
        location are dropped (said in a line). ``attrs["source_crs"]`` and
        ``attrs["source_bounds"]`` keep the CRS the plots were read in and their extent there
        (xmin, ymin, xmax, ymax), for messages about plots off the rasters.
    """
    import geopandas as gpd
    from pyproj import CRS

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"plot file {str(path)!r} does not exist.")
    df = _read_table(path, layer)
    if len(df) == 0:
        raise ValueError(f"plot file {path} holds no rows.")
    if target is not None and target not in df.columns:
        raise ValueError(
            f"target column {target!r} not in {path.name} (columns: "
            f"{[c for c in df.columns if c != 'geometry'][:20]}); name it with target=."
        )
    crs_from = "file"  # where the CRS came from: the file, crs=, or a default said in a line
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns and x is None:
        gdf = df
        if gdf.crs is None:
            crs_from = "given" if crs is not None else "default"
            if crs is None and raster_crs is None:
                raise ValueError(f"{path.name} has no CRS; give it with crs= (e.g. crs=EPSG:4326).")
            gdf = gdf.set_crs(crs if crs is not None else raster_crs)
            echo(
                f"    {path.name} has no CRS: taken to be {_crs_name(gdf.crs)}"
                f"{'' if crs is not None else ' (the rasters CRS; give crs= otherwise)'}"
            )
    else:
        xc, yc = _xy_columns(pd.DataFrame(df), x, y)
        crs_from = "given" if crs is not None else "default"
        if crs is None:
            if {str(xc).lower(), str(yc).lower()} & _DEGREE_NAMES:
                crs = "EPSG:4326"
                echo(
                    f"    columns {xc}/{yc} taken as longitude/latitude in EPSG:4326 (WGS 84); "
                    "give crs= otherwise"
                )
            elif raster_crs is not None:
                crs = raster_crs
                echo(
                    f"    columns {xc}/{yc} taken to be in the rasters' CRS, {_crs_name(crs)}; "
                    "give crs= otherwise"
                )
            else:
                raise ValueError(f"the CRS of columns {xc}/{yc} is unknown; give it with crs=.")
        xs = pd.to_numeric(df[xc], errors="coerce")
        ys = pd.to_numeric(df[yc], errors="coerce")
        base = pd.DataFrame(df).drop(columns=[c for c in ("geometry",) if c in df.columns])
        gdf = gpd.GeoDataFrame(base, geometry=gpd.points_from_xy(xs, ys), crs=crs)
    bad = (gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    if bad.all():
        raise ValueError(f"none of the {len(gdf)} plots in {path.name} has a location.")
    if bad.any():
        echo(f"    {int(bad.sum())} of {len(gdf)} plots have no location and are left out")
        gdf = gdf.loc[~bad]
    kinds = set(gdf.geom_type)
    if kinds - {"Point"}:
        echo(
            f"    plot geometries are {', '.join(sorted(kinds))}: their centroids are the plot centres"
        )
    gdf.attrs["source_crs"] = _crs_name(gdf.crs)
    gdf.attrs["source_bounds"] = tuple(float(v) for v in gdf.total_bounds)
    if CRS.from_user_input(gdf.crs).is_geographic:
        _check_degrees(gdf, path, crs_from, raster_crs)
        utm = gdf.estimate_utm_crs()
        echo(
            f"    plots are in {_crs_name(gdf.crs)}, a geographic CRS: projected to the local UTM "
            f"zone, {_crs_name(utm)}, so that distances are metres"
        )
        gdf = gdf.to_crs(utm)
    if raster_crs is not None:
        rc = CRS.from_user_input(raster_crs)
        if not rc.is_geographic and rc != CRS.from_user_input(gdf.crs):
            echo(
                f"    plots reprojected from {_crs_name(gdf.crs)} to the rasters' CRS "
                f"{_crs_name(rc)}, where features, CV blocks and maps share coordinates"
            )
            gdf = gdf.to_crs(rc)
    if kinds - {"Point"}:
        gdf = gdf.set_geometry(gdf.geometry.centroid)
    gdf = gdf.assign(x=gdf.geometry.x.to_numpy(float), y=gdf.geometry.y.to_numpy(float))
    return gdf


def _check_degrees(gdf, path: Path, crs_from: str, raster_crs) -> None:
    """Refuse coordinates outside longitude/latitude ranges in a geographic CRS: metres."""
    from pyproj import CRS

    x0, y0, x1, y1 = gdf.total_bounds
    if -180 <= x0 and x1 <= 180 and -90 <= y0 and y1 <= 90:
        return
    rc = CRS.from_user_input(raster_crs) if raster_crs is not None else None
    projected = rc is not None and not rc.is_geographic
    example = rc.to_string() if projected else "EPSG:<utm zone>"
    note = " (the rasters' CRS)" if projected else ""
    fix = {
        "file": f"the file's CRS is wrong: assign the right one, e.g. ogr2ogr -a_srs {example} "
        f"fixed{path.suffix} {path.name}",
        "given": f"give their projected CRS with crs= instead, e.g. crs={example!r}",
        "default": f"give their projected CRS with crs=, e.g. crs={example!r}",
    }[crs_from]

    def num(v):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"

    raise ValueError(
        f"the plot coordinates in {path.name} span x {num(x0)} to {num(x1)}, y {num(y0)} to "
        f"{num(y1)}: outside longitude -180..180 / latitude -90..90, so they are not degrees of "
        f"{_crs_name(gdf.crs)}; they look like metres of a projected CRS: {fix}{note}."
    )


def plot_summary_line(plots, path, target, unit) -> str:
    """One line describing the plots read (count, CRS, target range)."""
    v = pd.to_numeric(plots[target], errors="coerce")
    return (
        f"    {len(plots)} plots from {Path(path).name} in {_crs_name(plots.crs)}; {target}: "
        f"mean {v.mean():.1f}, range {v.min():.1f}-{v.max():.1f} {unit}"
    )


def describe_sources(infos: dict, names: Sequence[str] | None = None) -> str:
    """One line describing the rasters (names, pixel size, CRS)."""
    ref = next(iter(infos.values()))
    res = abs(ref.transform.a)
    return (
        f"    {len(infos)} rasters ({', '.join(infos)}) of {ref.width} x {ref.height} pixels of "
        f"{res:g} m in {_crs_name(ref.crs)}"
    )


def numeric_band_names(infos: dict, echo: Callable[[str], None]) -> list[str]:
    """The band names a default recipe may use: every band except those of class rasters.

    Each raster is first checked to be projected (:func:`geoagb.raster.check_projected`: a
    geographic raster is refused with its UTM zone). A single-band raster taken as categorical
    by :func:`geoagb.raster.categorical_reason` (land cover, a study-area mask) is left out
    with a one-line note; naming it in ``bands`` (or the config) keeps it as a number.
    """
    for info in infos.values():
        check_projected(info.path, info.crs, info.transform, info.width, info.height)
    classes = {}
    for key, info in infos.items():
        if info.count == 1:
            why = categorical_reason(info.path, key, info.dtypes[0], info.descriptions[0])
            if why:
                classes[key] = why
    for key, why in classes.items():
        echo(
            f"    note: {Path(infos[key].path).name} is left out of the features: it is a class "
            f"raster ({why}) and class codes are not numbers; use it as a mask at map "
            f"(--mask {Path(infos[key].path).name}:<codes>) or name it in --bands to keep it."
        )
    return [n for n, (key, _) in band_table(infos).items() if ":" not in n and key not in classes]


def footprint_notes(X, footprint) -> tuple[list[str], dict]:
    """Lines to echo about plot footprints, and the manifest entry ``{"footprint": ...}``.

    A warning when no footprint is given (features from the single pixel under the plot
    centre), and the count of plots whose footprint is partly nodata or off the rasters, with
    the worst valid share (``X.attrs["valid_share"]`` and ``X.attrs["min_valid_share"]`` from
    :meth:`geoagb.features.RasterFeatures.at_points`).
    """
    share = np.asarray(X.attrs.get("valid_share", []), dtype=float)
    min_valid = float(X.attrs.get("min_valid_share", 1.0))
    partial = (share < 1) & (share >= min_valid)
    below = share < min_valid
    lines = []
    if footprint is None:
        lines.append(
            "    warning: no footprint given, so each plot's features come from the single pixel "
            "under its centre; give the plot's side, e.g. --footprint 25.83 (metres, 0.0667 ha)."
        )
    if partial.any():
        lines.append(
            f"    {int(partial.sum())} of {len(share)} plots have partial footprints (worst "
            f"{share[partial].min():.0%} valid pixels): features from their valid pixels "
            f"(at least {min_valid:.0%} of the footprint must be valid)"
        )
    entry = {
        "side_m": None if footprint is None else float(footprint),
        "min_valid_share": float(min_valid),
        "n_partial": int(partial.sum()),
        "n_below_min_valid": int(below.sum()),
        "worst_valid_share": float(share[partial].min()) if partial.any() else None,
    }
    return lines, entry
