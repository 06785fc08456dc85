"""The patch regressors as scikit-learn estimators: training, determinism, persistence, CV."""

import math
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import KFold, cross_validate  # noqa: E402
from sklearn.utils import estimator_checks as ec  # noqa: E402

import geoagb.deep as deep  # noqa: E402
from geoagb.deep import PatchSet  # noqa: E402
from geoagb.deep._losses import get_loss  # noqa: E402
from geoagb.model_selection import SpatialBlockKFold  # noqa: E402

from .conftest import TINY, make  # noqa: E402

NAMES = list(TINY)


@pytest.mark.parametrize("name", NAMES)
def test_overfits_tiny_dataset(name, small_patches):
    """Loss falls by an order of magnitude on 16 noise-free plots."""
    X, y = small_patches
    loss = "r2" if name == "CSMFNetRegressor" else "mse"  # r2_unc can go negative
    batch = 4 if name == "PixelMLPRegressor" else 16  # full batches keep batch norm steady
    est = make(
        name,
        loss=loss,
        max_epochs=60,
        lr=1e-2,
        dropout=0.0,
        augment=False,
        validation_fraction=0.0,
        patience=None,
        batch_size=batch,
        lr_decay="cosine",
    )
    est.fit(X, y)
    h = est.history_["train_loss"]
    assert len(h) == 60 and math.isnan(est.history_["val_loss"][0])
    assert h[-1] <= 0.1 * h[0], (h[0], h[-1])
    resid = est.predict(X) - y
    assert np.mean(resid**2) < 0.1 * np.var(y)


@pytest.mark.parametrize("name", ["CSMFNetRegressor", "PatchResNetRegressor"])
def test_same_seed_same_predictions(name, patches):
    X, y = patches
    p1 = make(name, random_state=3).fit(X, y).predict(X)
    p2 = make(name, random_state=3).fit(X, y).predict(X)
    p3 = make(name, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.allclose(p1, p3)


def test_fit_leaves_global_rng_alone(patches):
    X, y = patches
    torch.manual_seed(123)
    a = torch.rand(3)
    torch.manual_seed(123)
    make("PixelMLPRegressor").fit(X, y)
    assert torch.equal(torch.rand(3), a)


@pytest.mark.parametrize("name", ["CSMFNetRegressor", "CNNTransformerRegressor"])
def test_save_load_identical(name, patches, tmp_path):
    X, y = patches
    est = make(name, loss="nll").fit(X, y)
    path = tmp_path / "model.pt"
    est.save(path)
    blob = torch.load(path, weights_only=True)  # only tensors and strings: no code to run
    assert set(blob) == {"config", "state_dict"}
    est2 = type(est).load(path)
    m1, s1 = est.predict(X, return_std=True)
    m2, s2 = est2.predict(X, return_std=True)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    assert est2.get_params() == {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in est.get_params().items()
    }
    assert est2.bands_ == est.bands_ and est2.patch_size_ == est.patch_size_
    np.testing.assert_array_equal(deep.load_model(path).predict(X), m1)
    with pytest.raises(ValueError, match="not a"):
        deep.PixelMLPRegressor.load(path)


def test_n_threads_is_the_old_name_of_n_jobs(patches, tmp_path):
    import json
    import warnings

    with pytest.warns(FutureWarning, match="n_threads= is now n_jobs="):
        est = deep.PixelMLPRegressor(n_threads=1, max_epochs=2)
    assert est.get_params()["n_jobs"] == 1 and "n_threads" not in est.get_params()
    X, y = patches
    est.fit(X, y)
    path = tmp_path / "old.pt"
    est.save(path)
    blob = torch.load(path, weights_only=True)
    config = json.loads(blob["config"])
    config["params"]["n_threads"] = config["params"].pop("n_jobs")  # a file from before
    torch.save({"config": json.dumps(config), "state_dict": blob["state_dict"]}, path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reading an old file is not the user's old keyword
        back = deep.load_model(path)
    assert back.n_jobs == 1
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


def test_pickle_round_trip(patches):
    X, y = patches
    est = make("PatchResNetRegressor").fit(X, y)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))


@pytest.mark.parametrize("name", NAMES)
def test_sklearn_contract(name):
    est = make(name)
    ec.check_no_attributes_set_in_init(name, est)
    ec.check_parameters_default_constructible(name, est)
    ec.check_get_params_invariance(name, est)
    ec.check_set_params(name, est)
    c = clone(est)
    assert c is not est and c.get_params() == est.get_params()
    c.set_params(max_epochs=7, lr=0.5)
    assert (c.max_epochs, c.lr) == (7, 0.5) and est.max_epochs == 3


def test_clone_of_fitted_is_unfitted(patches):
    X, y = patches
    est = make("PixelMLPRegressor").fit(X, y)
    params = est.get_params()
    c = clone(est)
    assert not hasattr(c, "module_") and c.get_params() == params
    assert est.get_params() == params  # fit did not touch the parameters


def test_cross_validate_kfold(patches):
    X, y = patches
    res = cross_validate(
        make("PatchResNetRegressor"),
        X,
        y,
        cv=KFold(4, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
        return_estimator=True,
    )
    assert len(res["test_score"]) == 4
    splits = KFold(4, shuffle=True, random_state=0).split(y)
    for i, (est, (tr, te)) in enumerate(zip(res["estimator"], splits)):
        rmse = np.sqrt(np.mean((est.predict(X[te]) - y[te]) ** 2))
        assert rmse == pytest.approx(-res["test_score"][i], rel=1e-6)
        # each fold's model saw only its training plots
        assert est.y_mean_ == pytest.approx(y[tr].mean())


def test_cross_validate_spatial_blocks(patches):
    X, y = patches
    cv = SpatialBlockKFold(n_splits=3, block_size=700.0, random_state=0)
    res = cross_validate(make("CSMFNetRegressor"), X, y, cv=cv, scoring="r2")
    assert len(res["test_score"]) == 3 and np.all(np.isfinite(res["test_score"]))
    # every plot is tested once and folds keep blocks whole
    tested = np.concatenate([te for _, te in cv.split(X, y)])
    assert np.array_equal(np.sort(tested), np.arange(len(y)))


def test_early_stopping_keeps_best_epoch(patches):
    X, y = patches
    Xv, yv = X[30:], y[30:]
    est = make("PatchResNetRegressor", max_epochs=12, patience=3, lr=3e-2).fit(
        X[:30], y[:30], eval_set=(Xv, yv)
    )
    h = est.history_
    best = int(np.argmin(h["val_loss"])) + 1
    assert h["best_epoch"] == best
    assert len(h["epoch"]) <= min(12, best + 3)
    # the kept weights are those of the best epoch: recompute its validation loss
    out = torch.tensor((est.predict(Xv) - est.y_mean_) / est.y_scale_)
    loss = float(get_loss("mse")(torch.tensor((yv - est.y_mean_) / est.y_scale_), out[:, None]))
    assert loss == pytest.approx(min(h["val_loss"]), rel=1e-4)


def test_cosine_lr_decay(patches):
    X, y = patches
    est = make("PixelMLPRegressor", max_epochs=6, patience=None, lr=1e-2).fit(X, y)
    lr, eta = 1e-2, 1e-4
    expected = [eta + (lr - eta) * (1 + math.cos(math.pi * e / 6)) / 2 for e in range(6)]
    np.testing.assert_allclose(est.history_["lr"], expected, rtol=1e-9)


def test_validation_split_size(patches):
    X, y = patches
    est = make("PixelMLPRegressor", validation_fraction=0.25).fit(X, y)
    assert np.isfinite(est.history_["val_loss"]).all()


def test_return_std(patches):
    X, y = patches
    mean, std = make("CSMFNetRegressor").fit(X, y).predict(X, return_std=True)
    assert mean.shape == std.shape == (40,) and np.all(std > 0)
    with pytest.raises(ValueError, match="loss='r2_unc'"):
        make("PixelMLPRegressor").fit(X, y).predict(X, return_std=True)


def test_input_checks(patches):
    X, y = patches
    est = make("PixelMLPRegressor").fit(X, y)
    with pytest.raises(ValueError, match="lacks bands"):
        est.predict(X.select(["red", "nir"]))
    with pytest.raises(ValueError, match="8x8"):
        est.predict(PatchSet(np.zeros((2, 6, 10, 10)), X.bands))
    with pytest.raises(ValueError, match="crown_band"):
        make("CSMFNetRegressor").fit(X.select(["red", "nir", "height"]), y)
    with pytest.raises(ValueError, match="one target per patch"):
        make("PixelMLPRegressor").fit(X, y[:-1])
    with pytest.raises(ValueError, match="lr_decay"):
        make("PixelMLPRegressor", lr_decay="linear").fit(X, y)


def test_nodata_is_filled_with_training_mean(patches):
    """Masked / NaN pixels read as the band mean; a patch with nothing valid predicts NaN."""
    X, y = patches
    est = make("PixelMLPRegressor", pixel="mean").fit(X, y)
    shift = est.module_.scaler.shift.numpy()
    mask = np.zeros((3,) + X.shape[2:], bool)
    mask[0, :4] = True  # half of patch 0 masked
    mask[2] = True  # patch 2 fully masked: nothing to predict from
    data = X.data[:3].copy()
    data[1, :, 0, 0] = np.nan
    with pytest.warns(
        UserWarning, match=r"1 of 3 patches have a band with no valid pixel \(row 2: all bands\)"
    ):
        p = est.predict(PatchSet(data, X.bands, mask=mask))
    filled = data[:2].copy()
    filled[0][:, mask[0]] = np.broadcast_to(shift[:, None], (len(shift), int(mask[0].sum())))
    filled[1, :, 0, 0] = shift
    expected = est.predict(PatchSet(filled, X.bands))
    np.testing.assert_allclose(p[:2], expected, rtol=1e-6)
    assert np.isnan(p[2])


def test_plot_history(patches):
    X, y = patches
    est = make("PixelMLPRegressor").fit(X, y)
    fig = est.plot_history()
    lines = fig.axes[0].get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), est.history_["train_loss"])
    assert lines[0].get_label() == "train"


def test_csmf_bands_by_name(patches):
    X, y = patches
    shuffled = X.select(["height", "nir", "crown", "red", "green", "blue"])
    est = make("CSMFNetRegressor", image_bands=["red", "nir"]).fit(shuffled, y)
    assert est.bands_ == ["red", "nir", "crown", "height"]
    assert est._branches() == {"imagery": ["red", "nir"], "crown": ["crown"], "height": ["height"]}
    # the height channel is scaled without centring (gate keeps zero height at zero)
    assert float(est.module_.scaler.shift[3]) == 0.0 and float(est.module_.scaler.shift[2]) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_unfitted_estimator_raises_not_fitted_error(name, tmp_path):
    """predict, score, explain, save and plot_history before fit: sklearn's NotFittedError
    (predict used to fail with AttributeError: ... 'module_')."""
    from sklearn.exceptions import NotFittedError

    from geoagb.deep._toy import toy_patches

    X, y = toy_patches(4, size=8, random_state=0)
    est = make(name)
    calls = {
        "predict": lambda: est.predict(X),
        "predict std": lambda: est.predict(X, return_std=True),
        "score": lambda: est.score(X, y),
        "explain": lambda: est.explain(X),
        "attributions": lambda: est._explain_patches(X),
        "save": lambda: est.save(tmp_path / "model.pt"),
        "plot_history": lambda: est.plot_history(),
    }
    for what, call in calls.items():
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
            pytest.fail(f"{what} ran on an unfitted {name}")
    assert not (tmp_path / "model.pt").exists()
