import subprocess
import sys

import geoagb.kriging


def test_import_loads_neither_sklearn_nor_numba():
    code = "import sys, geoagb.kriging; print('sklearn' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_public_name_resolves():
    for name in geoagb.kriging.__all__:
        obj = getattr(geoagb.kriging, name)
        assert obj.__module__.startswith("geoagb.kriging."), name
    assert "OrdinaryKriging" in dir(geoagb.kriging)
