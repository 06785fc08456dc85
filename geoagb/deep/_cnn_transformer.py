"""CNN-Transformer (the Lishui CNN-Transformer study): a convolutional stem makes patch tokens, a
transformer encodes them.
"""

from __future__ import annotations

from collections.abc import Sequence

from ._blocks import PatchNet, RegressionHead, conv_bn_relu, conv_out_size
from ._torch import nn, torch

__all__ = ["CNNTransformer"]


class CNNTransformer(PatchNet):
    """Conv stem (3 conv layers, H and W divided by 4) -> tokens + learned positions + [CLS] ->
    transformer encoder -> [CLS] -> MLP head -> (N, 2).

    Parameters
    ----------
    n_channels : int
        Input bands.
    patch_size : (int, int)
        Patch height and width in pixels (sets the number of position embeddings).
    width : int
        Filters of the first stem convolution.
    d_model, n_heads, n_layers, dim_feedforward : int
        Transformer size.
    head, dropout
        As in :class:`geoagb.deep._blocks.RegressionHead`; ``dropout`` also inside the encoder.
    """

    def __init__(
        self,
        n_channels: int,
        patch_size: Sequence[int],
        *,
        width: int = 32,
        d_model: int = 64,
        n_heads: int = 4,
        n_layers: int = 2,
        dim_feedforward: int = 128,
        head: Sequence[int] = (64, 32),
        dropout: float = 0.1,
    ):
        super().__init__(n_channels)
        self.stem = nn.Sequential(
            conv_bn_relu(n_channels, width),
            conv_bn_relu(width, width, stride=2),
            conv_bn_relu(width, d_model, stride=2),
        )
        h, w = (conv_out_size(conv_out_size(int(s), 2), 2) for s in patch_size)
        self.n_tokens = h * w
        self.pos = nn.Parameter(torch.zeros(1, self.n_tokens, d_model))
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        nn.init.trunc_normal_(self.pos, std=0.02)
        nn.init.trunc_normal_(self.cls, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward, dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = RegressionHead(d_model, head, dropout)

    def forward(self, x):
        t = self.stem(self.scaler(x)).flatten(2).transpose(1, 2)  # (N, L, d)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t + self.pos], dim=1)
        z = self.norm(self.encoder(t)[:, 0])
        return self.head(z)
