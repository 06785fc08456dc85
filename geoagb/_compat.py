"""Old keyword names kept working for one release after a rename (the glossary's names win).

One decorator, :func:`renamed_kwargs`, maps each old keyword to its new name and warns with a
``FutureWarning`` that names the new one. Positional calls are unaffected.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping

__all__ = ["renamed_kwargs"]


def renamed_kwargs(renames: Mapping[str, str]) -> Callable:
    """Decorate a function so that its old keyword names still work, with a FutureWarning.

    Parameters
    ----------
    renames : mapping of str to str
        Old keyword -> new keyword (the parameter's name in the signature).

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs({"agb_map": "agb_raster"})
    ... def f(agb_raster):
    ...     return agb_raster
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     value = f(agb_map="m.tif")
    >>> value, w[0].category.__name__
    ('m.tif', 'FutureWarning')
    >>> print(w[0].message)
    f(): agb_map= is now agb_raster=; agb_map= stops working in the next release.
    """
    renames = dict(renames)

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(
                        f"{func.__name__}() got both {old}= and {new}=; {old}= is the old name "
                        f"of {new}=, pass only {new}=."
                    )
                warnings.warn(
                    f"{func.__name__}(): {old}= is now {new}=; {old}= stops working in the next "
                    "release.",
                    FutureWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return func(*args, **kwargs)

        wrapper.__renamed_kwargs__ = renames
        return wrapper

    return decorate
