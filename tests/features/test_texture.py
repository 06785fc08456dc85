import numpy as np
import pytest
from skimage.feature import graycomatrix, graycoprops

from geoagb.features import GLCM_FEATURES, glcm_texture
from geoagb.features._texture import glcm_valid, quantize


def _skimage_reference(q_padded, i, j, window, levels, distances, angles, feature):
    P = graycomatrix(
        q_padded[i : i + window, j : j + window].astype(np.uint8),
        distances,
        angles,
        levels=levels,
        symmetric=True,
        normed=True,
    )
    return graycoprops(P, "ASM" if feature == "asm" else feature).mean()


@pytest.mark.parametrize(
    "levels,distances,angles,window",
    [
        (8, (1,), (0, np.pi / 4, np.pi / 2, 3 * np.pi / 4), 7),
        (5, (1, 2), (0.0, np.pi / 3, np.pi / 2), 5),
        (32, (1,), (0.0,), 7),
    ],
)
def test_every_pixel_matches_skimage_including_edges(levels, distances, angles, window):
    rng = np.random.default_rng(levels)
    img = rng.normal(size=(14, 17))
    out = glcm_texture(
        img,
        window=window,
        levels=levels,
        features=GLCM_FEATURES,
        distances=distances,
        angles=angles,
    )
    q, _ = quantize(img, levels)
    r = window // 2
    qp = np.pad(q, r, mode="reflect")
    for f in GLCM_FEATURES:
        ref = np.array(
            [
                [
                    _skimage_reference(qp, i, j, window, levels, distances, angles, f)
                    for j in range(img.shape[1])
                ]
                for i in range(img.shape[0])
            ]
        )
        np.testing.assert_allclose(out[f], ref, rtol=1e-10, atol=1e-12, err_msg=f)


def test_closed_form_on_stripes():
    img = np.tile([0.0, 1.0], (9, 5))  # vertical stripes, levels 0/1
    h = glcm_texture(
        img,
        window=3,
        levels=2,
        features=["contrast", "homogeneity", "entropy", "asm"],
        angles=[0.0],
    )
    v = glcm_texture(
        img,
        window=3,
        levels=2,
        features=["contrast", "entropy", "asm", "correlation"],
        angles=[np.pi / 2],
    )
    # horizontal pairs always differ: P = [[0, .5], [.5, 0]]
    assert np.all(h["contrast"] == 1.0) and np.all(h["homogeneity"] == 0.5)
    np.testing.assert_allclose(h["entropy"], np.log(2.0))
    np.testing.assert_allclose(h["asm"], 0.5)
    # vertical pairs never differ: P is diagonal, so i == j and the correlation is exactly 1
    assert np.all(v["contrast"] == 0.0)
    np.testing.assert_allclose(v["correlation"], 1.0)
    np.testing.assert_allclose(v["entropy"], -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3)))


def test_nan_window_gives_nan_and_valid_mode_is_the_interior():
    rng = np.random.default_rng(1)
    img = rng.normal(size=(20, 21))
    full = glcm_texture(img, window=5, levels=16, features=["mean", "entropy"])
    valid = glcm_texture(
        img,
        window=5,
        levels=16,
        features=["mean", "entropy"],
        padding=None,
        vmin=np.min(img),
        vmax=np.max(img),
    )
    assert valid["mean"].shape == (16, 17)
    np.testing.assert_array_equal(valid["entropy"], full["entropy"][2:-2, 2:-2])
    img[10, 10] = np.nan
    out = glcm_texture(img, window=5, levels=16, features=["mean"], vmin=-3, vmax=3)
    nan = np.isnan(out["mean"])
    expect = np.zeros_like(nan)
    expect[8:13, 8:13] = True
    np.testing.assert_array_equal(nan, expect)


def test_tiles_equal_the_whole_band_bit_for_bit():
    rng = np.random.default_rng(2)
    img = rng.uniform(size=(40, 37))
    q, ok = quantize(img, 32, 0.0, 1.0)
    qp, okp = np.pad(q, 3, mode="reflect"), np.pad(ok, 3, mode="reflect")
    feats = list(GLCM_FEATURES)
    offs = [(0, 1), (1, 1), (1, 0), (1, -1)]
    whole = glcm_valid(qp, okp, 7, 32, feats, offs)
    tile = glcm_valid(qp[10 : 10 + 12 + 6, 5 : 5 + 9 + 6], okp[10:28, 5:20], 7, 32, feats, offs)
    for f in feats:
        np.testing.assert_array_equal(tile[f], whole[f][10:22, 5:14], err_msg=f)


def test_quantize_and_errors():
    q, ok = quantize(np.array([-1.0, 0.0, 0.26, 0.99, 1.0, 2.0]), levels=4, vmin=0, vmax=1)
    assert q.tolist() == [0, 0, 1, 3, 3, 3] and ok.all()
    with pytest.raises(ValueError, match="odd integer"):
        glcm_texture(np.zeros((9, 9)), window=6)
    with pytest.raises(ValueError, match="unknown GLCM feature"):
        glcm_texture(np.zeros((9, 9)), features=["cluster_shade"])
    with pytest.raises(ValueError, match="does not fit"):
        glcm_texture(np.zeros((9, 9)), window=3, distances=(3,))
