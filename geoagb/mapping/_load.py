"""Loading a fitted estimator (or a feature recipe) from a file, without running its code."""

from __future__ import annotations

from pathlib import Path

from sklearn.utils import all_estimators

from .._untrusted import load_pickle, load_skops
from ..features import RasterFeatures

__all__ = ["load_estimator_file"]

_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def load_estimator_file(path, trusted=False, *, expect="estimator"):
    """Load a fitted estimator (or a RasterFeatures recipe) from a skops, joblib or geoagb-deep file.

    Nothing in the file runs as code unless ``trusted=True`` (command line: ``--trust``):

    * ``.skops`` files are audited node by node against the types geoagb writes and the
      scikit-learn estimators skops trusts (:func:`geoagb._untrusted.audit_skops`); a list of type
      names adds to that list, ``True`` accepts every type in the file;
    * ``.joblib``/``.pkl``/``.pickle`` files run code when read, so they need ``trusted=True``;
    * ``.pt`` files are geoagb patch models saved with ``est.save(path)`` (tensors and JSON only).

    ``expect="estimator"`` refuses a file that holds no fitted model (e.g. a saved array);
    ``"recipe"`` one that holds no :class:`~geoagb.features.RasterFeatures`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a model file (.skops, .joblib, .pkl, .pt).")
    suffix = path.suffix.lower()
    if suffix == ".skops":
        if trusted is not True:
            trusted = list(trusted or ()) + _sklearn_estimator_types()
        return _expected(load_skops(path, trusted=trusted), path, expect)
    if suffix in _PICKLE_SUFFIXES:
        return _expected(load_pickle(path, trusted=trusted), path, expect)
    if suffix == ".pt":
        from ..deep import load_model  # torch: an optional extra, imported only for .pt files

        return load_model(path)
    raise ValueError(
        f"cannot load {path}: the suffix {suffix!r} is not one of .skops, .joblib, .pkl, .pickle or "
        ".pt (geoagb deep models). Save a model with skops.io.dump(model, 'model.skops') or "
        "joblib.dump(model, 'model.joblib')."
    )


def _sklearn_estimator_types() -> list[str]:
    """``module.Class`` of scikit-learn's public estimators (those skops trusts by default)."""
    return [f"{c.__module__}.{c.__name__}" for _, c in all_estimators()]


def _expected(obj, path, expect):
    if expect == "recipe":
        ok, want = isinstance(obj, RasterFeatures), "a geoagb.features.RasterFeatures recipe"
    else:
        ok, want = callable(getattr(obj, "predict", None)), "a fitted model (with a predict method)"
    if not ok:
        raise ValueError(
            f"{path} holds a {type(obj).__module__}.{type(obj).__name__}, not {want}; save the "
            "fitted estimator itself, e.g. joblib.dump(model, 'model.joblib')."
        )
    return obj
