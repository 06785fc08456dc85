"""Timing helper shared by the benchmark scripts (run them as ``python benchmarks/bench_*.py``)."""

import time


def best_time(fn, repeat: int = 1) -> float:
    """Best wall time, seconds, of ``repeat`` calls of ``fn()`` (a shared machine adds noise,
    never speed)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
