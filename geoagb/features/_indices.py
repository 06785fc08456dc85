"""Spectral indices, band ratios and the first principal component of a band stack.

Every function takes ``bands`` as a mapping ``name -> array`` (any shape, all the same) or a
:class:`pandas.DataFrame` with one column per band, and returns the same kind of container.
Bands are surface reflectance on a 0-1 scale (pass ``scale=1e-4`` for integer products such
as Sentinel-2 L2A or Landsat Collection 2 after offset removal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

__all__ = [
    "SENSOR_BANDS",
    "INDEX_BANDS",
    "canonical_bands",
    "band_namer",
    "spectral_indices",
    "band_ratios",
    "pc1",
]

#: Band-id presets: sensor -> {band id: canonical name}. Ids match case-insensitively, with a
#: leading ``SR_`` (Landsat Collection 2) and zero padding (``B04``) ignored.
SENSOR_BANDS: dict[str, dict[str, str]] = {
    # GaoFen-2 / GaoFen-7 PMS multispectral camera: 0.45-0.52, 0.52-0.59, 0.63-0.69, 0.77-0.89 um
    "gaofen": {"B1": "blue", "B2": "green", "B3": "red", "B4": "nir"},
    # Landsat 8/9 OLI
    "landsat8": {
        "B1": "coastal",
        "B2": "blue",
        "B3": "green",
        "B4": "red",
        "B5": "nir",
        "B6": "swir1",
        "B7": "swir2",
    },
    # Sentinel-2 MSI (10 and 20 m bands; B8 is the broad NIR band)
    "sentinel2": {
        "B1": "coastal",
        "B2": "blue",
        "B3": "green",
        "B4": "red",
        "B5": "rededge1",
        "B6": "rededge2",
        "B7": "rededge3",
        "B8": "nir",
        "B8A": "nir_narrow",
        "B11": "swir1",
        "B12": "swir2",
    },
}
SENSOR_BANDS["landsat9"] = SENSOR_BANDS["landsat8"]

#: The canonical bands each index needs.
INDEX_BANDS: dict[str, tuple[str, ...]] = {
    "ndvi": ("red", "nir"),
    "savi": ("red", "nir"),
    "evi": ("blue", "red", "nir"),
    "arvi": ("blue", "red", "nir"),
    "nbr": ("nir", "swir2"),
    "ndmi": ("nir", "swir1"),
    "ndwi": ("green", "nir"),
    "mndvi": ("blue", "red", "nir"),
}


def _norm_id(name: str) -> str:
    s = str(name).strip().upper()
    if s.startswith("SR_"):
        s = s[3:]
    if s.startswith("B") and s[1:].lstrip("0"):
        s = "B" + s[1:].lstrip("0")
    return s


def canonical_bands(names: Sequence[str], sensor: str | None = None) -> dict[str, str]:
    """Map band names or sensor band ids to canonical names (``blue``, ``red``, ``nir`` ...).

    Parameters
    ----------
    names : sequence of str
        Band names as found in the data (``"B4"``, ``"SR_B5"``, ``"nir"``).
    sensor : {None, "gaofen", "landsat8", "landsat9", "sentinel2"}
        Preset used to translate band ids; without it names are used as they are (lowercased).

    Returns
    -------
    dict
        ``original name -> canonical name``.

    Examples
    --------
    >>> canonical_bands(["B04", "B8", "B11"], sensor="sentinel2")
    {'B04': 'red', 'B8': 'nir', 'B11': 'swir1'}
    """
    if sensor is None:
        return {n: str(n).lower() for n in names}
    key = str(sensor).lower().replace("-", "").replace("_", "")
    if key not in SENSOR_BANDS:
        raise ValueError(
            f"sensor={sensor!r} is not a preset; valid: {sorted(SENSOR_BANDS)} or None."
        )
    table = SENSOR_BANDS[key]
    return {n: table.get(_norm_id(n), str(n).lower()) for n in names}


def band_namer(sensor: str | None = None):
    """``name -> canonical name`` for one band name (:func:`canonical_bands` with ``sensor``).

    What a recipe passes to :func:`geoagb.raster.band_table` to name the bands it reads.

    Examples
    --------
    >>> band_namer("sentinel2")("B8"), band_namer()("NIR")
    ('nir', 'nir')
    """

    def name(desc: str) -> str:
        return canonical_bands([desc], sensor)[desc]

    return name


def _as_mapping(bands, sensor):
    """Return (dict canonical -> float array, wrap function back to the input's container)."""
    if isinstance(bands, pd.DataFrame):
        names = list(bands.columns)
        rename = canonical_bands(names, sensor)
        arrays = {rename[c]: bands[c].to_numpy(dtype=float) for c in names}
        index = bands.index

        def wrap(out):
            return pd.DataFrame(out, index=index)
    elif isinstance(bands, Mapping):
        rename = canonical_bands(list(bands), sensor)
        arrays = {rename[k]: np.asarray(v, dtype=float) for k, v in bands.items()}

        def wrap(out):
            return out
    else:
        raise TypeError(
            f"bands must be a dict name -> array or a DataFrame with one column per band; got "
            f"{type(bands).__name__}. For an array stack use dict(zip(names, stack))."
        )
    return arrays, wrap


def _ratio(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out = np.asarray(out, dtype=float)
    out[~np.isfinite(out)] = np.nan
    return out


def _index(name: str, b: dict[str, np.ndarray], L: float, gamma: float):
    if name == "ndvi":
        return _ratio(b["nir"] - b["red"], b["nir"] + b["red"])
    if name == "savi":
        return _ratio((1.0 + L) * (b["nir"] - b["red"]), b["nir"] + b["red"] + L)
    if name == "evi":
        return _ratio(
            2.5 * (b["nir"] - b["red"]), b["nir"] + 6.0 * b["red"] - 7.5 * b["blue"] + 1.0
        )
    if name == "arvi":
        rb = b["red"] - gamma * (b["blue"] - b["red"])
        return _ratio(b["nir"] - rb, b["nir"] + rb)
    if name == "nbr":
        return _ratio(b["nir"] - b["swir2"], b["nir"] + b["swir2"])
    if name == "ndmi":
        return _ratio(b["nir"] - b["swir1"], b["nir"] + b["swir1"])
    if name == "ndwi":
        return _ratio(b["green"] - b["nir"], b["green"] + b["nir"])
    if name == "mndvi":
        return _ratio(b["nir"] - b["red"], b["nir"] + b["red"] - 2.0 * b["blue"])
    raise AssertionError(name)  # pragma: no cover


def spectral_indices(
    bands,
    names: Sequence[str] | None = None,
    sensor: str | None = None,
    scale: float = 1.0,
    L: float = 0.5,
    gamma: float = 1.0,
):
    r"""Vegetation and water indices from reflectance bands.

    ============  ==================================================  ==========================
    name          formula                                             reference
    ============  ==================================================  ==========================
    ``ndvi``      (NIR - R) / (NIR + R)                               Rouse et al. 1974
    ``savi``      (1 + L) (NIR - R) / (NIR + R + L), L = 0.5          Huete 1988
    ``evi``       2.5 (NIR - R) / (NIR + 6 R - 7.5 B + 1)             Huete et al. 2002
    ``arvi``      (NIR - RB) / (NIR + RB), RB = R - gamma (B - R)     Kaufman & Tanre 1992
    ``nbr``       (NIR - SWIR2) / (NIR + SWIR2)                       Key & Benson 2006
    ``ndmi``      (NIR - SWIR1) / (NIR + SWIR1)                       Gao 1996; Wilson & Sader 2002
    ``ndwi``      (G - NIR) / (G + NIR)                               McFeeters 1996
    ``mndvi``     (NIR - R) / (NIR + R - 2 B)                         Sims & Gamon 2002 (mND705
                                                                      on broad bands)
    ============  ==================================================  ==========================

    B, G, R, NIR, SWIR1 (~1.6 um), SWIR2 (~2.2 um) are surface reflectances (0-1). A zero
    denominator gives NaN.

    Parameters
    ----------
    bands : dict name -> array, or DataFrame
        Reflectance bands named canonically (``blue``, ``green``, ``red``, ``nir``, ``swir1``,
        ``swir2``) or by sensor band id with ``sensor``.
    names : sequence of str, optional
        Indices to compute; default: every index whose bands are present.
    sensor : {None, "gaofen", "landsat8", "landsat9", "sentinel2"}
        Band-id preset, see :data:`SENSOR_BANDS` (GaoFen-2/7 PMS: B1-B4 = blue, green, red,
        NIR; Landsat 8/9 OLI: B2-B7; Sentinel-2 MSI: B2, B3, B4, B8, B11, B12).
    scale : float, default 1
        Multiplier applied to every band first (e.g. 1e-4 for scaled integer reflectance).
    L : float, default 0.5
        SAVI soil-brightness factor.
    gamma : float, default 1
        ARVI atmospheric self-correction weight.

    Returns
    -------
    dict name -> ndarray, or DataFrame (same index as ``bands``)

    References
    ----------
    Rouse, J. W., Haas, R. H., Schell, J. A. and Deering, D. W. (1974). Monitoring vegetation
    systems in the Great Plains with ERTS. Third ERTS-1 Symposium, NASA SP-351, 309-317.
    Huete, A. R. (1988). A soil-adjusted vegetation index (SAVI). Remote Sensing of Environment
    25, 295-309. Huete, A. et al. (2002). Overview of the radiometric and biophysical performance
    of the MODIS vegetation indices. Remote Sensing of Environment 83, 195-213. Kaufman, Y. J.
    and Tanre, D. (1992). Atmospherically resistant vegetation index (ARVI) for EOS-MODIS. IEEE
    Transactions on Geoscience and Remote Sensing 30, 261-270. Key, C. H. and Benson, N. C.
    (2006). Landscape assessment (LA). FIREMON, USDA Forest Service RMRS-GTR-164-CD. Gao, B.-C.
    (1996). NDWI: a normalized difference water index for remote sensing of vegetation liquid
    water from space. Remote Sensing of Environment 58, 257-266. Wilson, E. H. and Sader, S. A.
    (2002). Detection of forest harvest type using multiple dates of Landsat TM imagery. Remote
    Sensing of Environment 80, 385-396. McFeeters, S. K. (1996). The use of the Normalized
    Difference Water Index (NDWI) in the delineation of open water features. International
    Journal of Remote Sensing 17, 1425-1432. Sims, D. A. and Gamon, J. A. (2002). Relationships
    between leaf pigment content and spectral reflectance across a wide range of species, leaf
    structures and developmental stages. Remote Sensing of Environment 81, 337-354.

    Examples
    --------
    >>> out = spectral_indices({"red": 0.05, "nir": 0.35}, names=["ndvi", "savi"])
    >>> round(float(out["ndvi"]), 4), round(float(out["savi"]), 4)
    (0.75, 0.5)
    >>> spectral_indices({"B4": [0.1], "B8": [0.3]}, names=["ndvi"], sensor="sentinel2")["ndvi"]
    array([0.5])
    """
    arrays, wrap = _as_mapping(bands, sensor)
    if scale != 1.0:
        arrays = {k: v * scale for k, v in arrays.items()}
    if names is None:
        names = [n for n, need in INDEX_BANDS.items() if all(b in arrays for b in need)]
    out = {}
    for name in names:
        key = str(name).lower()
        if key not in INDEX_BANDS:
            raise ValueError(f"unknown index {name!r}; valid: {list(INDEX_BANDS)}.")
        missing = [b for b in INDEX_BANDS[key] if b not in arrays]
        if missing:
            raise ValueError(
                f"index {key!r} needs bands {list(INDEX_BANDS[key])} but {missing} are missing "
                f"(bands given: {sorted(arrays)}); name the bands canonically or pass sensor= "
                f"one of {sorted(SENSOR_BANDS)}."
            )
        out[key] = _index(key, arrays, L, gamma)
    return wrap(out)


def band_ratios(bands, pairs: Sequence[tuple[str, str]] | None = None, sensor: str | None = None):
    """Simple band ratios ``a / b`` named ``ratio_<a>_<b>``.

    Parameters
    ----------
    bands : dict name -> array, or DataFrame
    pairs : sequence of (numerator, denominator), optional
        Default: every unordered pair of bands, numerator first in band order.
    sensor : str, optional
        Band-id preset as in :func:`spectral_indices`; names in ``pairs`` are then canonical.

    Returns
    -------
    dict or DataFrame
        A zero denominator gives NaN.

    Examples
    --------
    >>> band_ratios({"red": [0.1], "nir": [0.4]})
    {'ratio_red_nir': array([0.25])}
    """
    arrays, wrap = _as_mapping(bands, sensor)
    if pairs is None:
        pairs = list(combinations(list(arrays), 2))
    out = {}
    for a, b in pairs:
        missing = [n for n in (a, b) if n not in arrays]
        if missing:
            raise ValueError(f"band(s) {missing} not found; available: {list(arrays)}.")
        out[f"ratio_{a}_{b}"] = _ratio(arrays[a], arrays[b])
    return wrap(out)


def pc1(bands, standardize: bool = False, model=None, return_model: bool = False):
    """First principal component of a band stack (scikit-learn PCA), e.g. to compute texture on.

    Pixels with a NaN in any band are left out of the fit and get NaN. The sign is fixed so that
    the loadings sum to a positive number (PC1 then grows with overall brightness).

    Parameters
    ----------
    bands : dict name -> array, DataFrame, or array of shape (n_bands, ...)
    standardize : bool, default False
        Scale bands to unit variance before the PCA (correlation-matrix PCA).
    model : fitted sklearn estimator, optional
        A model returned by an earlier call with ``return_model=True``; it is applied instead of
        fitting, so that tiles of one scene share one projection.
    return_model : bool, default False
        Also return the fitted model (a Pipeline ending in PCA).

    Returns
    -------
    pc1 : ndarray (the shape of one band) or Series for a DataFrame
    model : sklearn Pipeline, only with ``return_model=True``

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = rng.normal(size=1000)
    >>> score = pc1({"a": t, "b": 2 * t})
    >>> bool(abs(np.corrcoef(score, t)[0, 1]) > 0.999)
    True
    """
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    index = None
    if isinstance(bands, pd.DataFrame):
        index = bands.index
        stack = bands.to_numpy(dtype=float).T
    elif isinstance(bands, Mapping):
        stack = np.stack([np.asarray(v, dtype=float) for v in bands.values()])
    else:
        stack = np.asarray(bands, dtype=float)
    shape = stack.shape[1:]
    flat = stack.reshape(stack.shape[0], -1).T
    ok = np.all(np.isfinite(flat), axis=1)
    if model is None:
        if ok.sum() < 2:
            raise ValueError("pc1 needs at least two pixels without NaN to fit the PCA.")
        steps = ([StandardScaler()] if standardize else []) + [PCA(n_components=1)]
        model = make_pipeline(*steps).fit(flat[ok])
        pca = model[-1]
        if pca.components_[0].sum() < 0:
            pca.components_ = -pca.components_
    out = np.full(flat.shape[0], np.nan)
    if ok.any():
        out[ok] = model.transform(flat[ok])[:, 0]
    out = out.reshape(shape)
    if index is not None:
        out = pd.Series(out, index=index, name="pc1")
    return (out, model) if return_model else out
