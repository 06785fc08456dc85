"""make_scene(structure="crowns"): biomass that lives inside the plot, not in its means."""

import numpy as np
import pandas as pd
import pytest

from geoagb.datasets import make_scene
from geoagb.datasets._scene import CROWN_DEPTH, crown_radius, dbh_from_height, tree_biomass
from geoagb.datasets._structured import EMERGENT_HEIGHT, dbh_from_crown

SIZE, N_PLOTS, SEED = 600.0, 90, 3


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    kw = dict(size_m=SIZE, n_plots=N_PLOTS, random_state=SEED, inconsistent_fraction=0.0)
    return {
        s: make_scene(tmp_path_factory.mktemp(s), structure=s, **kw) for s in ("mean", "crowns")
    }


@pytest.fixture(scope="module")
def scene(scenes):
    return scenes["crowns"]


def _pixel(scene, x, y):
    x0, _, _, y1 = scene.bounds
    rows = ((y1 - np.asarray(y)) / scene.resolution).astype(int)
    return rows, ((np.asarray(x) - x0) / scene.resolution).astype(int)


def _footprints(scene):
    """(rows, cols) slices of every plot's square footprint (pixel centres inside)."""
    x0, _, _, y1 = scene.bounds
    half, res = scene.plot_size_m / 2, scene.resolution
    out = []
    for x, y in zip(scene.plots["x"], scene.plots["y"]):
        c0, c1 = (
            int(np.ceil((x - half - x0) / res - 0.5)),
            int(np.floor((x + half - x0) / res - 0.5)),
        )
        r0, r1 = (
            int(np.ceil((y1 - y - half) / res - 0.5)),
            int(np.floor((y1 - y + half) / res - 0.5)),
        )
        out.append((slice(r0, r1 + 1), slice(c0, c1 + 1)))
    return out


def _r2_linear(F, y):
    A = np.column_stack([F, np.ones(len(y))])
    res = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    return 1 - res @ res / ((y - y.mean()) @ (y - y.mean()))


def test_dbh_from_crown_closed_form():
    h = np.array([5.0, 20.0, 40.0])
    np.testing.assert_allclose(dbh_from_crown(h, crown_radius(h)), dbh_from_height(h), rtol=1e-12)
    np.testing.assert_allclose(
        dbh_from_crown(h, 2 * crown_radius(h)) / dbh_from_height(h), 2**0.8, rtol=1e-12
    )
    # 20 m tree, 7 m crown radius: 1.25 * 20^1.05 * (7 / 3.5)^0.8 cm
    assert float(dbh_from_crown(20.0, 7.0)) == pytest.approx(1.25 * 20**1.05 * 2**0.8, rel=1e-12)


def test_plot_agb_is_the_sum_over_stems_inside(scene):
    t, truth = scene.trees, scene.truth
    expected = tree_biomass(t["dbh"], t["height"], t["wood_density"])
    np.testing.assert_allclose(t["biomass"], expected, rtol=1e-12)
    half, area_ha = scene.plot_size_m / 2, scene.plot_size_m**2 / 10_000
    for i, (x, y) in enumerate(zip(scene.plots["x"], scene.plots["y"])):
        inside = (np.abs(t["x"] - x) <= half) & (np.abs(t["y"] - y) <= half)
        assert truth["agb_trees"].iloc[i] == pytest.approx(
            t.loc[inside, "biomass"].sum() / 1000 / area_ha, rel=1e-12, abs=1e-12
        )
        assert truth["n_trees"].iloc[i] == inside.sum()
    np.testing.assert_allclose(
        scene.plots["agb"], np.maximum(truth["agb_trees"] + truth["noise"], 0)
    )


def test_two_layers_in_stands(scene):
    t = scene.trees
    assert set(t["layer"]) == {0, 1} and t["stand"].nunique() > 50
    emerg, main = t[t["layer"] == 1], t[t["layer"] == 0]
    # emergents stand about 1.6x above the main canopy of emergent-free stands
    no_emerg = ~main["stand"].isin(emerg["stand"])
    ratio = emerg["height"].median() / main.loc[no_emerg, "height"].median()
    assert ratio == pytest.approx(EMERGENT_HEIGHT, rel=0.2)
    # DBH follows crown width at a given height (log-normal scatter around dbh_from_crown)
    assert np.median(t["dbh"] / dbh_from_crown(t["height"], t["crown_radius"])) == pytest.approx(
        1.0, abs=0.02
    )
    # coarse- and fine-crowned stands: the crown-radius ratio to r(h) varies between stands
    ratio_r = (t["crown_radius"] / crown_radius(t["height"])).groupby(t["stand"]).median()
    assert ratio_r.quantile(0.9) / ratio_r.quantile(0.1) > 2.0


def test_emergent_crowns_top_the_chm(scene):
    t = scene.trees[scene.trees["layer"] == 1]
    chm = scene.read("chm")
    rows, cols = _pixel(scene, t["x"], t["y"])
    cx = scene.bounds[0] + (cols + 0.5) * scene.resolution
    cy = scene.bounds[3] - (rows + 0.5) * scene.resolution
    d2 = (cx - t["x"].to_numpy()) ** 2 + (cy - t["y"].to_numpy()) ** 2
    h, r = t["height"].to_numpy(), t["crown_radius"].to_numpy()
    apex = h * (1 - CROWN_DEPTH * d2 / r**2)
    # at its stem an emergent is its own paraboloid top unless a taller emergent overlaps it
    assert np.mean(np.abs(chm[rows, cols] - apex) < 0.8) > 0.85


def test_crowns_are_cut_by_the_plot_edge(scene):
    """Stems outside a plot whose crowns reach into it (seen in the patch, not counted) and
    stems inside whose crowns reach out (counted, partly unseen) both occur."""
    t = scene.trees
    half = scene.plot_size_m / 2
    out_in = in_out = 0
    for pid, (x, y) in enumerate(zip(scene.plots["x"], scene.plots["y"])):
        # Chebyshev distance of the stem from the footprint and from its edge
        dx, dy = np.abs(t["x"].to_numpy() - x), np.abs(t["y"].to_numpy() - y)
        gap = np.hypot(np.maximum(dx - half, 0), np.maximum(dy - half, 0))
        r = t["crown_radius"].to_numpy()
        outside = (dx > half) | (dy > half)
        out_in += int(np.sum(outside & (gap < r)))
        to_edge = half - np.maximum(dx, dy)
        in_out += int(np.sum(~outside & (to_edge < r)))
        assert not (t["plot_id"].to_numpy()[outside] == pid).any()
    assert out_in > 5 * N_PLOTS and in_out > 5 * N_PLOTS


def test_understorey_reflects_like_canopy(scenes):
    gaps = {}
    for name, s in scenes.items():
        img, crown, lc = s.read("image"), s.read("crown").astype(bool), s.read("landcover")
        ndvi = (img[3] - img[2]) / (img[3] + img[2])
        gaps[name] = ndvi[crown].mean() - ndvi[~crown & (lc == 1)].mean()
    assert gaps["mean"] > 0.15 and abs(gaps["crowns"]) < 0.08


def test_plot_means_explain_less_than_on_the_mean_scene(scenes):
    """A linear fit on the footprint means (canopy height, crown cover, NIR, NDVI) explains the
    tree biomass of the single-layer scene nearly as well as the per-tree allometric sum (mean
    wood density) does; on the structured scene the means fall clearly behind the trees."""
    r2_means, r2_trees = {}, {}
    for name, s in scenes.items():
        img, chm, crown = s.read("image"), s.read("chm"), s.read("crown")
        rows = []
        for win in _footprints(s):
            nir, red = img[3][win], img[2][win]
            rows.append(
                [
                    chm[win].mean(),
                    crown[win].mean(),
                    nir.mean(),
                    ((nir - red) / (nir + red)).mean(),
                ]
            )
        y = s.truth["agb_trees"].to_numpy()
        r2_means[name] = _r2_linear(np.asarray(rows), y)
        t = s.trees[s.trees["plot_id"] >= 0]
        visible = (
            pd.Series(tree_biomass(t["dbh"], t["height"], 0.55).to_numpy())
            .groupby(t["plot_id"].to_numpy())
            .sum()
            .reindex(range(len(y)), fill_value=0.0)
        )
        r2_trees[name] = _r2_linear(visible.to_numpy()[:, None], y)
    gap = {k: r2_trees[k] - r2_means[k] for k in r2_means}
    assert r2_means["mean"] > 0.75 and gap["mean"] < 0.1
    assert r2_trees["crowns"] > 0.85
    assert r2_means["crowns"] < r2_means["mean"]
    assert gap["crowns"] > 0.1 and gap["crowns"] > gap["mean"] + 0.05


def test_reproducible_with_seed(tmp_path):
    kw = dict(size_m=200.0, n_plots=4, structure="crowns")
    a = make_scene(tmp_path / "a", random_state=11, **kw)
    b = make_scene(tmp_path / "b", random_state=11, **kw)
    c = make_scene(tmp_path / "c", random_state=12, **kw)
    for name in a.sources:
        np.testing.assert_array_equal(a.read(name), b.read(name))
    assert a.trees.equals(b.trees) and a.truth.equals(b.truth)
    assert not np.array_equal(a.read("chm"), c.read("chm"))


def test_bad_structure_is_refused(tmp_path):
    with pytest.raises(ValueError, match="structure='stands' is not one of"):
        make_scene(tmp_path, size_m=200.0, n_plots=2, structure="stands")
