"""Feature groups and the rankings built on them: importance and top interactions.

Pure functions on arrays; :class:`~geoagb.explain.Explanation` calls them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "feature_groups",
    "importance",
    "interaction_strength",
    "top_interactions",
    "GROUP_RULES",
]

_BANDS = {
    "coastal",
    "aerosol",
    "blue",
    "green",
    "yellow",
    "red",
    "nir",
    "nir1",
    "nir2",
    "nir08",
    "swir",
    "swir1",
    "swir2",
    "swir16",
    "swir22",
    "pan",
    "rededge",
    "rededge1",
    "rededge2",
    "rededge3",
    "re1",
    "re2",
    "re3",
    "tir",
    "tir1",
    "tir2",
    "vv",
    "vh",
    "hh",
    "hv",
}
_INDICES = {
    "ndvi",
    "evi",
    "evi2",
    "savi",
    "msavi",
    "osavi",
    "ndmi",
    "nbr",
    "nbr2",
    "arvi",
    "ndwi",
    "mndwi",
    "mndvi",
    "gndvi",
    "ndre",
    "rvi",
    "dvi",
    "sr",
    "gci",
    "cigreen",
    "ndbi",
    "bsi",
    "ndsi",
    "tcb",
    "tcg",
    "tcw",
    "brightness",
    "greenness",
    "wetness",
}
_TERRAIN = {
    "elevation",
    "elev",
    "dem",
    "dtm",
    "srtm",
    "altitude",
    "slope",
    "aspect",
    "eastness",
    "northness",
    "curvature",
    "plan_curvature",
    "profile_curvature",
    "twi",
    "tpi",
    "tri",
    "hli",
    "hillshade",
    "relief",
    "roughness",
    "solar",
    "insolation",
}

#: The rule behind ``groups="auto"``, in the order it is applied (first match wins); names are
#: compared in lower case (``ELEV``, ``Elevation`` and ``DEM_30m`` are all terrain).
GROUP_RULES = (
    ("spatial", "the kriged-residual term 'spatial_residual' of a residual-kriging explanation"),
    ("texture", "names containing 'glcm' (GLCM texture measures, e.g. glcm_contrast_nir)"),
    ("structure", "names starting with 'height_', 'crown_', 'canopy_' or 'chm'"),
    (
        "terrain",
        "a terrain variable (elevation, elev, dem, dtm, srtm, altitude, slope, aspect, eastness, northness, "
        "curvature, twi, tpi, tri, hli, hillshade, relief, ...) alone or followed by '_...'",
    ),
    (
        "spectral",
        "a band (blue, green, red, nir, swir1, swir2, rededge*, b1..b12, vv, vh, hh, hv, "
        "...), a spectral index (ndvi, evi, savi, ndmi, nbr, arvi, ndwi, mndvi, ...), a "
        "principal component pc1.., or a name containing 'ratio'; alone or followed by '_...'",
    ),
    ("other", "everything else"),
)


def _stem(name: str) -> str:
    return name.lower().split("_", 1)[0]


def _auto_group(name: str) -> str:
    low = name.lower()
    if low == "spatial_residual":
        return "spatial"
    if "glcm" in low:
        return "texture"
    if low.startswith(("height_", "crown_", "canopy_", "chm")):
        return "structure"
    if low in _TERRAIN or _stem(name) in _TERRAIN:
        return "terrain"
    stem = _stem(name)
    if (
        low in _BANDS
        or stem in _BANDS
        or low in _INDICES
        or stem in _INDICES
        or re.fullmatch(r"(b|band)\d{1,2}a?", stem)
        or re.fullmatch(r"pc\d+", stem)
        or "ratio" in low
    ):
        return "spectral"
    return "other"


def feature_groups(
    feature_names: Sequence[str], groups: str | Mapping[str, Sequence[str]] = "auto"
) -> dict:
    """Map each feature to a group.

    Parameters
    ----------
    feature_names : list of str
    groups : "auto" or dict group -> list of features
        ``"auto"`` applies :data:`GROUP_RULES` (spectral: bands and indices; texture: glcm_*;
        terrain: elevation/elev/dem/dtm, slope, aspect, eastness, northness, curvature, twi, tpi, hli, ...;
        structure: height_*, crown_*; spatial: spatial_residual; other). With a dict, features
        it does not list go to ``"other"``.

    Returns
    -------
    dict feature -> group

    Examples
    --------
    >>> g = feature_groups(["nir", "ndvi", "glcm_contrast_nir", "elevation", "height_p95", "x1"])
    >>> [g[k] for k in ["nir", "ndvi", "glcm_contrast_nir", "elevation", "height_p95", "x1"]]
    ['spectral', 'spectral', 'texture', 'terrain', 'structure', 'other']
    >>> sorted(set(feature_groups(["ELEV", "elev", "Elevation", "DEM", "dtm", "altitude"]).values()))
    ['terrain']
    """
    names = [str(f) for f in feature_names]
    if isinstance(groups, str):
        if groups != "auto":
            raise ValueError(f"groups={groups!r}: give 'auto' or a dict group -> list of features.")
        return {f: _auto_group(f) for f in names}
    if not isinstance(groups, Mapping):
        raise TypeError(
            f"groups must be 'auto' or a dict group -> list of features; got {type(groups).__name__}."
        )
    out = {f: "other" for f in names}
    seen: dict = {}
    for g, members in groups.items():
        if isinstance(members, str):
            members = [members]
        for f in members:
            if f not in out:
                raise ValueError(
                    f"group {g!r} lists {f!r}, which is not a feature; features: {names}."
                )
            if f in seen:
                raise ValueError(
                    f"feature {f!r} is in two groups ({seen[f]!r} and {g!r}); give it one."
                )
            seen[f] = g
            out[f] = str(g)
    return out


def importance(values, feature_names: Sequence[str] | None = None, groups=None) -> pd.Series:
    """Global importance: mean absolute SHAP value per feature, optionally summed by group.

    Parameters
    ----------
    values : array (n, p)
        SHAP values (output units, e.g. Mg/ha).
    feature_names : list of str, optional
    groups : None, "auto" or dict group -> list of features
        With groups, the per-feature mean |SHAP| values are summed within each group.

    Returns
    -------
    pandas.Series
        Sorted from most to least important, named ``mean_abs_shap``.

    Examples
    --------
    >>> importance([[1.0, -2.0], [-3.0, 0.0]], ["a", "b"]).to_dict()
    {'a': 2.0, 'b': 1.0}
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"values must have shape (n_samples, n_features); got {v.shape}.")
    names = [f"f{i}" for i in range(v.shape[1])] if feature_names is None else list(feature_names)
    imp = pd.Series(np.abs(v).mean(axis=0), index=names, name="mean_abs_shap")
    if groups is not None:
        g = feature_groups(names, groups)
        imp = imp.groupby(pd.Series(g)).sum().rename("mean_abs_shap")
        imp.index.name = "group"
    else:
        imp.index.name = "feature"
    return imp.sort_values(ascending=False, kind="stable")


def interaction_strength(interaction_values) -> np.ndarray:
    """``M[i, j] = mean_n |Phi_nij + Phi_nji|`` for ``i != j`` (the whole pair interaction,
    output units) and ``M[i, i] = mean_n |Phi_nii|`` (main effect).

    Parameters
    ----------
    interaction_values : array (n, p, p)
        SHAP interaction values.

    Returns
    -------
    ndarray (p, p), float64, symmetric

    Examples
    --------
    >>> phi = np.array([[[-1.0, 0.3], [0.3, 2.0]]])      # one sample, two features
    >>> interaction_strength(phi).tolist()              # |0.3 + 0.3| off the diagonal
    [[1.0, 0.6], [0.6, 2.0]]
    """
    phi = np.asarray(interaction_values)
    if phi.ndim != 3 or phi.shape[1] != phi.shape[2]:
        raise ValueError(f"interaction values must have shape (n, p, p); got {phi.shape}.")
    m = np.zeros(phi.shape[1:], dtype=np.float64)
    step = max(1, (32 << 20) // max(phi[0].nbytes, 1))
    for s in range(0, phi.shape[0], step):  # bounded memory for large n
        blk = phi[s : s + step].astype(np.float64)
        m += np.abs(blk + blk.transpose(0, 2, 1)).sum(axis=0)
    m /= max(phi.shape[0], 1)
    idx = np.arange(m.shape[0])
    m[idx, idx] = np.abs(phi[:, idx, idx]).mean(axis=0) if phi.shape[0] else 0.0
    return m


def _members(side, names, group_of) -> list:
    if isinstance(side, str):
        if side in group_of.values():
            return [f for f in names if group_of[f] == side]
        if side in names:
            return [side]
        raise ValueError(
            f"{side!r} is neither a group ({sorted(set(group_of.values()))}) nor a feature; pass "
            "between=(group_a, group_b) with those group names, or lists of features."
        )
    members = list(side)
    bad = [f for f in members if f not in names]
    if bad:
        raise ValueError(f"features {bad} are not in the explanation; features: {list(names)}.")
    return members


def top_interactions(
    interaction_values,
    feature_names: Sequence[str],
    k: int | None = 10,
    between=None,
    groups="auto",
) -> pd.DataFrame:
    """Rank feature pairs by mean absolute SHAP interaction.

    Parameters
    ----------
    interaction_values : array (n, p, p) or (p, p)
        SHAP interaction values, or an already averaged :func:`interaction_strength` matrix.
    feature_names : list of str
    k : int or None, default 10
        Number of pairs to return (None: all).
    between : (a, b), optional
        Restrict to pairs with one feature from ``a`` and one from ``b``; each side is a group
        name, a feature name or a list of features (e.g. ``("spectral", "terrain")``).
    groups : "auto" or dict group -> list of features
        How group names in ``between`` are resolved (see :func:`feature_groups`).

    Returns
    -------
    pandas.DataFrame
        Columns ``feature_a``, ``feature_b``, ``group_a``, ``group_b``, ``mean_abs_interaction``
        (mean over samples of ``|Phi_ab + Phi_ba|``, output units) and ``rank`` (1 = strongest).
        With ``between``, ``feature_a`` is from the first side.

    Examples
    --------
    >>> phi = np.zeros((2, 3, 3)); phi[:, 0, 2] = phi[:, 2, 0] = [0.5, -1.0]
    >>> top = top_interactions(phi, ["ndvi", "nir", "elevation"], k=1)
    >>> top[["feature_a", "feature_b", "mean_abs_interaction"]].values.tolist()
    [['ndvi', 'elevation', 1.5]]
    """
    names = list(feature_names)
    arr = np.asarray(interaction_values)
    m = arr if arr.ndim == 2 else interaction_strength(arr)
    if m.shape != (len(names), len(names)):
        raise ValueError(
            f"interaction values are for {m.shape[0]} features but {len(names)} names were given."
        )
    group_of = feature_groups(names, groups)
    pos = {f: i for i, f in enumerate(names)}
    if between is None:
        pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    else:
        if isinstance(between, str) or len(between) != 2:
            raise ValueError(
                f"between={between!r} must be a pair (a, b), e.g. ('spectral', 'terrain')."
            )
        a = _members(between[0], names, group_of)
        b = _members(between[1], names, group_of)
        seen = set()
        pairs = []
        for fa in a:
            for fb in b:
                key = frozenset((fa, fb))
                if fa != fb and key not in seen:
                    seen.add(key)
                    pairs.append((fa, fb))
    rows = [(fa, fb, group_of[fa], group_of[fb], float(m[pos[fa], pos[fb]])) for fa, fb in pairs]
    out = pd.DataFrame(
        rows, columns=["feature_a", "feature_b", "group_a", "group_b", "mean_abs_interaction"]
    )
    out = out.sort_values("mean_abs_interaction", ascending=False, kind="stable").reset_index(
        drop=True
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out if k is None else out.head(int(k))
