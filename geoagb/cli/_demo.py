"""``geoagb demo`` (the main job on the embedded synthetic landscape) and ``geoagb compile``."""

from __future__ import annotations

import argparse

from .._compile import cache_message, compile_kernels, kernel_cache
from .._demo import available_steps, default_steps, run_demo
from ._args import int_at_least

__all__ = ["add_demo_command", "add_compile_command"]


def _run_demo(args) -> int:
    steps = [t.strip() for t in args.steps.split(",") if t.strip()] if args.steps else None
    run_demo(
        out=args.out,
        steps=steps,
        quick=args.quick,
        random_state=args.seed,
        full=args.full,
        progress=True if args.progress else None,
    )
    return 0


def _run_compile(args) -> int:
    seconds = compile_kernels(args.families or None, echo=print)
    print(cache_message(sum(seconds.values()), kernel_cache()))
    return 0


def add_demo_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb demo`` to an argparse ``subparsers`` object."""
    d = subparsers.add_parser("demo", help="run the main job on the embedded synthetic landscape")
    d.add_argument("--out", default="geoagb-demo", help="output folder (default: ./geoagb-demo)")
    d.add_argument(
        "--steps",
        default=None,
        metavar="STEP[,STEP...]",
        help="comma-separated subset of the steps to run, from: "
        f"{', '.join(available_steps())} (default: {', '.join(default_steps())}; "
        "with --full: all, in that order)",
    )
    d.add_argument(
        "--full",
        action="store_true",
        help="also run the slower showcases (regional CV study, kriging comparison, "
        "SHAP interactions, deep patch models, ...): every step",
    )
    d.add_argument("--quick", action="store_true", help="smaller settings (used by the tests)")
    d.add_argument(
        "--progress",
        action="store_true",
        help="progress bars even when not on a terminal (default: only on a terminal)",
    )
    d.add_argument("--seed", type=int_at_least(0), default=0, help="random seed (default: 0)")
    d.set_defaults(func=_run_demo)
    return d


def add_compile_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb compile [FAMILY ...]`` to an argparse ``subparsers`` object."""
    c = subparsers.add_parser(
        "compile",
        help="compile geoagb's numba kernels now (once per installation; e.g. in a container "
        "build) instead of on first use",
    )
    c.add_argument(
        "families",
        nargs="*",
        metavar="FAMILY",
        help="kernel families to compile (default: all): kriging, timeseries, applicability, "
        "explain",
    )
    c.set_defaults(func=_run_compile)
    return c
