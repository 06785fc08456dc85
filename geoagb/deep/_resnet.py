"""Patch ResNet (the Tibet ResNet study): residual 3x3 convolutions, pooling, six fully connected layers."""

from __future__ import annotations

from collections.abc import Sequence

from ._blocks import PatchNet, RegressionHead, ResNetEncoder

__all__ = ["PatchResNet"]


class PatchResNet(PatchNet):
    """ResNet encoder (filters ``width * 2**i``), global average pooling, MLP head -> (N, 2).

    Parameters
    ----------
    n_channels : int
        Input bands.
    width : int
        Filters of the first stage (the Tibet ResNet study: 64), doubled at every stage.
    n_stages : int
        Residual stages of ``blocks_per_stage`` two-convolution blocks (4 x 1 = the Tibet ResNet
        study's 8 convs).
    head : sequence of int
        Hidden widths of the fully connected layers (5 hidden + 1 output = the Tibet ResNet study's six).
    dropout : float
        Dropout after every hidden fully connected layer.
    """

    def __init__(
        self,
        n_channels: int,
        width: int = 64,
        n_stages: int = 4,
        blocks_per_stage: int = 1,
        head: Sequence[int] = (256, 128, 64, 32, 16),
        dropout: float = 0.2,
    ):
        super().__init__(n_channels)
        self.encoder = ResNetEncoder(n_channels, width, n_stages, blocks_per_stage)
        self.head = RegressionHead(self.encoder.out_channels, head, dropout)

    def forward(self, x):
        z = self.encoder(self.scaler(x)).mean(dim=(-2, -1))
        return self.head(z)
