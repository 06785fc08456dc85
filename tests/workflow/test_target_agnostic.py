"""Target-agnostic outputs: the target's name and unit in maps and reports, carbon only for
biomass, bias in percent only where it means something, non-negative targets clipped at 0."""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
from matplotlib.colors import Normalize, TwoSlopeNorm
from rasterio.transform import from_origin

from geoagb import metrics
from geoagb.cli import main
from geoagb.mapping import plot_agb_map
from geoagb.raster import relabel_geotiff
from geoagb.workflow import TargetTraits, fit_bundle, load_bundle, target_traits, write_report
from geoagb.workflow._map_labels import label_map
from geoagb.workflow._units import traits_of_manifest


# ---- the rule -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target, unit, nonneg, biomass, cf",
    [
        ("agb", "Mg/ha", True, True, 0.47),
        ("AGB", "t/ha", True, True, 0.47),
        ("agbc", "MgC/ha", True, True, 1.0),
        ("stock", "MgC/ha", True, True, 1.0),
        ("biomass", "kg/m2", True, True, None),  # biomass, but stocks are computed per Mg/ha
        ("richness", "species", False, False, None),
        ("axis1", "score", False, False, None),
        ("height", "m", False, False, None),
    ],
)
def test_target_traits_rule(target, unit, nonneg, biomass, cf):
    t = target_traits(target, unit)
    assert (t.nonnegative, t.biomass, t.carbon_fraction) == (nonneg, biomass, cf)


def test_target_traits_overrides_and_errors():
    # a fraction given makes a target biomass (and, by default, non-negative)
    assert target_traits("axis1", "score", carbon_fraction=0.5) == TargetTraits(
        "axis1", "score", True, True, 0.5
    )
    assert not target_traits("agb", "Mg/ha", nonnegative=False).nonnegative
    with pytest.raises(ValueError, match=r"carbon_fraction=1.5 must be in \(0, 1\]"):
        target_traits("agb", "Mg/ha", carbon_fraction=1.5)
    with pytest.raises(ValueError, match="nonnegative='no' must be True"):
        target_traits("agb", "Mg/ha", nonnegative="no")


def test_old_manifest_reads_as_agb_biomass():
    m = {"target": "agb", "unit": "Mg/ha"}  # a bundle written before target_traits
    assert traits_of_manifest(m) == TargetTraits("agb", "Mg/ha", True, True, 0.47)
    m["target_traits"] = {"name": "agb", "unit": "Mg/ha", "nonnegative": False}
    m["target_traits"].update(biomass=False, carbon_fraction=None)
    assert traits_of_manifest(m) == TargetTraits("agb", "Mg/ha", False, False, None)


# ---- bias -----------------------------------------------------------------------------------
def test_bias_of_a_centred_target_is_absolute_not_percent():
    y = np.array([-10.0, -2.0, 4.0, 8.0])  # sum 0: the old fraction divided by 0 (or by 1e-15)
    p = y + np.array([1.0, 2.0, 0.0, 1.0])  # mean(p - y) = 1.0
    assert np.isnan(metrics.overall_bias(y, p))
    assert np.isnan(metrics.agb_scores(y, p)["overall_bias"])
    assert metrics.overall_bias(y, p, relative=False) == pytest.approx(1.0)
    assert metrics.absolute_bias(y, p) == pytest.approx(1.0)
    assert metrics.format_bias(y, p, "score").startswith("bias = 1.00 score (absolute")
    # a float centred mean (7e-15, as agb - mean(agb)) gave 2.4e14 before; now NaN
    rng = np.random.default_rng(0)
    yc = rng.normal(80, 30, 40)
    yc -= yc.mean()
    assert np.isnan(metrics.overall_bias(yc, yc + 1.0))


def test_bias_of_a_positive_target_stays_percent():
    y, p = np.array([100.0, 200.0]), np.array([110.0, 196.0])
    assert metrics.overall_bias(y, p) == pytest.approx(6 / 300)
    assert metrics.format_bias(y, p) == "bias = 2.00 %"
    # signed but far from 0 (mean 10 >= sd 1): still a percent; relative=True: the old rule
    ys = np.array([9.0, 11.0, -0.0 + 10.0])
    assert metrics.overall_bias(ys - 0.0, ys + 0.3) == pytest.approx(0.9 / 30)
    y2 = np.array([-1.0, 0.5, 0.6])
    assert metrics.overall_bias(y2, y2 + 0.1, relative=True) == pytest.approx(0.3 / 0.1)
    with pytest.raises(ValueError, match="relative='x'"):
        metrics.overall_bias(y, p, relative="x")


# ---- maps -----------------------------------------------------------------------------------
def _map(path, values, names=("agb",), units=("Mg/ha",)):
    a = np.asarray(values, "float32")
    a = a[None] if a.ndim == 2 else a
    prof = dict(
        driver="GTiff", dtype="float32", count=a.shape[0], width=a.shape[2], height=a.shape[1],
        nodata=np.nan, crs="EPSG:32648", transform=from_origin(500_000, 2_800_000, 30, 30),
    )  # fmt: skip
    with rasterio.open(path, "w", **prof) as d:
        d.write(a)
        for i, (n, u) in enumerate(zip(names, units), 1):
            d.set_band_description(i, n)
            d.set_band_unit(i, u)
    return path


def test_clip_count_equals_a_hand_count(tmp_path):
    vals = np.array([[-3.0, 0.0, 5.0, np.nan], [-0.5, 2.0, -7.0, 1.0]])
    sd = np.full_like(vals, 2.0)
    p = _map(tmp_path / "m.tif", np.stack([vals, sd]), ("agb", "agb_std"), ("Mg/ha",) * 2)
    # hand count: -3, -0.5, -7 below 0; the NaN is nodata, 7 valid cells
    assert label_map(p, target_traits("agbd", "Mg/ha")) == (3, 7)
    with rasterio.open(p) as d:
        a = d.read(1)
        assert d.descriptions == ("agbd", "agbd_std") and d.units == ("Mg/ha", "Mg/ha")
        assert d.tags()["geoagb_clipped_cells"] == "3" and d.tags()["geoagb_valid_cells"] == "7"
        np.testing.assert_array_equal(a[np.isfinite(a)], [0, 0, 5, 0, 2, 0, 1])
        np.testing.assert_array_equal(d.read(2), sd)  # the std band untouched


def test_signed_target_is_relabelled_not_clipped(tmp_path):
    vals = np.array([[-3.0, 4.0]])
    p = _map(tmp_path / "m.tif", vals)
    assert label_map(p, target_traits("axis1", "score")) == (0, 0)
    with rasterio.open(p) as d:
        assert d.descriptions == ("axis1",) and d.units == ("score",)
        assert d.tags()["geoagb_product"] == "axis1 (score)"
        np.testing.assert_array_equal(d.read(1), vals)
    with pytest.raises(ValueError, match="2 band names for m.tif, which has 1 band"):
        relabel_geotiff(p, ["a", "b"])


def test_diverging_scale_when_values_cross_zero(tmp_path):
    vals = np.linspace(-20.0, 60.0, 100).reshape(10, 10)
    p = _map(tmp_path / "m.tif", vals, ("axis1",), ("score",))
    im = plot_agb_map(p).axes[0].images[0]
    lo, hi = np.percentile(vals, [1, 99])
    assert isinstance(im.norm, TwoSlopeNorm) and im.norm.vcenter == 0.0
    assert (im.norm.vmin, im.norm.vmax) == pytest.approx((lo, hi))
    assert im.get_cmap().name == "RdBu_r"
    assert "axis1 (score)" in plot_agb_map(p).axes[1].get_ylabel()  # colour bar label
    # one-signed: sequential from 0; all negative: from the 1st percentile, never clipped at 0
    q = _map(tmp_path / "q.tif", vals + 30.0)
    n = plot_agb_map(q).axes[0].images[0].norm
    assert type(n) is Normalize and n.vmin == 0.0
    r = _map(tmp_path / "r.tif", vals - 70.0, ("d",), ("Mg/ha",))
    n = plot_agb_map(r).axes[0].images[0].norm
    assert n.vmin == pytest.approx(np.percentile(vals - 70.0, 1))
    assert n.vmin < 0


# ---- fit, map, report -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scene_inputs(tmp_path_factory):
    from geoagb.datasets import make_scene

    d = tmp_path_factory.mktemp("ta")
    scene = make_scene(d / "scene", size_m=300, n_plots=40, random_state=3)
    p = scene.plots[["plot_id", "agb", scene.plots.geometry.name]].copy()
    p["axis1"] = p["agb"] - p["agb"].mean()  # centred: mean 7e-15
    p.to_file(d / "plots.gpkg")
    (d / "recipe.toml").write_text(
        'bands = ["red", "nir"]\nindices = ["ndvi"]\nterrain = ["elevation"]\n'
    )
    return d, scene


def _fit(d, scene, name, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_bundle(
            d / "plots.gpkg", str(Path(scene.sources["image"]).parent), d / f"{name}.geoagb",
            target="axis1", unit="score", config=d / "recipe.toml", footprint=scene.plot_size_m,
            map_resolution=30.0, block_size=100.0, n_splits=3, n_repeats=1, qc=False,
            n_estimators=20, echo=lambda s: None, random_state=0, **kw,
        )  # fmt: skip


def test_non_biomass_bundle_maps_and_reports_its_target(scene_inputs, tmp_path, capsys):
    d, scene = scene_inputs
    b = _fit(d, scene, "axis1")
    assert b.manifest["target_traits"] == {
        "name": "axis1", "unit": "score", "nonnegative": False, "biomass": False,
        "carbon_fraction": None,
    }  # fmt: skip
    assert np.isnan(b.manifest["cv"]["spatial"]["pooled_overall_bias"])  # was 2.4e14
    rasters = str(Path(scene.sources["image"]).parent)
    out = tmp_path / "axis1.tif"
    assert main(["map", str(d / "axis1.geoagb"), rasters, str(out), "--carbon"]) == 0
    text = capsys.readouterr().out
    assert "no carbon stock: the target 'axis1' (score) is not biomass" in text
    assert "MgC" not in text and "clipped" not in text
    with rasterio.open(out) as ds:
        assert ds.descriptions[0] == "axis1" and ds.units[0] == "score"
        assert ds.tags()["geoagb_product"] == "axis1 (score)"
        assert np.nanmin(ds.read(1)) < 0  # a signed target keeps its negative cells
    html = write_report(load_bundle(d / "axis1.geoagb"), tmp_path / "r.html", out).read_text()
    assert "No carbon stock: the target axis1 (score) is not biomass" in html
    assert "Map and carbon stock" not in html
    # a carbon fraction at report time: the carbon table comes back
    html = write_report(b, tmp_path / "r2.html", out, carbon_fraction=0.5).read_text()
    assert "Map and carbon stock" in html and "carbon fraction 0.5" in html


def test_carbon_fraction_makes_a_target_biomass_and_clips(scene_inputs, tmp_path, capsys):
    d, scene = scene_inputs
    b = _fit(d, scene, "axis1c", carbon_fraction=0.5)
    assert b.traits == TargetTraits("axis1", "score", True, True, 0.5)
    rasters = str(Path(scene.sources["image"]).parent)
    raw = tmp_path / "raw.tif"
    b2 = copy.copy(b)
    b2.manifest = {**b.manifest, "target_traits": {**b.manifest["target_traits"]}}
    b2.manifest["target_traits"]["nonnegative"] = False
    b2.predict_map(rasters, raw, progress=False)  # the same map, unclipped
    with rasterio.open(raw) as ds:
        a = ds.read(1)
    n_neg, n_valid = int(np.sum(a < 0)), int(np.sum(np.isfinite(a)))
    assert n_neg > 0
    out = tmp_path / "c.tif"
    assert main(["map", str(d / "axis1c.geoagb"), rasters, str(out), "--carbon"]) == 0
    text = capsys.readouterr().out
    assert f"clipped {n_neg:,} cells ({100 * n_neg / n_valid:.1f} %) below 0 to 0" in text
    assert "carbon fraction 0.5" in text
    with rasterio.open(out) as ds:
        c = ds.read(1)
        assert int(ds.tags()["geoagb_clipped_cells"]) == n_neg
    np.testing.assert_array_equal(c, np.where(a < 0, 0, a))


def test_predicted_observed_plot_of_a_centred_target():
    from geoagb.plotting import plot_predicted_observed

    y = np.array([-10.0, -2.0, 4.0, 8.0])
    fig = plot_predicted_observed(y, y + np.array([1.0, 2.0, 0.0, 1.0]), unit="score")
    lines = fig.axes[0].texts[0].get_text().splitlines()
    assert lines[-1] == "bias = 1.00 score (absolute; % undefined for a mean near 0)"
    assert fig.axes[0].get_xlim()[0] == pytest.approx(-10.5)  # not clipped at 0
