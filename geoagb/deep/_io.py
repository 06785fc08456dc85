"""Save and load patch regressors as a torch ``state_dict`` plus a JSON config (no pickled code).

The file is written with :func:`torch.save` and holds only tensors and strings, so it is read
back with ``torch.load(..., weights_only=True)`` after its zip members are sized
(:func:`geoagb._untrusted.open_zip`): loading a model never runs code from the file.
"""

from __future__ import annotations

import json
import pickle
import zipfile
from pathlib import Path

from .._io import atomic_path, check_output_path
from .._untrusted import open_zip
from ._torch import resolve_device, torch

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

    check_output_path(path, "path")  # a folder, or a missing folder, is refused before any work
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
            "std_scale_": getattr(est, "std_scale_", None),
            "history_": _jsonable(est.history_, "history_"),
        },
        "torch_version": torch.__version__,
    }
    state = {k: v.detach().cpu() for k, v in est.module_.state_dict().items()}
    with atomic_path(path, "path") as tmp:
        torch.save({"config": json.dumps(config), "state_dict": state}, tmp)


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
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist.")
    if path.is_dir():
        raise ValueError(
            f"{path} is a folder, not a model file; give the .pt file written by est.save(path)."
        )
    hint = (
        "write one with est.save(path), or, if it was copied, copy it again (it may be "
        "truncated or corrupted)"
    )
    if not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a geoagb patch-model file: it is not a torch zip archive (a truncated "
            f"copy, or another kind of file); {hint}."
        )
    with open_zip(path):  # member sizes and compression ratios checked before torch reads it
        pass
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except (
        RuntimeError,
        pickle.UnpicklingError,
        EOFError,
        KeyError,
        IndexError,
        ValueError,
        TypeError,
        AttributeError,
        zipfile.BadZipFile,
    ) as err:
        first = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} could not be read as a geoagb patch-model file ({type(err).__name__}: {first}); "
            f"{hint}. geoagb reads only tensors and a JSON config from it, never pickled code."
        ) from err
    if not isinstance(blob, dict) or "config" not in blob or "state_dict" not in blob:
        raise ValueError(f"{path} is not a geoagb patch-model file (no config); {hint}.")
    try:
        config = json.loads(blob["config"])
        config["class"], config["params"], config["fitted"]
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"{path} has an unreadable config ({err}); {hint}.") from err
    if config.get("format") != FORMAT:
        raise ValueError(
            f"{path} has format {config.get('format')!r}; this geoagb reads {FORMAT!r}."
        )
    classes = _estimator_classes()
    name = config["class"]
    if name not in classes:
        raise ValueError(f"{path} holds an unknown model class {name!r}; known: {sorted(classes)}.")
    if cls is not None and cls.__name__ in classes and cls.__name__ != name:
        raise ValueError(
            f"{path} holds a {name}, not a {cls.__name__}; load it with {name}.load(path)."
        )
    params = dict(config["params"])
    if "n_threads" in params:  # files written before the rename to n_jobs
        params["n_jobs"] = params.pop("n_threads")
    est = classes[name](**params)
    fitted = config["fitted"]
    patch_size = tuple(fitted["patch_size_"])
    net = est._build_net(list(fitted["bands_"]), patch_size)
    try:
        net.load_state_dict(blob["state_dict"])
    except RuntimeError as err:
        raise ValueError(
            f"the weights in {path} do not fit a {name} with its saved parameters ("
            f"{str(err).splitlines()[0][:160]}); the file was edited or written by another "
            f"version; {hint}."
        ) from err
    dev = resolve_device(est.device if device is None else device)
    est.module_ = net.to(dev).eval()
    est.bands_ = list(fitted["bands_"])
    est.patch_size_ = patch_size
    est.y_mean_ = float(fitted["y_mean_"])
    est.y_scale_ = float(fitted["y_scale_"])
    est.std_scale_ = fitted.get("std_scale_")
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
