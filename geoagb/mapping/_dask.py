"""Distributed mapping: spread windows over the workers of a ``dask.distributed`` cluster.

The task (estimator, feature recipe, masks) is broadcast to every worker once; each worker reads
its window's inputs itself (the rasters must be reachable at the same paths from every worker:
a shared or cloud file system), computes the window and sends back only the small output block,
which the client writes into the temporary GeoTIFF as results arrive. At most
``2 x (worker threads)`` windows are in flight, so client and worker memory stay bounded whatever
the raster size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice

import numpy as np
from rasterio.windows import Window
from tqdm.auto import tqdm

from .._optional import optional_import
from .._progress import progress_disabled
from ..raster import run_task

__all__ = ["run_windows_dask", "check_client"]


def check_client(client):
    """Return ``client`` if it is a ``distributed.Client``; raise a helpful error otherwise."""
    Client = optional_import("distributed", "client=").Client
    if not isinstance(client, Client):
        raise TypeError(
            f"client must be a dask.distributed.Client; got {type(client).__name__}. Create one "
            "with `from distributed import Client, LocalCluster; client = Client(LocalCluster())` "
            "or connect to a scheduler: Client('tcp://scheduler:8786')."
        )
    return client


def run_windows_dask(
    task,
    windows: Sequence[Window],
    write: Callable[[Window, np.ndarray], None],
    client,
    progress: bool | None = None,
    desc: str = "mapping (dask)",
    in_flight: int | None = None,
) -> None:
    """Run ``task`` over ``windows`` on the workers of ``client``; ``write`` each result.

    Results are written in completion order (not window order): every window covers distinct
    cells, so the file is the same.
    """
    from distributed import as_completed

    check_client(client)
    if in_flight is None:
        in_flight = 2 * max(1, sum(client.nthreads().values()))
    [task_future] = client.scatter([task], broadcast=True, hash=False)
    it = iter(windows)
    futures = [client.submit(run_task, task_future, w, pure=False) for w in islice(it, in_flight)]
    seq = as_completed(futures, with_results=True)
    bar = tqdm(
        total=len(windows),
        desc=desc,
        unit="window",
        disable=progress_disabled(progress),
        leave=False,
    )
    try:
        for _fut, (win, arr) in seq:
            write(win, arr)
            bar.update()
            nxt = next(it, None)
            if nxt is not None:
                fut = client.submit(run_task, task_future, nxt, pure=False)
                futures.append(fut)
                seq.add(fut)
            futures = [f for f in futures if not f.done()]
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        bar.close()
        client.cancel([task_future])
