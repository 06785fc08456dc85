"""The demo step writes what it says, with numbers consistent with the explanation."""

import numpy as np
import pandas as pd


def test_demo_step_quick(tmp_path, plots600):
    from geoagb._demo import DemoContext
    from geoagb._demo import _explain as step
    from geoagb.explain import feature_groups

    plots, _ = plots600
    lines = []
    ctx = DemoContext(out=tmp_path, quick=True, data={"plots": plots}, echo=lines.append)
    step.run(ctx)
    for name in (
        "importance.csv",
        "top_interactions.csv",
        "shap_summary.png",
        "dependence_ndvi.png",
        "dependence_elevation.png",
    ):
        assert (tmp_path / name).stat().st_size > 0
    ex = ctx.data["explanation"]
    imp = pd.read_csv(tmp_path / "importance.csv")
    np.testing.assert_allclose(
        imp["mean_abs_shap"],
        np.abs(ex.values).mean(axis=0)[[ex.feature_names.index(f) for f in imp["feature"]]],
        rtol=1e-12,
    )
    assert imp["mean_abs_shap"].is_monotonic_decreasing
    assert imp["group"].tolist() == [feature_groups(imp["feature"])[f] for f in imp["feature"]]
    top = pd.read_csv(tmp_path / "top_interactions.csv")
    assert set(top["group_a"]) == {"spectral"} and set(top["group_b"]) == {"terrain"}
    assert top["mean_abs_interaction"].is_monotonic_decreasing
    # additivity of what the demo explained
    model = ctx.data["explained_model"]
    np.testing.assert_allclose(ex.prediction, model.predict(ex.data), atol=1e-3)
    assert any("planted elevation x NDVI interaction" in line for line in lines)
    assert sum(line.strip().startswith(("1.", "2.", "3.", "4.", "5.")) for line in lines) == 5
