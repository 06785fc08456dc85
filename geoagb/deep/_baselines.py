"""The Tibet ResNet study's baselines: AlexNet-like (3 convs), VGG-like (8 convs, no shortcuts), pixel MLP."""

from __future__ import annotations

from collections.abc import Sequence

from ._blocks import ConvStack, PatchNet, RegressionHead

__all__ = ["AlexNetLike", "VGGLike", "PixelMLP"]


class AlexNetLike(PatchNet):
    """Three 3x3 conv layers (``width``, 2x, 4x filters) with max pooling, then the MLP head."""

    def __init__(
        self,
        n_channels: int,
        width: int = 64,
        head: Sequence[int] = (256, 128, 64, 32, 16),
        dropout: float = 0.2,
    ):
        super().__init__(n_channels)
        self.features = ConvStack(n_channels, [width, 2 * width, 4 * width], pool_after=(0, 1))
        self.head = RegressionHead(self.features.out_channels, head, dropout)

    def forward(self, x):
        return self.head(self.features(self.scaler(x)))


class VGGLike(PatchNet):
    """Eight 3x3 conv layers in pairs (``width`` doubling per pair), max pooling after each pair."""

    def __init__(
        self,
        n_channels: int,
        width: int = 64,
        head: Sequence[int] = (256, 128, 64, 32, 16),
        dropout: float = 0.2,
    ):
        super().__init__(n_channels)
        chans = [width * 2 ** (i // 2) for i in range(8)]
        self.features = ConvStack(n_channels, chans, pool_after=(1, 3, 5))
        self.head = RegressionHead(self.features.out_channels, head, dropout)

    def forward(self, x):
        return self.head(self.features(self.scaler(x)))


class PixelMLP(PatchNet):
    """The pixel DNN of the Tibet ResNet study: no convolutions, the MLP head on one vector per patch.

    ``pixel="centre"`` reads the centre pixel (the pixel-based approach); ``pixel="mean"`` the
    patch mean of every band.
    """

    def __init__(
        self,
        n_channels: int,
        pixel: str = "centre",
        head: Sequence[int] = (256, 128, 64, 32, 16),
        dropout: float = 0.2,
    ):
        super().__init__(n_channels)
        if pixel not in ("centre", "mean"):
            raise ValueError(f"pixel={pixel!r} is not one of ['centre', 'mean'].")
        self.pixel = pixel
        self.head = RegressionHead(n_channels, head, dropout)

    def forward(self, x):
        x = self.scaler(x)
        if self.pixel == "centre":
            z = x[:, :, x.shape[-2] // 2, x.shape[-1] // 2]
        else:
            z = x.mean(dim=(-2, -1))
        return self.head(z)
