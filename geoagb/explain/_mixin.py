"""``.explain(X)`` for geoagb estimators: the explain layer's door on the estimators below it."""

from __future__ import annotations

from ._explain import explain

__all__ = ["ExplainMixin"]


class ExplainMixin:
    """Gives an estimator ``.explain(X, **kw)``, which is ``geoagb.explain.explain(self, X, **kw)``."""

    def explain(self, X, **kwargs):
        """SHAP explanation of this fitted estimator on ``X``; see :func:`geoagb.explain.explain`."""
        return explain(self, X, **kwargs)
