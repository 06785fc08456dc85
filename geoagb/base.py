"""What geoagb estimators share: the coordinate-aware marker and a transformer
that removes coordinates before a plain learner.

The coordinate rule (see the "Coordinates travel with X" page of the docs):

* an estimator that reads sample coordinates from ``X`` itself (residual kriging, kriging, patch
  models) subclasses :class:`CoordinateAwareMixin`; :func:`uses_coords` says so for it, for a
  :class:`~sklearn.pipeline.Pipeline` whose first step is such an estimator, and for
  meta-estimators (``GridSearchCV``, ``TransformedTargetRegressor``) wrapping one;
* every geoagb function that fits estimators (``spatial_cross_validate``,
  ``block_size_sensitivity``, ``compare_models``) gives coordinate-aware estimators ``X`` as it
  is, and every other estimator ``X`` without its coordinate columns and geometry;
* in plain scikit-learn code (``cross_validate``, ``GridSearchCV``) put
  :class:`DropCoordinates` in front of a plain learner, so that the same DataFrame can feed the
  splitter (which needs the coordinates) and the learner (which must not see them).
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from ._coords import coord_names, feature_names_without_coords

__all__ = [
    "CoordinateAwareMixin",
    "DropCoordinates",
    "uses_coords",
    "handles_coords",
]


class CoordinateAwareMixin:
    """Marks an estimator that reads the sample coordinates from ``X`` itself.

    It also gives the estimator :meth:`predict_frame`, the prediction as a table indexed like
    ``X`` (``predict`` itself returns arrays, as scikit-learn's meta-estimators expect).

    geoagb's validation functions then hand it ``X`` with its coordinate columns or geometry,
    instead of removing them as they do for every other learner. Subclasses take a ``coords``
    parameter (column names, ``None`` for a GeoDataFrame's geometry or ``("x", "y")``).

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> class MyKriger(CoordinateAwareMixin, BaseEstimator):
    ...     def __init__(self, coords=None):
    ...         self.coords = coords
    >>> uses_coords(MyKriger())
    True
    """

    def predict_frame(self, X, return_std: bool = True, geometry: bool = False):
        """``predict`` as a table: columns ``prediction`` (and ``std``), ``X``'s index.

        Parameters
        ----------
        X : DataFrame or GeoDataFrame (or anything ``predict`` takes)
        return_std : bool, default True
            Add the ``std`` column.
        geometry : bool, default False
            Return a GeoDataFrame with ``X``'s geometry and CRS (``X`` must be a GeoDataFrame).

        Returns
        -------
        pandas.DataFrame or geopandas.GeoDataFrame
        """
        import numpy as np
        import pandas as pd

        out = self.predict(X, return_std=return_std)
        mean, std = out if return_std else (out, None)
        index = X.index if isinstance(X, pd.DataFrame) else None
        cols = {"prediction": np.asarray(mean, dtype=float)}
        if std is not None:
            cols["std"] = np.asarray(std, dtype=float)
        frame = pd.DataFrame(cols, index=index)
        if geometry:
            if not hasattr(X, "crs") or not hasattr(X, "geometry"):
                raise TypeError(
                    f"geometry=True needs X as a GeoDataFrame; got {type(X).__name__}. Pass "
                    "geometry=False for a plain DataFrame."
                )
            import geopandas as gpd

            return gpd.GeoDataFrame(frame, geometry=X.geometry.values, crs=X.crs, index=index)
        return frame


def uses_coords(estimator) -> bool:
    """True when ``estimator`` reads coordinates from ``X`` itself.

    That is a :class:`CoordinateAwareMixin` instance, a Pipeline whose first step is one (a
    :class:`DropCoordinates` step in front means no), or a meta-estimator (``estimator`` or
    ``regressor`` parameter, as in ``GridSearchCV``) wrapping one.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from geoagb.kriging import ResidualKrigingRegressor
    >>> uses_coords(LinearRegression()), uses_coords(ResidualKrigingRegressor(LinearRegression()))
    (False, True)
    >>> uses_coords(make_pipeline(DropCoordinates(), LinearRegression()))
    False
    """
    return _first_inner(estimator, (CoordinateAwareMixin,))


def _first_inner(estimator, kinds: tuple) -> bool:
    """True when ``estimator``, or what it wraps first (a Pipeline's first step, a
    meta-estimator's ``estimator`` / ``regressor``), recursively, is one of ``kinds``.
    """
    while estimator is not None:
        if isinstance(estimator, kinds):
            return True
        steps = getattr(estimator, "steps", None)
        if steps:
            estimator = steps[0][1]
            continue
        inner = [getattr(estimator, a, None) for a in ("estimator", "regressor")]
        estimator = next((e for e in inner if e is not None and hasattr(e, "get_params")), None)
    return False


def handles_coords(estimator) -> bool:
    """True when ``estimator`` should receive ``X`` with its coordinates: it reads them
    (:func:`uses_coords`), or it removes them itself (a Pipeline starting with
    :class:`DropCoordinates`, or a meta-estimator such as ``GridSearchCV`` around one, whose
    spatial splitter needs them).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> handles_coords(make_pipeline(DropCoordinates(), LinearRegression()))
    True
    >>> handles_coords(LinearRegression())
    False
    """
    return _first_inner(estimator, (CoordinateAwareMixin, DropCoordinates))


class DropCoordinates(TransformerMixin, BaseEstimator):
    """Remove the coordinate columns and geometry from a DataFrame (a Pipeline's first step).

    Lets plain scikit-learn code pass one DataFrame to a spatial splitter (which reads the
    coordinates) and to a learner (which must not see them as features)::

        model = make_pipeline(DropCoordinates(), XGBRegressor())
        cross_validate(model, plots, y, cv=SpatialBlockKFold(block_size=5_000))

    Parameters
    ----------
    coords : pair of str or None, default None
        Coordinate column names; None: ``("x", "y")`` (a GeoDataFrame's geometry column is
        always removed).

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Columns seen in :meth:`fit`.
    feature_names_out_ : ndarray of str
        Columns kept.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"x": [0.0, 1.0], "y": [2.0, 3.0], "ndvi": [0.4, 0.6]})
    >>> DropCoordinates().fit_transform(df).columns.tolist()
    ['ndvi']
    """

    def __init__(self, coords=None):
        self.coords = coords

    def fit(self, X, y=None):
        """Record the columns of ``X`` and which ones are kept."""
        import numpy as np
        import pandas as pd

        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                f"DropCoordinates needs a DataFrame or GeoDataFrame with named coordinate columns; "
                f"got {type(X).__name__}. With a plain array, leave the coordinates out of X and "
                "give them to the splitter: SpatialBlockKFold(coords=xy)."
            )
        names = coord_names(self.coords)
        geom = getattr(getattr(X, "geometry", None), "name", None) if hasattr(X, "crs") else None
        self.feature_names_in_ = np.asarray([c for c in X.columns if c != geom], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.feature_names_out_ = np.asarray(feature_names_without_coords(X, names), dtype=object)
        return self

    def transform(self, X):
        """``X`` without its coordinate columns and geometry, as a plain DataFrame."""
        import pandas as pd
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "feature_names_out_")
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"DropCoordinates.transform needs a DataFrame; got {type(X).__name__}.")
        missing = [c for c in self.feature_names_out_ if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the column(s) {missing} seen in fit.")
        return pd.DataFrame(X[list(self.feature_names_out_)])

    def get_feature_names_out(self, input_features=None):
        """Names of the columns kept."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()


class TableStateMixin:
    """Stores fitted pandas DataFrame attributes as plain dicts when pickled or saved with skops
    (which refuses DataFrames), and rebuilds them on load.
    """

    def __getstate__(self):
        import pandas as pd

        state = dict(super().__getstate__())
        for key, value in list(state.items()):
            if isinstance(value, pd.DataFrame):
                state[key] = {
                    "__geoagb_frame__": True,
                    "columns": [str(c) for c in value.columns],
                    "data": {str(c): value[c].tolist() for c in value.columns},
                }
        return state

    def __setstate__(self, state):
        import pandas as pd

        state = dict(state)
        for key, value in list(state.items()):
            if isinstance(value, dict) and value.get("__geoagb_frame__"):
                state[key] = pd.DataFrame(value["data"], columns=value["columns"])
        super().__setstate__(state)
