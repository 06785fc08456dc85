"""Building blocks shared by the patch networks: input scaling, conv stacks, residual encoders, heads.

``nn.Module`` files hold no training code (see ``_trainer.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ._torch import nn, torch

__all__ = [
    "PatchNet",
    "InputScaler",
    "conv_bn_relu",
    "ResidualBlock",
    "ResNetEncoder",
    "ConvStack",
    "RegressionHead",
    "conv_out_size",
]


def conv_out_size(n: int, stride: int) -> int:
    """Output length of a 3x3 convolution with padding 1 and ``stride`` on ``n`` pixels."""
    return (n - 1) // stride + 1


class InputScaler(nn.Module):
    """``(x - shift) / scale`` per channel, with shift and scale saved in the state_dict."""

    def __init__(self, n_channels: int):
        super().__init__()
        self.register_buffer("shift", torch.zeros(n_channels))
        self.register_buffer("scale", torch.ones(n_channels))

    def forward(self, x):
        return (x - self.shift[None, :, None, None]) / self.scale[None, :, None, None]


class PatchNet(nn.Module):
    """Base of every patch network: ``forward(x: (N, C, H, W)) -> (N, 2)`` = (mean, log-variance).

    Inputs are raw band values (nodata already filled); ``self.scaler`` standardises them with the
    per-channel statistics the estimator set from the training patches. Outputs are in
    standardised target units.
    """

    def __init__(self, n_channels: int):
        super().__init__()
        self.scaler = InputScaler(n_channels)

    def set_input_stats(self, shift, scale) -> None:
        """Copy per-channel ``shift`` and ``scale`` (length C sequences) into the scaler."""
        with torch.no_grad():
            self.scaler.shift.copy_(torch.as_tensor(shift, dtype=torch.float32))
            self.scaler.scale.copy_(torch.as_tensor(scale, dtype=torch.float32))


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """3x3 convolution (padding 1), batch norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ResidualBlock(nn.Module):
    """Basic residual block: two 3x3 convolutions plus an identity (or 1x1 projection) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # in place, as torchvision's BasicBlock: the out-of-place sum allocated and wrote one
        # more feature map per block (~8 % of the encoder's CPU inference time, 26 x 26 patches)
        out += self.shortcut(x)
        return self.relu(out)


class ResNetEncoder(nn.Module):
    """Stages of residual blocks with filters ``width * 2**i``; stages after the first halve H, W.

    With ``n_stages=4`` and one block per stage the encoder has the eight 3x3 convolutions of
    the Tibet ResNet study's ResNet (64, 128, 256, 512 filters for ``width=64``). Returns the last feature map
    (N, ``out_channels``, H', W'); pool it or read it as tokens.
    """

    def __init__(self, c_in: int, width: int = 64, n_stages: int = 4, blocks_per_stage: int = 1):
        super().__init__()
        layers, c = [], c_in
        for i in range(n_stages):
            c_out = width * 2**i
            for j in range(blocks_per_stage):
                layers.append(ResidualBlock(c, c_out, stride=2 if (i > 0 and j == 0) else 1))
                c = c_out
        self.blocks = nn.Sequential(*layers)
        self.out_channels = c
        self.n_stages = n_stages

    def out_size(self, n: int) -> int:
        """Side of the output feature map for an input side of ``n`` pixels."""
        for _ in range(self.n_stages - 1):
            n = conv_out_size(n, 2)
        return n

    def forward(self, x):
        return self.blocks(x)


class ConvStack(nn.Module):
    """Plain 3x3 conv-BN-ReLU layers (no shortcuts), 2x2 max pooling after the listed layers.

    Pooling is skipped once the map is 1 pixel wide. Returns the global-average-pooled vector.
    """

    def __init__(self, c_in: int, channels: Sequence[int], pool_after: Sequence[int] = ()):
        super().__init__()
        self.layers = nn.ModuleList()
        c = c_in
        for c_out in channels:
            self.layers.append(conv_bn_relu(c, c_out))
            c = c_out
        self.pool_after = set(int(i) for i in pool_after)
        self.out_channels = c

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.pool_after and min(x.shape[-2:]) >= 2:
                x = nn.functional.max_pool2d(x, 2, ceil_mode=True)
        return x.mean(dim=(-2, -1))


class RegressionHead(nn.Module):
    """Fully connected layers with ReLU and dropout ending in two outputs: mean and log-variance."""

    def __init__(
        self, in_features: int, hidden: Sequence[int] = (256, 128, 64, 32, 16), dropout: float = 0.2
    ):
        super().__init__()
        layers, c = [], in_features
        for h in hidden:
            layers += [nn.Linear(c, int(h)), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            c = int(h)
        layers.append(nn.Linear(c, 2))
        self.net = nn.Sequential(*layers)
        with torch.no_grad():  # start at log-variance 0: sigma = 1 standardised unit
            self.net[-1].bias.zero_()

    def forward(self, z):
        return self.net(z)
