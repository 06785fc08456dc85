"""Fixtures for the kriging tests: the meuse data and an R/gstat runner (skips without R)."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@lru_cache(maxsize=1)
def _r_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    try:
        res = subprocess.run(
            ["Rscript", "-e", "suppressMessages({library(sp); library(gstat)})"],
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return res.returncode == 0


class RRunner:
    """Run a short R script in a folder; inputs and outputs are CSV files there."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def __call__(self, script: str, outputs=()):
        path = self.folder / "script.R"
        path.write_text(
            "suppressMessages({library(sp); library(gstat)})\n" + textwrap.dedent(script)
        )
        res = subprocess.run(
            ["Rscript", str(path)], cwd=self.folder, capture_output=True, text=True, timeout=300
        )
        if res.returncode != 0:
            raise RuntimeError(f"R failed:\n{res.stderr[-2000:]}")
        return [pd.read_csv(self.folder / name) for name in outputs]


@pytest.fixture(scope="session")
def rgstat(tmp_path_factory):
    """An :class:`RRunner`; skips the test when Rscript or gstat is absent."""
    if not _r_available():
        pytest.skip("R with gstat/sp not installed (apt-get install r-cran-gstat r-cran-sp)")
    return RRunner(tmp_path_factory.mktemp("r"))


@pytest.fixture(scope="session")
def meuse(rgstat):
    """The meuse data (155 samples) and meuse.grid (3103 cells) exported by R into CSV."""
    rgstat("""
        data(meuse); data(meuse.grid)
        write.csv(meuse[, c("x", "y", "zinc", "copper", "dist", "elev")], "meuse.csv",
                  row.names = FALSE)
        write.csv(meuse.grid[, c("x", "y", "dist")], "meuse_grid.csv", row.names = FALSE)
    """)
    m = pd.read_csv(rgstat.folder / "meuse.csv")
    g = pd.read_csv(rgstat.folder / "meuse_grid.csv")
    return {
        "xy": m[["x", "y"]].to_numpy(float),
        "logzinc": np.log(m["zinc"].to_numpy(float)),
        "logcopper": np.log(m["copper"].to_numpy(float)),
        "dist": m["dist"].to_numpy(float),
        "grid": g[["x", "y"]].to_numpy(float),
        "grid_dist": g["dist"].to_numpy(float),
    }


@pytest.fixture(scope="session")
def field():
    """400 points with a smooth spatial field plus noise (metres, unitless values)."""
    rng = np.random.default_rng(42)
    xy = rng.uniform(0, 10_000, (400, 2))
    z = np.sin(xy[:, 0] / 1500) + np.cos(xy[:, 1] / 2000) + rng.normal(0, 0.2, 400)
    return xy, z
