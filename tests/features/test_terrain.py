import numpy as np
import pytest

from geoagb.features import flow_accumulation, heat_load_index, solar_radiation_proxy, terrain
from geoagb.features._flow import d8_receivers, fill_depressions


def grid(n=41, res=2.0):
    c = (np.arange(n) - n // 2) * res
    return np.meshgrid(c, -c)  # x east, y north; row 0 is the northern edge


def test_plane_is_exact_everywhere_including_edges():
    X, Y = grid()
    z = 100 + 0.3 * X - 0.4 * Y
    t = terrain(
        z,
        2.0,
        [
            "slope",
            "aspect",
            "eastness",
            "northness",
            "curvature",
            "profile_curvature",
            "plan_curvature",
        ],
    )
    np.testing.assert_allclose(t["slope"], np.degrees(np.arctan(0.5)), atol=1e-10)
    # downslope direction (-0.3, +0.4): towards north-west, bearing atan2(-0.3, 0.4)
    asp = np.degrees(np.arctan2(-0.3, 0.4)) % 360
    np.testing.assert_allclose(t["aspect"], asp, atol=1e-9)
    np.testing.assert_allclose(t["eastness"], -0.6, atol=1e-12)
    np.testing.assert_allclose(t["northness"], 0.8, atol=1e-12)
    for c in ("curvature", "profile_curvature", "plan_curvature"):
        np.testing.assert_allclose(t[c], 0.0, atol=1e-12)


def test_flat_cells_have_no_aspect():
    t = terrain(
        np.full((5, 6), 7.0), 1.0, ["slope", "aspect", "eastness", "northness", "hillshade"]
    )
    assert np.all(t["slope"] == 0) and np.all(np.isnan(t["aspect"]))
    assert np.all(t["eastness"] == 0) and np.all(t["northness"] == 0)
    np.testing.assert_allclose(t["hillshade"], np.sin(np.radians(45.0)))


def test_paraboloid_curvatures_match_closed_forms():
    X, Y = grid(31, 1.5)
    a, b, c = 0.01, 0.03, 0.005
    z = a * X**2 + b * Y**2 + c * X * Y
    t = terrain(z, 1.5, ["slope", "curvature", "profile_curvature", "plan_curvature"])
    p, q = 2 * a * X + c * Y, 2 * b * Y + c * X
    zxx, zyy, zxy = 2 * a, 2 * b, c
    g2 = p**2 + q**2
    inner = (slice(1, -1), slice(1, -1))
    ok = g2[inner] > 0
    prof = -(zxx * p**2 + 2 * zxy * p * q + zyy * q**2) / np.where(g2 > 0, g2, 1)
    plan = (zxx * q**2 - 2 * zxy * p * q + zyy * p**2) / np.where(g2 > 0, g2, 1)
    np.testing.assert_allclose(t["profile_curvature"][inner][ok], prof[inner][ok], atol=1e-12)
    np.testing.assert_allclose(t["plan_curvature"][inner][ok], plan[inner][ok], atol=1e-12)
    np.testing.assert_allclose(t["curvature"][inner], -(zxx + zyy), atol=1e-12)
    np.testing.assert_allclose(
        t["slope"][inner], np.degrees(np.arctan(np.sqrt(g2)))[inner], atol=1e-10
    )


def test_cone_slope_aspect_and_curvature():
    X, Y = grid(161, 1.0)
    k = 0.5
    r = np.hypot(X, Y)
    t = terrain(100 - k * r, 1.0, ["slope", "aspect", "plan_curvature", "profile_curvature"])
    m = (r > 20) & (r < 70)
    np.testing.assert_allclose(t["slope"][m], np.degrees(np.arctan(k)), atol=0.02)
    bearing = np.degrees(np.arctan2(X, Y)) % 360  # downslope = away from the apex
    d = (t["aspect"] - bearing + 180) % 360 - 180
    assert np.abs(d[m]).max() < 0.02
    np.testing.assert_allclose(t["plan_curvature"][m], -k / r[m], rtol=2e-3)  # contour curvature
    assert np.abs(t["profile_curvature"][m]).max() < 1e-4 * (k / 20) * 100  # straight profiles


def test_nodata_spreads_to_the_3x3_neighbourhood_only():
    X, Y = grid(15, 1.0)
    z = 10 + 0.2 * X
    z[7, 7] = np.nan
    t = terrain(z, 1.0, ["slope", "elevation"])
    nan = np.isnan(t["slope"])
    assert nan[6:9, 6:9].all() and nan.sum() == 9
    assert np.isnan(t["elevation"]).sum() == 1


def test_tpi_and_relief_by_hand_with_edges():
    z = np.arange(20.0).reshape(4, 5) ** 1.5
    t = terrain(z, 10.0, ["tpi", "relief"], tpi_radius=10.0, relief_radius=10.0)  # 1 cell
    for i, j in [(0, 0), (1, 2), (3, 4), (2, 0)]:
        win = z[max(0, i - 1) : i + 2, max(0, j - 1) : j + 2]
        others = (win.sum() - z[i, j]) / (win.size - 1)
        assert t["tpi"][i, j] == pytest.approx(z[i, j] - others, rel=1e-12)
        assert t["relief"][i, j] == pytest.approx(win.max() - win.min())
    z2 = z.copy()
    z2[1, 1] = np.nan  # skipped by the neighbours
    t2 = terrain(z2, 10.0, ["tpi"], tpi_radius=10.0)
    win = np.array([z[0, 0], z[0, 1], z[1, 0]])
    assert t2["tpi"][0, 0] == pytest.approx(z[0, 0] - win[1:].mean())
    assert np.isnan(t2["tpi"][1, 1])


def test_heat_load_and_solar_proxy_equations():
    L = np.radians(40.0)
    s, a = 30.0, 225.0  # south-west slope: folded aspect 180
    hand = (
        0.339
        + 0.808 * np.cos(L) * np.cos(np.radians(s))
        - 0.196 * np.sin(L) * np.sin(np.radians(s))
        - 0.482 * np.cos(np.pi) * np.sin(np.radians(s))
    )
    assert heat_load_index(s, a, 40.0) == pytest.approx(hand, rel=1e-12)
    assert heat_load_index(30, 225, 40) > heat_load_index(30, 135, 40) > heat_load_index(30, 45, 40)
    # southern hemisphere: mirrored aspect (north-west slopes are the hot ones)
    assert heat_load_index(30, 315, -40) == pytest.approx(heat_load_index(30, 225, 40))
    A = np.radians(180 - abs(135 - 180))
    lnR = (
        -1.467
        + 1.582 * np.cos(L) * np.cos(np.radians(s))
        - 1.5 * np.cos(A) * np.sin(np.radians(s)) * np.sin(L)
        - 0.262 * np.sin(L) * np.sin(np.radians(s))
        + 0.607 * np.sin(A) * np.sin(np.radians(s))
    )
    assert solar_radiation_proxy(s, 135.0, 40.0) == pytest.approx(np.exp(lnR), rel=1e-12)
    assert solar_radiation_proxy(30, 180, 40) > solar_radiation_proxy(30, 0, 40)
    with pytest.raises(ValueError, match="latitude"):
        terrain(np.zeros((4, 4)), 1.0, ["hli"])


def test_hillshade_is_one_when_facing_the_sun():
    X, Y = grid(9, 1.0)
    # slope 45 degrees facing south-east (aspect 135): sun at azimuth 135, elevation 45
    z = -X * np.sin(np.radians(135)) - Y * np.cos(np.radians(135))  # |grad z| = 1
    t = terrain(z, 1.0, ["hillshade", "aspect"], sun_azimuth=135.0, sun_elevation=45.0)
    np.testing.assert_allclose(t["aspect"], 135.0, atol=1e-9)
    np.testing.assert_allclose(t["hillshade"], 1.0, atol=1e-12)


def test_twi_on_a_plane():
    n = 8
    z = np.add.outer(np.arange(n)[::-1] * 0.5, np.zeros(6))  # falls 0.5 m per 5 m to the south
    t = terrain(z, 5.0, ["twi"])
    acc = np.arange(1, n + 1)[:, None] * np.ones(6)
    np.testing.assert_allclose(t["twi"], np.log(acc * 5.0 / 0.1), rtol=1e-12)


def _brute_accumulation(rec, valid):
    acc = np.zeros(rec.size)
    for j in np.flatnonzero(valid):
        k = j
        for _ in range(rec.size + 1):
            if k < 0:
                break
            acc[k] += 1
            k = rec[k]
        else:  # pragma: no cover
            raise AssertionError("cycle in the drainage graph")
    return acc


@pytest.mark.parametrize("seed", range(6))
def test_flow_accumulation_against_path_following(seed):
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    z = gaussian_filter(rng.normal(size=(22, 27)), 1.5) * 10
    if seed % 2:
        z = np.round(z)  # many flats
    if seed % 3 == 0:
        z[rng.random(z.shape) < 0.05] = np.nan
    valid = np.isfinite(z).ravel()
    rec = d8_receivers(fill_depressions(z))
    acc = flow_accumulation(z).ravel()
    np.testing.assert_array_equal(acc[valid], _brute_accumulation(rec, valid)[valid])
    # after filling, every cell reaches the edge or nodata: outlet totals = valid cells
    from geoagb.features._flow import _outlet_mask

    outlets = valid & (rec < 0)
    assert np.all(_outlet_mask(np.isfinite(z)).ravel()[outlets])
    assert acc[outlets].sum() == valid.sum()


def test_pit_is_filled_and_drains_through_its_spill_point():
    z = np.full((7, 7), 10.0)
    z[1:6, 1:6] = 5.0  # a basin ...
    z[3, 3] = 1.0  # ... with a pit
    z[3, 0] = 4.0  # spill point on the western edge
    assert fill_depressions(z)[3, 3] == 5.0
    acc = flow_accumulation(z)
    assert acc[3, 0] >= 26  # the 25 basin cells and the spill cell itself
    unfilled = flow_accumulation(z, fill=False)
    assert unfilled[3, 3] > 1 and unfilled[3, 0] < 26
