"""Save and load patch regressors as a torch ``state_dict`` plus a JSON config (no pickled code).

The file is written with :func:`torch.save` and holds only tensors and strings, so it is read
back with ``torch.load(..., weights_only=True)``: loading a model never runs code from the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["save_estimator", "load_estimator", "load_model", "FORMAT"]

FORMAT = "geoagb.deep/1"


def _estimator_classes() -> dict:
    from . import _estimators

    return {name: getattr(_estimators, name) for name in _estimators.__all__}


def _jsonable(value, name):
    try:
        return json.loads(json.dumps(value))
    except TypeError:
        raise ValueError(
            f"parameter {name}={value!r} cannot be written to the JSON config; save needs plain "
            "values (numbers, strings, lists), e.g. an int random_state."
        ) from None


def save_estimator(est, path) -> None:
    """Write a fitted patch regressor to ``path`` (see the module docstring)."""
    from sklearn.utils.validation import check_is_fitted

    from ._torch import torch

    check_is_fitted(est, "module_")
    params = {k: _jsonable(v, k) for k, v in est.get_params(deep=False).items()}
    config = {
        "format": FORMAT,
        "class": type(est).__name__,
        "params": params,
        "fitted": {
            "bands_": list(est.bands_),
            "patch_size_": list(est.patch_size_),
            "y_mean_": float(est.y_mean_),
            "y_scale_": float(est.y_scale_),
            "history_": _jsonable(est.history_, "history_"),
        },
        "torch_version": torch.__version__,
    }
    state = {k: v.detach().cpu() for k, v in est.module_.state_dict().items()}
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", suffix=".tmp")
    os.close(fd)
    try:
        torch.save({"config": json.dumps(config), "state_dict": state}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_estimator(path, cls=None, device=None):
    """Read a patch regressor written by :func:`save_estimator`.

    Parameters
    ----------
    path : str or Path
    cls : class, optional
        Expected class; a file holding another model is refused. None accepts any
        geoagb patch regressor.
    device : {"auto", "cpu", "cuda"}, optional
        Where to put the network; default the saved ``device`` parameter.
    """
    from ._torch import resolve_device, torch

    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or "config" not in blob:
        raise ValueError(f"{path} is not a geoagb patch-model file (no config); write one with est.save(path).")
    config = json.loads(blob["config"])
    if config.get("format") != FORMAT:
        raise ValueError(f"{path} has format {config.get('format')!r}; this geoagb reads {FORMAT!r}.")
    classes = _estimator_classes()
    name = config["class"]
    if name not in classes:
        raise ValueError(f"{path} holds an unknown model class {name!r}; known: {sorted(classes)}.")
    if cls is not None and cls.__name__ in classes and cls.__name__ != name:
        raise ValueError(f"{path} holds a {name}, not a {cls.__name__}; load it with {name}.load(path).")
    est = classes[name](**config["params"])
    fitted = config["fitted"]
    patch_size = tuple(fitted["patch_size_"])
    net = est._build_net(list(fitted["bands_"]), patch_size)
    net.load_state_dict(blob["state_dict"])
    dev = resolve_device(est.device if device is None else device)
    est.module_ = net.to(dev).eval()
    est.bands_ = list(fitted["bands_"])
    est.patch_size_ = patch_size
    est.y_mean_ = float(fitted["y_mean_"])
    est.y_scale_ = float(fitted["y_scale_"])
    est.history_ = fitted["history_"]
    est.device_ = str(dev)
    return est


def load_model(path, device=None):
    """Load any geoagb patch regressor saved with ``est.save(path)``.

    Examples
    --------
    >>> import tempfile, os
    >>> from geoagb.deep import PixelMLPRegressor, load_model
    >>> from geoagb.deep._toy import toy_patches
    >>> X, y = toy_patches(40, size=8, random_state=0)
    >>> est = PixelMLPRegressor(max_epochs=3, verbose=0, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.pt")
    >>> est.save(path)
    >>> bool((load_model(path).predict(X) == est.predict(X)).all())
    True
    """
    return load_estimator(path, cls=None, device=device)
