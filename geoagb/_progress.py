"""The one progress rule of geoagb: bars on only when stderr is a terminal, unless asked.

Every public ``progress`` parameter defaults to ``None``, which shows a tqdm bar only when
standard error is a terminal (so logs and CI output never fill with carriage-return codes);
``True`` forces the bar, ``False`` hides it. Functions call :func:`progress_disabled` for
tqdm's ``disable`` argument; nothing else decides whether a bar is shown.
"""

from __future__ import annotations

import sys

__all__ = ["show_progress", "progress_disabled"]


def show_progress(progress: bool | None) -> bool:
    """Whether to show a progress bar for a ``progress`` argument.

    Parameters
    ----------
    progress : bool or None
        ``True``/``False`` force the bar on/off; ``None``: on only when stderr is a terminal.

    Examples
    --------
    >>> show_progress(True), show_progress(False)
    (True, False)
    """
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        return bool(isatty and isatty())
    return bool(progress)


def progress_disabled(progress: bool | None) -> bool:
    """Return tqdm's ``disable`` for a ``progress`` argument (``not show_progress(progress)``)."""
    return not show_progress(progress)
