"""The feature recipe of ``geoagb fit``: flags or a small TOML file -> a RasterFeatures recipe.

A recipe is a plain dict of :class:`geoagb.features.RasterFeatures` keyword arguments (``bands``,
``indices``, ``textures``, ``terrain``, ``extra``, ``sensor``, ``terrain_options``), stored in the
model bundle as JSON so that ``geoagb map`` rebuilds exactly the features the model was fitted on.
A TOML file holds the same keys, e.g.::

    bands = ["blue", "green", "red", "nir"]
    indices = ["ndvi", "savi"]
    terrain = ["elevation", "slope", "twi"]

    [[textures]]
    band = "nir"
    window = 7
    features = ["mean", "variance", "contrast", "homogeneity"]

    [extra]
    height_mean = ["chm", 1]
    height_p95 = ["chm", 1, "p95"]
    crown_cover = ["crown", 1]

Scene-wide quantities that a recipe would otherwise recompute on whatever rasters it is given
(the quantisation range of each texture band, the latitude of heat-load terms) are *frozen*
into the stored recipe at fit time (:func:`freeze_recipe`): mapping another tile or another
year then uses the same texture scale as the plots.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "RECIPE_KEYS",
    "load_config",
    "make_recipe",
    "build_features",
    "freeze_recipe",
    "parse_textures",
    "recipe_to_toml",
    "needed_sources",
]

RECIPE_KEYS = ("bands", "indices", "textures", "terrain", "extra", "sensor", "terrain_options")


def _listify(v):
    if v is None:
        return None
    if isinstance(v, str):
        return [t.strip() for t in v.split(",") if t.strip()]
    return [str(t) for t in v]


def _clean(recipe: Mapping[str, Any]) -> dict:
    """JSON-safe recipe (tuples -> lists) with only the keys that are set."""
    return json.loads(json.dumps({k: recipe[k] for k in RECIPE_KEYS if recipe.get(k) is not None}))


def load_config(path) -> dict:
    """Read a recipe from a TOML file (see the module docstring for its keys).

    Unknown keys raise an error listing the valid ones; a top-level ``[features]`` table is
    also accepted.
    """
    try:
        import tomllib
    except ImportError:  # Python 3.10: the same parser as the tomli package
        import tomli as tomllib

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {str(path)!r} does not exist.")
    try:
        with open(path, "rb") as f:
            cfg = tomllib.load(f)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(
            f"config file {path.name}: {err}; see `geoagb fit --help` for an example."
        ) from None
    if set(cfg) == {"features"} and isinstance(cfg["features"], dict):
        cfg = cfg["features"]
    bad = sorted(set(cfg) - set(RECIPE_KEYS))
    if bad:
        raise ValueError(
            f"config file {path.name}: unknown key(s) {bad}; valid keys are "
            f"{', '.join(RECIPE_KEYS)}."
        )
    return _clean(cfg)


def parse_textures(text: str | None) -> list[dict] | None:
    """``"nir:7,pc1:9"`` -> ``[{"band": "nir", "window": 7}, {"band": "pc1", "window": 9}]``.

    Examples
    --------
    >>> parse_textures("nir:7,pc1")
    [{'band': 'nir', 'window': 7}, {'band': 'pc1', 'window': 7}]
    """
    if not text:
        return None
    out = []
    for item in text.split(","):
        band, _, win = item.strip().partition(":")
        if not band:
            continue
        try:
            w = int(win) if win else 7
        except ValueError:
            raise ValueError(
                f"textures={item!r}: write BAND[:WINDOW], e.g. nir:7 (an odd window in pixels)."
            ) from None
        out.append({"band": band, "window": w})
    return out or None


def make_recipe(
    band_names, config=None, *, bands=None, indices=None, textures=None, terrain=None
) -> dict:
    """The recipe from a config dict and flags (flags win over the config).

    Without any of them the recipe is every band of every raster (``bands``) plus NDVI when
    ``red`` and ``nir`` bands are present.

    Parameters
    ----------
    band_names : list of str
        Names of the bands in the rasters (descriptions or file stems).
    config : dict, optional
        From :func:`load_config`.
    bands, indices, terrain : str or list of str, optional
        ``"all"`` (bands only) or comma-separated names.
    textures : str or list of dict, optional
        ``"nir:7"`` style (see :func:`parse_textures`) or dicts.
    """
    recipe = dict(config or {})
    if bands is not None:
        recipe["bands"] = (
            list(band_names) if str(bands).strip().lower() == "all" else _listify(bands)
        )
    if indices is not None:
        recipe["indices"] = _listify(indices)
    if terrain is not None:
        recipe["terrain"] = _listify(terrain)
    if textures is not None:
        recipe["textures"] = (
            parse_textures(textures) if isinstance(textures, str) else list(textures)
        )
    if not any(recipe.get(k) for k in ("bands", "indices", "textures", "terrain", "extra")):
        recipe["bands"] = list(band_names)
        if "indices" not in recipe:
            lower = {b.lower() for b in band_names}
            recipe["indices"] = ["ndvi"] if {"red", "nir"} <= lower else []
    recipe.setdefault("indices", [])
    return _clean(recipe)


def _kwargs(recipe: Mapping[str, Any]) -> dict:
    kw = {k: recipe[k] for k in RECIPE_KEYS if recipe.get(k) is not None}
    kw.setdefault("indices", [])
    if "extra" in kw:
        kw["extra"] = {k: tuple(v) for k, v in kw["extra"].items()}
    if "textures" in kw:
        tex = kw["textures"]
        tex = [tex] if isinstance(tex, Mapping) else list(tex)
        kw["textures"] = [
            dict(t, **({"range": tuple(t["range"])} if t.get("range") is not None else {}))
            for t in tex
        ]
    return kw


def build_features(sources: Mapping[str, str], recipe: Mapping[str, Any], *, needed_only=True):
    """A :class:`~geoagb.features.RasterFeatures` from ``sources`` and a recipe.

    With ``needed_only`` it is rebuilt on the rasters the recipe reads, in the order of
    ``sources`` (so that a mask or an output map lying in the same folder never joins the grid
    check).
    """
    from ..features import RasterFeatures

    rf = RasterFeatures(dict(sources), **_kwargs(recipe))
    if needed_only:
        keys = {k for k, _ in rf._needed_sources()}
        if keys != set(rf.sources):
            rf = RasterFeatures({k: v for k, v in sources.items() if k in keys}, **_kwargs(recipe))
    return rf


def needed_sources(rf) -> list[str]:
    """Names of the rasters a RasterFeatures reads, in its sources' order."""
    keys = {k for k, _ in rf._needed_sources()}
    return [k for k in rf.sources if k in keys]


def freeze_recipe(rf, recipe: Mapping[str, Any]) -> dict:
    """The recipe with its scene-wide quantities fixed to their values on ``rf``'s rasters:
    each texture's quantisation ``range`` and the ``latitude`` of heat-load / solar terms.

    The frozen recipe gives the same numbers as ``rf`` on the same rasters (the values are the
    ones ``rf`` computed) and keeps them on other rasters.
    """
    out = json.loads(json.dumps(dict(recipe)))
    if rf._tex:
        tex = out.get("textures")
        tex = [tex] if isinstance(tex, dict) else list(tex)
        for spec, t in zip(tex, rf._tex):
            if spec.get("range") is None:
                lo, hi = rf._texture_range(t)
                spec["range"] = [float(lo), float(hi)]
        out["textures"] = tex
    if {"hli", "solar_radiation"} & set(rf._terrain_vars):
        opts = dict(out.get("terrain_options") or {})
        if opts.get("latitude") is None:
            opts["latitude"] = float(rf._latitude())
        out["terrain_options"] = opts
    return _clean(out)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def recipe_to_toml(recipe: Mapping[str, Any]) -> str:
    """A recipe as the TOML text :func:`load_config` reads (the inverse of it).

    Examples
    --------
    >>> text = recipe_to_toml({"indices": ["ndvi"], "extra": {"height_mean": ("chm", 1)},
    ...                        "textures": [{"band": "nir", "window": 7}]})
    >>> import tomllib
    >>> tomllib.loads(text)["textures"], tomllib.loads(text)["extra"]
    ([{'band': 'nir', 'window': 7}], {'height_mean': ['chm', 1]})
    """
    rec = _clean(recipe)
    lines, tables = [], []
    for k, v in rec.items():
        if isinstance(v, dict):
            tables.append(
                f"\n[{k}]\n" + "".join(f"{kk} = {_toml_value(vv)}\n" for kk, vv in v.items())
            )
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for item in v:
                body = "".join(f"{kk} = {_toml_value(vv)}\n" for kk, vv in item.items())
                tables.append(f"\n[[{k}]]\n" + body)
        else:
            lines.append(f"{k} = {_toml_value(v)}\n")
    return "".join(lines) + "".join(tables)
