"""A full disk ends a write with one line naming the device's folder and the fix, removes the
part file and leaves an earlier file untouched (issue 24).

The real case runs on a 256 KiB tmpfs where the machine allows mounting one (root on Linux,
as in CI); the translation of GDAL's bare "Write failed" is also checked without a mount.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from geoagb import _io
from geoagb._io import atomic_path


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if sys.platform != "linux":
        pytest.skip("tmpfs mounts are a Linux feature")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
        capture_output=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({r.stderr.decode().strip()[:80]})")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def _write_big_tif(path):
    prof = dict(driver="GTiff", width=600, height=600, count=1, dtype="float32", crs="EPSG:32648")
    with rasterio.open(path, "w", transform=from_origin(0, 600, 1, 1), **prof) as ds:
        ds.write(np.random.default_rng(0).random((1, 600, 600), dtype=np.float32))


def test_a_full_disk_is_one_line_and_leaves_nothing_behind(tiny_disk):
    (tiny_disk / "agb.tif").write_bytes(b"an earlier map")
    with pytest.raises(OSError) as err:
        with atomic_path(tiny_disk / "agb.tif") as tmp:
            _write_big_tif(tmp)
    msg = str(err.value)
    assert err.value.errno == errno.ENOSPC and "\n" not in msg
    assert f"no space left on the device of {tiny_disk}" in msg and "write elsewhere" in msg
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["agb.tif"]
    assert (tiny_disk / "agb.tif").read_bytes() == b"an earlier map"


def test_the_cli_says_so_in_one_line(tiny_disk, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "geoagb.cli", "timeseries", "synthetic", str(tiny_disk)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    # libtiff prints its own "_tiffWriteProc: No space left on device." lines to the C stderr,
    # which Python cannot silence; geoagb's part is one line, and no traceback
    lines = [x for x in r.stderr.strip().splitlines() if not x.startswith("_tiffWriteProc:")]
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(lines) == 1 and lines[0].startswith("geoagb: error: no space left on the device")
    assert not [p for p in tiny_disk.rglob("*") if _io.is_part_file(p)]


def test_gdal_write_failed_on_a_nearly_full_device_is_a_full_disk(tmp_path, monkeypatch):
    class RasterioIOError(OSError):  # rasterio's class, as it reaches atomic_path
        pass

    RasterioIOError.__module__ = "rasterio.errors"
    usage = type("U", (), {"free": 10 << 20})
    monkeypatch.setattr(_io.shutil, "disk_usage", lambda folder: usage)
    with pytest.raises(OSError, match="no space left on the device .*10.0 MiB free"):
        with atomic_path(tmp_path / "a.tif"):
            raise RasterioIOError("Write failed. See previous exception for details.")
    usage.free = 10 << 30  # plenty of space: the error is not disguised as a full disk
    with pytest.raises(RasterioIOError, match="Write failed"):
        with atomic_path(tmp_path / "a.tif"):
            raise RasterioIOError("Write failed. See previous exception for details.")
    assert list(Path(tmp_path).iterdir()) == []
