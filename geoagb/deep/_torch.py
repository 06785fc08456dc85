"""The one module of geoagb that imports torch: import guard, device choice, seeding, autocast.

Every other deep module gets torch from here (``from ._torch import torch, nn``), and this module
gets it from :func:`geoagb._optional.optional_import`, so that a missing ``deep`` extra gives one
clear message.
"""

from __future__ import annotations

import contextlib
import os

from .._optional import optional_import
from .._threads import default_threads

torch = optional_import(
    "torch", "geoagb's deep patch models (or get a torch build for your machine from pytorch.org)"
)
nn = torch.nn
F = torch.nn.functional

__all__ = [
    "torch",
    "nn",
    "F",
    "resolve_device",
    "autocast",
    "seeded",
    "resolve_seed",
    "default_threads",
    "thread_limit",
]

_DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device="auto") -> torch.device:
    """Return the :class:`torch.device` for a user's ``device`` parameter.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str like "cuda:1" or torch.device
        ``"auto"`` takes CUDA when it is available and the CPU otherwise.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, torch.device):
        dev = device
    else:
        name = "auto" if device is None else str(device)
        if name == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        if name.split(":")[0] not in _DEVICES[1:]:
            raise ValueError(f"device={device!r} is not one of {list(_DEVICES)} (or 'cuda:N').")
        dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA but torch.cuda.is_available() is False on this "
            "machine; use device='auto' or 'cpu'."
        )
    return dev


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (when ``enabled``); a no-op context on the CPU."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def resolve_seed(random_state) -> int:
    """An int seed from ``random_state`` (None: a fresh one from numpy; RandomState: drawn)."""
    import numpy as np

    if random_state is None:
        return int(np.random.randint(0, 2**31 - 1))
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(f"random_state={random_state!r} must be None, an int or a numpy RandomState.")


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Run a block with torch's global RNG seeded by ``seed`` and restored afterwards.

    Weight initialisation and dropout draw from the global RNG; forking it keeps a fit
    reproducible without changing the caller's random stream.
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def thread_limit(n_jobs=None):
    """Run a block with torch's intra-op CPU threads set to ``n_jobs`` (None: the policy of
    :func:`default_threads`; -1: every core), restoring the previous value afterwards.
    """
    if n_jobs == -1:
        n = os.cpu_count() or 1
    else:
        n = default_threads() if n_jobs is None else int(n_jobs)
    if n < 1:
        raise ValueError(
            f"n_jobs={n_jobs!r} must be a positive number of CPU threads, -1 (every core) or "
            "None (the default policy)."
        )
    prev = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(prev)
