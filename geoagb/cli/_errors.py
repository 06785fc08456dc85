"""Errors on the command line: one line for a mistake in the input, library words made flags.

A library function names its own parameters in its messages (``n_splits=5``); :func:`flag_errors`
re-raises such an error in the words of the command that called it (``--folds 5``), through a
table of parameter -> flag (:func:`to_flags`). :func:`user_error_types` and :func:`one_line` decide
what :func:`geoagb.cli.main` prints as ``geoagb: error: ...`` (exit status 2) and what it reports
as a bug.
"""

from __future__ import annotations

import errno
import re
import sys
import zipfile
from collections.abc import Callable, Mapping

__all__ = ["USER_ERRORS", "user_error_types", "one_line", "to_flags", "flag_errors"]

#: Exceptions that report a problem with the user's input (geoagb's own checks raise these),
#: printed as one line unless --debug. OSError covers missing/unreadable files, a full disk and
#: rasterio's "not a raster" errors; ImportError a missing extra (its message names the pip
#: command); BadZipFile a truncated bundle. rasterio's, pyogrio's and pyproj's own error classes
#: are added when those libraries are loaded (:func:`user_error_types`).
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


def user_error_types() -> tuple:
    """USER_ERRORS plus the error classes of rasterio, pyogrio and pyproj where loaded."""
    extra = []
    for module, name in _LIBRARY_ERRORS:
        m = sys.modules.get(module)
        if m is not None and isinstance(getattr(m, name, None), type):
            extra.append(getattr(m, name))
    return USER_ERRORS + tuple(extra)


def one_line(err: BaseException) -> str:
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


def to_flags(message: str, flags: Mapping[str, str], negations: Mapping[str, str] = None) -> str:
    """A library message in command-line words: ``name=value`` -> ``--flag value``.

    ``flags`` maps parameter names to flags; ``negations`` whole phrases to flags
    (``{"qc=False": "--no-qc"}``). A parameter followed by a value keeps it after a space; one
    at the end of a clause (``target=.``) becomes the bare flag.

    Examples
    --------
    >>> words = {"n_splits": "--folds", "target": "--target"}
    >>> to_flags("only 3 plots remain; lower n_splits=5, or pass qc=False.", words,
    ...          {"qc=False": "--no-qc"})
    'only 3 plots remain; lower --folds 5, or pass --no-qc.'
    >>> to_flags("name the target column with target=.", words)
    'name the target column with --target.'
    """
    for phrase, flag in (negations or {}).items():
        message = re.sub(r"(?<![\w.-])" + re.escape(phrase), flag, message)
    param = re.compile(r"(?<![\w.-])(" + "|".join(map(re.escape, flags)) + r")=")

    def flag(m):
        value_follows = m.end() < len(message) and message[m.end()] not in " .,;:)"
        return flags[m.group(1)] + (" " if value_follows else "")

    return param.sub(flag, message)


def flag_errors(run: Callable, args, translate: Callable[[str], str]) -> int:
    """``run(args)``, with a ValueError, FileNotFoundError or PermissionError whose message
    names parameters raised again in flag words (``translate``); --debug shows the original.
    """
    try:
        return run(args)
    except (ValueError, FileNotFoundError, PermissionError) as err:
        if getattr(args, "debug", False) or not err.args or not isinstance(err.args[0], str):
            raise
        message = translate(err.args[0])
        if message == err.args[0]:
            raise
        try:
            new = type(err)(message)
        except TypeError:  # an error class with more arguments (e.g. UnicodeDecodeError)
            new = ValueError(message)
        raise new from err
