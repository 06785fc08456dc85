"""The demo's mapping step (quick settings): the map, the PNG and the echoed carbon stock."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio

from geoagb.mapping import carbon_stock


def test_mapping_demo_step_quick(tmp_path):
    from geoagb._demo import DemoContext, _mapping

    lines = []
    ctx = DemoContext(out=tmp_path, quick=True, echo=lines.append)
    _mapping.run(ctx)
    out = tmp_path / "agb.tif"
    assert (tmp_path / "agb.png").stat().st_size > 10_000
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("agb", "agb_std") and ds.res == (30.0, 30.0)
        agb = ds.read(1)
        lc = ctx.data["scene"].sources["landcover"]
    assert np.isfinite(agb).mean() > 0.5
    mgc = carbon_stock(out).loc["all", "stock_MgC"]
    assert np.nansum(agb) * 0.09 * 0.47 == pytest.approx(mgc, rel=1e-5)
    assert any(f"carbon stock: {mgc:,.0f} MgC" in s for s in lines)
    # rock and water/built are masked: no mapped cell is mostly rock/water at 1 m
    with rasterio.open(lc) as ds:
        cover = ds.read(1)
    n = agb.shape[0]
    blocks = cover[: n * 30, : n * 30].reshape(n, 30, n, 30)
    veg = np.isin(blocks, [1, 2]).mean(axis=(1, 3))
    assert (veg[np.isfinite(agb)] >= 0.5).all()
