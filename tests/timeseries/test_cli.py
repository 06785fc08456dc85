"""The ``geoagb timeseries`` sub-commands, run through an argparse parser built here."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
import rasterio

from geoagb.timeseries import read_stack
from geoagb.timeseries._cli import add_timeseries_command


def _main(argv):
    p = argparse.ArgumentParser(prog="geoagb")
    sub = p.add_subparsers(dest="command", required=True)
    add_timeseries_command(sub)
    args = p.parse_args(argv)
    return args.func(args)


def test_full_chain_from_the_command_line(tmp_path, capsys):
    d = tmp_path
    assert _main(["timeseries", "synthetic", str(d), "--size", "24", "--years", "12"]) == 0
    assert (
        _main(
            [
                "timeseries",
                "scale",
                f"{d}/benchmark.tif",
                f"{d}/tree_cover.tif",
                f"{d}/agbc.tif",
                "--base-year",
                "2008",
                "--short-cover",
                f"{d}/short_cover.tif",
                "--regions",
                f"{d}/regions.tif",
                "--benchmark-sd",
                f"{d}/benchmark_sd.tif",
                "--out-sd",
                f"{d}/sd.tif",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        _main(
            [
                "timeseries",
                "vod",
                f"{d}/agbc.tif",
                f"{d}/vod.tif",
                f"{d}/regions.tif",
                f"{d}/agbc_cal.tif",
                "--base-year",
                "2008",
                "--calibrate",
                "densification",
            ]
        )
        == 0
    )
    assert (
        _main(
            [
                "timeseries",
                "belowground",
                f"{d}/agbc_cal.tif",
                f"{d}/bgb_records.csv",
                f"{d}/bgbc.tif",
                "--covariates",
                f"mat={d}/mat.tif,map={d}/map.tif",
                "--n-estimators",
                "20",
                "--quiet",
            ]
        )
        == 0
    )
    assert _main(["timeseries", "trend", f"{d}/agbc_cal.tif", f"{d}/trend.tif", "--quiet"]) == 0
    assert (
        _main(
            [
                "timeseries",
                "totals",
                f"{d}/agbc_cal.tif",
                "--bgbc",
                f"{d}/bgbc.tif",
                "--regions",
                f"{d}/regions.tif",
                "--agbc-sd",
                f"{d}/sd.tif",
                "--csv",
                f"{d}/tot.csv",
                "--quiet",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "spatial blocks" in out and "sink densification:" in out
    agbc, years, _ = read_stack(d / "agbc_cal.tif")
    bgbc, _, _ = read_stack(d / "bgbc.tif")
    assert years.tolist() == list(range(2002, 2014))
    tot = pd.read_csv(d / "tot.csv")
    with rasterio.open(d / "regions.tif") as ds:
        reg = ds.read(1)
    m = reg == 1
    row = tot[(tot.region == "densification") & (tot.year == 2010)].iloc[0]
    assert row.total_TgC == pytest.approx(
        (agbc[8][m].astype(float) + bgbc[8][m]).sum() * 100 / 1e6, rel=1e-6
    )
    # the sink printed is the least-squares slope of those totals
    g = tot[tot.region == "densification"]
    slope = np.polyfit(g.year, g.total_TgC, 1)[0]
    assert f"sink densification: {slope:+.4f} TgC/yr" in out
    with rasterio.open(d / "trend.tif") as ds:
        assert ds.descriptions[0] == "slope" and ds.count == 10


def test_bad_covariates_argument(tmp_path):
    with pytest.raises(ValueError, match="NAME=PATH"):
        from geoagb.timeseries._cli import _parse_covariates

        _parse_covariates("mat.tif")
