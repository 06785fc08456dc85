"""``geoagb demo``: the main job, run on the embedded synthetic landscape.

The demo is a list of steps, one module each (``_features``, ``_cv``, ``_kriging``, ...), run in
:data:`STEPS` order. By default only :data:`DEFAULT_STEPS` run: the synthetic scene and its
plots, SHAP, then the user's path through ``geoagb fit`` / ``map`` / ``report`` (the ``mapping``
step, which calls the same code and prints the three commands), the area of applicability and the
carbon time series; ``--full`` adds the slower showcases (regional CV study, kriging comparison,
deep patch models). Each module defines ``TITLE`` and ``run(ctx: DemoContext) -> None`` and
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._io import staged_folder
from .._progress import show_progress

__all__ = ["DemoContext", "STEPS", "DEFAULT_STEPS", "available_steps", "default_steps", "run_demo"]

#: Step modules in the order they run; a module not (yet) in the package is not listed.
STEPS = ["features", "cv", "kriging", "explain", "deep", "mapping", "applicability", "timeseries"]
#: What ``geoagb demo`` runs without ``--full`` or ``--steps`` (about a minute on 2 cores; every
#: step: 5-8 min): the scene and its plots, SHAP, the user's path fit -> map -> report (the
#: mapping step), the area of applicability and the carbon time series. Measured per step on 2
#: cores: features 8-11 s, explain 4 s, mapping 27-35 s, applicability 7 s, timeseries 4 s; left
#: to --full: cv 217 s, kriging 77 s, deep (minutes).
DEFAULT_STEPS = ["features", "explain", "mapping", "applicability", "timeseries"]


@dataclass
class DemoContext:
    """What demo steps share: the output folder, the seed, a ``quick`` flag and a data dict."""

    out: Path
    random_state: int = 0
    quick: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    echo: Callable[[str], None] = print
    stage: Path | None = None
    progress: bool = False  # progress bars: only on a terminal (or geoagb demo --progress)

    def path(self, name: str) -> Path:
        """Where a step writes output ``name``: the staging folder while :func:`run_demo` runs
        the step (the file lands in ``out`` when the step ends), else ``out / name``.
        """
        return (self.stage if self.stage is not None else self.out) / name


def available_steps() -> list[str]:
    return [s for s in STEPS if importlib.util.find_spec(f"geoagb._demo._{s}") is not None]


def default_steps() -> list[str]:
    """The steps ``geoagb demo`` runs without ``--full`` or ``--steps``."""
    avail = available_steps()
    return [s for s in DEFAULT_STEPS if s in avail]


def run_demo(
    out="geoagb-demo",
    steps=None,
    quick=False,
    random_state=0,
    echo=print,
    full=False,
    progress=None,
) -> DemoContext:
    """Run the demo steps and write their outputs to ``out``; returns the context.

    ``steps=None`` runs :data:`DEFAULT_STEPS`, or every step with ``full=True``. Progress bars
    are shown when stderr is a terminal, or with ``progress=True``.
    """
    import matplotlib

    matplotlib.use("Agg")

    avail = available_steps()
    if steps is None:
        steps = avail if full else default_steps()
    steps = [steps] if isinstance(steps, str) else list(steps)
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
    ctx = DemoContext(
        out=out,
        random_state=random_state,
        quick=quick,
        echo=echo,
        progress=show_progress(progress),
    )
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
    echo(
        f"\ngeoagb demo finished in {time.perf_counter() - t_all:.1f} s; outputs in {out.resolve()}"
    )
    if not full and len(steps) < len(avail) and steps == default_steps():
        echo(
            "(the slower showcases - "
            + ", ".join(s for s in avail if s not in steps)
            + " - run with geoagb demo --full)"
        )
    if ctx.data.get("commands"):
        echo("\nThe same on your own plot file and raster folder, in three commands:")
        for c in ctx.data["commands"]:
            echo(f"  {c}")
    return ctx
