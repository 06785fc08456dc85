"""The :class:`Explanation` returned by :func:`geoagb.explain.explain`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._compat import renamed_kwargs
from ._groups import feature_groups, importance, interaction_strength, top_interactions
from ._plot import (
    plot_dependence,
    plot_importance,
    plot_interaction,
    plot_summary,
    plot_top_interactions,
)
from ._segmented import SegmentedFit, segmented_regression

__all__ = ["Explanation", "Thresholds"]


class Thresholds:
    """Thresholds found in a SHAP dependence (see :meth:`Explanation.dependence_thresholds`).

    Attributes
    ----------
    feature : str
    fit : SegmentedFit
        Breakpoints, confidence intervals, slopes and the BIC table.
    color_by : str or None
        Feature that colours :meth:`plot`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(0, 1, 200)
    >>> shap_ndvi = np.where(x < 0.4, 2 * x, 0.8 - (x - 0.4)) + rng.normal(0, 0.02, 200)
    >>> ex = Explanation(shap_ndvi[:, None], 0.0, pd.DataFrame({"ndvi": x}))
    >>> th = ex.dependence_thresholds("ndvi", max_breakpoints=1, color_by=None)
    >>> round(float(th.breakpoints[0]), 2), th.to_frame()["feature"].tolist()
    (0.4, ['ndvi'])
    """

    def __init__(self, explanation: Explanation, feature: str, fit: SegmentedFit, color_by):
        self._ex = explanation
        self.feature = feature
        self.fit = fit
        self.color_by = color_by

    @property
    def breakpoints(self) -> np.ndarray:
        """The thresholds, in the units of the feature."""
        return self.fit.breakpoints

    @property
    def ci(self) -> np.ndarray:
        """(k, 2) confidence limits of the thresholds."""
        return self.fit.ci

    def to_frame(self) -> pd.DataFrame:
        """One row per threshold (see :meth:`SegmentedFit.to_frame`), with the feature name."""
        out = self.fit.to_frame()
        out.insert(0, "feature", self.feature)
        return out

    def plot(self, ax=None):
        """Dependence plot with the segmented fit, thresholds (red) and median (black)."""
        return self._ex.dependence(self.feature, color_by=self.color_by, thresholds=self.fit, ax=ax)

    def __repr__(self) -> str:
        pts = ", ".join(
            f"{b:.4g} [{lo:.4g}, {hi:.4g}]"
            for b, (lo, hi) in zip(self.fit.breakpoints, self.fit.ci)
        )
        return f"Thresholds({self.feature!r}: {pts or 'none (linear by BIC)'})"


class Explanation:
    """SHAP values (and optionally interaction values) of a model on a set of samples.

    For every sample ``i``: ``base_values[i] + values[i].sum() == prediction[i]`` (the model's
    output: its prediction, or its margin for XGBoost models with a link function), to float32
    rounding for XGBoost (about 1e-6 relative), to float64 rounding for the others; and the rows of
    ``interaction_values[i]`` sum to ``values[i]``.

    Parameters
    ----------
    values : array (n, p)
        SHAP values, in output units (Mg/ha for an AGB model).
    base_values : float or array (n,)
        Expected model output the values start from.
    data : DataFrame (n, p)
        The feature values explained (columns = ``feature_names``).
    interaction_values : array (n, p, p), optional
        SHAP interaction values (Lundberg et al., 2020): ``Phi_ij = Phi_ji`` is half the
        interaction of ``i`` and ``j``, ``Phi_ii`` the main effect.
    method : str
        How the values were computed.
    groups : dict group -> list of features, optional
        The model's own feature grouping (e.g. a patch network's branches); used by
        :meth:`top_interactions` when no ``groups`` is given, else the ``"auto"`` rule (see
        :func:`geoagb.explain.feature_groups`).
    unit : str
        Output unit, for axis labels.

    Attributes
    ----------
    values, base_values, data, feature_names, interaction_values, method, groups, unit

    References
    ----------
    Lundberg, S. M. et al. (2020). From local explanations to global understanding with
    explainable AI for trees. Nature Machine Intelligence 2, 56-67.

    Examples
    --------
    >>> data = pd.DataFrame({"ndvi": [0.5, 0.8], "slope": [10.0, 20.0]})
    >>> ex = Explanation([[1.0, -2.0], [3.0, 0.5]], 10.0, data)
    >>> ex.prediction.tolist()            # 10 + 1 - 2 and 10 + 3 + 0.5
    [9.0, 13.5]
    >>> ex.importance().to_dict()         # mean |SHAP| per feature
    {'ndvi': 2.0, 'slope': 1.25}
    """

    @renamed_kwargs({"units": "unit"})
    def __init__(
        self,
        values,
        base_values,
        data: pd.DataFrame,
        interaction_values=None,
        method: str = "",
        groups: Mapping[str, Sequence[str]] | None = None,
        unit: str = "Mg/ha",
        extra: dict | None = None,
    ):
        self.values = np.asarray(values, dtype=np.float64)
        n, p = self.values.shape
        self.base_values = np.broadcast_to(np.asarray(base_values, dtype=np.float64), (n,)).copy()
        if not isinstance(data, pd.DataFrame) or data.shape != (n, p):
            raise ValueError(f"data must be a DataFrame of shape {(n, p)}.")
        self.data = data
        self.feature_names = [str(c) for c in data.columns]
        if interaction_values is not None and np.shape(interaction_values) != (n, p, p):
            raise ValueError(
                f"interaction values must have shape {(n, p, p)}; "
                f"got {np.shape(interaction_values)}."
            )
        self.interaction_values = interaction_values
        self.method = method
        self.groups = {str(k): list(v) for k, v in groups.items()} if groups is not None else None
        self.unit = unit
        self.extra = dict(extra or {})

    # -- basics -------------------------------------------------------------------------------

    @property
    def units(self) -> str:
        """Old name of :attr:`unit` (kept for one release)."""
        return self.unit

    @units.setter
    def units(self, value: str) -> None:
        self.unit = value

    @property
    def prediction(self) -> np.ndarray:
        """``base_values + values.sum(axis=1)``: the model output being explained."""
        return self.base_values + self.values.sum(axis=1)

    @property
    def expected_value(self) -> float:
        """The mean base value."""
        return float(self.base_values.mean()) if self.base_values.size else float("nan")

    def __len__(self) -> int:
        return self.values.shape[0]

    def __getitem__(self, rows) -> Explanation:
        """The explanation of a subset of samples (positional index, slice or boolean mask)."""
        idx = np.arange(len(self))[rows]
        idx = np.atleast_1d(idx)
        return Explanation(
            self.values[idx],
            self.base_values[idx],
            self.data.iloc[idx],
            None if self.interaction_values is None else self.interaction_values[idx],
            method=self.method,
            groups=self.groups,
            unit=self.unit,
            extra=self.extra,
        )

    def __repr__(self) -> str:
        inter = "" if self.interaction_values is None else ", with interactions"
        return (
            f"Explanation({len(self)} samples x {len(self.feature_names)} features{inter}; "
            f"base {self.expected_value:.4g} {self.unit}; {self.method})"
        )

    def _col(self, feature: str) -> int:
        try:
            return self.feature_names.index(feature)
        except ValueError:
            raise ValueError(
                f"feature {feature!r} is not in the explanation; features: {self.feature_names}."
            ) from None

    def _resolve_groups(self, groups):
        """None -> the explanation's own groups, else the "auto" rule."""
        if groups is None:
            return self.groups if self.groups is not None else "auto"
        return groups

    def _need_interactions(self, what: str):
        if self.interaction_values is None:
            raise ValueError(
                f"{what} needs interaction values; compute them with "
                "explain(model, X, interactions=True)."
            )

    def to_frame(self) -> pd.DataFrame:
        """SHAP values as a DataFrame (index of the data), plus ``base_value`` and ``prediction``."""
        out = pd.DataFrame(self.values, columns=self.feature_names, index=self.data.index)
        out["base_value"] = self.base_values
        out["prediction"] = self.prediction
        return out

    def to_shap(self):
        """The same values as a ``shap.Explanation`` (to use shap's own plots)."""
        import shap

        return shap.Explanation(
            values=self.values,
            base_values=self.base_values,
            data=self.data.to_numpy(),
            feature_names=self.feature_names,
        )

    # -- importance ---------------------------------------------------------------------------
    def importance(self, groups=None) -> pd.Series:
        """Mean |SHAP| per feature, sorted; with ``groups`` ("auto" or dict group -> features,
        e.g. ``ex.groups``), summed within each group (see :func:`geoagb.explain.feature_groups`).
        """
        return importance(self.values, self.feature_names, groups=groups)

    def importance_plot(self, groups=None, max_display: int = 20, ax=None):
        """Bar chart of :meth:`importance`; returns a Figure."""
        return plot_importance(
            self.importance(groups), max_display=max_display, ax=ax, unit=self.unit
        )

    def summary_plot(self, max_display: int = 20):
        """Beeswarm of the SHAP values of the most important features; returns a Figure."""
        return plot_summary(
            self.values, self.data, self.feature_names, max_display=max_display, unit=self.unit
        )

    # -- dependence ---------------------------------------------------------------------------
    def _auto_color(self, feature: str):
        j = self._col(feature)
        if self.interaction_values is not None:
            m = interaction_strength(self.interaction_values)[j].copy()
            m[j] = -np.inf
            return self.feature_names[int(np.argmax(m))]
        import shap

        num = self.data.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        order = shap.utils.approximate_interactions(j, self.values, num)
        cand = [int(i) for i in order if int(i) != j]
        return self.feature_names[cand[0]] if cand else None

    def dependence(self, feature: str, color_by: str | None = "auto", thresholds=None, ax=None):
        """SHAP dependence plot of ``feature`` coloured by ``color_by``; returns a Figure.

        Parameters
        ----------
        feature : str
        color_by : str, "auto" or None
            "auto": the feature with the strongest interaction (interaction values when present,
            else shap's ``approximate_interactions``).
        thresholds : SegmentedFit or Thresholds, optional
            Draw the segmented fit and its thresholds.
        """
        j = self._col(feature)
        if color_by == "auto":
            color_by = self._auto_color(feature) if len(self.feature_names) > 1 else None
        color = None if color_by is None else self.data.iloc[:, self._col(color_by)]
        fit = thresholds.fit if isinstance(thresholds, Thresholds) else thresholds
        return plot_dependence(
            self.data.iloc[:, j],
            self.values[:, j],
            feature,
            color=color,
            color_name=color_by,
            fit=fit,
            ax=ax,
            unit=self.unit,
        )

    def dependence_thresholds(
        self,
        feature: str,
        max_breakpoints: int = 2,
        color_by: str | None = "auto",
        alpha: float = 0.05,
        **kwargs,
    ) -> Thresholds:
        """Thresholds of ``feature``'s effect: segmented regression of its SHAP values on it.

        The number of breakpoints (0..``max_breakpoints``) is chosen by BIC; each comes with a
        ``1 - alpha`` confidence interval (see :func:`geoagb.explain.segmented_regression`).
        ``color_by`` only affects :meth:`Thresholds.plot`.

        Returns
        -------
        Thresholds
        """
        j = self._col(feature)
        x = pd.to_numeric(self.data.iloc[:, j], errors="coerce").to_numpy(dtype=float)
        fit = segmented_regression(
            x, self.values[:, j], max_breakpoints=max_breakpoints, alpha=alpha, **kwargs
        )
        if color_by == "auto":
            color_by = self._auto_color(feature) if len(self.feature_names) > 1 else None
        return Thresholds(self, feature, fit, color_by)

    # -- interactions -------------------------------------------------------------------------
    def interaction_matrix(self) -> pd.DataFrame:
        """Mean |Phi_ij + Phi_ji| for each pair (main effects mean |Phi_ii| on the diagonal)."""
        self._need_interactions("interaction_matrix")
        m = interaction_strength(self.interaction_values)
        return pd.DataFrame(m, index=self.feature_names, columns=self.feature_names)

    def top_interactions(
        self, k: int | None = 10, between: Sequence | None = None, groups=None
    ) -> pd.DataFrame:
        """The ``k`` strongest pairs, optionally ``between=(group_a, group_b)`` such as
        ``("spectral", "terrain")``; see :func:`geoagb.explain.top_interactions`.
        """
        self._need_interactions("top_interactions")
        return top_interactions(
            self.interaction_matrix().to_numpy(),
            self.feature_names,
            k=k,
            between=between,
            groups=self._resolve_groups(groups),
        )

    def top_interactions_plot(self, k: int = 10, between=None, groups=None, ax=None):
        """Bar chart of :meth:`top_interactions`; returns a Figure."""
        return plot_top_interactions(
            self.top_interactions(k, between, groups), ax=ax, unit=self.unit
        )

    def interaction_plot(self, f1: str, f2: str):
        """Main effect of ``f1`` and its interaction with ``f2`` against ``f1``; returns a Figure."""
        self._need_interactions("interaction_plot")
        i, j = self._col(f1), self._col(f2)
        phi = self.interaction_values
        return plot_interaction(
            self.data.iloc[:, i],
            phi[:, i, i],
            phi[:, i, j] + phi[:, j, i],
            self.data.iloc[:, j],
            f1,
            f2,
            unit=self.unit,
        )

    def group_of(self, groups=None) -> dict:
        """Feature -> group under ``groups`` (default: the explanation's own, else "auto")."""
        return feature_groups(self.feature_names, self._resolve_groups(groups))
