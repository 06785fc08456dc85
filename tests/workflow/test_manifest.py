"""validate_manifest: a minimal valid manifest passes; each kind of wrong field is one exact line."""

from __future__ import annotations

import pytest

from geoagb.workflow._manifest import MANIFEST_FIX, validate_manifest


def test_minimal_manifest_is_valid_and_returned_unchanged(manifest):
    before = repr(manifest)
    assert validate_manifest(manifest, "m.geoagb") is manifest
    assert repr(manifest) == before
    # optional parts: absent, null, or complete
    manifest["kriging"] = None
    manifest["block_size"]["variogram"] = None
    validate_manifest(manifest)
    manifest["model_columns"] = ["x", "y", "ndvi", "elevation"]  # a coordinate-aware model
    validate_manifest(manifest)


def _set(m, dotted, value):
    *parents, last = dotted.split(".")
    for p in parents:
        m = m[p]
    if value is _DELETE:
        del m[last]
    else:
        m[last] = value


_DELETE = object()

CASES = [
    ("target", _DELETE, "manifest.json lacks field target (a non-empty string)"),
    (
        "cv.spatial",
        _DELETE,
        "manifest.json lacks field cv.spatial (a JSON object of numbers or null)",
    ),
    (
        "format",
        "1",
        "manifest field format is '1' (text), expected a whole number >= 1",
    ),
    (
        "cv.n_splits",
        1,
        "manifest field cv.n_splits is 1 (a whole number), expected a whole number >= 2 (the "
        "number of CV folds)",
    ),
    (
        "block_size.used_m",
        0,
        "manifest field block_size.used_m is 0 (a whole number), expected a number > 0",
    ),
    (
        "map_resolution_m",
        float("nan"),
        "manifest field map_resolution_m is nan (a number), expected a number > 0",
    ),
    (
        "block_size.given",
        1,
        "manifest field block_size.given is 1 (a whole number), expected true or false",
    ),
    (
        "input_hash",
        "ABC",
        "manifest field input_hash is 'ABC' (text), expected a SHA-256 hash (64 lower-case "
        "hexadecimal characters)",
    ),
    (
        "crs_wkt",
        "EPSG:99999999",
        "manifest field crs_wkt is 'EPSG:99999999' (text), expected a CRS as WKT text that pyproj "
        "reads",
    ),
    (
        "feature_names",
        ["ndvi", "ndvi"],
        "manifest field feature_names is ['ndvi', 'ndvi'] (a list), expected a non-empty list of "
        "non-empty strings without repeats",
    ),
    (
        "feature_names",
        ["ndvi", 3],
        "manifest field feature_names[1] is 3 (a whole number), expected a non-empty string",
    ),
    (
        "rasters.sources",
        {"image": "image.tif", "dem": ""},
        "manifest field rasters.sources.dem is '' (text), expected a non-empty string",
    ),
    (
        "cv.random.validation_r2_mean",
        "0.5",
        "manifest field cv.random.validation_r2_mean is '0.5' (text), expected a number or null",
    ),
    (
        "recipe",
        {"bands": ["red"], "colour": 1},
        "manifest field recipe is {'bands': ['red'], 'colour': 1} (an object), expected a JSON "
        "object of feature recipe keys (bands, indices, textures, terrain, extra, sensor, "
        "terrain_options), not 'colour'",
    ),
    (
        "model_columns",
        ["ndvi", "slope"],
        "manifest field model_columns is ['ndvi', 'slope'] (a list), expected the feature_names "
        "(after x, y for a model that reads coordinates), but 'slope' is not a feature",
    ),
    (
        "model_columns",
        ["x", "y", "ndvi"],
        "manifest field model_columns is ['x', 'y', 'ndvi'] (a list), expected the feature_names "
        "(after x, y for a model that reads coordinates), but feature 'elevation' is missing",
    ),
    (
        "plots.n_read",
        31,
        "manifest field plots.n_read is 31 (a whole number), expected at least plots.n_used + "
        "plots.n_dropped = 32",
    ),
    (
        "qc.threshold",
        None,
        "manifest field qc.threshold is None, expected a number (qc.rule is 'mad')",
    ),
    (
        "kriging",
        {"method": "ordinary", "shrinkage": 1.0},
        "manifest.json lacks field kriging.correction (a non-empty string)",
    ),
]


@pytest.mark.parametrize(
    "field,value,message", CASES, ids=[f"{f}-{i}" for i, (f, _, _) in enumerate(CASES)]
)
def test_each_wrong_field_is_one_exact_line(manifest, field, value, message):
    _set(manifest, field, value)
    with pytest.raises(ValueError) as err:
        validate_manifest(manifest, "m.geoagb")
    assert str(err.value) == f"m.geoagb: {message}; {MANIFEST_FIX}."


def test_variogram_bins_must_align(manifest):
    manifest["block_size"]["variogram"] = {
        "model": "spherical",
        "nugget": 10.0,
        "psill": 90.0,
        "range": 800.0,
        "kappa": 0.5,
        "sill": 100.0,
        "effective_range": 800.0,
        "max_lag": 1500.0,
        "lags": [100.0, 300.0, 500.0],
        "gamma": [20.0, 60.0, 95.0],
        "n_pairs": [40, 80],
    }
    with pytest.raises(ValueError) as err:
        validate_manifest(manifest)
    assert str(err.value) == (
        "manifest field block_size.variogram.n_pairs is [40, 80] (a list), expected a list of 3 "
        f"values, one per lag; {MANIFEST_FIX}."
    )
    manifest["block_size"]["variogram"]["n_pairs"] = [40, 80, 120]
    validate_manifest(manifest)


def test_a_manifest_that_is_not_an_object():
    with pytest.raises(ValueError) as err:
        validate_manifest([1, 2])
    assert str(err.value) == (
        "bundle: manifest.json holds [1, 2] (a list), expected a JSON object of the model's "
        f"fields; {MANIFEST_FIX}."
    )
