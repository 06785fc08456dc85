"""The scikit-learn face shared by every patch regressor: fit / predict / save / load / explain.

Subclasses only name their bands (``_net_bands``), their input scaling (``_input_stats``), their
network (``_build_net``) and their branches (``_branches``); the loop is in ``_trainer.py``.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..explain import ExplainMixin
from ._attribution import group_attributions, integrated_gradients
from ._calibration import std_scale
from ._io import load_estimator, save_estimator
from ._losses import LOSSES, get_loss
from ._patchset import PatchSet
from ._plot import plot_history
from ._torch import resolve_device, resolve_seed, seeded, thread_limit, torch
from ._trainer import LR_DECAYS, TrainSettings, predict_module, train_module

__all__ = ["PatchRegressorBase", "as_patchset", "empty_patches", "TRAINING_PARAMS_DOC"]

#: numpydoc text of the parameters every patch regressor shares (appended to class docstrings).
TRAINING_PARAMS_DOC = """\
    loss : {"mse", "r2", "nll", "r2_unc"}
        Training loss: mean squared error, :func:`r2_loss`, :func:`heteroscedastic_nll`, or
        ``r2_loss + uncertainty_weight * heteroscedastic_nll`` (FineKarstAGB). ``predict(...,
        return_std=True)`` needs a loss that trains the log-variance ("nll" or "r2_unc").
    uncertainty_weight : float
        lambda of the "r2_unc" loss (FineKarstAGB: 0.1).
    max_epochs : int
        Upper bound on training epochs.
    batch_size : int
        Patches per minibatch (FineKarstAGB: 32).
    lr : float
        Initial AdamW learning rate.
    weight_decay : float
        AdamW decoupled weight decay (the L2 regularisation of the Tibet ResNet study).
    lr_decay : {"cosine", "plateau", "none"}
        Cosine annealing to 1 % of ``lr`` over ``max_epochs``, halving on a validation plateau,
        or a constant rate.
    patience : int or None
        Stop after this many epochs without a better validation loss; the weights of the best
        epoch are kept. None trains ``max_epochs`` epochs.
    validation_fraction : float
        Share of the training patches held out (at random, seeded) for early stopping when
        ``fit`` gets no ``eval_set``; 0 disables the split.
    calibrate_std : bool
        Rescale the predicted standard deviation after training so that 68.27 % of the
        validation errors (``eval_set`` or the ``validation_fraction`` split) lie within +-1
        std (:func:`geoagb.deep.std_scale`; Kuleshov et al. 2018). Needs an uncertainty loss and
        at least 20 validation patches; the factor is ``std_scale_``. The validation patches
        also chose the early-stopping epoch, so the factor is slightly optimistic.
    augment : bool
        Random flips and 90-degree rotations of every training patch (all bands together).
    device : {"auto", "cpu", "cuda"}
        Where to train and predict; "auto" takes CUDA when present.
    mixed_precision : bool
        bf16 autocast on CUDA (never on the CPU).
    random_state : int, RandomState or None
        Seeds weight initialisation, dropout, shuffling, augmentation and the validation split;
        the same int gives the same predictions on the CPU.
    verbose : int
        0 silences the tqdm progress bar (one bar per fit, over epochs).
    n_jobs : int or None
        CPU threads for training and prediction (torch intra-op threads, restored afterwards);
        -1: every core. None: ``OMP_NUM_THREADS`` when set, 1 inside a Dask worker, else half the
        cores (:func:`geoagb.deep._torch.default_threads`), so that a fit never takes every core
        of a shared machine. (Called ``n_threads`` before; that keyword still works, with a
        FutureWarning.)"""

_ATTRS_DOC = """\
    Attributes
    ----------
    module_ : torch.nn.Module
        The fitted network (in eval mode).
    bands_ : list of str
        Bands the network reads, in order.
    patch_size_ : tuple of int
        (H, W) patch size in pixels it was fitted on.
    y_mean_, y_scale_ : float
        Target standardisation (Mg/ha): the network predicts ``(y - y_mean_) / y_scale_``.
    std_scale_ : float or None
        Factor applied to the network's standard deviation (``calibrate_std``); None when it
        was not estimated (``calibrate_std=False``, a loss without uncertainty, or fewer than
        20 validation patches), in which case the raw std is returned.
    history_ : dict
        Loss per epoch (``train_loss``, ``val_loss``, ``lr``), ``best_epoch``, ``stopped_early``;
        see :meth:`plot_history`.
    device_ : str
        Device the network sits on."""


def _sigma(out: np.ndarray) -> np.ndarray:
    """Standard deviation (standardised units) from the network's log-variance output."""
    return np.exp(0.5 * np.clip(out[:, 1], -30.0, 30.0))


def as_patchset(X) -> PatchSet:
    """``X`` as a PatchSet; a plain (n, C, H, W) array gets band names ``band_0`` ... ."""
    if isinstance(X, PatchSet):
        return X
    arr = np.asarray(X)
    if arr.ndim != 4:
        raise TypeError(
            f"patch regressors take a geoagb.deep.PatchSet (or an (n, C, H, W) array); got "
            f"{type(X).__name__} of shape {getattr(arr, 'shape', None)}. Build patches with "
            "geoagb.features.extract_patches(sources, plots, size_m=...)."
        )
    return PatchSet(arr, bands=[f"band_{i}" for i in range(arr.shape[1])])


def _check_y(y, n: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"y has {y.shape[0]} values for {n} patches; give one target per patch.")
    if not np.all(np.isfinite(y)):
        raise ValueError(
            f"y has {int((~np.isfinite(y)).sum())} NaN or infinite values; drop those plots."
        )
    return y


def empty_patches(ps: PatchSet, bands: list[str]) -> tuple[np.ndarray, list[str]]:
    """Patches with no valid pixel (finite and not masked) in at least one of ``bands``.

    Returns the (n,) boolean array and, for each such patch, a short description
    ("row 3: all bands", "row 7: height").
    """
    data = ps.select(bands).data
    valid = np.isfinite(data)
    if ps.mask is not None:
        valid &= ~ps.mask[:, None]
    band_ok = valid.any(axis=(2, 3))  # (n, C)
    empty = ~band_ok.all(axis=1)
    notes = []
    for i in np.flatnonzero(empty)[:10]:
        gone = [b for b, ok in zip(bands, band_ok[i]) if not ok]
        notes.append(f"row {int(i)}: {'all bands' if len(gone) == len(bands) else ', '.join(gone)}")
    return empty, notes


def _refuse_empty(ps: PatchSet, bands: list[str], what: str) -> None:
    empty, notes = empty_patches(ps, bands)
    if empty.any():
        more = f" and {int(empty.sum()) - len(notes)} more" if empty.sum() > len(notes) else ""
        raise ValueError(
            f"{int(empty.sum())} patch(es) of {what} have a band with no valid pixel (all NaN or "
            f"masked) ({'; '.join(notes)}{more}); a network would give them a confident but "
            "made-up AGB. Drop them (keep = np.isfinite(X.data).any(axis=(2, 3)).all(axis=1); "
            "X[keep], y[keep]) or fill the rasters' nodata."
        )


class PatchRegressorBase(ExplainMixin, RegressorMixin, BaseEstimator):
    """Shared machinery of the patch regressors (not for direct use)."""

    # ---- hooks for subclasses ---------------------------------------------------------------
    def _net_bands(self, ps: PatchSet) -> list[str]:
        bands = getattr(self, "bands", None)
        if bands is None:
            return list(ps.bands)
        if isinstance(bands, str):
            raise ValueError(f"bands={bands!r} must be a list of band names, e.g. [{bands!r}].")
        return list(bands)

    def _input_stats(self, arr: np.ndarray, bands: list[str]):
        """Per-channel (shift, scale) from training patches with NaN nodata: mean and sd."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            shift = np.nanmean(arr, axis=(0, 2, 3))
            scale = np.nanstd(arr, axis=(0, 2, 3))
        shift = np.where(np.isfinite(shift), shift, 0.0)
        scale = np.where(np.isfinite(scale) & (scale > 1e-12), scale, 1.0)
        return shift, scale

    def _build_net(self, bands: list[str], patch_size: tuple[int, int]):  # pragma: no cover
        """The untrained network for input ``bands`` and (H, W) ``patch_size``."""
        raise NotImplementedError

    def _branches(self) -> dict[str, list[str]]:
        """Band groups for per-branch attribution: crown and height alone, the rest imagery."""
        out = {"imagery": [b for b in self.bands_ if b not in ("crown", "height")]}
        for b in ("crown", "height"):
            if b in self.bands_:
                out[b] = [b]
        return {k: v for k, v in out.items() if v}

    # ---- validation -------------------------------------------------------------------------
    def _check_params(self) -> None:

        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not one of {sorted(LOSSES)}.")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay={self.lr_decay!r} is not one of {list(LR_DECAYS)}.")
        for name in ("max_epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        if not (isinstance(self.lr, numbers.Real) and self.lr > 0):
            raise ValueError(f"lr={self.lr!r} must be a positive number, e.g. 1e-3.")
        if not 0.0 <= float(self.validation_fraction) < 1.0:
            raise ValueError(f"validation_fraction={self.validation_fraction!r} must be in [0, 1).")
        if self.patience is not None and (
            not isinstance(self.patience, numbers.Integral) or self.patience < 1
        ):
            raise ValueError(f"patience={self.patience!r} must be a positive integer or None.")

    def _prepare(self, ps: PatchSet, bands: list[str], shift) -> np.ndarray:
        """Select ``bands`` and fill nodata (mask or NaN) with the channel shift."""
        data = ps.select(bands).data
        fill = np.asarray(shift, dtype=np.float32)[None, :, None, None]
        bad = ~np.isfinite(data)
        if ps.mask is not None:
            bad = bad | ps.mask[:, None]
        if bad.any():
            data = np.where(bad, fill, data)
        return np.ascontiguousarray(data, dtype=np.float32)

    def _transform_input(self, X):
        check_is_fitted(self, "module_")
        ps = as_patchset(X)
        missing = [b for b in self.bands_ if b not in ps.bands]
        if missing:
            raise ValueError(
                f"X lacks bands {missing} the model was fitted on (X has {ps.bands}); extract "
                f"patches with the same bands: {self.bands_}."
            )
        if tuple(ps.shape[2:]) != tuple(self.patch_size_):
            raise ValueError(
                f"patches are {ps.shape[2]}x{ps.shape[3]} px but the model was fitted on "
                f"{self.patch_size_[0]}x{self.patch_size_[1]} px; extract patches of that size."
            )

        shift = self.module_.scaler.shift.detach().cpu().numpy()
        return torch.from_numpy(self._prepare(ps, self.bands_, shift))

    # ---- public API ----------------------------------------------------------------------------
    def fit(self, X, y, eval_set=None):
        """Train the network on patches ``X`` (PatchSet) and targets ``y`` (Mg/ha).

        Parameters
        ----------
        X : PatchSet or array of shape (n, C, H, W)
        y : array-like of shape (n,)
        eval_set : (PatchSet, array-like), optional
            Validation patches and targets for early stopping; without it a random
            ``validation_fraction`` of ``X`` is held out.

        Returns
        -------
        self
        """
        self._check_params()
        ps = as_patchset(X)
        y = _check_y(y, len(ps))
        bands = self._net_bands(ps)
        _refuse_empty(ps, bands, "X")
        arr = ps.select(bands).data.astype(np.float32)
        if ps.mask is not None:
            arr = np.where(ps.mask[:, None], np.nan, arr)
        shift, scale = self._input_stats(arr, bands)
        x = self._prepare(ps, bands, shift)
        y_mean = float(y.mean())
        y_scale = float(y.std()) if y.std() > 0 else 1.0
        ys = (y - y_mean) / y_scale
        seed = resolve_seed(self.random_state)
        device = resolve_device(self.device)

        if eval_set is not None:
            xv_ps = self._check_eval_set(eval_set, bands, tuple(ps.shape[2:]))
            x_val = self._prepare(xv_ps, bands, shift)
            y_val = (_check_y(eval_set[1], len(xv_ps)) - y_mean) / y_scale
            x_tr, y_tr = x, ys
        else:
            n_val = int(round(self.validation_fraction * len(x)))
            if n_val >= 2 and len(x) - n_val >= 2:
                perm = np.random.default_rng(seed).permutation(len(x))
                x_val, y_val = x[perm[:n_val]], ys[perm[:n_val]]
                x_tr, y_tr = x[perm[n_val:]], ys[perm[n_val:]]
            else:
                x_val = y_val = None
                x_tr, y_tr = x, ys
        if len(x_tr) < 2:
            raise ValueError(f"{len(x_tr)} training patch(es); a patch regressor needs at least 2.")

        settings = TrainSettings(
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            lr_decay=self.lr_decay,
            patience=self.patience,
            augment=bool(self.augment),
            mixed_precision=bool(self.mixed_precision),
            verbose=int(self.verbose),
            desc=type(self).__name__,
        )
        t = lambda a: None if a is None else torch.from_numpy(np.asarray(a, dtype=np.float32))  # noqa: E731
        with seeded(seed, device), thread_limit(getattr(self, "n_jobs", None)):
            gen = torch.Generator().manual_seed(seed)
            net = self._build_net(bands, tuple(int(s) for s in x.shape[2:]))
            net.set_input_stats(shift, scale)
            net.to(device)
            history = train_module(
                net,
                get_loss(self.loss, self.uncertainty_weight),
                t(x_tr),
                t(y_tr),
                x_val=t(x_val),
                y_val=t(y_val),
                settings=settings,
                device=device,
                generator=gen,
            )
        self.module_ = net.eval()
        self.std_scale_ = self._std_scale(net, x_val, y_val, device)
        self.bands_ = bands
        self.patch_size_ = tuple(int(s) for s in x.shape[2:])
        self.y_mean_ = y_mean
        self.y_scale_ = y_scale
        self.history_ = history
        self.device_ = str(device)
        return self

    def _std_scale(self, net, x_val, y_val, device):
        """Recalibration factor of the predicted std on the validation patches, or None."""
        if not (getattr(self, "calibrate_std", True) and LOSSES[self.loss]) or x_val is None:
            return None
        x = torch.from_numpy(np.asarray(x_val, dtype=np.float32))
        out = self._network_outputs(net, x, device)
        return std_scale(y_val, out[:, 0], _sigma(out))

    def _network_outputs(self, module, x, device):
        """(N, 2) network outputs (standardised mean, log-variance) for the tensor ``x``, in
        batches, on this estimator's threads.
        """
        with thread_limit(getattr(self, "n_jobs", None)):
            return predict_module(
                module, x, device, max(4 * int(self.batch_size), 64), bool(self.mixed_precision)
            )

    def _check_eval_set(self, eval_set, bands: list[str], size: tuple[int, int]) -> PatchSet:
        """The validation patches, refused when their bands, size or pixels do not fit ``X``'s."""
        if not (isinstance(eval_set, (tuple, list)) and len(eval_set) == 2):
            raise TypeError(
                f"eval_set must be a pair (X_val, y_val) of a PatchSet and its targets; got "
                f"{type(eval_set).__name__}."
            )
        xv = as_patchset(eval_set[0])
        missing = [b for b in bands if b not in xv.bands]
        if missing:
            raise ValueError(
                f"eval_set patches lack bands {missing} the model trains on (they have "
                f"{xv.bands}); extract them with the same bands as X: {bands}."
            )
        if tuple(xv.shape[2:]) != tuple(size):
            raise ValueError(
                f"eval_set patches are {xv.shape[2]}x{xv.shape[3]} px but the training patches "
                f"are {size[0]}x{size[1]} px; predict would refuse them, so extract both with the "
                "same size_m (extract_patches(..., size_m=...))."
            )
        _refuse_empty(xv, bands, "eval_set")
        return xv

    def predict(self, X, return_std: bool = False):
        """Predicted AGB (Mg/ha) per patch and, with ``return_std``, its standard deviation.

        The standard deviation is the heteroscedastic ``sigma`` of the head (exp of half the
        predicted log-variance) and needs ``loss`` "nll" or "r2_unc".

        A patch with no valid pixel (all NaN or masked) in one of the model's bands gets NaN
        (mean and std), with a warning that names it: there is nothing to predict from, and a
        number would look like a real estimate (:func:`predict_raster` leaves such cells nodata).
        """
        check_is_fitted(self, "module_")
        out = self._network_outputs(
            self.module_, self._transform_input(X), torch.device(self.device_)
        )
        mean = self.y_mean_ + self.y_scale_ * out[:, 0]
        empty, notes = empty_patches(as_patchset(X), list(self.bands_))
        if empty.any():
            mean[empty] = np.nan
            warnings.warn(
                f"{int(empty.sum())} of {len(mean)} patches have a band with no valid pixel "
                f"({'; '.join(notes)}{' ...' if empty.sum() > len(notes) else ''}); their "
                "prediction is NaN. Drop them or fill the rasters' nodata.",
                UserWarning,
                stacklevel=2,
            )
        if not return_std:
            return mean
        if not LOSSES[self.loss]:
            raise ValueError(
                f"return_std=True needs a model trained with an uncertainty loss, but loss={self.loss!r}; "
                "refit with loss='r2_unc' or loss='nll'."
            )
        scale = getattr(self, "std_scale_", None)
        if scale is None and getattr(self, "calibrate_std", False):
            warnings.warn(
                "the predicted std is the network's raw sigma, not recalibrated: calibrate_std "
                "needs at least 20 validation patches (an eval_set, or validation_fraction x "
                "the training patches); it is probably too narrow or too wide. Fit with more "
                "validation patches, or pass calibrate_std=False to accept the raw sigma.",
                UserWarning,
                stacklevel=2,
            )
        std = self.y_scale_ * _sigma(out) * (scale or 1.0)
        std[empty] = np.nan
        return mean, std

    def plot_history(self, ax=None, log: bool = True):
        """Figure of training and validation loss per epoch; see :func:`geoagb.deep.plot_history`."""
        check_is_fitted(self, "history_")
        return plot_history(self.history_, ax=ax, log=log)

    def save(self, path) -> None:
        """Write weights (a torch ``state_dict``) and a JSON config to ``path`` (one file, no
        pickled code); read back with ``type(est).load(path)`` or :func:`geoagb.deep.load_model`.
        """
        save_estimator(self, path)

    @classmethod
    def load(cls, path, device=None):
        """Read an estimator written by :meth:`save`; ``device`` overrides the saved one."""
        return load_estimator(path, cls=cls, device=device)

    def _explain_patches(
        self,
        X,
        n_steps: int = 32,
        batch_size: int = 16,
        baseline="mean",
        branches=None,
        return_pixels: bool = False,
    ) -> dict:
        """Per-band and per-branch integrated-gradients attributions of the predicted AGB.

        This is what :func:`geoagb.explain.explain` calls for a patch regressor.

        Parameters
        ----------
        X : PatchSet
            Patches to explain (same bands and size as in ``fit``).
        n_steps : int
            Steps of the path integral (more steps: smaller ``delta``).
        batch_size : int
            Patches per backward pass (memory: ``batch_size * n_steps`` patches).
        baseline : {"mean", "zeros"} or array of shape (C,)
            Reference patch: "mean" is the per-band training mean (for CSMF-Net: mean imagery,
            no crowns, zero height, i.e. "no trees"); "zeros" all bands 0; or one value per
            band of ``bands_``.
        branches : dict name -> list of band names, optional
            Band groups; default ``self._branches()`` (CSMF-Net: imagery, crown, height).
        return_pixels : bool
            Also return the (n, C, H, W) pixel attributions.

        Returns
        -------
        dict
            ``bands`` (list), ``band_attributions`` (DataFrame n x C, Mg/ha),
            ``branches`` (list), ``branch_attributions`` (DataFrame n x B, Mg/ha),
            ``prediction`` (n,) and ``baseline_prediction`` (n,) in Mg/ha,
            ``delta`` (n,): sum of attributions minus (prediction - baseline_prediction),
            ``method`` ("integrated_gradients"), ``n_steps``, and with ``return_pixels``
            ``pixel_attributions`` (n, C, H, W).
        """
        import pandas as pd

        x = self._transform_input(X)
        c = len(self.bands_)
        if isinstance(baseline, str):
            if baseline == "mean":
                base = self.module_.scaler.shift.detach().cpu().reshape(1, c, 1, 1)
            elif baseline == "zeros":
                base = torch.zeros(1, c, 1, 1)
            else:
                raise ValueError(
                    f"baseline={baseline!r} is not one of ['mean', 'zeros'] or an array of {c} values."
                )
        else:
            b = np.asarray(baseline, dtype=np.float32).reshape(-1)
            if b.size != c:
                raise ValueError(
                    f"baseline has {b.size} values; give one per band of {self.bands_}."
                )
            base = torch.from_numpy(b).reshape(1, c, 1, 1)
        self.module_.float()
        attr, pred, pred0 = integrated_gradients(
            self.module_,
            x,
            base,
            n_steps=n_steps,
            batch_size=batch_size,
            device=torch.device(self.device_),
            output_scale=self.y_scale_,
            output_shift=self.y_mean_,
        )
        band_attr = attr.sum(axis=(2, 3))
        branches = (
            self._branches() if branches is None else {k: list(v) for k, v in branches.items()}
        )
        out = {
            "bands": list(self.bands_),
            "band_attributions": pd.DataFrame(band_attr, columns=list(self.bands_)),
            "branches": list(branches),
            "branch_attributions": group_attributions(band_attr, list(self.bands_), branches),
            "prediction": pred,
            "baseline_prediction": pred0,
            "delta": band_attr.sum(axis=1) - (pred - pred0),
            "method": "integrated_gradients",
            "n_steps": int(n_steps),
        }
        if return_pixels:
            out["pixel_attributions"] = attr
        return out
