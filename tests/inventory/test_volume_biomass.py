"""Worked examples of the Shenzhen urban-carbon study's field-data chain, computed by hand from
Tables A1-A3."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from geoagb.inventory import (
    bef_biomass,
    carbon_content,
    grass_biomass,
    normalize_to_year,
    plot_density,
    shrub_biomass,
    tree_volume,
)

# Three Chinese fir trees (D cm, H m) on a 0.0667 ha NFI plot.
FIR = [(18.0, 14.0), (22.0, 16.0), (26.0, 18.0)]
# V = 6.97483e-5 D^1.81583 H^0.99610 (Table A1)
FIR_V = [0.183888, 0.302391, 0.460534]
FIR_M = 0.946813 / 0.0667  # 14.195 m3/ha
FIR_B = 0.4652 * FIR_M + 19.141  # BEF = 0.4652 + 19.141 / M (Table A2); B = BEF M = 25.745 Mg/ha
FIR_C = FIR_B * 0.5127  # Table A3: 13.199 MgC/ha


def test_worked_example_full_chain():
    d, h = np.array(FIR).T
    v = tree_volume(d, h, "cunninghamia_lanceolata")
    np.testing.assert_allclose(v, FIR_V, atol=5e-7)
    trees = pd.DataFrame({"plot_id": 7, "volume": v})
    m = plot_density(trees, 667.0, column="volume")
    assert m == pytest.approx(FIR_M, rel=1e-6)
    b, bef = bef_biomass(m, "cunninghamia_lanceolata", return_bef=True)
    assert b == pytest.approx(FIR_B, rel=1e-6)
    assert b == pytest.approx(25.7446, abs=1e-4)
    assert bef == pytest.approx(0.4652 + 19.141 / FIR_M, rel=1e-6)
    c = carbon_content(b, "cunninghamia_lanceolata")
    assert c == pytest.approx(FIR_C, rel=1e-6)
    assert c == pytest.approx(13.1992, abs=1e-4)
    # measured in 2014, carried to the 2016 image year at 3 %/yr
    assert normalize_to_year(c, 2014, 2016, 0.03) == pytest.approx(c * 1.0609, rel=1e-12)


def test_tree_volume_eucalyptus_by_hand():
    expected = 8.71419e-5 * math.pow(20.0, 1.94801) * math.pow(15.0, 0.74929)
    assert tree_volume(20.0, 15.0, "Eucalyptus") == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.226924, abs=1e-6)


def test_tree_volume_per_tree_species_and_own_coefficients():
    v = tree_volume([20.0, 20.0], [15.0, 15.0], ["eucalyptus", "hardwood"])
    assert v[1] == pytest.approx(6.01228e-5 * 20**1.87550 * 15**0.98496, rel=1e-12)
    assert v[0] == pytest.approx(tree_volume(20.0, 15.0, "eucalyptus"), rel=1e-15)
    own = tree_volume(10.0, 10.0, coefficients={"a": 1e-4, "b": 2.0, "c": 1.0})
    assert own == pytest.approx(0.1, rel=1e-12)


@pytest.mark.parametrize(
    "dbh, height, match",
    [
        (-5.0, 10.0, r"dbh_cm must be > 0; got \[-5.0\]"),
        (0.0, 10.0, "dbh_cm must be > 0"),
        (10.0, 0.0, "height_m must be > 0"),
        (float("nan"), 10.0, "NaN or infinite"),
    ],
)
def test_tree_volume_bad_measurements(dbh, height, match):
    with pytest.raises(ValueError, match=match):
        tree_volume(dbh, height, "hardwood")


def test_tree_volume_argument_errors():
    with pytest.raises(ValueError, match="exactly one of species"):
        tree_volume(10.0, 10.0)
    with pytest.raises(ValueError, match="exactly one of species"):
        tree_volume(10.0, 10.0, "hardwood", coefficients=(1e-4, 2, 1))
    with pytest.raises(ValueError, match="2 species for 3 tree"):
        tree_volume([10, 12, 14], 10.0, ["hardwood", "eucalyptus"])
    with pytest.raises(ValueError, match="same length"):
        tree_volume([10, 12, 14], [10.0, 11.0])
    with pytest.raises(ValueError, match=r"unknown species \['teak'\].*valid species keys"):
        tree_volume(10.0, 10.0, "teak")
    with pytest.raises(ValueError, match="a > 0"):
        tree_volume(10.0, 10.0, coefficients=(-1e-4, 2, 1))


def test_bef_biomass_is_linear_in_stand_volume():
    m = np.array([0.0, 50.0, 200.0])
    b = bef_biomass(m, "pinus_massoniana")
    np.testing.assert_allclose(b, [0.0, 0.5034 * 50 + 20.547, 0.5034 * 200 + 20.547], rtol=1e-12)
    per_plot = bef_biomass([100.0, 100.0], ["eucalyptus", "betula"])
    np.testing.assert_allclose(per_plot, [0.6096 * 100 + 33.806, 1.0687 * 100 + 10.237], rtol=1e-12)


def test_bef_biomass_warns_on_single_tree_volumes_and_rejects_negatives():
    with pytest.warns(UserWarning, match="look like single-tree volumes"):
        bef_biomass([0.2, 0.3], "pinus_massoniana")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bef_biomass([0.5, 120.0], "pinus_massoniana")  # a realistic stand volume: no warning
    with pytest.raises(ValueError, match="volume_m3_ha must be >= 0"):
        bef_biomass(-3.0, "pinus_massoniana")
    with pytest.raises(ValueError, match="unknown species.*valid species keys"):
        bef_biomass(100.0, "pinus_elliottii")  # in Table A1 and A3 but not A2
    with pytest.raises(ValueError, match="exactly one of forest_type"):
        bef_biomass(100.0)


def test_carbon_content():
    assert carbon_content(100.0, "herbal") == pytest.approx(32.70, rel=1e-12)
    np.testing.assert_allclose(carbon_content([10.0, 10.0], ["bush", "eucalyptus"]), [4.672, 4.748])
    assert carbon_content(80.0, ratio=0.47) == pytest.approx(37.6)
    with pytest.raises(ValueError, match=r"ratio .* must lie in \(0, 1\]"):
        carbon_content(80.0, ratio=47)
    with pytest.raises(ValueError, match="biomass must be >= 0"):
        carbon_content(-1.0, ratio=0.5)
    with pytest.raises(ValueError, match="exactly one of species"):
        carbon_content(1.0)


def test_shrub_and_grass_equations():
    assert shrub_biomass(1.0) == pytest.approx(0.0398)
    assert shrub_biomass(3.0) == pytest.approx(0.0398 * 3.0**0.3326, rel=1e-12)
    np.testing.assert_allclose(grass_biomass([0.0, 1.0, 0.4]), [0.0, 0.0175, 0.0175 * 0.4**0.2888])
    with pytest.raises(ValueError, match="height_m must be >= 0"):
        shrub_biomass(-0.5)
    with pytest.raises(ValueError, match="height_m must be >= 0"):
        grass_biomass([0.2, -0.1])


def test_normalize_to_year():
    out = normalize_to_year([20.0, 20.0, 20.0], [2014, 2016, 2018], 2016, [0.05, 0.05, 0.05])
    np.testing.assert_allclose(out, [20 * 1.05**2, 20.0, 20 / 1.05**2], rtol=1e-12)
    with pytest.raises(ValueError, match="fraction"):
        normalize_to_year(20.0, 2014, 2016, 5.0)
    with pytest.raises(ValueError, match="must be > -1"):
        normalize_to_year(20.0, 2014, 2016, -1.0)
    with pytest.raises(ValueError, match="whole years"):
        normalize_to_year(20.0, 2014.5, 2016, 0.03)
    with pytest.raises(ValueError, match="one year"):
        normalize_to_year(20.0, 2014, [2016, 2017], 0.03)
    with pytest.raises(ValueError, match="one entry per plot"):
        normalize_to_year([1.0, 2.0, 3.0], [2014, 2015], 2016, 0.03)


def test_plot_density_per_plot_with_empty_plot():
    trees = pd.DataFrame({"plot": ["a", "a", "b"], "biomass": [300.0, 500.0, 100.0]})  # kg
    out = plot_density(trees, {"a": 400.0, "b": 500.0, "c": 667.0}, by="plot", unit_factor=0.001)
    # a: 0.8 Mg / 0.04 ha = 20; b: 0.1 Mg / 0.05 ha = 2; c: no trees
    np.testing.assert_allclose(out.loc[["a", "b", "c"]].to_numpy(), [20.0, 2.0, 0.0])
    same_area = plot_density(trees, 400.0, by="plot", unit_factor=0.001)
    np.testing.assert_allclose(same_area.to_numpy(), [20.0, 2.5])


def test_plot_density_errors():
    trees = pd.DataFrame({"plot": [1, 2], "biomass": [1.0, 2.0]})
    with pytest.raises(ValueError, match="column 'volume' not in the tree table"):
        plot_density(trees, 400.0, column="volume")
    with pytest.raises(ValueError, match=r"no area for plot\(s\) \[2\]"):
        plot_density(trees, {1: 400.0}, by="plot")
    with pytest.raises(ValueError, match="plot_area_m2 must be > 0"):
        plot_density(trees, 0.0)
    with pytest.raises(ValueError, match="unit_factor"):
        plot_density(trees, 400.0, unit_factor=-1)
    with pytest.raises(ValueError, match="by= needs a tree DataFrame"):
        plot_density([1.0, 2.0], 400.0, by="plot")
