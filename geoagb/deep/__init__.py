"""Deep patch regressors (torch, behind the ``deep`` extra) and :class:`PatchSet` (no torch).

``from geoagb.deep import PatchSet`` never imports torch; the model classes, losses and
:func:`load_model` import it on first use and raise an ImportError naming
``pip install "geoagb[deep]"`` when it is missing.

Models (each ``fit(X: PatchSet, y, eval_set=None)``, ``predict(X, return_std=False)``,
``save(path)`` / ``load(path)``, ``plot_history()``, ``explain(X)``):

* :class:`CSMFNetRegressor` - imagery, crown and crown-gated height branches fused by
  cross-attention, with a heteroscedastic head (FineKarstAGB);
* :class:`PatchResNetRegressor` - residual CNN (the Tibet ResNet study);
* :class:`CNNTransformerRegressor` - conv stem + transformer encoder (the Lishui CNN-Transformer study);
* :class:`AlexNetRegressor`, :class:`VGGRegressor`, :class:`PixelMLPRegressor` - the Tibet ResNet study's
  baselines.
"""

from ._patchset import PatchSet

__all__ = [
    "PatchSet",
    "CSMFNetRegressor",
    "PatchResNetRegressor",
    "CNNTransformerRegressor",
    "AlexNetRegressor",
    "VGGRegressor",
    "PixelMLPRegressor",
    "r2_loss",
    "heteroscedastic_nll",
    "csmf_loss",
    "load_model",
    "plot_history",
    "plot_calibration",
    "std_scale",
]

_LAZY = {
    "CSMFNetRegressor": "._estimators",
    "PatchResNetRegressor": "._estimators",
    "CNNTransformerRegressor": "._estimators",
    "AlexNetRegressor": "._estimators",
    "VGGRegressor": "._estimators",
    "PixelMLPRegressor": "._estimators",
    "r2_loss": "._losses",
    "heteroscedastic_nll": "._losses",
    "csmf_loss": "._losses",
    "load_model": "._io",
    "plot_history": "._plot",
    "plot_calibration": "._plot",
    "std_scale": "._calibration",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    try:
        module = importlib.import_module(_LAZY[name], __name__)
    except ImportError as exc:
        if "torch" in str(exc) or getattr(exc, "name", None) == "torch":
            raise ImportError(
                f"geoagb.deep.{name} needs PyTorch, which is not installed; install it with "
                f'`pip install "geoagb[deep]"` ({exc}).'
            ) from exc
        raise
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
