"""Loss functions against hand computations (FineKarstAGB, eqs. 5-7)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoagb.deep import csmf_loss, heteroscedastic_nll, r2_loss  # noqa: E402
from geoagb.deep._losses import get_loss  # noqa: E402

Y = np.array([120.0, 80.0, 45.0, 200.0, 10.0])
YHAT = np.array([110.0, 95.0, 40.0, 170.0, 30.0])
S = np.array([0.5, -1.0, 2.0, 0.0, 1.5])


def t(a):
    return torch.tensor(a, dtype=torch.float64)


def test_r2_loss_hand():
    # sum of squared residuals 100 + 225 + 25 + 900 + 400 = 1650; mean y 91, SStot by hand
    ss_tot = 29**2 + 11**2 + 46**2 + 109**2 + 81**2
    assert float(r2_loss(t(Y), t(YHAT))) == pytest.approx(1650 / ss_tot, rel=1e-12)
    # 1 - loss is sklearn's R2
    from sklearn.metrics import r2_score

    assert 1 - float(r2_loss(t(Y), t(YHAT))) == pytest.approx(r2_score(Y, YHAT), rel=1e-12)


def test_r2_loss_scale_invariant_and_perfect():
    assert float(r2_loss(t(Y), t(Y))) == 0.0
    assert float(r2_loss(t(Y / 50), t(YHAT / 50))) == pytest.approx(
        float(r2_loss(t(Y), t(YHAT))), rel=1e-12
    )


def test_heteroscedastic_nll_hand():
    expected = np.mean(np.exp(-S) * (Y - YHAT) ** 2 + S)
    assert float(heteroscedastic_nll(t(Y), t(YHAT), t(S))) == pytest.approx(expected, rel=1e-12)
    # at s = log(residual^2) each term is 1 + s: the minimum over s
    s_opt = np.log((Y - YHAT) ** 2)
    assert float(heteroscedastic_nll(t(Y), t(YHAT), t(s_opt))) == pytest.approx(
        np.mean(1 + s_opt), rel=1e-12
    )


def test_csmf_loss_is_r2_plus_tenth_nll():
    r2 = 1650 / (29**2 + 11**2 + 46**2 + 109**2 + 81**2)
    nll = np.mean(np.exp(-S) * (Y - YHAT) ** 2 + S)
    assert float(csmf_loss(t(Y), t(YHAT), t(S))) == pytest.approx(r2 + 0.1 * nll, rel=1e-12)
    out = torch.stack([t(YHAT), t(S)], dim=1)
    assert float(get_loss("r2_unc", 0.1)(t(Y), out)) == pytest.approx(r2 + 0.1 * nll, rel=1e-12)
    assert float(get_loss("mse")(t(Y), out)) == pytest.approx(1650 / 5, rel=1e-12)


def test_gradient_of_nll_wrt_log_variance():
    # d/ds of mean(exp(-s) r^2 + s) = (1 - exp(-s) r^2) / N
    s = t(S).requires_grad_(True)
    heteroscedastic_nll(t(Y), t(YHAT), s).backward()
    np.testing.assert_allclose(
        s.grad.numpy(), (1 - np.exp(-S) * (Y - YHAT) ** 2) / len(Y), rtol=1e-12
    )


def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match="r2_unc"):
        get_loss("huber")
