"""The demo step runs on a tiny scene and reports numbers consistent with its outputs."""

import warnings

import geopandas as gpd
import numpy as np
import pytest
import rasterio


@pytest.fixture(scope="module")
def tiny_scene(tmp_path_factory):
    from geoagb.datasets import make_scene
    from geoagb.features import RasterFeatures

    scene = make_scene(tmp_path_factory.mktemp("scene"), size_m=300.0, n_plots=40, random_state=0)
    rf = RasterFeatures(
        scene.sources,
        indices=["ndvi"],
        terrain=["elevation", "slope"],
        extra={"height_mean": ("chm", 1), "crown_cover": ("crown", 1)},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = rf.at_points(scene.plots, footprint=scene.plot_size_m)
    plots = gpd.GeoDataFrame(
        scene.plots.join(X), geometry=scene.plots.geometry.name, crs=scene.plots.crs
    )
    return scene, rf, plots


def test_demo_step_quick(tmp_path, tiny_scene):
    from geoagb._demo import DemoContext
    from geoagb._demo import _applicability as step

    scene, rf, plots = tiny_scene
    lines = []
    ctx = DemoContext(
        out=tmp_path,
        quick=True,
        echo=lines.append,
        data={"scene": scene, "raster_features": rf, "scene_plots": plots},
    )
    step.run(ctx)
    for name in ("geodist.png", "aoa.png", "agb_aoa.tif"):
        assert (tmp_path / name).stat().st_size > 0
    aoa, g = ctx.data["aoa"], ctx.data["geodist"]
    with rasterio.open(ctx.data["aoa_map"]) as ds:
        assert ds.descriptions == ("agb", "di", "aoa")
        di, inside = ds.read(2), ds.read(3)
    ok = np.isfinite(di)
    assert np.array_equal(inside[ok] == 1, di[ok] <= aoa.threshold_)
    pct = 100 * np.mean(inside[ok] == 0)
    assert any(f"{pct:.1f} % of the mapped area" in line for line in lines)
    assert any(f"kNNDM 5-fold {g.W_cv['kNNDM 5-fold']:,.1f} m" in line for line in lines)
    assert aoa.weight_rule_ == "shap"
