"""The model bundle's ``manifest.json``, checked field by field when a bundle is read.

A bundle is a file that may have been edited, truncated or made by someone else: every field
that ``geoagb map``, ``geoagb report`` and :class:`~geoagb.workflow.Bundle` read is checked for
its type (and, where it has one, its range or form) before anything uses it, so that a tampered
or hand-made manifest stops with one line naming the file, the field, what it holds and what it
should hold, instead of a ``KeyError`` or markup in a report.

The schema below is what :func:`geoagb.workflow.fit_bundle` writes. Required fields are those
the map, the report or the bundle read; the other fields it writes are checked only when
present.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from ._recipe import RECIPE_KEYS

__all__ = ["validate_manifest", "MANIFEST_FIX"]

#: The fix every manifest error names.
MANIFEST_FIX = "write the bundle again with geoagb fit"

#: Metrics the report and Bundle.scores read from ``cv.spatial`` and ``cv.random``.
_CV_METRICS = ("r2", "rmse", "mae", "r", "overall_bias")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


# ---- field checks: each returns the expected form (str) when the value does not fit ----------
Check = Callable[[object], "str | None"]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _str(nonempty: bool = False) -> Check:
    def check(v):
        if not isinstance(v, str) or (nonempty and not v.strip()):
            return "a non-empty string" if nonempty else "a string"
        return None

    return check


def _int(minimum: int | None = None, what: str = "") -> Check:
    def check(v):
        if not _is_int(v) or (minimum is not None and v < minimum):
            rule = "" if minimum is None else f" >= {minimum}"
            return f"a whole number{rule}{what}"
        return None

    return check


def _num(positive: bool = False, finite: bool = False, what: str = "") -> Check:
    def check(v):
        ok = _is_num(v) and (not (finite or positive) or math.isfinite(v))
        if not ok or (positive and not v > 0):
            rule = " > 0" if positive else (" (finite)" if finite else "")
            return f"a number{rule}{what}"
        return None

    return check


def _bool(v):
    return None if isinstance(v, bool) else "true or false"


def _dict(v):
    return None if isinstance(v, dict) else "a JSON object"


def _optional(check: Check) -> Check:
    def opt(v):
        if v is None:
            return None
        e = check(v)
        return None if e is None else f"{e} or null"

    return opt


def _list(item: Check, nonempty: bool = False, unique: bool = False, length=None) -> Check:
    def check(v):
        form = item(object())  # the item's expected form, for the message
        want = f"a{' non-empty' if nonempty else ''} list of {_plural(form)}"
        if length is not None:
            want = f"a list of {length} {_plural(form)}"
        if unique:
            want += " without repeats"
        if not isinstance(v, list) or (nonempty and not v):
            return want
        if length is not None and len(v) != length:
            return want
        if any(item(x) is not None for x in v):
            return want
        if unique and len(set(v)) != len(v):
            return want
        return None

    check.item = item
    return check


def _dict_of(value: Check, nonempty: bool = False) -> Check:
    def check(v):
        form = value(object())
        want = f"a{' non-empty' if nonempty else ''} JSON object of {_plural(form)}"
        if not isinstance(v, dict) or (nonempty and not v):
            return want
        if any(value(x) is not None for x in v.values()):
            return want
        return None

    check.item = value
    return check


def _plural(form: str) -> str:
    for a in ("a ", "an "):
        if form.startswith(a):
            form = form[len(a) :]
    for one in ("string", "number", "hash", "object"):
        if form.startswith(one) or f" {one}" in form:
            return form.replace(one, one + ("es" if one == "hash" else "s"), 1)
    return form


def _hex64(v):
    if isinstance(v, str) and _HEX64.match(v):
        return None
    return "a SHA-256 hash (64 lower-case hexadecimal characters)"


def _wkt(v):
    if not isinstance(v, str) or not v.strip():
        return "a CRS as WKT text"
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        CRS.from_user_input(v)
    except CRSError:
        return "a CRS as WKT text that pyproj reads"
    return None


def _recipe(v):
    want = f"a JSON object of feature recipe keys ({', '.join(RECIPE_KEYS)})"
    if not isinstance(v, dict):
        return want
    unknown = [k for k in v if k not in RECIPE_KEYS]
    if unknown:
        return f"{want}, not {unknown[0]!r}"
    lists = ("bands", "indices", "terrain")
    if any(k in v and _list(_str(True))(v[k]) for k in lists):
        return want + f"; {', '.join(lists)} lists of names"
    if "textures" in v and _list(_dict)(v["textures"]):
        return want + "; textures a list of objects"
    for k in ("extra", "terrain_options"):
        if k in v and not isinstance(v[k], dict):
            return want + f"; {k} an object"
    return None


# ---- the schema ------------------------------------------------------------------------------
_REQ, _OPT = True, False
_NUM_OR_NAN = _num()
_POS = _num(positive=True)

#: (dotted field, check, required). A parent comes before its fields; a field of an optional
#: parent that is absent (or null) is not checked.
SCHEMA: list[tuple[str, Check, bool]] = [
    ("kind", _str(), _OPT),
    ("format", _int(1), _REQ),
    ("geoagb_version", _str(True), _REQ),
    ("created", _str(), _REQ),
    ("command", _optional(_str()), _OPT),
    ("versions", _dict_of(_optional(_str())), _OPT),
    ("model", _dict, _REQ),
    ("model.kind", _str(True), _OPT),
    ("model.label", _str(True), _REQ),
    ("model.class", _str(True), _REQ),
    ("model.n_estimators", _optional(_int(1)), _OPT),
    ("model.secondary", _optional(_str()), _OPT),
    ("target", _str(True), _REQ),
    ("unit", _str(True), _REQ),
    ("target_traits", _dict, _OPT),
    ("target_traits.name", _str(True), _REQ),
    ("target_traits.unit", _str(True), _REQ),
    ("target_traits.nonnegative", _bool, _REQ),
    ("target_traits.biomass", _bool, _REQ),
    ("target_traits.carbon_fraction", _optional(_num(positive=True)), _REQ),
    ("crs_wkt", _wkt, _REQ),
    ("crs_name", _str(True), _REQ),
    ("feature_names", _list(_str(True), nonempty=True, unique=True), _REQ),
    ("model_columns", _list(_str(True), nonempty=True, unique=True), _REQ),
    ("coordinate_aware", _bool, _OPT),
    ("recipe", _recipe, _REQ),
    ("footprint_m", _optional(_POS), _OPT),
    ("map_resolution_m", _POS, _REQ),
    ("rasters", _dict, _REQ),
    ("rasters.sources", _dict_of(_str(True), nonempty=True), _REQ),
    ("rasters.resolution_m", _POS, _REQ),
    ("rasters.width", _int(1), _OPT),
    ("rasters.height", _int(1), _OPT),
    ("rasters.crs_wkt", _optional(_wkt), _OPT),
    ("rasters.transform", _list(_num(finite=True), length=6), _OPT),
    ("plots", _dict, _REQ),
    ("plots.file", _str(), _REQ),
    ("plots.n_read", _int(0), _REQ),
    ("plots.n_used", _int(1), _REQ),
    ("plots.n_dropped", _int(0), _REQ),
    ("plots.id_column", _optional(_str()), _OPT),
    ("qc", _dict, _REQ),
    ("qc.rule", _optional(_str(True)), _REQ),
    ("qc.features", _list(_str(True)), _REQ),
    ("qc.threshold", _optional(_num(finite=True)), _REQ),
    ("qc.n_incomplete", _int(0), _OPT),
    ("qc.n_dropped", _int(0), _OPT),
    ("qc.dropped_by_reason", _dict_of(_int(0)), _OPT),
    ("qc.mode", _str(True), _OPT),  # "flag" | "drop" | "off"; absent before qc modes
    ("qc.n_flagged", _int(0), _OPT),
    ("qc.flagged_by_reason", _dict_of(_int(0)), _OPT),
    ("qc.cv_side_by_side", _optional(_dict), _OPT),
    ("block_size", _dict, _REQ),
    ("block_size.used_m", _POS, _REQ),
    ("block_size.given", _bool, _REQ),
    ("block_size.suggested_m", _NUM_OR_NAN, _OPT),
    ("block_size.effective_range_m", _NUM_OR_NAN, _OPT),
    ("block_size.nugget_to_sill", _NUM_OR_NAN, _OPT),
    ("block_size.plot_spacing_m", _optional(_NUM_OR_NAN), _OPT),
    ("block_size.extent_m", _NUM_OR_NAN, _OPT),
    ("block_size.variogram_model", _optional(_str()), _OPT),
    ("block_size.source", _optional(_str()), _OPT),
    ("block_size.trustworthy", _bool, _OPT),
    ("block_size.notes", _list(_str()), _OPT),
    ("block_size.verdict", _str(True), _OPT),
    ("block_size.reasons", _list(_str()), _OPT),
    ("block_size.fallback", _optional(_str(True)), _OPT),
    ("block_size.variogram", _optional(_dict), _OPT),
    ("block_size.variogram.model", _str(True), _REQ),
    *(
        (f"block_size.variogram.{k}", _num(finite=True), _REQ)
        for k in ("nugget", "psill", "range", "kappa", "sill", "effective_range")
    ),
    ("block_size.variogram.max_lag", _POS, _REQ),
    ("block_size.variogram.lags", _list(_NUM_OR_NAN, nonempty=True), _REQ),
    ("block_size.variogram.gamma", _list(_NUM_OR_NAN, nonempty=True), _REQ),
    ("block_size.variogram.n_pairs", _list(_int(0), nonempty=True), _REQ),
    ("cv", _dict, _REQ),
    ("cv.n_splits", _int(2, " (the number of CV folds)"), _REQ),
    ("cv.random_state", _int(), _OPT),
    ("cv.label", _str(True), _REQ),
    ("cv.block_sizes_m", _list(_POS), _OPT),
    ("cv.n_repeats", _int(1, " (fold seeds of the CV)"), _OPT),
    ("cv.fold_seeds", _list(_int(0)), _OPT),
    ("cv.sensitivity_repeats", _int(1), _OPT),
    *(
        item
        for scheme in ("spatial", "random")
        for item in (
            (f"cv.{scheme}", _dict_of(_optional(_num())), _REQ),
            *(
                (f"cv.{scheme}.{stat}_{m}{end}", _NUM_OR_NAN, _REQ)
                for m in _CV_METRICS
                for stat, end in (
                    ("validation", "_mean"),
                    ("validation", "_sd"),
                    ("pooled", ""),
                    ("train", "_mean"),
                )
            ),
            (f"cv.{scheme}.n_folds", _int(1), _OPT),
        )
    ),
    ("kriging", _optional(_dict), _OPT),
    ("kriging.method", _str(True), _REQ),
    ("kriging.correction", _str(True), _REQ),
    ("kriging.shrinkage", _num(finite=True), _REQ),
    ("kriging.estimated_gain", _NUM_OR_NAN, _REQ),
    ("kriging.variogram_model", _optional(_str()), _REQ),
    ("kriging.effective_range_m", _optional(_NUM_OR_NAN), _REQ),
    ("inputs_sha256", _dict, _OPT),
    ("inputs_sha256.plots", _optional(_hex64), _OPT),
    ("inputs_sha256.rasters", _dict_of(_hex64), _OPT),
    ("input_hash", _hex64, _REQ),
    ("fit_seconds", _num(finite=True), _OPT),
]

_MISSING = object()


def _show(v) -> str:
    """A value for a one-line message: repr, at most 60 characters, with its JSON type."""
    r = repr(v)
    if len(r) > 60:
        r = r[:56] + " ..."
    kinds = {str: "text", bool: "true/false", int: "a whole number", float: "a number"}
    kind = kinds.get(type(v)) or (
        "null" if v is None else "a list" if isinstance(v, list) else "an object"
    )
    return r if v is None else f"{r} ({kind})"


def _get(manifest: dict, dotted: str):
    """(value, parent present): the value at ``a.b.c``, or _MISSING."""
    node = manifest
    parts = dotted.split(".")
    for i, key in enumerate(parts):
        if not isinstance(node, dict):
            return _MISSING, False
        if key not in node:
            return _MISSING, i == len(parts) - 1
        node = node[key]
        if node is None and i < len(parts) - 1:
            return _MISSING, False  # an optional parent that is null
    return node, True


def _fail(path, field: str, found, expected: str) -> ValueError:
    where = f"{path}: " if path is not None else ""
    if found is _MISSING:
        return ValueError(f"{where}manifest.json lacks field {field} ({expected}); {MANIFEST_FIX}.")
    return ValueError(
        f"{where}manifest field {field} is {_show(found)}, expected {expected}; {MANIFEST_FIX}."
    )


def validate_manifest(manifest: dict, path=None) -> dict:
    """Check the fields of a model bundle's manifest (see :data:`SCHEMA`); returns it unchanged.

    Parameters
    ----------
    manifest : dict
        The parsed ``manifest.json`` of a bundle.
    path : str or Path, optional
        The bundle file, named in the message.

    Returns
    -------
    dict
        ``manifest``, unchanged.

    Raises
    ------
    ValueError
        One line naming the file, the field, what it holds, what it should hold, and the fix
        (write the bundle again with ``geoagb fit``): a missing field, a field of another type,
        a number out of range (``cv.n_splits`` below 2, a block size <= 0), an ``input_hash``
        that is not 64 hexadecimal characters, a CRS pyproj does not read, model columns that
        are not the features (and x, y), or plot counts that do not add up.

    Examples
    --------
    >>> try:
    ...     validate_manifest({"format": 1, "geoagb_version": 0.1}, "model.geoagb")
    ... except ValueError as err:
    ...     print(err)  # doctest: +NORMALIZE_WHITESPACE
    model.geoagb: manifest field geoagb_version is 0.1 (a number), expected a non-empty
    string; write the bundle again with geoagb fit.
    """
    path = None if path is None else str(Path(path))
    if not isinstance(manifest, dict):
        raise ValueError(
            f"{path or 'bundle'}: manifest.json holds {_show(manifest)}, expected a JSON object "
            f"of the model's fields; {MANIFEST_FIX}."
        )
    for field, check, required in SCHEMA:
        value, reachable = _get(manifest, field)
        if value is _MISSING:
            if required and reachable:
                raise _fail(path, field, _MISSING, check(object()) or "")
            continue
        expected = check(value)
        if expected is not None:
            where, found = _culprit(field, check, value)
            if where != field:  # one item of a list or object is wrong: name it
                expected = check.item(found)
            raise _fail(path, where, found, expected)
    _check_relations(manifest, path)
    return manifest


def _culprit(field: str, check, value):
    """(field, value) of the first bad item of a list or object, else of the whole field."""
    item = getattr(check, "item", None)
    if item is not None and isinstance(value, list):
        for i, x in enumerate(value):
            if item(x) is not None:
                return f"{field}[{i}]", x
    if item is not None and isinstance(value, dict):
        for k, x in value.items():
            if item(x) is not None:
                return f"{field}.{k}", x
    return field, value


def _check_relations(m: dict, path) -> None:
    """Checks across fields: model columns, plot counts, the QC rule, the variogram's bins."""
    feats = m["feature_names"]
    extra = [c for c in m["model_columns"] if c not in feats and c not in ("x", "y")]
    absent = [f for f in feats if f not in m["model_columns"]]
    if extra or absent:
        why = f"{extra[0]!r} is not a feature" if extra else f"feature {absent[0]!r} is missing"
        raise _fail(
            path,
            "model_columns",
            m["model_columns"],
            f"the feature_names (after x, y for a model that reads coordinates), but {why}",
        )
    p = m["plots"]
    if p["n_used"] + p["n_dropped"] > p["n_read"]:
        raise _fail(
            path,
            "plots.n_read",
            p["n_read"],
            f"at least plots.n_used + plots.n_dropped = {p['n_used'] + p['n_dropped']}",
        )
    if m["qc"]["rule"] is not None and m["qc"]["threshold"] is None:
        raise _fail(path, "qc.threshold", None, f"a number (qc.rule is {m['qc']['rule']!r})")
    v = (m["block_size"] or {}).get("variogram")
    if v:
        n = len(v["lags"])
        for k in ("gamma", "n_pairs"):
            if len(v[k]) != n:
                raise _fail(
                    path, f"block_size.variogram.{k}", v[k], f"a list of {n} values, one per lag"
                )
