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


def _current_rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class PeakSampler:
    """Samples the current RSS every 10 ms in a thread: the peak *during* a block of code."""

    def __enter__(self):
        import threading

        self.peak, self._stop = _current_rss_mb(), threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, _current_rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
