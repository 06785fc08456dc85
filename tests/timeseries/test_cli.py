"""The ``geoagb timeseries`` sub-commands, run through an argparse parser built here."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
import rasterio

from geoagb.cli._timeseries import add_timeseries_command
from geoagb.timeseries import read_stack


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
        from geoagb.cli._timeseries import _parse_covariates

        _parse_covariates("mat.tif")


GRID = dict(transform=(1000.0, 0.0, 500_000.0, 0.0, -1000.0, 2_800_000.0), crs="EPSG:32648")


def _geoagb(argv, capsys):
    """Run the full ``geoagb`` command: (exit status, stdout, stderr)."""
    from geoagb.cli import main

    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _one_line_error(rc, err):
    assert rc == 2 and err.startswith("geoagb: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and "nan %" not in err


def _ramp(years, slope=1.5, shape=(2, 3), start=None):
    x = 40.0 + slope * (np.asarray(years) - (years[0] if start is None else start))
    return np.broadcast_to(x[:, None, None], (len(years), *shape)).copy()


def test_trend_of_three_years_says_why_nothing_is_tested(tmp_path, capsys):
    from geoagb.timeseries import write_stack

    p = write_stack(tmp_path / "three.tif", _ramp(range(2019, 2022)), range(2019, 2022), **GRID)
    rc, out, err = _geoagb(["timeseries", "trend", str(p), str(tmp_path / "t.tif")], capsys)
    _one_line_error(rc, err)
    assert "has 3 band(s) (2019-2021) but --min-years is 8" in err and "lower --min-years" in err
    assert not (tmp_path / "t.tif").exists() and out == ""
    rc, out, err = _geoagb(
        ["timeseries", "trend", str(p), str(tmp_path / "t.tif"), "--min-years", "3", "--quiet"],
        capsys,
    )
    assert rc == 0 and "wrote" in out and "6 cells tested" in out and "1.500 MgC/ha/yr" in out


def test_trend_of_an_all_nan_stack(tmp_path, capsys):
    from geoagb.timeseries import write_stack

    a = np.full((10, 2, 3), np.nan)
    a[:4, 0, 0] = 1.0  # one cell with 4 finite years, five without any
    p = write_stack(tmp_path / "nan.tif", a, range(2002, 2012), **GRID)
    out_path = tmp_path / "t.tif"
    rc, out, err = _geoagb(["timeseries", "trend", str(p), str(out_path), "--quiet"], capsys)
    _one_line_error(rc, err)
    assert "of 6 cells, 5 have no finite value in any year" in err
    assert "1 have 1 to 7 finite years, fewer than --min-years 8" in err
    assert not out_path.exists()


def test_trend_of_bands_that_are_not_years(tmp_path, capsys):
    from geoagb.timeseries import write_stack

    years = list(range(2002, 2022, 2))  # one map every 2 years: +1.5 MgC/ha/yr, +3 per band
    p = write_stack(tmp_path / "s.tif", _ramp(years), [f"b{i}" for i in range(10)], **GRID)
    out_path = tmp_path / "t.tif"
    rc, _, err = _geoagb(["timeseries", "trend", str(p), str(out_path), "--quiet"], capsys)
    _one_line_error(rc, err)
    assert "['b0', 'b1', 'b2', ..., 'b8', 'b9'] (10 bands), not years" in err
    assert "--years FIRST-LAST" in err
    rc, _, err = _geoagb(
        ["timeseries", "trend", str(p), str(out_path), "--years", "2002-20x"], capsys
    )
    _one_line_error(rc, err)
    assert "--years '2002-20x' must be FIRST-LAST" in err
    rc, _, err = _geoagb(
        ["timeseries", "trend", str(p), str(out_path), "--years", "2002-2012"], capsys
    )
    _one_line_error(rc, err)
    assert "has 10 layer(s) but 11 years were given" in err
    rc, out, _ = _geoagb(
        [
            "timeseries",
            "trend",
            str(p),
            str(out_path),
            "--quiet",
            "--years",
            ",".join(map(str, years)),
        ],
        capsys,
    )
    assert rc == 0 and "1.500 MgC/ha/yr" in out
    with rasterio.open(out_path) as ds:
        np.testing.assert_allclose(ds.read(1), 1.5)  # per year, not 3.0 per band
        assert ds.tags()["years"] == "2002-2020"


def test_totals_of_stacks_of_different_years(tmp_path, capsys):
    from geoagb.timeseries import write_stack

    a = _ramp(list(range(2002, 2012)))
    pa = write_stack(tmp_path / "agbc.tif", a, range(2002, 2012), **GRID)
    b = 0.25 * _ramp(list(range(2003, 2013)), start=2002)  # same carbon per year, a year later
    pb = write_stack(tmp_path / "bgbc.tif", b, range(2003, 2013), **GRID)
    rc, out, err = _geoagb(["timeseries", "totals", str(pa), "--bgbc", str(pb), "--quiet"], capsys)
    _one_line_error(rc, err)
    assert "bgbc holds the years 2003-2012 but agbc 2002-2011" in err
    assert "add --common-years" in err and out == ""
    csv = tmp_path / "tot.csv"
    rc, out, _ = _geoagb(
        ["timeseries", "totals", str(pa), "--bgbc", str(pb), "--common-years"]
        + ["--csv", str(csv), "--quiet"],
        capsys,
    )
    assert rc == 0
    tot = pd.read_csv(csv)
    assert tot["year"].tolist() == list(range(2003, 2012))
    # 2003: AGBC 40 + 1.5 MgC/ha and BGBC 0.25 x (40 + 1.5), 6 cells of 100 ha (by position,
    # BGBC 2003 would have been added to AGBC 2002: 40 + 0.25 x 41.5)
    assert tot.loc[0, "total_TgC"] == pytest.approx(1.25 * 41.5 * 600 / 1e6)
    # the sink of that series: +1.25 x 1.5 MgC/ha/yr over 600 ha
    assert f"sink all: {1.25 * 1.5 * 600 / 1e6:+.4f} TgC/yr" in out


def test_totals_of_two_years_refuse_the_sink(tmp_path, capsys):
    from geoagb.timeseries import write_stack

    pa = write_stack(tmp_path / "agbc.tif", _ramp([2020, 2021]), [2020, 2021], **GRID)
    rc, _, err = _geoagb(["timeseries", "totals", str(pa), "--quiet"], capsys)
    _one_line_error(rc, err)
    assert "at least 3 years with a finite total_TgC per region" in err
    assert "'all' 2 (2020-2021)" in err


def test_vod_of_other_years_is_refused(tmp_path, capsys):
    from geoagb.timeseries import write_stack

    a = _ramp(list(range(2002, 2012)))
    pa = write_stack(tmp_path / "agbc.tif", a, range(2002, 2012), **GRID)
    pv = write_stack(tmp_path / "vod.tif", 0.01 * a, range(2003, 2013), **GRID)
    pr = write_stack(tmp_path / "r.tif", np.zeros((2, 3)), ["region"], **GRID)
    rc, _, err = _geoagb(
        ["timeseries", "vod", str(pa), str(pv), str(pr), str(tmp_path / "o.tif")]
        + ["--base-year", "2005"],
        capsys,
    )
    _one_line_error(rc, err)
    assert "vod holds the years 2003-2012 but agbc 2002-2011" in err
