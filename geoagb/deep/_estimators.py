"""Thin scikit-learn estimators over the patch networks (training in ``_trainer.py``).

Each class stores its parameters, names its bands and builds its network; fit / predict / save /
load / explain come from :class:`~geoagb.deep._base.PatchRegressorBase`.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._compat import renamed_kwargs
from . import _torch  # noqa: F401  (torch is required: fails here with the install hint)
from ._base import _ATTRS_DOC, TRAINING_PARAMS_DOC, PatchRegressorBase
from ._baselines import AlexNetLike, PixelMLP, VGGLike
from ._cnn_transformer import CNNTransformer
from ._csmf import FUSIONS, CSMFNet
from ._resnet import PatchResNet

__all__ = [
    "CSMFNetRegressor",
    "PatchResNetRegressor",
    "CNNTransformerRegressor",
    "AlexNetRegressor",
    "VGGRegressor",
    "PixelMLPRegressor",
]


def _doc(cls):
    cls.__doc__ = (
        cls.__doc__.replace("    {training}", TRAINING_PARAMS_DOC)
        .replace("    {attributes}", _ATTRS_DOC)
        .replace("{bands}", _BANDS_DOC)
    )
    return cls


_BANDS_DOC = """bands : list of str, optional
        Bands of the PatchSet to use, in this order; None uses every band."""


@_doc
class CSMFNetRegressor(PatchRegressorBase):
    """CSMF-Net: plot patch -> AGB and its uncertainty from imagery, crowns and canopy height.

    Three ResNet branches read the imagery, the tree-crown mask and the canopy height gated
    pixel-wise by the crown mask (height outside crowns is zeroed before the height branch, so
    it cannot influence the prediction); multi-feature cross-attention takes queries from the
    imagery features and keys / values from the concatenated height and crown features; an MLP
    head outputs the AGB and its log-variance. Trained with ``r2_loss + 0.1 *
    heteroscedastic_nll`` (FineKarstAGB, eqs. 1-7).

    Parameters
    ----------
    image_bands : list of str, optional
        Imagery bands (e.g. ``["blue", "green", "red", "nir"]``); None takes every band other
        than ``crown_band`` and ``height_band``.
    crown_band : str
        Band holding the 0/1 tree-crown mask.
    height_band : str
        Band holding canopy height, metres. Scaled by its standard deviation without centring,
        so zero height stays zero.
    width : int
        Filters of the first stage of each ResNet branch, doubled per stage.
    n_stages : int
        Stages per branch (stages after the first halve the patch side).
    blocks_per_stage : int
        Residual blocks per stage.
    d_k : int
        Width of queries, keys and values.
    n_heads : int
        Attention heads (FineKarstAGB: 1).
    attention_residual : bool
        Add the query to the attention output (transformer-style); False is eq. 4 alone.
    head : tuple of int
        Hidden widths of the MLP head.
    dropout : float
        Dropout in the head.
    gate : bool
        Zero the canopy height outside crowns before the height branch (the crown gate of
        FineKarstAGB). False feeds the height branch the whole canopy height model (an
        ablation).
    fusion : {"attention", "concat"}
        "attention": multi-feature cross-attention, queries from imagery, keys and values from
        height + crown (FineKarstAGB, eqs. 1-4). "concat": no attention, the imagery, height
        and crown tokens concatenated and projected linearly to ``d_k`` (an ablation).
    {training}

    {attributes}

    See Also
    --------
    PatchResNetRegressor : one ResNet on all bands stacked.

    References
    ----------
    FineKarstAGB: CSMF-Net, sections 3.1.1-3.1.4.

    Examples
    --------
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> net = CSMFNetRegressor(width=4, n_stages=2, d_k=8, head=(8,), max_epochs=2,
    ...                        verbose=0, random_state=0).fit(X, y)
    >>> mean, std = net.predict(X[:3], return_std=True)
    >>> mean.shape, bool((std > 0).all()), net.bands_[-2:]
    ((3,), True, ['crown', 'height'])
    """

    @renamed_kwargs({"n_threads": "n_jobs"})
    def __init__(
        self,
        image_bands=None,
        *,
        crown_band="crown",
        height_band="height",
        width=32,
        n_stages=3,
        blocks_per_stage=1,
        d_k=64,
        n_heads=1,
        attention_residual=True,
        head=(128, 64, 32),
        dropout=0.2,
        gate=True,
        fusion="attention",
        loss="r2_unc",
        uncertainty_weight=0.1,
        max_epochs=100,
        batch_size=32,
        lr=1e-4,
        weight_decay=1e-2,
        lr_decay="cosine",
        patience=15,
        validation_fraction=0.1,
        calibrate_std=True,
        augment=True,
        device="auto",
        mixed_precision=True,
        random_state=None,
        verbose=1,
        n_jobs=None,
    ):
        self.image_bands = image_bands
        self.crown_band = crown_band
        self.height_band = height_band
        self.width = width
        self.n_stages = n_stages
        self.blocks_per_stage = blocks_per_stage
        self.d_k = d_k
        self.n_heads = n_heads
        self.attention_residual = attention_residual
        self.head = head
        self.dropout = dropout
        self.gate = gate
        self.fusion = fusion
        self.loss = loss
        self.uncertainty_weight = uncertainty_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.calibrate_std = calibrate_std
        self.augment = augment
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _net_bands(self, ps):
        for role, name in (("crown_band", self.crown_band), ("height_band", self.height_band)):
            if name not in ps.bands:
                raise ValueError(
                    f"{role}={name!r} is not a band of X ({ps.bands}); CSMF-Net needs a crown-mask "
                    f"band and a canopy-height band: set {role} to the right name."
                )
        if self.crown_band == self.height_band:
            raise ValueError(
                f"crown_band and height_band are both {self.crown_band!r}; they must differ."
            )
        struct = (self.crown_band, self.height_band)
        image = (
            [b for b in ps.bands if b not in struct]
            if self.image_bands is None
            else list(self.image_bands)
        )
        clash = [b for b in image if b in struct]
        if clash or not image:
            raise ValueError(
                f"image_bands={image} must be non-empty and must not contain the crown or height "
                f"band {list(struct)}."
            )
        return image + [self.crown_band, self.height_band]

    def _input_stats(self, arr, bands):
        shift, scale = super()._input_stats(arr, bands)
        ic, ih = bands.index(self.crown_band), bands.index(self.height_band)
        crown = arr[:, ic]
        vals = crown[np.isfinite(crown)]
        if vals.size and not np.all(np.isin(vals, (0.0, 1.0))):
            warnings.warn(
                f"crown band {self.crown_band!r} has values other than 0 and 1 (range "
                f"{vals.min():g}..{vals.max():g}); the gate multiplies height by it as is. Pass a "
                "0/1 tree-crown mask.",
                stacklevel=3,
            )
        shift[ic], scale[ic] = 0.0, 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            h_scale = float(np.sqrt(np.nanmean(arr[:, ih].astype(np.float64) ** 2)))
        shift[ih], scale[ih] = 0.0, (h_scale if np.isfinite(h_scale) and h_scale > 0 else 1.0)
        return shift, scale

    def _build_net(self, bands, patch_size):

        if self.fusion not in FUSIONS:
            raise ValueError(
                f"fusion={self.fusion!r} is not one of {list(FUSIONS)}: 'attention' for "
                "CSMF-Net's cross-attention, 'concat' for the concatenation ablation."
            )
        n_img = len(bands) - 2
        return CSMFNet(
            len(bands),
            list(range(n_img)),
            n_img,
            n_img + 1,
            width=self.width,
            n_stages=self.n_stages,
            blocks_per_stage=self.blocks_per_stage,
            d_k=self.d_k,
            n_heads=self.n_heads,
            residual=self.attention_residual,
            head=tuple(self.head),
            dropout=self.dropout,
            gate=bool(self.gate),
            fusion=self.fusion,
        )

    def _branches(self):
        return {
            "imagery": list(self.bands_[:-2]),
            "crown": [self.bands_[-2]],
            "height": [self.bands_[-1]],
        }


@_doc
class PatchResNetRegressor(PatchRegressorBase):
    """Patch ResNet (the Tibet ResNet study): 3x3 residual convolutions, pooling, six fully connected layers.

    Parameters
    ----------
    {bands}
    width : int
        Filters of the first stage (the Tibet ResNet study: 64), doubled at every stage.
    n_stages : int
        Residual stages; 4 stages of one two-convolution block are the Tibet ResNet study's 8 conv layers.
    blocks_per_stage : int
        Residual blocks per stage.
    head : tuple of int
        Hidden widths of the fully connected layers (5 hidden + output = six layers).
    dropout : float
        Dropout after every hidden fully connected layer.
    {training}

    {attributes}

    References
    ----------
    The Tibet ResNet study (Tibet mountain forests), section 3.1.

    Examples
    --------
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> net = PatchResNetRegressor(width=4, n_stages=2, head=(8,), max_epochs=2, verbose=0,
    ...                            random_state=0).fit(X, y)
    >>> net.predict(X).shape, net.patch_size_
    ((40,), (8, 8))
    """

    @renamed_kwargs({"n_threads": "n_jobs"})
    def __init__(
        self,
        bands=None,
        *,
        width=64,
        n_stages=4,
        blocks_per_stage=1,
        head=(256, 128, 64, 32, 16),
        dropout=0.2,
        loss="mse",
        uncertainty_weight=0.1,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        lr_decay="cosine",
        patience=15,
        validation_fraction=0.1,
        calibrate_std=True,
        augment=True,
        device="auto",
        mixed_precision=True,
        random_state=None,
        verbose=1,
        n_jobs=None,
    ):
        self.bands = bands
        self.width = width
        self.n_stages = n_stages
        self.blocks_per_stage = blocks_per_stage
        self.head = head
        self.dropout = dropout
        self.loss = loss
        self.uncertainty_weight = uncertainty_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.calibrate_std = calibrate_std
        self.augment = augment
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _build_net(self, bands, patch_size):

        return PatchResNet(
            len(bands),
            self.width,
            self.n_stages,
            self.blocks_per_stage,
            tuple(self.head),
            self.dropout,
        )


@_doc
class CNNTransformerRegressor(PatchRegressorBase):
    """CNN-Transformer (the Lishui CNN-Transformer study): a conv stem turns the patch into
    tokens for a transformer.

    Three 3x3 conv layers (the last two with stride 2) give one token per 4x4 pixels; learned
    position embeddings and a [CLS] token go through a pre-norm transformer encoder, whose
    [CLS] output feeds the MLP head.

    Parameters
    ----------
    {bands}
    width : int
        Filters of the first stem convolution.
    d_model : int
        Token width.
    n_heads : int
        Attention heads.
    n_layers : int
        Transformer encoder layers.
    dim_feedforward : int
        Hidden width of each layer's feed-forward block.
    head : tuple of int
        Hidden widths of the MLP head.
    dropout : float
        Dropout in the encoder and the head.
    {training}

    {attributes}

    References
    ----------
    The Lishui CNN-Transformer study (Lishui CNN-Transformer with residual kriging).

    Examples
    --------
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> net = CNNTransformerRegressor(width=4, d_model=8, n_heads=2, n_layers=1, dim_feedforward=16,
    ...                               head=(8,), max_epochs=2, verbose=0, random_state=0).fit(X, y)
    >>> net.predict(X).shape
    (40,)
    """

    @renamed_kwargs({"n_threads": "n_jobs"})
    def __init__(
        self,
        bands=None,
        *,
        width=32,
        d_model=64,
        n_heads=4,
        n_layers=2,
        dim_feedforward=128,
        head=(64, 32),
        dropout=0.1,
        loss="mse",
        uncertainty_weight=0.1,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        lr_decay="cosine",
        patience=15,
        validation_fraction=0.1,
        calibrate_std=True,
        augment=True,
        device="auto",
        mixed_precision=True,
        random_state=None,
        verbose=1,
        n_jobs=None,
    ):
        self.bands = bands
        self.width = width
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.head = head
        self.dropout = dropout
        self.loss = loss
        self.uncertainty_weight = uncertainty_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.calibrate_std = calibrate_std
        self.augment = augment
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _build_net(self, bands, patch_size):

        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}."
            )
        return CNNTransformer(
            len(bands),
            patch_size,
            width=self.width,
            d_model=self.d_model,
            n_heads=self.n_heads,
            n_layers=self.n_layers,
            dim_feedforward=self.dim_feedforward,
            head=tuple(self.head),
            dropout=self.dropout,
        )


@_doc
class AlexNetRegressor(PatchRegressorBase):
    """AlexNet-like baseline of the Tibet ResNet study: three 3x3 conv layers, max pooling, the MLP head.

    Parameters
    ----------
    {bands}
    width : int
        Filters of the first conv layer (then 2x and 4x).
    head : tuple of int
        Hidden widths of the fully connected layers.
    dropout : float
        Dropout in the head.
    {training}

    {attributes}

    Examples
    --------
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> AlexNetRegressor(width=4, head=(8,), max_epochs=2, verbose=0).fit(X, y).predict(X).shape
    (40,)
    """

    @renamed_kwargs({"n_threads": "n_jobs"})
    def __init__(
        self,
        bands=None,
        *,
        width=64,
        head=(256, 128, 64, 32, 16),
        dropout=0.2,
        loss="mse",
        uncertainty_weight=0.1,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        lr_decay="cosine",
        patience=15,
        validation_fraction=0.1,
        calibrate_std=True,
        augment=True,
        device="auto",
        mixed_precision=True,
        random_state=None,
        verbose=1,
        n_jobs=None,
    ):
        self.bands = bands
        self.width = width
        self.head = head
        self.dropout = dropout
        self.loss = loss
        self.uncertainty_weight = uncertainty_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.calibrate_std = calibrate_std
        self.augment = augment
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _build_net(self, bands, patch_size):

        return AlexNetLike(len(bands), self.width, tuple(self.head), self.dropout)


@_doc
class VGGRegressor(PatchRegressorBase):
    """VGG-like baseline of the Tibet ResNet study: eight 3x3 conv layers without shortcuts, the MLP head.

    Parameters
    ----------
    {bands}
    width : int
        Filters of the first pair of conv layers, doubled for each following pair.
    head : tuple of int
        Hidden widths of the fully connected layers.
    dropout : float
        Dropout in the head.
    {training}

    {attributes}

    Examples
    --------
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> VGGRegressor(width=4, head=(8,), max_epochs=2, verbose=0).fit(X, y).predict(X).shape
    (40,)
    """

    @renamed_kwargs({"n_threads": "n_jobs"})
    def __init__(
        self,
        bands=None,
        *,
        width=64,
        head=(256, 128, 64, 32, 16),
        dropout=0.2,
        loss="mse",
        uncertainty_weight=0.1,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        lr_decay="cosine",
        patience=15,
        validation_fraction=0.1,
        calibrate_std=True,
        augment=True,
        device="auto",
        mixed_precision=True,
        random_state=None,
        verbose=1,
        n_jobs=None,
    ):
        self.bands = bands
        self.width = width
        self.head = head
        self.dropout = dropout
        self.loss = loss
        self.uncertainty_weight = uncertainty_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.calibrate_std = calibrate_std
        self.augment = augment
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _build_net(self, bands, patch_size):

        return VGGLike(len(bands), self.width, tuple(self.head), self.dropout)


@_doc
class PixelMLPRegressor(PatchRegressorBase):
    """Pixel DNN baseline of the Tibet ResNet study: the same MLP head on one pixel vector, no convolutions.

    Parameters
    ----------
    {bands}
    pixel : {"mean", "centre"}
        "mean": the patch mean of every band, i.e. the plot seen as one coarse, mixed pixel (a
        30 m Landsat pixel over a 26 m plot); "centre": the single pixel at the plot centre.
    head : tuple of int
        Hidden widths of the fully connected layers.
    dropout : float
        Dropout in the head.
    {training}

    {attributes}

    Examples
    --------
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> PixelMLPRegressor(head=(8,), max_epochs=2, verbose=0).fit(X, y).predict(X).shape
    (40,)
    """

    @renamed_kwargs({"n_threads": "n_jobs"})
    def __init__(
        self,
        bands=None,
        *,
        pixel="mean",
        head=(256, 128, 64, 32, 16),
        dropout=0.2,
        loss="mse",
        uncertainty_weight=0.1,
        max_epochs=100,
        batch_size=32,
        lr=1e-3,
        weight_decay=1e-2,
        lr_decay="cosine",
        patience=15,
        validation_fraction=0.1,
        calibrate_std=True,
        augment=True,
        device="auto",
        mixed_precision=True,
        random_state=None,
        verbose=1,
        n_jobs=None,
    ):
        self.bands = bands
        self.pixel = pixel
        self.head = head
        self.dropout = dropout
        self.loss = loss
        self.uncertainty_weight = uncertainty_weight
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_decay = lr_decay
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.calibrate_std = calibrate_std
        self.augment = augment
        self.device = device
        self.mixed_precision = mixed_precision
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _build_net(self, bands, patch_size):

        return PixelMLP(len(bands), self.pixel, tuple(self.head), self.dropout)
