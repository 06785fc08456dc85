"""Small mix-ins shared by geoagb estimators."""

from __future__ import annotations

__all__ = ["ExplainMixin", "uses_coords"]


class ExplainMixin:
    """Gives an estimator ``.explain(X, **kw)``, which is ``geoagb.explain.explain(self, X, **kw)``."""

    def explain(self, X, **kwargs):
        """SHAP explanation of this fitted estimator on ``X``; see :func:`geoagb.explain.explain`."""
        from .explain import explain

        return explain(self, X, **kwargs)


def uses_coords(estimator) -> bool:
    """True when ``estimator`` reads coordinates from ``X`` itself (geoagb spatial estimators
    set the class attribute ``_uses_coords = True``); for a Pipeline, its first step decides.

    geoagb's own validation functions drop coordinate columns before fitting any other
    estimator, so coordinates never leak into the learner as features unless asked.
    """
    steps = getattr(estimator, "steps", None)
    if steps:
        return uses_coords(steps[0][1])
    return bool(getattr(estimator, "_uses_coords", False))
