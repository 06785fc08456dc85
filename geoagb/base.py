"""Small mix-ins shared by geoagb estimators."""

from __future__ import annotations

__all__ = ["ExplainMixin"]


class ExplainMixin:
    """Gives an estimator ``.explain(X, **kw)``, which is ``geoagb.explain.explain(self, X, **kw)``."""

    def explain(self, X, **kwargs):
        """SHAP explanation of this fitted estimator on ``X``; see :func:`geoagb.explain.explain`."""
        from .explain import explain

        return explain(self, X, **kwargs)
