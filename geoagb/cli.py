"""The ``geoagb`` command line.

A mistake in the input (a missing file, a feature the model needs, an unknown demo step, an
output path that cannot be written, a full disk) ends the command with one line,
``geoagb: error: ...``, and exit status 2; ``--debug`` shows the full traceback instead. A number
out of range in a flag (``--n-estimators 0``) is refused by the argument parser before any work,
also with exit status 2. Any other exception is a bug: one line says so and its traceback
follows (exit status 1). Ctrl-C exits with 130 and SIGTERM with 143, both after removing the
part file of an output being written.
"""

from __future__ import annotations

import argparse
import errno
import sys
import zipfile

from ._argtypes import int_at_least

__all__ = ["main", "build_parser"]

#: Exceptions that report a problem with the user's input (geoagb's own checks raise these),
#: printed as one line unless --debug. OSError covers missing/unreadable files, a full disk and
#: rasterio's "not a raster" errors; ImportError a missing extra (its message names the pip
#: command); BadZipFile a truncated bundle. rasterio's, pyogrio's and pyproj's own error classes
#: are added when those libraries are loaded (:func:`_user_error_types`).
USER_ERRORS = (ValueError, TypeError, KeyError, OSError, ImportError, zipfile.BadZipFile)
_LIBRARY_ERRORS = (
    ("rasterio.errors", "RasterioError"),  # e.g. WindowError, which is not an OSError
    ("pyogrio.errors", "DataSourceError"),  # a vector file GDAL cannot open
    ("pyproj.exceptions", "CRSError"),  # --crs EPSG:99999
)
#: What to do about an OSError the system raised, by errno.
_OS_FIXES = {
    getattr(errno, code): fix
    for code, fix in (
        ("ENOSPC", "free space on that disk or write the output elsewhere"),
        ("EDQUOT", "free space within your quota or write the output elsewhere"),
        ("EROFS", "that file system is read-only; write the output elsewhere"),
        ("EACCES", "check the permissions of that file and its folder"),
        ("EPERM", "check the permissions of that file and its folder"),
    )
    if hasattr(errno, code)
}


def _demo(args) -> int:
    from ._demo import run_demo

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


def _compile(args) -> int:
    from ._compile import cache_message, compile_kernels, kernel_cache

    seconds = compile_kernels(args.families or None, echo=print)
    print(cache_message(sum(seconds.values()), kernel_cache()))
    return 0


def _add_debug(parser, default) -> None:
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show the full Python traceback of an error",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``geoagb`` argument parser: demo, fit, map, report, compile and timeseries commands."""
    from . import __version__
    from ._demo import available_steps, default_steps

    p = argparse.ArgumentParser(prog="geoagb", description="Forest AGB and carbon mapping toolkit.")
    p.add_argument("--version", action="version", version=f"geoagb {__version__}")
    _add_debug(p, False)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the main job on the embedded synthetic landscape")
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
    _add_debug(d, argparse.SUPPRESS)
    d.set_defaults(func=_demo)

    from .workflow._cli import add_fit_command, add_report_command

    f = add_fit_command(sub)
    _add_debug(f, argparse.SUPPRESS)

    from .mapping._cli import add_map_command

    m = add_map_command(sub)
    _add_debug(m, argparse.SUPPRESS)
    r = add_report_command(sub)
    _add_debug(r, argparse.SUPPRESS)

    c = sub.add_parser(
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
    _add_debug(c, argparse.SUPPRESS)
    c.set_defaults(func=_compile)

    from .timeseries._cli import add_timeseries_command

    t = add_timeseries_command(sub)
    if t is not None:
        _add_debug(t, argparse.SUPPRESS)
    return p


def _user_error_types() -> tuple:
    """USER_ERRORS plus the error classes of rasterio, pyogrio and pyproj where loaded."""
    extra = []
    for module, name in _LIBRARY_ERRORS:
        m = sys.modules.get(module)
        if m is not None and isinstance(getattr(m, name, None), type):
            extra.append(getattr(m, name))
    return USER_ERRORS + tuple(extra)


def _one_line(err: BaseException) -> str:
    """The message of a user error on one line: a bare KeyError and a system OSError get words."""
    if isinstance(err, KeyError) and len(err.args) == 1:
        key = err.args[0]
        if isinstance(key, str) and " " in key.strip():
            msg = key  # a sentence raised as a KeyError
        else:
            msg = (
                f"missing key {key!r}: a file or table lacks an entry geoagb needs "
                "(--debug shows where)"
            )
    elif isinstance(err, OSError) and err.errno in _OS_FIXES and err.strerror:
        where = f" ({err.filename})" if err.filename else ""
        msg = f"{err.strerror}{where}; {_OS_FIXES[err.errno]}"
    else:
        msg = str(err)
    return " ".join(str(msg).split()) or type(err).__name__


def main(argv=None) -> int:
    """Run the ``geoagb`` command; returns the exit status (0 ok, 2 input error, 130, 143)."""
    from ._io import SIGTERM_EXIT, sigterm_as_exit

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
        if isinstance(err, _user_error_types()):
            print(f"geoagb: error: {_one_line(err)}", file=sys.stderr)
            return 2
        print(
            f"geoagb: internal error ({type(err).__name__}): a bug in geoagb, not a problem with "
            "the input; please report it with the traceback below",
            file=sys.stderr,
        )
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
