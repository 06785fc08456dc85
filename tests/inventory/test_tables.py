"""The shipped coefficient tables match the Shenzhen urban-carbon study's appendix Tables A1-A3."""

import numpy as np
import pandas as pd
import pytest

from geoagb.inventory import species_table
from geoagb.inventory._tables import lookup_coefficients


def test_table_sizes_and_citations():
    vol, bef, car = species_table("volume"), species_table("bef"), species_table("carbon")
    assert (len(vol), len(bef), len(car)) == (8, 20, 24)
    for t, name in ((vol, "A1"), (bef, "A2"), (car, "A3")):
        assert t["key"].is_unique
        assert (t["table"] == f"Shenzhen 2026 Table {name}").all()


@pytest.mark.parametrize(
    "kind, key, expected",
    [
        # values typed from the seed text, not read from the CSV
        ("volume", "eucalyptus", (8.71419e-5, 1.94801, 0.74929)),
        ("volume", "hardwood", (6.01228e-5, 1.87550, 0.98496)),
        ("volume", "acacia_mangium", (7.32715e-5, 1.65483, 1.08069)),
        ("bef", "pinus_massoniana", (0.5034, 20.547)),
        ("bef", "tropical_forest", (0.7975, 0.4204)),
        ("bef", "picea_abies", (0.5519, 48.861)),
        ("carbon", "herbal", (0.3270,)),
        ("carbon", "pinus_elliottii", (0.5311,)),
        ("carbon", "bush", (0.4672,)),
    ],
)
def test_transcribed_values(kind, key, expected):
    np.testing.assert_array_equal(lookup_coefficients(kind, key), expected)


def test_carbon_ratios_are_fractions_and_bef_fits_are_plausible():
    assert species_table("carbon")["ratio"].between(0.3, 0.6).all()
    bef = species_table("bef")
    assert bef["r2"].between(0.7, 1.0).all() and (bef["n"] >= 4).all()
    # BEF at a typical stand volume of 100 m3/ha lies between 0.4 and 1.6 Mg/m3
    assert (bef["a"] + bef["b"] / 100.0).between(0.4, 1.6).all()


def test_lookup_by_printed_name_is_case_insensitive_and_vectorised():
    by_key = lookup_coefficients("carbon", "pinus_massoniana")
    by_name = lookup_coefficients("carbon", "PINUS MASSONIANA LAMB.")
    np.testing.assert_array_equal(by_key, by_name)
    many = lookup_coefficients("volume", ["hardwood", "eucalyptus", "hardwood"])
    assert many.shape == (3, 3)
    np.testing.assert_array_equal(many[0], many[2])


def test_unknown_species_lists_valid_keys():
    with pytest.raises(
        ValueError, match="unknown species.*'oak'.*valid species keys.*cunninghamia_lanceolata"
    ):
        lookup_coefficients("volume", "oak")


def test_unknown_table_kind():
    with pytest.raises(ValueError, match="choose one of"):
        species_table("roots")


def test_user_table_replaces_shipped_one(tmp_path):
    user = pd.DataFrame({"species": ["Teak"], "a": [5e-5], "b": [2.0], "c": [1.0]})
    np.testing.assert_array_equal(lookup_coefficients("volume", "teak", user), [5e-5, 2.0, 1.0])
    user.to_csv(tmp_path / "t.csv", index=False)
    np.testing.assert_array_equal(
        lookup_coefficients("volume", "Teak", tmp_path / "t.csv"), [5e-5, 2.0, 1.0]
    )
    with pytest.raises(ValueError, match=r"missing \['c'\]"):
        lookup_coefficients("volume", "teak", user.drop(columns="c"))
    with pytest.raises(ValueError, match="more than once"):
        lookup_coefficients("volume", "teak", pd.concat([user, user]))
