"""The networks: output shapes, the crown gate, cross-attention, augmentation."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from geoagb.deep._baselines import AlexNetLike, PixelMLP, VGGLike  # noqa: E402
from geoagb.deep._blocks import ResNetEncoder  # noqa: E402
from geoagb.deep._cnn_transformer import CNNTransformer  # noqa: E402
from geoagb.deep._csmf import CSMFNet, MultiFeatureCrossAttention  # noqa: E402
from geoagb.deep._resnet import PatchResNet  # noqa: E402
from geoagb.deep._trainer import augment_d4  # noqa: E402


def _nets(c, size):
    return {
        "resnet": PatchResNet(c, width=4, n_stages=3, head=(8,)),
        "alexnet": AlexNetLike(c, width=4, head=(8,)),
        "vgg": VGGLike(c, width=4, head=(8,)),
        "mlp": PixelMLP(c, head=(8,)),
        "cnn_t": CNNTransformer(
            c, size, width=4, d_model=8, n_heads=2, n_layers=1, dim_feedforward=8, head=(8,)
        ),
        "csmf": CSMFNet(c, [0, 1, 2], 3, 4, width=4, n_stages=3, d_k=8, head=(8,)),
    }


@pytest.mark.parametrize("size", [(8, 8), (26, 26), (9, 7)])
def test_output_shapes(size):
    torch.manual_seed(0)
    x = torch.rand(3, 5, *size)
    for name, net in _nets(5, size).items():
        out = net.eval()(x)
        assert out.shape == (3, 2), name
        assert torch.isfinite(out).all(), name


def test_resnet_encoder_shapes_and_conv_count():
    enc = ResNetEncoder(6, width=64, n_stages=4)
    convs3 = [
        m for m in enc.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
    ]
    assert len(convs3) == 8  # the Tibet ResNet study: eight 3x3 conv layers, filters 64 -> 512
    assert [c.out_channels for c in convs3[::2]] == [64, 128, 256, 512]
    assert enc(torch.zeros(1, 6, 26, 26)).shape == (1, 512, 4, 4)
    assert enc.out_size(26) == 4
    vgg = VGGLike(6, width=64)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in vgg.modules()) == 8
    alex = AlexNetLike(6, width=64)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in alex.modules()) == 3


@pytest.mark.parametrize("train_mode", [False, True])
def test_gate_really_gates(train_mode):
    """d output / d height is exactly zero wherever the crown mask is zero."""
    torch.manual_seed(0)
    net = CSMFNet(6, [0, 1, 2, 3], 4, 5, width=4, n_stages=2, d_k=8, head=(8,), dropout=0.0)
    net.set_input_stats([0.1, 0.1, 0.1, 0.3, 0.0, 0.0], [0.05, 0.05, 0.05, 0.1, 1.0, 10.0])
    net.train(train_mode)
    x = torch.rand(4, 6, 10, 10)
    crown = (torch.rand(4, 10, 10) > 0.5).float()
    x[:, 4] = crown
    x[:, 5] = 30 * torch.rand(4, 10, 10)  # height everywhere, also outside crowns
    x.requires_grad_(True)
    out = net(x)
    (g,) = torch.autograd.grad(out[:, 0].sum() + out[:, 1].sum(), x)
    g_height = g[:, 5]
    assert torch.all(g_height[crown == 0] == 0.0)
    assert torch.count_nonzero(g_height[crown == 1]) > 0.5 * int(crown.sum())
    # changing height outside crowns changes nothing at all
    net.eval()
    x2 = x.detach().clone()
    x2[:, 5] = torch.where(crown == 0, torch.full_like(x2[:, 5], 99.0), x2[:, 5])
    assert torch.equal(net(x.detach()), net(x2))


def test_cross_attention_matches_equation_4():
    torch.manual_seed(0)
    mca = MultiFeatureCrossAttention(d_query=5, d_context=6, d_k=4, n_heads=1, residual=False)
    fi = torch.randn(2, 3, 5, dtype=torch.float64)
    fht = torch.randn(2, 7, 6, dtype=torch.float64)
    mca = mca.double()
    out, w = mca(fi, fht, return_weights=True)
    with torch.no_grad():
        q = fi.numpy() @ mca.w_q.weight.numpy().T + mca.w_q.bias.numpy()
        k = fht.numpy() @ mca.w_k.weight.numpy().T + mca.w_k.bias.numpy()
        v = fht.numpy() @ mca.w_v.weight.numpy().T + mca.w_v.bias.numpy()
    logits = q @ np.swapaxes(k, 1, 2) / math.sqrt(4)
    a = np.exp(logits - logits.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    np.testing.assert_allclose(out.detach().numpy(), a @ v, rtol=1e-10)
    np.testing.assert_allclose(w[:, 0].detach().numpy(), a, rtol=1e-10)
    np.testing.assert_allclose(w.sum(-1).detach().numpy(), 1.0, rtol=1e-12)


def _d4(p):
    outs = []
    for flip in (False, True):
        q = p.flip(-1) if flip else p
        outs += [torch.rot90(q, r, dims=(-2, -1)) for r in range(4)]
    return outs


def test_augment_d4_keeps_bands_together():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(16 * 3 * 5 * 5, dtype=torch.float32).reshape(16, 3, 5, 5)
    y = augment_d4(x, g)
    seen = set()
    for i in range(16):
        matches = [j for j, t in enumerate(_d4(x[i])) if torch.equal(t, y[i])]
        assert len(matches) == 1  # one symmetry, applied to all bands at once
        seen.add(matches[0])
    assert len(seen) > 3
    # non-square patches: flips only
    xr = torch.rand(8, 2, 4, 6)
    yr = augment_d4(xr, g)
    for i in range(8):
        assert torch.equal(yr[i], xr[i]) or torch.equal(yr[i], xr[i].flip(-1))
