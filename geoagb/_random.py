"""The one place where geoagb turns ``random_state`` into a random generator.

Every public geoagb callable that draws random numbers takes ``random_state`` with one meaning:

* ``None`` (the default everywhere): fresh, unpredictable entropy;
* an ``int``: a seed, the same seed gives the same folds, fits and maps;
* a :class:`numpy.random.RandomState` or :class:`numpy.random.Generator`: used as given.

Two views are offered because two ecosystems meet here: :func:`check_generator` for new code
(numpy ``Generator``), and :func:`check_random_state` for code that hands the state on to
scikit-learn (``RandomState``). Both accept all four kinds.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_generator", "check_random_state", "seed_int"]


def _bad(random_state) -> ValueError:
    return ValueError(
        f"random_state={random_state!r} is not a seed: pass None, an int >= 0, a "
        "numpy.random.RandomState or a numpy.random.Generator."
    )


def check_generator(random_state=None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``random_state``.

    Examples
    --------
    >>> check_generator(0).integers(10, size=3).tolist() == check_generator(0).integers(10, size=3).tolist()
    True
    >>> g = np.random.default_rng(1); check_generator(g) is g
    True
    """
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # Draw a seed from the legacy state, so that the caller's state advances as sklearn's would.
        return np.random.default_rng(int(random_state.randint(0, 2**31 - 1)))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise _bad(random_state)
        return np.random.default_rng(int(random_state))
    raise _bad(random_state)


def check_random_state(random_state=None) -> np.random.RandomState:
    """Return a :class:`numpy.random.RandomState` for ``random_state`` (a ``Generator`` is
    accepted too, unlike :func:`sklearn.utils.check_random_state`).

    Examples
    --------
    >>> check_random_state(3).randint(100) == check_random_state(3).randint(100)
    True
    >>> isinstance(check_random_state(np.random.default_rng(0)), np.random.RandomState)
    True
    """
    if random_state is None:
        return np.random.RandomState()
    if isinstance(random_state, np.random.RandomState):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.RandomState(int(random_state.integers(0, 2**31 - 1)))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise _bad(random_state)
        return np.random.RandomState(int(random_state))
    raise _bad(random_state)


def seed_int(random_state=None) -> int:
    """An int seed derived from ``random_state`` for libraries that want one (xgboost, torch).

    An int is returned unchanged, so ``random_state=0`` seeds those libraries with 0.

    Examples
    --------
    >>> seed_int(7)
    7
    """
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise _bad(random_state)
        return int(random_state)
    return int(check_generator(random_state).integers(0, 2**31 - 1))
