"""Feature recipes: flags and TOML files into RasterFeatures keyword arguments, and back."""

from __future__ import annotations

import pytest

from geoagb.workflow._recipe import (
    RECIPE_KEYS,
    load_config,
    make_recipe,
    parse_textures,
    recipe_to_toml,
)

BANDS = ["blue", "green", "red", "nir"]


def test_make_recipe_defaults_to_every_band_and_ndvi():
    assert make_recipe(BANDS) == {"bands": BANDS, "indices": ["ndvi"]}
    # no red/nir pair: no index to compute
    assert make_recipe(["b1", "b2"]) == {"bands": ["b1", "b2"], "indices": []}
    # case does not matter for the red/nir test
    assert make_recipe(["RED", "NIR"])["indices"] == ["ndvi"]


def test_make_recipe_flags_win_over_the_config():
    config = {"bands": ["red"], "indices": ["savi"], "terrain": ["slope"]}
    out = make_recipe(
        BANDS, config, bands="all", indices="ndvi, evi", terrain="elevation,twi", textures="nir:9"
    )
    assert out == {
        "bands": BANDS,
        "indices": ["ndvi", "evi"],
        "textures": [{"band": "nir", "window": 9}],
        "terrain": ["elevation", "twi"],
    }
    assert list(out) == [k for k in RECIPE_KEYS if k in out]  # keys in RECIPE_KEYS order
    # the config alone is kept as it is (indices not forced)
    assert make_recipe(BANDS, {"terrain": ["slope"]}) == {"terrain": ["slope"], "indices": []}


def test_parse_textures_and_its_error():
    assert parse_textures("nir:5, red ,") == [
        {"band": "nir", "window": 5},
        {"band": "red", "window": 7},
    ]
    assert parse_textures("") is None and parse_textures(",") is None
    with pytest.raises(ValueError) as err:
        parse_textures("nir:seven")
    assert str(err.value) == (
        "textures='nir:seven': write BAND[:WINDOW], e.g. nir:7 (an odd window in pixels)."
    )


RECIPE = {
    "bands": ["red", "nir"],
    "indices": ["ndvi", "savi"],
    "textures": [
        {"band": "nir", "window": 7, "features": ["mean", "contrast"]},
        {"band": "red", "window": 5, "levels": 32, "symmetric": True},
    ],
    "terrain": ["elevation", "slope"],
    "extra": {"height_mean": ["chm", 1], "height_p95": ["chm", 1, "p95"]},
    "sensor": "sentinel2",
    "terrain_options": {"latitude": 27.5, "twi_flow": "d8"},
}


def test_recipe_to_toml_round_trips_through_load_config(tmp_path):
    path = tmp_path / "recipe.toml"
    path.write_text(recipe_to_toml(RECIPE))
    assert load_config(path) == RECIPE
    # tuples are written as lists (the bundle stores JSON)
    path.write_text(recipe_to_toml({"extra": {"crown_cover": ("crown", 1)}}))
    assert load_config(path) == {"extra": {"crown_cover": ["crown", 1]}}


def test_recipe_to_toml_text():
    text = recipe_to_toml({"indices": ["ndvi"], "textures": [{"band": "nir", "window": 7}]})
    assert text == 'indices = ["ndvi"]\n\n[[textures]]\nband = "nir"\nwindow = 7\n'
    with pytest.raises(TypeError, match="cannot write NoneType to TOML"):
        recipe_to_toml({"extra": {"a": None}})


def test_load_config_accepts_a_features_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[features]\nbands = ["red", "nir"]\nindices = ["ndvi"]\n')
    assert load_config(path) == {"bands": ["red", "nir"], "indices": ["ndvi"]}


def test_load_config_errors_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_config(tmp_path / "none.toml")
    assert str(err.value) == f"config file {str(tmp_path / 'none.toml')!r} does not exist."
    bad = tmp_path / "bad.toml"
    bad.write_text('bands = ["red"]\nindexes = ["ndvi"]\ncolour = 1\n')
    with pytest.raises(ValueError) as err:
        load_config(bad)
    assert str(err.value) == (
        "config file bad.toml: unknown key(s) ['colour', 'indexes']; valid keys are "
        "bands, indices, textures, terrain, extra, sensor, terrain_options."
    )
    bad.write_text("bands = [red]\n")
    with pytest.raises(ValueError, match=r"^config file bad.toml: .*; see `geoagb fit --help`"):
        load_config(bad)
