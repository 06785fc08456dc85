"""The Explanation object: frames, slicing, thresholds, interactions, figures, patch models."""

import numpy as np
import pandas as pd
import pytest

from geoagb.explain import Explanation, explain


def _explanation(n=300, seed=0):
    """Hand-made explanation: ndvi's SHAP is broken at 0.6, elevation interacts with ndvi."""
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "ndvi": rng.uniform(0.2, 0.9, n),
            "elevation": rng.uniform(500, 1500, n),
            "nir": rng.uniform(0.1, 0.4, n),
        }
    )
    main = np.column_stack(
        [
            np.where(data.ndvi < 0.6, 100 * (data.ndvi - 0.6), 10 * (data.ndvi - 0.6)),
            0.01 * (data.elevation - 1000),
            5 * (data.nir - 0.25),
        ]
    )
    main[:, 0] += rng.normal(0, 0.5, n)
    inter = np.zeros((n, 3, 3))
    pair = 0.02 * (data.elevation.to_numpy() - 1000) * (data.ndvi.to_numpy() - 0.55)
    inter[:, 0, 1] = inter[:, 1, 0] = pair / 2
    inter[:, 2, 0] = inter[:, 0, 2] = 0.01 * rng.normal(size=n)
    for i in range(3):
        inter[:, i, i] = main[:, i]
    values = inter.sum(axis=2)
    return Explanation(values, 90.0, data, inter, method="hand-made")


def test_frame_prediction_and_slicing():
    ex = _explanation()
    frame = ex.to_frame()
    assert list(frame.columns) == ["ndvi", "elevation", "nir", "base_value", "prediction"]
    np.testing.assert_allclose(frame["prediction"], 90.0 + ex.values.sum(1))
    sub = ex[10:20]
    assert len(sub) == 10 and sub.interaction_values.shape == (10, 3, 3)
    np.testing.assert_allclose(sub.values, ex.values[10:20])
    assert ex[np.arange(300) < 5].values.shape == (5, 3)
    assert "300 samples x 3 features, with interactions" in repr(ex)
    assert ex.to_shap().values.shape == (300, 3)


def test_thresholds_and_their_figure():
    ex = _explanation()
    th = ex.dependence_thresholds("ndvi", max_breakpoints=2, color_by="elevation")
    assert th.fit.n_breakpoints == 1
    assert th.breakpoints[0] == pytest.approx(0.6, abs=0.01)
    assert th.ci[0, 0] < 0.6 < th.ci[0, 1]
    np.testing.assert_allclose(
        th.fit.slopes, [100, 10], atol=2.5
    )  # SHAP rows include the interaction
    assert th.to_frame()["feature"].tolist() == ["ndvi"]
    fig = th.plot()
    ax = fig.axes[0]
    red = [ln.get_xdata()[0] for ln in ax.lines if ln.get_color() == "red"]
    assert red == pytest.approx([th.breakpoints[0]])
    black_dashed = [ln.get_xdata()[0] for ln in ax.lines if ln.get_linestyle() == "--"]
    assert black_dashed == pytest.approx([np.median(ex.data["ndvi"])])
    assert fig.axes[1].get_ylabel() == "elevation"  # the colour bar


def test_auto_colour_is_the_strongest_partner():
    ex = _explanation()
    fig = ex.dependence("ndvi")  # interaction values say: elevation
    assert fig.axes[-1].get_ylabel() == "elevation"
    ex_no = Explanation(ex.values, ex.base_values, ex.data)  # shap's approximate_interactions
    fig = ex_no.dependence("ndvi")
    assert fig.axes[-1].get_ylabel() == "elevation"


def test_interaction_outputs():
    ex = _explanation()
    top = ex.top_interactions(1, between=("spectral", "terrain"))
    assert (top.feature_a[0], top.feature_b[0]) == ("ndvi", "elevation")
    pair = ex.interaction_values[:, 0, 1] * 2
    assert top.mean_abs_interaction[0] == pytest.approx(np.abs(pair).mean())
    fig = ex.interaction_plot("ndvi", "elevation")
    offsets = fig.axes[1].collections[0].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], pair)
    np.testing.assert_allclose(offsets[:, 0], ex.data["ndvi"])
    mat = ex.interaction_matrix()
    assert mat.loc["ndvi", "elevation"] == pytest.approx(np.abs(pair).mean())
    with pytest.raises(ValueError, match="interactions=True"):
        Explanation(ex.values, 0.0, ex.data).top_interactions()


def test_importance_and_summary_figures():
    ex = _explanation()
    imp = ex.importance()
    fig = ex.importance_plot()
    widths = [p.get_width() for p in fig.axes[0].patches]
    np.testing.assert_allclose(sorted(widths), sorted(imp.to_numpy()))
    fig = ex.summary_plot()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == list(imp.index[::-1])  # most important on top
    g = ex.importance(groups="auto")
    assert g["spectral"] == pytest.approx(imp["ndvi"] + imp["nir"])
    with pytest.raises(ValueError, match="not in the explanation"):
        ex.dependence("evi")


class _PatchModelStandIn:
    """The deep package's hook: ``_explain_patches`` returning per-band attributions."""

    bands_ = ["red", "nir", "crown", "height"]

    def predict(self, X):
        return X.data.mean(axis=(2, 3)) @ np.array([1.0, 2.0, 3.0, 4.0])

    def _branches(self):
        return {"imagery": ["red", "nir"], "crown": ["crown"], "height": ["height"]}

    def _explain_patches(self, X, batch_size=16, baseline="mean", n_steps=32):
        means = X.data.mean(axis=(2, 3))
        attr = means * np.array([1.0, 2.0, 3.0, 4.0])  # exact for a linear model, zero baseline
        return {
            "bands": self.bands_,
            "band_attributions": pd.DataFrame(attr, columns=self.bands_),
            "branches": ["imagery", "crown", "height"],
            "branch_attributions": None,
            "prediction": self.predict(X),
            "baseline_prediction": np.zeros(len(X)),
            "delta": np.zeros(len(X)),
            "method": "integrated_gradients",
            "n_steps": n_steps,
        }


def test_patch_models_are_explained_per_band():
    from geoagb.deep import PatchSet

    rng = np.random.default_rng(0)
    X = PatchSet(rng.uniform(size=(6, 4, 5, 5)), bands=["red", "nir", "crown", "height"])
    model = _PatchModelStandIn()
    ex = explain(model, X, n_steps=8)
    np.testing.assert_allclose(ex.prediction, model.predict(X))
    np.testing.assert_allclose(ex.data.to_numpy(), X.data.mean(axis=(2, 3)))
    assert ex.groups == model._branches()
    assert ex.importance(groups=ex.groups).index[0] == "height"
    with pytest.raises(ValueError, match="integrated gradients"):
        explain(model, X, interactions=True)


def test_real_patch_network():
    pytest.importorskip("torch")
    from geoagb.deep import PixelMLPRegressor
    from geoagb.deep._toy import toy_patches

    X, y = toy_patches(24, size=6, random_state=0)
    net = PixelMLPRegressor(head=(8,), max_epochs=2, verbose=0, random_state=0).fit(X, y)
    ex = net.explain(X, n_steps=16)
    # integrated gradients: attributions + baseline = prediction + quadrature error delta
    np.testing.assert_allclose(ex.prediction, net.predict(X) + ex.extra["delta"], atol=1e-3)
    assert ex.feature_names == list(net.bands_)
