"""Feature groups, importance and interaction ranking against hand computations."""

import numpy as np
import pandas as pd
import pytest

from geoagb.explain import feature_groups, importance, interaction_strength, top_interactions


def test_auto_rule():
    names = [
        "blue",
        "NIR",
        "swir1",
        "B4",
        "ndvi",
        "arvi",
        "pc1",
        "red_nir_ratio",
        "glcm_contrast_nir",
        "nir_glcm_mean",
        "elevation",
        "slope_deg",
        "TWI",
        "hli",
        "height_mean",
        "crown_cover",
        "spatial_residual",
        "soil_ph",
    ]
    g = feature_groups(names)
    assert [g[n] for n in names] == (
        ["spectral"] * 8
        + ["texture"] * 2
        + ["terrain"] * 4
        + ["structure"] * 2
        + ["spatial", "other"]
    )


def test_dict_groups_and_errors():
    g = feature_groups(["a", "b", "c"], {"one": ["a", "b"]})
    assert g == {"a": "one", "b": "one", "c": "other"}
    with pytest.raises(ValueError, match="not a feature"):
        feature_groups(["a"], {"g": ["z"]})
    with pytest.raises(ValueError, match="two groups"):
        feature_groups(["a", "b"], {"g": ["a"], "h": ["a"]})
    with pytest.raises(ValueError, match="'auto'"):
        feature_groups(["a"], "magic")


def test_importance_by_hand():
    v = np.array([[1.0, -2.0, 0.5], [-3.0, 0.0, 0.5]])
    imp = importance(v, ["ndvi", "elevation", "nir"])
    assert imp.to_dict() == {"ndvi": 2.0, "elevation": 1.0, "nir": 0.5}
    grouped = importance(v, ["ndvi", "elevation", "nir"], groups="auto")
    assert grouped.to_dict() == {"spectral": 2.5, "terrain": 1.0}
    custom = importance(v, ["ndvi", "elevation", "nir"], groups={"veg": ["ndvi"]})
    assert custom.to_dict() == {"veg": 2.0, "other": 1.5}


def test_interaction_strength_and_ranking():
    rng = np.random.default_rng(0)
    n, names = 50, ["ndvi", "nir", "elevation", "slope"]
    phi = rng.normal(size=(n, 4, 4))
    phi = (phi + phi.transpose(0, 2, 1)) / 2
    m = interaction_strength(phi)
    assert m[0, 2] == pytest.approx(np.abs(2 * phi[:, 0, 2]).mean())
    assert m[1, 1] == pytest.approx(np.abs(phi[:, 1, 1]).mean())
    top = top_interactions(phi, names, k=None, between=("spectral", "terrain"))
    assert (
        len(top) == 4 and set(top["group_a"]) == {"spectral"} and set(top["group_b"]) == {"terrain"}
    )
    expected = sorted(((m[i, j], names[i], names[j]) for i in (0, 1) for j in (2, 3)), reverse=True)
    assert list(zip(top["feature_a"], top["feature_b"])) == [(a, b) for _, a, b in expected]
    np.testing.assert_allclose(top["mean_abs_interaction"], [e[0] for e in expected])
    assert top["rank"].tolist() == [1, 2, 3, 4]
    every = top_interactions(phi, names, k=2)
    assert len(every) == 2 and every["mean_abs_interaction"].iloc[0] == pytest.approx(
        max(m[i, j] for i in range(4) for j in range(i + 1, 4))
    )
    with pytest.raises(ValueError, match="neither a group"):
        top_interactions(phi, names, between=("spectral", "texture"))
    assert isinstance(top, pd.DataFrame)
