"""geoagb.deep imports without torch; the models say how to install it."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from geoagb.deep import PatchSet


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_patchset_import_does_not_import_torch():
    res = _run(
        "import sys, geoagb, geoagb.deep; from geoagb.deep import PatchSet; "
        "print('torch' in sys.modules)"
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_missing_torch_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import geoagb.deep as d\n"
        "try:\n    d.CSMFNetRegressor\nexcept ImportError as e:\n    print(e)\n"
    )
    res = _run(code)
    assert res.returncode == 0, res.stderr
    assert 'pip install "geoagb[deep]"' in res.stdout


def test_summarize_hand_computed():
    data = np.zeros((2, 4, 2, 2), np.float32)
    data[:, 0] = [[0.1, 0.1], [0.1, 0.1]]  # red
    data[:, 1] = [[0.3, 0.3], [0.5, 0.5]]  # nir
    data[:, 2] = [[1, 0], [0, 0]]  # crown
    data[:, 3] = [[10, 0], [0, 2]]  # height
    ps = PatchSet(data, ["red", "nir", "crown", "height"], coords=[[0, 0], [1, 1]])
    df = ps.summarize()
    ndvi = np.mean([0.2 / 0.4, 0.2 / 0.4, 0.4 / 0.6, 0.4 / 0.6])
    assert df.loc[0, "ndvi_mean"] == pytest.approx(ndvi, rel=1e-6)
    assert df.loc[0, "crown_cover"] == pytest.approx(0.25)
    assert df.loc[0, "height_mean"] == pytest.approx(3.0)
    assert df.loc[0, "height_p95"] == pytest.approx(np.percentile([10, 0, 0, 2], 95))
    assert list(df["x"]) == [0.0, 1.0]
    assert isinstance(df, pd.DataFrame)
