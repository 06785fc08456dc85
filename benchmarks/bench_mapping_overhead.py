"""Mapping overhead for a cheap model: predict_raster against a bare rasterio block loop.

Same raster (``--size`` squared cells, ``--bands`` float32 bands, tiled and deflate-compressed),
same linear model, same run. The bare loop reads each 256 x 256 block, predicts and writes a
tiled deflate GeoTIFF with GDAL_CACHEMAX bounded; ``predict_raster`` adds what a user gets:
input checks, window planning under a memory budget, read-ahead, masks, an atomic write. The
ratio printed is bare time / predict_raster time (1 = no overhead; the issue's bar is 0.7).

    python benchmarks/bench_mapping_overhead.py --size 4000 --bands 4
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main():
    import numpy as np
    import pandas as pd
    import rasterio
    from rasterio.transform import from_origin
    from sklearn.linear_model import LinearRegression

    from geoagb.mapping import predict_raster

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--bands", type=int, default=4)
    args = ap.parse_args()
    n, b = args.size, args.bands
    names = [f"f{i}" for i in range(b)]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "stack.tif"
        rng = np.random.default_rng(0)
        prof = dict(
            driver="GTiff",
            dtype="float32",
            count=b,
            width=n,
            height=n,
            crs="EPSG:32648",
            transform=from_origin(500_000, 3_000_000, 30, 30),
            tiled=True,
            blockxsize=256,
            blockysize=256,
            compress="deflate",
        )
        with rasterio.open(path, "w", **prof) as ds:
            for i in range(b):
                ds.write(rng.random((n, n), dtype=np.float32), i + 1)
                ds.set_band_description(i + 1, names[i])
        X = pd.DataFrame(rng.random((500, b)), columns=names)
        model = LinearRegression().fit(X, X.sum(axis=1))
        t = time.perf_counter()
        with rasterio.Env(GDAL_CACHEMAX=64), rasterio.open(path) as src:
            out = dict(src.profile, count=1)
            with rasterio.open(Path(d) / "bare.tif", "w", **out) as dst:
                for _, win in src.block_windows(1):
                    a = src.read(window=win)
                    h, w = a.shape[1:]
                    pred = model.predict(pd.DataFrame(a.reshape(b, -1).T, columns=names))
                    dst.write(pred.astype(np.float32).reshape(h, w), 1, window=win)
        bare = time.perf_counter() - t
        t = time.perf_counter()
        predict_raster(model, path, Path(d) / "geo.tif", progress=False, overviews=False)
        geo = time.perf_counter() - t
    cells = n * n
    print(f"{n} x {n} cells x {b} bands, linear model")
    print(f"bare rasterio block loop: {bare:.2f} s ({cells / bare / 1e6:.1f} M cells/s)")
    print(f"predict_raster:           {geo:.2f} s ({cells / geo / 1e6:.1f} M cells/s)")
    print(f"ratio bare / predict_raster: {bare / geo:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()
