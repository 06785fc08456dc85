"""The ``geoagb`` command line."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args) -> int:
    from ._demo import run_demo

    steps = args.steps.split(",") if args.steps else None
    run_demo(out=args.out, steps=steps, quick=args.quick, random_state=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="geoagb", description="Forest AGB and carbon mapping toolkit.")
    p.add_argument("--version", action="version", version=f"geoagb {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the main job on the embedded synthetic landscape")
    d.add_argument("--out", default="geoagb-demo", help="output folder (default: ./geoagb-demo)")
    d.add_argument("--steps", default=None, help="comma-separated subset of steps to run")
    d.add_argument("--quick", action="store_true", help="smaller settings (used by the tests)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.set_defaults(func=_demo)

    from .mapping._cli import add_map_command

    add_map_command(sub)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
