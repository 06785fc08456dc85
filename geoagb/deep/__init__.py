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

from .._lazy import attach as _attach
from ._patchset import PatchSet  # noqa: F401  (eager: listed in __all__ below)

# the models, losses and loaders import torch (through ._torch, which names the extra when it is
# missing); PatchSet does not
__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
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
    },
    eager=["PatchSet"],
)
