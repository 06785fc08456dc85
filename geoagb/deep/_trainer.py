"""The shared training core of the patch regressors: one loop, a few hooks, no model code.

:func:`train_module` fits any :class:`~geoagb.deep._blocks.PatchNet` with AdamW, a learning-rate
schedule, minibatches, flip / rot90 augmentation, early stopping on a validation set and bf16
autocast on CUDA; :func:`predict_module` runs it batch by batch. The estimators own data
preparation (band selection, nodata filling, target standardisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from ._torch import autocast, torch

__all__ = ["TrainSettings", "train_module", "predict_module", "augment_d4", "LR_DECAYS"]

#: learning-rate schedules: cosine annealing to 1% of ``lr`` over ``max_epochs``; halve on a
#: validation plateau; constant.
LR_DECAYS = ("cosine", "plateau", "none")


@dataclass
class TrainSettings:
    """Optimisation settings (the estimators' parameters of the same names)."""

    max_epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2
    lr_decay: str = "cosine"
    patience: int | None = 10
    augment: bool = True
    mixed_precision: bool = True
    verbose: int = 1
    desc: str = "training"


def augment_d4(x, generator):
    """Random horizontal flip and (square patches) random multiple of 90 degrees, per sample.

    The eight symmetries of the square keep every band aligned with every other, so crown masks
    and canopy height stay co-registered with the imagery. ``generator`` is a CPU
    :class:`torch.Generator`.
    """
    n = x.shape[0]
    flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if x.shape[-1] != x.shape[-2]:
        return x
    k = torch.randint(0, 4, (n,), generator=generator)
    out = x.clone()
    for r in (1, 2, 3):
        idx = torch.nonzero(k == r).reshape(-1).to(x.device)
        if idx.numel():
            out[idx] = torch.rot90(x[idx], r, dims=(-2, -1))
    return out


def _batches(n: int, batch_size: int, generator=None):
    """Index batches; a shuffled epoch drops one sample rather than end on a batch of 1
    (batch norm and the R2 loss need at least two samples).
    """
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    if generator is not None and n > 1 and n % batch_size == 1:
        order = order[:-1]
    return torch.split(order, batch_size)


def _outputs(module, x, device, batch_size, mixed_precision, memory_format=None):
    outs = []
    fmt = {} if memory_format is None else {"memory_format": memory_format}
    for idx in _batches(len(x), batch_size):
        with autocast(device, mixed_precision):
            outs.append(module(x[idx].to(device, non_blocking=True, **fmt)).float())
    return torch.cat(outs) if outs else torch.zeros((0, 2), device=device)


def predict_module(
    module, x, device, batch_size: int = 256, mixed_precision: bool = True
) -> np.ndarray:
    """Network outputs (N, 2) for the CPU tensor ``x``, in eval mode, as float64 numpy.

    On the CPU the network runs channels-last (NHWC), which oneDNN's convolutions prefer:
    1.2-1.5x patches/s for CSMF-Net and the patch ResNet (``benchmarks/bench_patch_throughput.py``);
    the module is returned to its usual layout afterwards.
    """
    module.eval()
    nhwc = torch.device(device).type == "cpu" and x.dim() == 4
    fmt = torch.channels_last if nhwc else None
    if nhwc:
        module.to(memory_format=torch.channels_last)
    try:
        with torch.inference_mode():  # no autograd bookkeeping at all (faster than no_grad)
            out = _outputs(module, x, device, batch_size, mixed_precision, fmt)
    finally:
        if nhwc:
            module.to(memory_format=torch.contiguous_format)
    return out.cpu().double().numpy()


def _scheduler(opt, settings: TrainSettings):
    if settings.lr_decay == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=max(settings.max_epochs, 1), eta_min=settings.lr * 0.01
        )
    if settings.lr_decay == "plateau":
        pat = max(1, (settings.patience or 10) // 3)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=pat)
    return None


def train_module(
    module, loss_fn, x, y, *, x_val, y_val, settings: TrainSettings, device, generator
) -> dict:
    """Fit ``module`` in place; return the history dict.

    Parameters
    ----------
    module : PatchNet
        Already on ``device``; its weights are replaced by those of the best validation epoch
        when a validation set is given.
    loss_fn : callable
        ``loss_fn(y, out) -> scalar`` with ``out`` the (N, 2) network output.
    x, y : CPU tensors (N, C, H, W) and (N,)
        Training patches (nodata filled) and standardised targets.
    x_val, y_val : CPU tensors or None
        Validation set for early stopping and the plateau schedule.
    settings : TrainSettings
    device : torch.device
    generator : torch.Generator
        CPU generator for shuffling and augmentation (seeded by the estimator).

    Returns
    -------
    dict
        ``epoch``, ``train_loss``, ``val_loss`` (NaN without validation) and ``lr`` per epoch,
        ``best_epoch`` and ``stopped_early``.
    """
    opt = torch.optim.AdamW(module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    sched = _scheduler(opt, settings)
    has_val = x_val is not None and len(x_val) > 0
    y_dev = y.to(device)
    yv_dev = y_val.to(device) if has_val else None
    hist = {"epoch": [], "train_loss": [], "val_loss": [], "lr": []}
    best, best_state, best_epoch, bad = np.inf, None, 0, 0
    bar = tqdm(
        range(1, settings.max_epochs + 1),
        desc=settings.desc,
        disable=not settings.verbose,
        leave=False,
        unit="epoch",
    )
    stopped = False
    for epoch in bar:
        module.train()
        total, count = 0.0, 0
        for idx in _batches(len(x), settings.batch_size, generator):
            xb = x[idx].to(device, non_blocking=True)
            if settings.augment:
                xb = augment_d4(xb, generator)
            with autocast(device, settings.mixed_precision):
                out = module(xb)
            loss = loss_fn(y_dev[idx.to(device)], out.float())
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {loss.item()} at epoch {epoch}; lower lr "
                    f"(now {settings.lr:g}) or check the inputs for extreme values."
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        train_loss = total / max(count, 1)
        if has_val:
            module.eval()
            with torch.no_grad():
                out = _outputs(
                    module, x_val, device, max(settings.batch_size, 256), settings.mixed_precision
                )
                val_loss = float(loss_fn(yv_dev, out))
        else:
            val_loss = float("nan")
        hist["epoch"].append(epoch)
        hist["train_loss"].append(train_loss)
        hist["val_loss"].append(val_loss)
        hist["lr"].append(opt.param_groups[0]["lr"])
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(val_loss if has_val else train_loss)
        elif sched is not None:
            sched.step()
        if has_val:
            if best_state is None or val_loss < best - 1e-6 * max(abs(best), 1.0):
                best, best_epoch, bad = val_loss, epoch, 0
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            else:
                bad += 1
                if settings.patience is not None and bad >= settings.patience:
                    stopped = True
                    break
    bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    else:
        best_epoch = hist["epoch"][-1] if hist["epoch"] else 0
    module.eval()
    hist["best_epoch"] = int(best_epoch)
    hist["stopped_early"] = bool(stopped)
    return hist
