"""``geoagb demo``: the main job, run on the embedded synthetic landscape.

The demo is a list of steps, one module each (``_features``, ``_cv``, ``_kriging``, ...), run in
:data:`STEPS` order. Each module defines ``TITLE`` and ``run(ctx: DemoContext) -> None`` and
shares data with later steps through ``ctx.data`` (e.g. ``ctx.data["plots"]``,
``ctx.data["scene"]``, ``ctx.data["best_model"]``).

Outputs are written atomically, step by step: :func:`run_demo` points ``ctx.path`` at a hidden
staging folder inside ``out`` and moves the step's files into ``out`` only when the step has
finished (:func:`geoagb._io.staged_folder`), so an error, Ctrl-C or SIGTERM never leaves a
half-written CSV or PNG, and a killed run leaves only a hidden part folder that the next run
removes. A step reads earlier results from ``ctx.data``, not from ``ctx.path`` files.
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
    stage: Path | None = None

    def path(self, name: str) -> Path:
        """Where a step writes output ``name``: the staging folder while :func:`run_demo` runs
        the step (the file lands in ``out`` when the step ends), else ``out / name``."""
        return (self.stage if self.stage is not None else self.out) / name


def available_steps() -> list[str]:
    return [s for s in STEPS if importlib.util.find_spec(f"geoagb._demo._{s}") is not None]


def run_demo(out="geoagb-demo", steps=None, quick=False, random_state=0, echo=print) -> DemoContext:
    """Run the demo steps and write their outputs to ``out``; returns the context."""
    import matplotlib

    matplotlib.use("Agg")
    from .._io import staged_folder

    avail = available_steps()
    steps = avail if steps is None else ([steps] if isinstance(steps, str) else list(steps))
    unknown = [s for s in steps if s not in avail]
    if unknown or not steps:
        raise ValueError(
            f"unknown demo step(s) {', '.join(map(str, unknown)) or '(none given)'}; the steps are "
            f"{', '.join(avail)}: pass a comma-separated subset, e.g. --steps cv,kriging "
            "(steps=['cv', 'kriging'])."
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; the demo writes many files, give a folder.")
    out.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(out=out, random_state=random_state, quick=quick, echo=echo)
    t_all = time.perf_counter()
    for i, name in enumerate(steps, 1):
        mod = importlib.import_module(f"geoagb._demo._{name}")
        echo(f"\n[{i}/{len(steps)}] {mod.TITLE}")
        t0 = time.perf_counter()
        with staged_folder(out, f"demo-{name}") as stage:
            # messages name the final place of a file, not its staging folder
            ctx.stage, ctx.echo = stage, (lambda s, _st=str(stage): echo(s.replace(_st, str(out))))
            try:
                mod.run(ctx)
            finally:
                ctx.stage, ctx.echo = None, echo
        echo(f"    ({time.perf_counter() - t0:.1f} s)")
    echo(f"\ngeoagb demo finished in {time.perf_counter() - t_all:.1f} s; outputs in {out.resolve()}")
    return ctx
