"""``geoagb compile``: each kernel family's workload leaves its numba kernels compiled."""

import pytest

from geoagb._compile import KERNEL_FAMILIES, compile_kernels
from geoagb.cli import main


def _dispatchers(family):
    if family == "kriging":
        from geoagb.kriging import _curve, _ok_kernel

        return [_ok_kernel._walk, _ok_kernel._candidates, _curve._keys]  # (callees compile inside)
    if family == "timeseries":
        from geoagb.timeseries import _kernels

        return [_kernels.mk_block, _kernels.pettitt_block]
    if family == "applicability":
        from geoagb.applicability import _nndm

        return [_nndm._nndm_kernel]
    from geoagb.explain import _interactions

    return [_interactions._build_tables]


@pytest.mark.parametrize("family", list(KERNEL_FAMILIES))
def test_family_workload_compiles_its_kernels(family):
    seconds = compile_kernels([family])
    assert list(seconds) == [family] and seconds[family] >= 0
    for dispatcher in _dispatchers(family):
        assert dispatcher.signatures, f"{dispatcher.__name__} was not compiled"


def test_cli_and_bad_family(capsys):
    assert main(["compile", "applicability"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("applicability: ") and "compiled and cached in" in out
    with pytest.raises(ValueError, match=r"unknown kernel families \['krige'\]"):
        compile_kernels(["krige"])
    assert main(["compile", "krige"]) == 2  # one-line error, exit status 2
    assert "unknown kernel families" in capsys.readouterr().err
