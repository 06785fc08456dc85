import geopandas as gpd
import numpy as np
import pytest

from geoagb.deep import PatchSet
from geoagb.features import extract_patches, extract_points

from ._rasters import CRS, X0, Y0, pixel_centres, write_scene


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return write_scene(tmp_path_factory.mktemp("scene_x"), crown_nodata_at=(40, 40))


def test_extract_points_default_bands_and_values(scene):
    src, f = scene
    rows, cols = np.array([3, 25]), np.array([4, 50])
    df = extract_points(src, pixel_centres(rows, cols))
    assert list(df.columns) == ["blue", "green", "red", "nir", "chm", "crown", "dem"]
    np.testing.assert_array_equal(df["green"], f["image"][1, rows, cols].astype(float))
    np.testing.assert_array_equal(df["dem"], f["dem"][rows, cols].astype(float))
    m = extract_points(src, pixel_centres([25], [50]), footprint=3.0, bands={"h": "chm"})
    assert list(m.columns) == ["h"]
    assert m["h"].iloc[0] == pytest.approx(f["chm"][24:27, 49:52].astype(float).mean(), rel=1e-12)


@pytest.mark.parametrize("size", [8, 7])
def test_patches_are_the_array_slices_centred_on_the_plot(scene, size):
    src, f = scene
    # even size: plot on a pixel corner; odd size: plot on a pixel centre
    xy = np.array([[X0 + 20.0, Y0 - 15.0]]) if size % 2 == 0 else pixel_centres([15], [20])
    ps = extract_patches(
        src, xy, size_px=size, bands={"red": "red", "height": "chm", "crown": "crown"}
    )
    assert isinstance(ps, PatchSet) and ps.shape == (1, 3, size, size)
    assert ps.bands == ["red", "height", "crown"]
    r0, c0 = 15 - size // 2, 20 - size // 2
    np.testing.assert_array_equal(ps.data[0, 0], f["image"][2, r0 : r0 + size, c0 : c0 + size])
    np.testing.assert_array_equal(ps.data[0, 1], f["chm"][r0 : r0 + size, c0 : c0 + size])
    np.testing.assert_array_equal(ps.coords, xy)
    assert ps.resolution == 1.0 and str(ps.crs) == CRS and not ps.mask.any()


def test_patches_with_nodata_edges_and_crs(scene):
    src, f = scene
    xy = pixel_centres([40, 0], [40, 0])
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=CRS).to_crs(
        "EPSG:4326"
    )
    with pytest.warns(UserWarning, match="2 of 2 patches"):
        ps = extract_patches(src, gdf, size_m=5.0)
    assert ps.bands == ["blue", "green", "red", "nir", "chm", "crown", "dem"]
    np.testing.assert_allclose(ps.coords, xy, atol=1e-6)  # back in the rasters' CRS
    assert ps.mask[0, 2, 2] and ps.mask[0].sum() == 1  # the crown nodata pixel
    assert np.isnan(ps.data[0, 5, 2, 2]) and np.isfinite(ps.data[0, 4, 2, 2])
    assert ps.mask[1, :2].all() and ps.mask[1, :, :2].all() and not ps.mask[1, 2:, 2:].any()
    with pytest.raises(ValueError, match="exactly one"):
        extract_patches(src, xy, size_m=5.0, size_px=5)
