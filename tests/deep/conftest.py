"""Tiny patch data and tiny network settings shared by the deep tests (CPU, seconds)."""

import pytest

torch = pytest.importorskip("torch")

from geoagb.deep._toy import toy_patches  # noqa: E402

#: one tiny configuration per estimator: (class name, architecture kwargs)
TINY = {
    "CSMFNetRegressor": dict(width=4, n_stages=2, d_k=8, head=(16,)),
    "PatchResNetRegressor": dict(width=4, n_stages=2, head=(16,)),
    "CNNTransformerRegressor": dict(
        width=4, d_model=8, n_heads=2, n_layers=1, dim_feedforward=16, head=(16,)
    ),
    "AlexNetRegressor": dict(width=4, head=(16,)),
    "VGGRegressor": dict(width=4, head=(16,)),
    "PixelMLPRegressor": dict(head=(16,)),
}


def make(name, **kw):
    """A tiny, silent, seeded estimator of class ``name``."""
    import geoagb.deep as deep

    params = dict(TINY[name], max_epochs=3, verbose=0, random_state=0)
    params.update(kw)
    return getattr(deep, name)(**params)


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets: one thread beats two on a shared machine
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def patches():
    """40 plots of 8 x 8 px with bands blue, green, red, nir, crown, height and their AGB."""
    return toy_patches(40, size=8, random_state=0)


@pytest.fixture(scope="session")
def small_patches():
    X, y = toy_patches(16, size=8, noise_sd=0.0, random_state=1)
    return X, y
