"""``geoagb demo``: the main job, run on the embedded synthetic landscape.

The demo is a list of steps, one module each (``_features``, ``_cv``, ``_kriging``, ...), run in
:data:`STEPS` order. Each module defines ``TITLE`` and ``run(ctx: DemoContext) -> None`` and
shares data with later steps through ``ctx.data`` (e.g. ``ctx.data["plots"]``,
``ctx.data["scene"]``, ``ctx.data["best_model"]``).
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

__all__ = ["DemoContext", "STEPS", "available_steps", "run_demo"]

#: Step modules in the order they run; a module not (yet) in the package is not listed.
STEPS = ["features", "cv", "kriging", "explain", "deep", "mapping"]


@dataclass
class DemoContext:
    """What demo steps share: the output folder, the seed, a ``quick`` flag and a data dict."""

    out: Path
    random_state: int = 0
    quick: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    echo: Callable[[str], None] = print

    def path(self, name: str) -> Path:
        """Path of an output file in the demo folder."""
        return self.out / name


def available_steps() -> list[str]:
    return [s for s in STEPS if importlib.util.find_spec(f"geoagb._demo._{s}") is not None]


def run_demo(out="geoagb-demo", steps=None, quick=False, random_state=0, echo=print) -> DemoContext:
    """Run the demo steps and write their outputs to ``out``; returns the context."""
    import matplotlib

    matplotlib.use("Agg")
    avail = available_steps()
    steps = avail if steps is None else list(steps)
    unknown = [s for s in steps if s not in avail]
    if unknown:
        raise ValueError(f"unknown demo step(s) {unknown}; available: {avail}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, random_state=random_state, quick=quick, echo=echo)
    t_all = time.perf_counter()
    for i, name in enumerate(steps, 1):
        mod = importlib.import_module(f"geoagb._demo._{name}")
        echo(f"\n[{i}/{len(steps)}] {mod.TITLE}")
        t0 = time.perf_counter()
        mod.run(ctx)
        echo(f"    ({time.perf_counter() - t0:.1f} s)")
    echo(f"\ngeoagb demo finished in {time.perf_counter() - t_all:.1f} s; outputs in {out.resolve()}")
    return ctx
