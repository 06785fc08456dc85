import numpy as np
import pandas as pd
import pytest

from geoagb.features import band_ratios, pc1, spectral_indices
from geoagb.features._indices import canonical_bands

B = {"blue": 0.04, "green": 0.07, "red": 0.05, "nir": 0.35, "swir1": 0.15, "swir2": 0.08}


def test_indices_against_hand_computation():
    out = spectral_indices({k: np.array([v]) for k, v in B.items()})
    hand = {
        "ndvi": (0.35 - 0.05) / 0.40,
        "savi": 1.5 * 0.30 / (0.40 + 0.5),
        "evi": 2.5 * 0.30 / (0.35 + 0.30 - 0.30 + 1.0),
        "arvi": (0.35 - 0.06) / (0.35 + 0.06),  # RB = 2 * 0.05 - 0.04
        "nbr": (0.35 - 0.08) / 0.43,
        "ndmi": (0.35 - 0.15) / 0.50,
        "ndwi": (0.07 - 0.35) / 0.42,
        "mndvi": 0.30 / (0.40 - 0.08),
    }
    assert set(out) == set(hand)
    for k, v in hand.items():
        assert out[k][0] == pytest.approx(v, rel=1e-12), k


def test_only_computable_indices_by_default_and_dataframe_roundtrip():
    df = pd.DataFrame({"red": [0.1, 0.2], "nir": [0.3, 0.2]}, index=[10, 11])
    out = spectral_indices(df)
    assert isinstance(out, pd.DataFrame) and list(out.index) == [10, 11]
    assert list(out.columns) == ["ndvi", "savi"]
    np.testing.assert_allclose(out["ndvi"], [0.5, 0.0])


def test_sensor_presets_map_band_ids():
    assert canonical_bands(["B2", "B3", "B4", "B5", "B6", "B7"], "landsat8") == dict(
        zip(["B2", "B3", "B4", "B5", "B6", "B7"], ["blue", "green", "red", "nir", "swir1", "swir2"])
    )
    assert canonical_bands(["SR_B5"], "landsat9") == {"SR_B5": "nir"}
    assert canonical_bands(["B1", "B4"], "gaofen") == {"B1": "blue", "B4": "nir"}
    s2 = canonical_bands(["B04", "B08", "B8A", "B12"], "sentinel2")
    assert s2 == {"B04": "red", "B08": "nir", "B8A": "nir_narrow", "B12": "swir2"}
    ls = spectral_indices({"B4": [0.05], "B5": [0.35]}, names=["ndvi"], sensor="landsat8")
    assert ls["ndvi"][0] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="not a preset"):
        canonical_bands(["B1"], "modis")


def test_errors_name_the_problem_and_zero_denominator_is_nan():
    with pytest.raises(ValueError, match=r"needs bands \['blue', 'red', 'nir'\]"):
        spectral_indices({"red": [0.1], "nir": [0.2]}, names=["evi"])
    with pytest.raises(ValueError, match="unknown index"):
        spectral_indices({"red": [0.1], "nir": [0.2]}, names=["foo"])
    out = spectral_indices({"red": [0.0, 0.1], "nir": [0.0, 0.1]}, names=["ndvi"])
    assert np.isnan(out["ndvi"][0]) and out["ndvi"][1] == 0.0
    scaled = spectral_indices({"red": [500.0], "nir": [3500.0]}, names=["savi"], scale=1e-4)
    assert scaled["savi"][0] == pytest.approx(1.5 * 0.3 / 0.9)


def test_band_ratios_all_pairs_and_given_pairs():
    out = band_ratios({"a": [1.0], "b": [2.0], "c": [4.0]})
    assert list(out) == ["ratio_a_b", "ratio_a_c", "ratio_b_c"]
    assert [v[0] for v in out.values()] == [0.5, 0.25, 0.5]
    assert band_ratios({"a": [1.0], "b": [0.0]}, pairs=[("a", "b")])["ratio_a_b"][0] != np.inf
    with pytest.raises(ValueError, match="not found"):
        band_ratios({"a": [1.0]}, pairs=[("a", "z")])


def test_pc1_matches_svd_and_reuses_a_model():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(30, 20))
    stack = np.stack(
        [t + 0.1 * rng.normal(size=t.shape), 2 * t, -0.5 * t + rng.normal(size=t.shape)]
    )
    score, model = pc1(stack, return_model=True)
    X = stack.reshape(3, -1).T
    Xc = X - X.mean(0)
    _, _, vt = np.linalg.svd(Xc, full_matrices=False)
    v = vt[0] * np.sign(vt[0].sum())
    np.testing.assert_allclose(score.ravel(), Xc @ v, atol=1e-10)
    assert score.shape == t.shape
    # a NaN pixel stays NaN; the fitted model applied to a subset gives the same numbers
    stack2 = stack[:, :5, :5].copy()
    stack2[1, 2, 2] = np.nan
    sub = pc1(stack2, model=model)
    assert np.isnan(sub[2, 2])
    ok = np.isfinite(sub)
    np.testing.assert_allclose(sub[ok], score[:5, :5][ok], atol=1e-12)
