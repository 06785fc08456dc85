"""Integrated-gradients attributions per band and per branch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoagb.deep import PatchSet  # noqa: E402
from geoagb.deep._attribution import integrated_gradients  # noqa: E402

from .conftest import make  # noqa: E402


@pytest.fixture(scope="module")
def csmf(patches):
    X, y = patches
    return make("CSMFNetRegressor", max_epochs=5, lr=3e-3).fit(X, y)


def test_completeness(csmf, patches):
    """Attributions add up to prediction minus baseline prediction (Mg/ha)."""
    X, _ = patches
    ex = csmf._explain_patches(X[:6], n_steps=64)
    gap = ex["prediction"] - ex["baseline_prediction"]
    total = ex["band_attributions"].to_numpy().sum(axis=1)
    np.testing.assert_allclose(total - gap, ex["delta"], atol=1e-9)
    assert np.max(np.abs(ex["delta"])) < 0.02 * np.max(np.abs(gap)) + 1e-3
    np.testing.assert_allclose(ex["prediction"], csmf.predict(X[:6]), rtol=1e-5)
    # branches are sums of their bands
    b = ex["band_attributions"]
    br = ex["branch_attributions"]
    np.testing.assert_allclose(br["imagery"], b[["blue", "green", "red", "nir"]].sum(axis=1))
    np.testing.assert_allclose(br["height"], b["height"])
    assert list(br.columns) == ["imagery", "crown", "height"]


def test_height_without_crowns_gets_zero_attribution(csmf, patches):
    X, _ = patches
    data = X.data[:4].copy()
    data[:, X.bands.index("crown")] = 0.0  # no crowns, yet tall "height" everywhere
    data[:, X.bands.index("height")] = 25.0
    ex = csmf._explain_patches(PatchSet(data, X.bands), n_steps=8, return_pixels=True)
    assert np.all(ex["band_attributions"]["height"].to_numpy() == 0.0)
    assert np.all(ex["pixel_attributions"][:, X.bands.index("height")] == 0.0)


def test_linear_network_exact():
    """For a linear function IG equals (x - x0) * weight exactly, whatever n_steps."""

    class Lin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.tensor([2.0, -1.0, 0.5]))

        def forward(self, x):
            m = (x * self.w[None, :, None, None]).sum(dim=(1, 2, 3))
            return torch.stack([m, torch.zeros_like(m)], dim=1)

    x = torch.rand(3, 3, 4, 4)
    base = torch.tensor([0.1, 0.2, 0.3]).reshape(1, 3, 1, 1)
    a, p, p0 = integrated_gradients(Lin(), x, base, n_steps=1, output_scale=10.0, output_shift=5.0)
    expected = 10.0 * (x - base) * torch.tensor([2.0, -1.0, 0.5]).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(a, expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.sum(axis=(1, 2, 3)), p - p0, rtol=1e-5)


def test_generic_model_branches(patches):
    X, y = patches
    est = make("PixelMLPRegressor").fit(X, y)
    ex = est._explain_patches(
        X[:3],
        n_steps=16,
        baseline="zeros",
        branches={"visible": ["blue", "green", "red"], "structure": ["crown", "height"]},
    )
    assert list(ex["branch_attributions"].columns) == ["visible", "structure"]
    assert ex["band_attributions"].shape == (3, 6)
    with pytest.raises(ValueError, match="one per band"):
        est._explain_patches(X[:3], baseline=[0.0, 1.0])
