"""make_scene: co-registered rasters, plot AGB = allometric biomass of the trees in the footprint."""

import numpy as np
import pytest
import rasterio

from geoagb.datasets import BAND_NAMES, Scene, make_scene
from geoagb.datasets._scene import (
    CROWN_DEPTH,
    _cast_shadow,
    _cos_incidence,
    crown_radius,
    dbh_from_height,
    tree_biomass,
)

SIZE, N_PLOTS = 400.0, 30


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return make_scene(
        tmp_path_factory.mktemp("scene"),
        size_m=SIZE,
        n_plots=N_PLOTS,
        random_state=7,
        inconsistent_fraction=0.1,
    )


def test_rasters_are_co_registered(scene):
    assert isinstance(scene, Scene) and sorted(scene.sources) == [
        "chm",
        "crown",
        "dem",
        "image",
        "landcover",
    ]
    expected = {
        "image": ("float32", 4),
        "crown": ("uint8", 1),
        "chm": ("float32", 1),
        "dem": ("float32", 1),
        "landcover": ("uint8", 1),
    }
    ref = None
    for name, path in scene.sources.items():
        with rasterio.open(path) as src:
            grid = (src.crs.to_epsg(), src.transform, src.width, src.height)
            ref = ref or grid
            assert grid == ref == (32648, src.transform, 400, 400)
            assert (src.dtypes[0], src.count) == expected[name]
            assert src.nodata is not None
            assert src.profile["tiled"]
            assert src.transform.a == 1.0 and src.transform.e == -1.0
            assert (
                src.bounds.left,
                src.bounds.bottom,
                src.bounds.right,
                src.bounds.top,
            ) == scene.bounds
    with rasterio.open(scene.sources["image"]) as src:
        assert src.descriptions == BAND_NAMES
    with rasterio.open(scene.sources["landcover"]) as src:
        assert src.nodata == 0
    assert scene.crs == "EPSG:32648" and scene.plots.crs.to_epsg() == 32648


def test_plot_agb_is_the_hand_sum_of_tree_biomass(scene):
    trees, plots, truth = scene.trees, scene.plots, scene.truth
    half = scene.plot_size_m / 2
    area_ha = scene.plot_size_m**2 / 10_000
    for i, (x, y) in enumerate(zip(plots["x"], plots["y"])):
        inside = (np.abs(trees["x"] - x) <= half) & (np.abs(trees["y"] - y) <= half)
        assert truth["agb_trees"].iloc[i] == pytest.approx(
            trees.loc[inside, "biomass"].sum() / 1000 / area_ha, rel=1e-12, abs=1e-12
        )
        assert truth["n_trees"].iloc[i] == inside.sum()
        assert (trees.loc[inside, "plot_id"] == plots["plot_id"].iloc[i]).all()
    assert (trees["plot_id"] >= 0).sum() == truth["n_trees"].sum()
    agb = np.maximum(truth["agb_trees"] + truth["noise"], 0) * truth["factor"]
    np.testing.assert_allclose(plots["agb"], agb, rtol=1e-12)
    assert truth["inconsistent"].sum() == round(0.1 * N_PLOTS)
    assert (truth["factor"][~truth["inconsistent"]] == 1).all()
    assert truth["plot_id"].equals(plots["plot_id"])


def test_tree_allometry(scene):
    t = scene.trees
    expected = 0.0673 * (t["wood_density"] * t["dbh"] ** 2 * t["height"]) ** 0.976
    np.testing.assert_allclose(t["biomass"], expected, rtol=1e-12)
    np.testing.assert_allclose(tree_biomass(30.0, 20.0, 0.6), 0.0673 * (0.6 * 900 * 20) ** 0.976)
    # crown radius and DBH scatter log-normally around their height allometries
    assert np.median(t["crown_radius"] / crown_radius(t["height"])) == pytest.approx(1.0, abs=0.02)
    assert np.median(t["dbh"] / dbh_from_height(t["height"])) == pytest.approx(1.0, abs=0.02)


def test_plots_are_inside_and_do_not_overlap(scene):
    x0, y0, x1, y1 = scene.bounds
    half = scene.plot_size_m / 2
    x, y = scene.plots["x"].to_numpy(), scene.plots["y"].to_numpy()
    assert np.all((x - half >= x0) & (x + half <= x1) & (y - half >= y0) & (y + half <= y1))
    cheb = np.maximum(np.abs(x[:, None] - x[None]), np.abs(y[:, None] - y[None]))
    np.fill_diagonal(cheb, np.inf)
    assert cheb.min() >= scene.plot_size_m
    assert scene.plot_size_m**2 == pytest.approx(667.19, abs=0.01)  # the 0.0667 ha NFI plot
    assert list(scene.plots.columns) == ["plot_id", "x", "y", "agb", "geometry"]


def _pixel(scene, x, y):
    x0, _, _, y1 = scene.bounds
    return ((y1 - np.asarray(y)) / scene.resolution).astype(int), (
        (np.asarray(x) - x0) / scene.resolution
    ).astype(int)


def test_crowns_and_chm_follow_the_trees(scene):
    t = scene.trees
    chm, crown, lc = scene.read("chm"), scene.read("crown"), scene.read("landcover")
    rows, cols = _pixel(scene, t["x"], t["y"])
    # no stems on bare rock, water or road
    assert not np.isin(lc[rows, cols], [3, 4]).any()
    # the tallest trees are overtopped by nobody: the CHM at their stem is their paraboloid top
    top = t["height"].to_numpy().argsort()[-20:]
    cx = scene.bounds[0] + (cols[top] + 0.5) * scene.resolution
    cy = scene.bounds[3] - (rows[top] + 0.5) * scene.resolution
    d2 = (cx - t["x"].to_numpy()[top]) ** 2 + (cy - t["y"].to_numpy()[top]) ** 2
    h, r = t["height"].to_numpy()[top], t["crown_radius"].to_numpy()[top]
    np.testing.assert_allclose(
        chm[rows[top], cols[top]], h * (1 - CROWN_DEPTH * d2 / r**2), atol=0.8
    )
    assert crown[rows[top], cols[top]].all()
    # crown cover of the mask is close to the sum of the crown discs for a Boolean model
    disc = np.pi * np.sum(t["crown_radius"] ** 2) / SIZE**2
    assert crown.mean() == pytest.approx(1 - np.exp(-disc), abs=0.05)
    # forest land cover where crowns are dense, landcover codes as documented
    assert set(np.unique(lc)) <= {1, 2, 3, 4}
    assert crown[lc == 1].mean() > 0.4 > crown[lc == 2].mean()


def test_imagery_shows_vegetation_and_rock(scene):
    img, crown, lc = scene.read("image"), scene.read("crown").astype(bool), scene.read("landcover")
    ndvi = (img[3] - img[2]) / (img[3] + img[2])
    assert ndvi[crown].mean() > 0.5 > ndvi[~crown & (lc == 2)].mean() - 0.2
    rock = lc == 3
    assert rock.sum() > 50
    for band in range(3):  # bare rock is bright in the visible bands, crowns dark
        assert img[band][rock].mean() > 2 * img[band][crown].mean()
    assert ndvi[rock].mean() < 0.15
    assert (img > 0).all() and np.isfinite(img).all()


def test_cast_shadow_of_a_pillar_on_flat_ground():
    surface = np.zeros((60, 60), np.float32)
    surface[30, 30] = 12.0  # a 12 m pillar at 1 m resolution
    shadow = _cast_shadow(surface, 1.0, azimuth=135.0, elevation=45.0, reach_m=40)
    # sun in the south-east: the shadow runs north-west (up-left) for 12 m / tan(45) = 12 m
    rows, cols = np.nonzero(shadow)
    assert np.all(rows < 30) and np.all(cols < 30)
    assert np.all(rows - 30 == cols - 30)
    assert np.abs(rows - 30).max() == 8  # 8 diagonal pixels = 11.3 m < 12 m; the 9th is 12.7 m
    assert not shadow[31:, :].any() and not shadow[:, 31:].any()


def test_cos_incidence_on_planes():
    # flat ground: cos i = sin(elevation)
    assert _cos_incidence(0.0, 0.0, 135.0, 50.0) == pytest.approx(np.sin(np.radians(50)))
    # a 30 degree slope facing the sun (downslope to the south-east)
    g = np.tan(np.radians(30))
    dzdx, dzdy = -g * np.sin(np.radians(135)), -g * np.cos(np.radians(135))
    assert _cos_incidence(dzdx, dzdy, 135.0, 50.0) == pytest.approx(np.cos(np.radians(40 - 30)))
    # the same slope facing away: incidence 40 + 30 = 70 degrees from the normal
    assert _cos_incidence(-dzdx, -dzdy, 135.0, 50.0) == pytest.approx(np.cos(np.radians(70)))


def test_reproducible_with_seed(scene, tmp_path):
    again = make_scene(
        tmp_path / "a", size_m=SIZE, n_plots=N_PLOTS, random_state=7, inconsistent_fraction=0.1
    )
    for name in scene.sources:
        np.testing.assert_array_equal(again.read(name), scene.read(name))
    assert again.plots.drop(columns="geometry").equals(scene.plots.drop(columns="geometry"))
    assert again.trees.equals(scene.trees)
    other = make_scene(tmp_path / "b", size_m=SIZE, n_plots=N_PLOTS, random_state=8)
    assert not np.array_equal(other.read("chm"), scene.read("chm"))


def test_scene_default_settings_give_realistic_agb_and_a_residual(tmp_path):
    s = make_scene(tmp_path, random_state=0)
    assert s.read("dem").shape == (1500, 1500) and len(s.plots) == 200
    a = s.truth["agb_trees"]
    assert 70 < a.mean() < 110 and a.max() < 450 and a.quantile(0.95) < 300
    # tabular (make_plots' equation at the plot centre) and tree-based AGB agree on average
    assert np.corrcoef(a, s.truth["agb_model"])[0, 1] > 0.6
    assert a.mean() / s.truth["agb_model"].mean() == pytest.approx(1.0, abs=0.2)
    # the residual wood-density field is spatially structured: neighbouring plots share it
    t = s.trees[s.trees["plot_id"] >= 0]
    rho = t.groupby("plot_id")["wood_density"].mean().reindex(s.plots["plot_id"])
    xy = s.plots[["x", "y"]].to_numpy()
    d = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))
    z = np.log(rho.to_numpy()) - np.log(rho.to_numpy()).mean()
    prod = np.outer(z, z) / z.var()
    assert prod[(d > 0) & (d < 150)].mean() > 0.4 > prod[d > 900].mean()


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="multiple of resolution"):
        make_scene(tmp_path, size_m=100.5, resolution=1.0)
    with pytest.raises(ValueError, match="plot_size_m=80"):
        make_scene(tmp_path, size_m=100, plot_size_m=80)
    with pytest.raises(ValueError, match="could place only .* of n_plots=50"):
        make_scene(tmp_path, size_m=100, n_plots=50)
    with pytest.raises(ValueError, match="inconsistent_fraction"):
        make_scene(tmp_path, size_m=100, inconsistent_fraction=2)
    with pytest.raises(ValueError, match="resolution"):
        make_scene(tmp_path, size_m=100, resolution=0)
    with pytest.raises(KeyError, match="unknown source 'ndvi'"):
        Scene(sources={}, plots=None, truth=None, trees=None, plot_size_m=1, resolution=1).read(
            "ndvi"
        )


def test_sub_metre_resolution(tmp_path):
    s = make_scene(tmp_path, size_m=200, resolution=0.5, n_plots=5, random_state=2)
    with rasterio.open(s.sources["chm"]) as src:
        assert (src.width, src.height, src.transform.a, src.transform.e) == (400, 400, 0.5, -0.5)
        assert src.block_shapes[0][0] % 16 == 0
    assert s.resolution == 0.5
    t = s.trees
    rows, cols = _pixel(s, t["x"], t["y"])
    tallest = t["height"].to_numpy().argmax()
    assert s.read("chm")[rows[tallest], cols[tallest]] == pytest.approx(
        t["height"].iloc[tallest], abs=1.0
    )
