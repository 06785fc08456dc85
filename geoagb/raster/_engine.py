"""The window loop: read ahead in a thread, compute, write; bounded memory.

A *task* is a picklable object with

* ``band_names`` (list of str) and ``units`` (list of str): the output bands;
* ``read(win) -> inputs``: everything the computation needs for output window ``win`` (I/O and
  feature computation, mostly in numpy/GDAL code that releases the GIL);
* ``compute(inputs) -> ndarray (n_bands, h, w)`` float32 (the model).

:func:`run_windows` overlaps ``read`` of the next windows (one reader thread, ``prefetch``
windows ahead) with ``compute`` of the current one, and writes each result as soon as it is
ready; ``geoagb.mapping``'s ``run_windows_dask`` spreads ``read + compute`` over a Dask
cluster instead. At most ``prefetch + 1`` windows are alive at once, whatever the raster size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from rasterio.windows import Window
from tqdm.auto import tqdm

from .._progress import progress_disabled

__all__ = ["run_windows", "run_task"]


def run_task(task, win: Window):
    """Read and compute one window (what a Dask worker runs)."""
    return win, task.compute(task.read(win))


def run_windows(
    task,
    windows: Sequence[Window],
    write: Callable[[Window, np.ndarray], None],
    prefetch: int = 2,
    progress: bool | None = None,
    desc: str = "mapping",
) -> None:
    """Run ``task`` over ``windows`` in one process, reading ahead in a background thread.

    Parameters
    ----------
    task : object with ``read`` and ``compute`` (see the module docstring)
    windows : sequence of rasterio Window
        Output-grid windows.
    write : callable (win, array) -> None
        Receives each result in window order (called in the calling thread).
    prefetch : int, default 2
        Windows read ahead of the one being computed (0 = no overlap of I/O and compute).
    progress : bool or None, default None
        Show a tqdm progress bar. ``None``: only when stderr is a terminal.
    """
    bar = tqdm(
        total=len(windows),
        desc=desc,
        unit="window",
        disable=progress_disabled(progress),
        leave=False,
    )
    try:
        if prefetch <= 0:
            for win in windows:
                write(win, task.compute(task.read(win)))
                bar.update()
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoagb-reader") as pool:
            pending: deque = deque()
            it = iter(windows)
            try:
                for win in it:
                    pending.append((win, pool.submit(task.read, win)))
                    if len(pending) >= prefetch:
                        break
                while pending:
                    win, fut = pending.popleft()
                    inputs = fut.result()
                    nxt = next(it, None)
                    if nxt is not None:
                        pending.append((nxt, pool.submit(task.read, nxt)))
                    write(win, task.compute(inputs))
                    del inputs
                    bar.update()
            except BaseException:
                for _, f in pending:
                    f.cancel()
                raise
    finally:
        bar.close()
