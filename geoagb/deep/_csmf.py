"""CSMF-Net (FineKarstAGB): three ResNet branches, crown-gated height, multi-feature cross-attention.

    F_i = ResNet_i(imagery)              F_t = ResNet_t(crown)        F_h = ResNet_h(height * crown)
    Q = F_i W_Q        K = [F_h, F_t] W_K        V = [F_h, F_t] W_V        (eqs. 1-3)
    F_fused = softmax(Q K^T / sqrt(d_k)) V                                  (eq. 4)
    head(F_fused) -> (AGB, log sigma^2)

Feature maps are read as tokens (one per position of the last stage); ``[F_h, F_t]`` is the
channel-wise concatenation of the height and crown features at each position.

Two switches turn parts off for ablations: ``gate=False`` feeds the height branch the canopy
height as is (not ``height * crown``); ``fusion="concat"`` replaces the cross-attention by a
linear projection of the concatenated tokens ``[F_i, F_h, F_t] W`` to the same width ``d_k``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._blocks import PatchNet, RegressionHead, ResNetEncoder
from ._torch import nn, torch

__all__ = ["MultiFeatureCrossAttention", "CSMFNet", "FUSIONS"]

#: fusion of the imagery and structure tokens: cross-attention (eq. 4) or concatenation
FUSIONS = ("attention", "concat")


class MultiFeatureCrossAttention(nn.Module):
    """Cross-attention with queries from imagery and keys / values from structure features.

    Parameters
    ----------
    d_query : int
        Channels of the imagery tokens.
    d_context : int
        Channels of the concatenated height + crown tokens.
    d_k : int
        Width of Q, K and V (split over ``n_heads``; FineKarstAGB uses one head).
    n_heads : int
        Attention heads.
    residual : bool
        Add the projected query to the attention output and layer-normalise (a transformer-style
        residual, so imagery information reaches the head directly). ``False`` is eq. 4 as is.
    """

    def __init__(
        self, d_query: int, d_context: int, d_k: int = 64, n_heads: int = 1, residual: bool = True
    ):
        super().__init__()
        if d_k % n_heads:
            raise ValueError(f"d_k={d_k} must be a multiple of n_heads={n_heads}.")
        self.w_q = nn.Linear(d_query, d_k)
        self.w_k = nn.Linear(d_context, d_k)
        self.w_v = nn.Linear(d_context, d_k)
        self.n_heads = n_heads
        self.residual = residual
        self.norm = nn.LayerNorm(d_k) if residual else nn.Identity()

    def forward(self, query, context, return_weights: bool = False):
        """``query`` (N, Lq, d_query), ``context`` (N, Lk, d_context) -> (N, Lq, d_k)."""
        n, lq, _ = query.shape
        q, k, v = self.w_q(query), self.w_k(context), self.w_v(context)
        dh = q.shape[-1] // self.n_heads

        def split(t):
            return t.reshape(n, t.shape[1], self.n_heads, dh).transpose(1, 2)  # (N, h, L, dh)

        qh, kh, vh = split(q), split(k), split(v)
        w = torch.softmax(qh @ kh.transpose(-2, -1) / math.sqrt(dh), dim=-1)
        out = (w @ vh).transpose(1, 2).reshape(n, lq, -1)
        if self.residual:
            out = self.norm(q + out)
        return (out, w) if return_weights else out


class CSMFNet(PatchNet):
    """Canopy Structure-driven Multi-feature Fusion Network.

    Parameters
    ----------
    n_channels : int
        Bands of the input stack.
    image_idx : sequence of int
        Channels of the imagery branch.
    crown_idx, height_idx : int
        Channel of the 0/1 crown mask and of canopy height. The estimator scales height by a
        positive factor without centring, so that ``height * crown`` is exactly zero outside
        crowns (the gate).
    width, n_stages, blocks_per_stage : int
        Size of each ResNet branch (see :class:`ResNetEncoder`).
    d_k, n_heads, residual
        Cross-attention (see :class:`MultiFeatureCrossAttention`).
    head, dropout
        Regression head.
    gate : bool
        Multiply height by the crown mask before the height branch (the pixel-wise gate).
    fusion : {"attention", "concat"}
        Cross-attention (eqs. 1-4) or a linear projection of the concatenated tokens.
    """

    def __init__(
        self,
        n_channels: int,
        image_idx: Sequence[int],
        crown_idx: int,
        height_idx: int,
        *,
        width: int = 32,
        n_stages: int = 3,
        blocks_per_stage: int = 1,
        d_k: int = 64,
        n_heads: int = 1,
        residual: bool = True,
        head: Sequence[int] = (128, 64, 32),
        dropout: float = 0.2,
        gate: bool = True,
        fusion: str = "attention",
    ):
        super().__init__(n_channels)
        if fusion not in FUSIONS:
            raise ValueError(f"fusion={fusion!r} is not one of {list(FUSIONS)}.")
        self.register_buffer(
            "image_idx", torch.as_tensor(list(image_idx), dtype=torch.long), persistent=False
        )
        self.crown_idx = int(crown_idx)
        self.height_idx = int(height_idx)
        self.enc_image = ResNetEncoder(len(image_idx), width, n_stages, blocks_per_stage)
        self.enc_crown = ResNetEncoder(1, width, n_stages, blocks_per_stage)
        self.enc_height = ResNetEncoder(1, width, n_stages, blocks_per_stage)
        c = self.enc_image.out_channels
        self.gate = bool(gate)
        self.fusion = fusion
        if fusion == "attention":
            self.mca = MultiFeatureCrossAttention(c, 2 * c, d_k, n_heads, residual)
        else:
            self.mca = nn.Sequential(nn.Linear(3 * c, d_k), nn.LayerNorm(d_k), nn.ReLU())
        self.head = RegressionHead(d_k, head, dropout)

    def branch_inputs(self, x):
        """Scaled imagery, crown mask and (gated) height: the three branch inputs."""
        x = self.scaler(x)
        crown = x[:, self.crown_idx : self.crown_idx + 1]
        height = x[:, self.height_idx : self.height_idx + 1]
        if self.gate:
            height = height * crown  # the pixel-wise gate
        return x.index_select(1, self.image_idx), crown, height

    @staticmethod
    def _tokens(fmap):
        return fmap.flatten(2).transpose(1, 2)  # (N, C, H, W) -> (N, H*W, C)

    def forward(self, x, return_attention: bool = False):
        image, crown, height = self.branch_inputs(x)
        f_i = self._tokens(self.enc_image(image))
        f_t = self._tokens(self.enc_crown(crown))
        f_h = self._tokens(self.enc_height(height))
        if self.fusion == "attention":
            fused, w = self.mca(f_i, torch.cat([f_h, f_t], dim=-1), return_weights=True)
        else:
            fused, w = self.mca(torch.cat([f_i, f_h, f_t], dim=-1)), None
        out = self.head(fused.mean(dim=1))
        return (out, w) if return_attention else out
