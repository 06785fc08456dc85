"""What several subcommands share: progress bars, printed lines, the command, --trust, --debug."""

from __future__ import annotations

import shlex

from .._progress import show_progress as _show_progress

__all__ = ["show_progress", "echo", "command_line", "trust", "add_debug"]


def show_progress(args) -> bool:
    """Progress bars only on a terminal, or with --progress; never with --quiet."""
    if getattr(args, "quiet", False):
        return False
    return _show_progress(True if getattr(args, "progress", False) else None)


def echo(s: str) -> None:
    """Print a library progress line without its four-space indent, flushed."""
    print(s[4:] if s.startswith("    ") else s, flush=True)


def command_line(args) -> str:
    """``geoagb ...`` as typed (recorded in model bundles), or "" when not run by main."""
    argv = getattr(args, "argv", None)
    return "geoagb " + shlex.join(argv) if argv is not None else ""


def trust(args):
    """--trust: accept every type in the model file (only for bundles you trust)."""
    return True if getattr(args, "trust", False) else None


def add_debug(parser, default) -> None:
    """Add ``--debug`` (on the main parser; ``argparse.SUPPRESS`` on a subcommand's)."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show the full Python traceback of an error",
    )
