"""Shared test configuration: headless matplotlib, small thread pools."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture(scope="session")
def plots600():
    from geoagb.datasets import make_plots

    return make_plots(600, random_state=0, return_truth=True)


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo's mapping step on a 300 m scene with 40 plots (quick settings): a plot file, a
    raster folder, a bundle (``dir / "model.geoagb"``) and its map, shared by the workflow tests."""
    import matplotlib

    matplotlib.use("Agg")
    from geoagb._demo import DemoContext, _mapping
    from geoagb.datasets import make_scene

    d = tmp_path_factory.mktemp("wf")
    scene = make_scene(d / "scene", size_m=300, n_plots=40, random_state=3)
    lines = []
    ctx = DemoContext(out=d, quick=True, echo=lines.append, data={"scene": scene})
    _mapping.run(ctx)
    cmds = [s.strip() for s in lines if s.strip().startswith("geoagb ")]
    return {"dir": d, "scene": scene, "ctx": ctx, "lines": lines, "commands": cmds}
