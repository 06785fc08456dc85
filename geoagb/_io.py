"""Safe output for every file geoagb writes: check the path first, write a part file, rename it.

Bad input never corrupts output (CONVENTIONS.md). Every writer in geoagb (maps, SHAP rasters,
difference rasters, deep-model files, demo outputs) goes through :func:`atomic_path`:

1. :func:`check_output_path` refuses, before any work, a destination that is a folder, whose
   folder is missing or not writable, with a message that names the path and the fix;
2. the data are written to a *part file* next to the destination,
   ``.<name>.<pid>-<tag>.part<suffix>`` (hidden, same folder so the final rename is atomic);
3. on success the part file is renamed onto the destination (an older file there is replaced
   in one step); on any error, Ctrl-C or SIGTERM it is removed and the older file is untouched.

A process killed with SIGKILL cannot clean up: its part file stays. The next write into that
folder removes part files of processes that are no longer running (:func:`remove_stale_parts`;
the process id is in the name, the 8-hex ``tag`` starts with a hash of the host name so that a
folder shared by several machines only loses part files of dead processes of this machine), and
the command line never reads hidden or part files as inputs (:func:`is_part_file`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "atomic_path",
    "check_output_path",
    "no_space_error",
    "is_part_file",
    "part_path",
    "remove_stale_parts",
    "sigterm_as_exit",
]

#: Exit status of a process stopped by SIGTERM (128 + 15), as shells report it.
SIGTERM_EXIT = 143

_HOST_TAG = hashlib.blake2s(socket.gethostname().encode(), digest_size=2).hexdigest()
_PART_RE = re.compile(
    r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<tag>[0-9a-f]{8})\.part(?:\.[A-Za-z0-9]+)?$"
)


def part_path(path) -> Path:
    """A unique hidden part-file path next to ``path``: ``.<name>.<pid>-<tag>.part<suffix>``.

    Examples
    --------
    >>> p = part_path("maps/agb.tif")
    >>> p.parent.name, p.name.startswith(".agb.tif."), p.name.endswith(".part.tif"), is_part_file(p)
    ('maps', True, True, True)
    """
    path = Path(path)
    tag = _HOST_TAG + os.urandom(2).hex()
    return path.with_name(f".{path.name}.{os.getpid()}-{tag}.part{path.suffix}")


def is_part_file(path) -> bool:
    """True for a part file (or staging folder) written by :func:`atomic_path` / :func:`part_path`."""
    return _PART_RE.match(Path(path).name) is not None


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to another user (or cannot be told): keep its file
    return True


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def remove_stale_parts(folder) -> list[Path]:
    """Remove part files in ``folder`` left by processes of this machine that no longer run.

    A part file of a running process (another map being written into the same folder) is kept.
    Returns the removed paths. Errors (a folder that cannot be listed) are ignored: cleaning up
    is a courtesy, never a reason to fail a write.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _PART_RE.match(entry.name)
        if m is None or not m["tag"].startswith(_HOST_TAG) or _pid_alive(int(m["pid"])):
            continue
        p = Path(entry.path)
        try:
            _remove(p)
        except OSError:
            continue
        removed.append(p)
    return removed


def check_output_path(path, what: str = "out_path") -> Path:
    """Refuse an output path that cannot be written, before any work is done.

    Parameters
    ----------
    path : str or Path
        File to be written.
    what : str
        How the caller names the argument in messages (``"out_path"``, ``"OUT"``, ``"path"``).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        ``path`` is empty or an existing folder.
    FileNotFoundError
        Its folder does not exist.
    PermissionError
        Its folder (or an existing file there) cannot be written.
    """
    if path is None or str(path).strip() == "":
        raise ValueError(f"{what}={path!r} is empty; give the file to write, e.g. 'agb.tif'.")
    p = Path(os.path.expanduser(str(path)))
    if p.is_dir():
        raise ValueError(
            f"{what}={str(path)!r} is a folder, but a file name is needed; give a file inside it, "
            f"e.g. {str(p / ('agb' + _example_suffix(what)))!r}."
        )
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise FileNotFoundError(
            f"the folder of {what}={str(path)!r} ({parent}) does not exist; create it first "
            f"(mkdir -p {parent}) or write elsewhere."
        )
    if not parent.is_dir():
        raise FileNotFoundError(
            f"{what}={str(path)!r}: {parent} is a file, not a folder; choose a path inside a folder."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(
            f"cannot write {what}={str(path)!r}: the folder {parent} is not writable by this user; "
            "choose a folder you can write to."
        )
    return p


def _example_suffix(what: str) -> str:
    return ".pt" if what == "path" else ".tif"


def _raise_exit(signum, frame):  # pragma: no cover - runs in a signal handler
    raise SystemExit(SIGTERM_EXIT)


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the block runs: raise ``SystemExit(143)`` in the main thread.

    So ``finally`` / ``except BaseException`` clean-ups run (part files are removed) and the
    process ends with status 143, as after a plain SIGTERM. Only installed from the main thread
    and only over the default handler (a handler set by the application is left alone).
    """
    installed = False
    if threading.current_thread() is threading.main_thread():
        try:
            installed = signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
            if installed:
                signal.signal(signal.SIGTERM, _raise_exit)
        except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
            installed = False
    try:
        yield
    finally:
        if installed:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def atomic_path(path, what: str = "out_path") -> Iterator[Path]:
    r"""Yield a part-file path to write; rename it onto ``path`` when the block succeeds.

    The destination is checked first (:func:`check_output_path`) and stale part files of dead
    processes in its folder are removed. On an error, Ctrl-C or SIGTERM the part file (or
    folder) is removed and a file already at ``path`` is left untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> with atomic_path(os.path.join(d, "table.csv")) as tmp:
    ...     _ = tmp.write_text("a,b\\n1,2\\n")
    >>> sorted(os.listdir(d))
    ['table.csv']
    """
    path = check_output_path(path, what)
    remove_stale_parts(path.parent)
    tmp = part_path(path)
    with sigterm_as_exit():
        try:
            yield tmp
            os.replace(tmp, path)
        except BaseException as err:
            full = isinstance(err, Exception) and _out_of_space(err, path.parent)
            _remove(tmp)
            if full:
                raise no_space_error(path, what) from err
            raise


#: A write error (GDAL says only "Write failed") with less free space than this on the
#: destination's device is taken as a full disk.
LOW_SPACE_BYTES = 64 << 20


def _out_of_space(err: BaseException, folder: Path) -> bool:
    """True when ``err`` (or an exception it came from) says the device is full, or is a write
    error while the device has less than :data:`LOW_SPACE_BYTES` free.
    """
    seen, e = set(), err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if getattr(e, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return True
        if "no space left" in str(e).lower():
            return True
        e = e.__cause__ or e.__context__
    gdal_write = type(err).__module__.startswith("rasterio") and "write" in str(err).lower()
    if not (gdal_write or isinstance(err, OSError)):
        return False
    try:
        return shutil.disk_usage(folder).free < LOW_SPACE_BYTES
    except OSError:
        return False


def no_space_error(path, what: str = "out_path") -> OSError:
    """One-line ``OSError`` (errno ENOSPC) for a write that ran out of space."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        free = f"{shutil.disk_usage(folder).free / 2**20:,.1f} MiB free"
    except OSError:
        free = "free space unknown"
    err = OSError(
        f"no space left on the device of {folder} ({free}) while writing {what}="
        f"{str(path)!r}; nothing was written and an earlier file there is untouched: free "
        "space or write elsewhere."
    )
    err.errno = errno.ENOSPC
    return err


@contextmanager
def staged_folder(folder, label: str = "stage") -> Iterator[Path]:
    """Yield a hidden staging folder inside ``folder``; move its files into ``folder`` on success.

    Used by the demo: a step writes all its outputs into the staging folder, and they appear in
    ``folder`` (each by an atomic rename) only when the step has finished. On failure the
    staging folder is removed. Files are moved flat (sub-folders move as a whole).
    """
    folder = Path(folder)
    remove_stale_parts(folder)
    stage = part_path(folder / label)  # a label without a dot, e.g. "demo-features"
    stage.mkdir()
    with sigterm_as_exit():
        try:
            yield stage
            for item in sorted(stage.iterdir()):
                target = folder / item.name
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                os.replace(item, target)
        except Exception as err:
            if _out_of_space(err, folder):
                _remove(stage)
                raise no_space_error(folder, "folder") from err
            raise
        finally:
            _remove(stage)
