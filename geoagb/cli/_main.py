"""The ``geoagb`` entry point: the argument parser and :func:`main`."""

from __future__ import annotations

import argparse
import sys

from .. import __version__
from .._io import SIGTERM_EXIT, sigterm_as_exit
from ._common import add_debug
from ._demo import add_compile_command, add_demo_command
from ._errors import one_line, user_error_types
from ._fit import add_fit_command
from ._map import add_map_command
from ._report import add_report_command
from ._timeseries import add_timeseries_command

__all__ = ["main", "build_parser"]

#: The subcommands, in the order ``geoagb --help`` lists them.
_COMMANDS = (
    add_demo_command,
    add_fit_command,
    add_map_command,
    add_report_command,
    add_compile_command,
    add_timeseries_command,
)


def build_parser() -> argparse.ArgumentParser:
    """The ``geoagb`` argument parser: demo, fit, map, report, compile and timeseries commands."""
    p = argparse.ArgumentParser(prog="geoagb", description="Forest AGB and carbon mapping toolkit.")
    p.add_argument("--version", action="version", version=f"geoagb {__version__}")
    add_debug(p, False)
    sub = p.add_subparsers(dest="command", required=True)
    for add_command in _COMMANDS:
        # --debug after a subcommand too; SUPPRESS keeps the main parser's value when not given
        add_debug(add_command(sub), argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    """Run the ``geoagb`` command; returns the exit status (0 ok, 2 input error, 130, 143)."""
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # recorded in model bundles
    try:
        with sigterm_as_exit():
            return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("geoagb: interrupted", file=sys.stderr)
        return 130
    except SystemExit as err:
        if err.code == SIGTERM_EXIT and not args.debug:
            print("geoagb: terminated (SIGTERM); partial outputs removed", file=sys.stderr)
        raise
    except Exception as err:
        if args.debug:
            raise
        if isinstance(err, user_error_types()):
            print(f"geoagb: error: {one_line(err)}", file=sys.stderr)
            return 2
        print(
            f"geoagb: internal error ({type(err).__name__}): a bug in geoagb, not a problem with "
            "the input; please report it with the traceback below",
            file=sys.stderr,
        )
        raise
