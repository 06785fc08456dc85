"""Figures: what they draw is what was computed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoagb.timeseries import carbon_sink_trend, plot_region_series, plot_trend_map, trend_map


def test_region_series_legend_carries_the_sink():
    years = np.arange(2000, 2010)
    tot = pd.concat(
        [
            pd.DataFrame(
                {
                    "region": r,
                    "year": years,
                    "total_TgC": 5 + b * (years - 2000),
                    "total_sd_TgC": 0.1,
                }
            )
            for r, b in (("up", 0.2), ("down", -0.1))
        ]
    )
    sink = carbon_sink_trend(tot)
    fig = plot_region_series(tot, sinks=sink, truth=tot)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("up: +0.200 TgC/yr") and labels[1].startswith("down: -0.100 TgC/yr")
    assert len(ax.collections) == 2  # the two 95 % bands
    data = ax.lines[1].get_ydata()  # the series of "up" (after its trend line)
    np.testing.assert_allclose(data, 5 + 0.2 * (years - 2000))


def test_trend_map_greys_non_significant_cells(tmp_path):
    t = np.arange(2002, 2022)
    rng = np.random.default_rng(0)
    stack = rng.normal(0, 1, (t.size, 6, 8))
    stack[:, :3] += 0.5 * (t - 2002)[:, None, None]  # top half trends
    res = trend_map(
        stack, t, progress=False, transform=(1000, 0, 0, 0, -1000, 6000), crs="EPSG:32648"
    )
    fig = plot_trend_map(res)
    grey = fig.axes[0].images[1].get_array()
    assert np.ma.count(grey) == int((res.p_value >= 0.05).sum())
    assert "significant" in fig.axes[0].get_title()
    path = res.to_geotiff(tmp_path / "t.tif")
    fig2 = plot_trend_map(path)
    np.testing.assert_allclose(fig2.axes[0].images[0].get_array(), res.slope)
