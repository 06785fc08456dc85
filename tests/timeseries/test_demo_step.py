"""The demo's timeseries step (quick settings): files written and numbers echoed are the computed ones."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio


def test_timeseries_demo_step_quick(tmp_path):
    from geoagb._demo import DemoContext, _timeseries

    lines = []
    ctx = DemoContext(out=tmp_path, quick=True, echo=lines.append)
    _timeseries.run(ctx)
    for name in ("carbon_series.png", "carbon_trend.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    res = ctx.data["carbon_trend"]
    with rasterio.open(tmp_path / "carbon_trend.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), res.slope)
    sink = ctx.data["carbon_sink"]
    line = next(s for s in lines if s.lstrip().startswith("sink (TgC/yr"))
    assert f"afforestation {sink.loc['afforestation', 'sink_TgC_per_yr']:+.3f}" in line
    tot = ctx.data["carbon_totals"]
    g = tot[tot.region == "stable"]
    assert sink.loc["stable", "sink_TgC_per_yr"] == pytest.approx(
        np.polyfit(g.year, g.total_TgC, 1)[0]
    )
    assert any("sign correct in 100.0 %" in s or "sign correct in 9" in s for s in lines)
