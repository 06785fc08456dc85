"""CSMF-Net's ablation switches (gate, fusion, loss) and the calibration figure."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoagb.deep import CSMFNetRegressor, plot_calibration  # noqa: E402
from geoagb.deep._csmf import CSMFNet, MultiFeatureCrossAttention  # noqa: E402

from .conftest import make  # noqa: E402


def _net(**kw):
    torch.manual_seed(0)
    net = CSMFNet(6, [0, 1, 2, 3], 4, 5, width=4, n_stages=2, d_k=8, head=(8,), dropout=0.0, **kw)
    net.set_input_stats([0.1, 0.1, 0.1, 0.3, 0.0, 0.0], [0.05, 0.05, 0.05, 0.1, 1.0, 10.0])
    return net.eval()


def _patches():
    torch.manual_seed(1)
    x = torch.rand(4, 6, 10, 10)
    crown = (torch.rand(4, 10, 10) > 0.5).float()
    x[:, 4] = crown
    x[:, 5] = 30 * torch.rand(4, 10, 10)
    x2 = x.clone()
    x2[:, 5] = torch.where(crown == 0, torch.full_like(x2[:, 5], 99.0), x2[:, 5])
    return x, x2  # differ only in the height outside crowns


def test_without_gate_height_outside_crowns_counts():
    x, x2 = _patches()
    gated, ungated = _net(gate=True), _net(gate=False)
    assert torch.equal(gated(x), gated(x2))
    assert not torch.allclose(ungated(x), ungated(x2))
    # same architecture and weights: only the gate differs
    assert gated.state_dict().keys() == ungated.state_dict().keys()


def test_concat_fusion_has_no_attention():
    net = _net(fusion="concat")
    assert not any(isinstance(m, MultiFeatureCrossAttention) for m in net.modules())
    out, w = net(_patches()[0], return_attention=True)
    assert out.shape == (4, 2) and w is None
    # the concatenation projects [F_i, F_h, F_t] (3 x 8 channels of the 2-stage, width-4 branches)
    assert net.mca[0].in_features == 3 * 8 and net.mca[0].out_features == 8
    with pytest.raises(ValueError, match="fusion='sum' is not one of"):
        _net(fusion="sum")


def test_estimator_switches_are_stored_unchanged_and_saved(patches, tmp_path):
    X, y = patches
    est = make("CSMFNetRegressor", gate=False, fusion="concat", loss="r2")
    assert est.get_params()["gate"] is False and est.get_params()["fusion"] == "concat"
    est.fit(X, y)
    assert est.module_.gate is False and est.module_.fusion == "concat"
    with pytest.raises(ValueError, match="needs a model trained with an uncertainty loss"):
        est.predict(X, return_std=True)
    est.save(tmp_path / "m.pt")
    again = CSMFNetRegressor.load(tmp_path / "m.pt")
    assert again.get_params()["fusion"] == "concat" and again.get_params()["gate"] is False
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    with pytest.raises(ValueError, match="fusion='both' is not one of"):
        make("CSMFNetRegressor", fusion="both").fit(X, y)


def test_plot_calibration_coverage_by_hand():
    y = np.array([0.0, 0.0, 0.0, 0.0])
    pred = np.array([0.5, 1.5, -0.2, 3.0])
    std = np.ones(4)  # |error| / std = 0.5, 1.5, 0.2, 3.0: two of four within 1 sd
    fig = plot_calibration(y, pred, std, label="m")
    ax = fig.axes[0]
    diag, curve = ax.get_lines()[:2]
    nominal, observed = curve.get_data()
    assert observed[0] == 0.0 and observed[-1] == 1.0  # k = 0 and k = 3 (3.0 <= 3)
    k1 = np.argmin(np.abs(nominal - 0.6827))
    assert observed[k1] == pytest.approx(0.5)
    assert any("50 % within 1 sd" in t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="one of each per sample"):
        plot_calibration(y, pred[:3], std)
    with pytest.raises(ValueError, match="negative"):
        plot_calibration(y, pred, -std)
