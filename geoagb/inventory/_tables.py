"""Species coefficient tables shipped with geoagb, and species look-up.

Three tables, transcribed from the appendix of the Shenzhen urban vegetation carbon study
(Estimation of urban above-ground vegetation carbon density and analysis of topography-modulated
spectral responses in Shenzhen, China; Remote Sensing, 2026), live as CSV files in
``geoagb/inventory/data/``; each row cites its source table in the ``table`` column:

* ``volume``  (``volume_equations.csv``, Table A1): tree volume equations for Guangdong
  Province, ``V = a D^b H^c`` with V in m^3, D = DBH in cm, H = total height in m.
* ``bef``     (``bef_parameters.csv``, Table A2): biomass-volume relationship
  ``BEF = a + b / M`` with a in Mg/m^3, b in Mg/ha, M = stand volume in m^3/ha; n and R^2 of the
  original fit. In the source text some rows run their numbers together (e.g. ``0.609633.806340.82``);
  they were split as a | b | n | R^2 with b to five significant figures, as every unambiguous row
  reads, and the ``note`` column marks those rows.
* ``carbon``  (``carbon_ratios.csv``, Table A3): carbon fraction of dry biomass by species
  (``bush`` covers all shrub species, ``herbal`` all grass species).

Species are named by the ``key`` column (lower case, underscores, e.g. ``"pinus_massoniana"``);
the printed name of the table (``name`` column, e.g. ``"Pinus massoniana Lamb."``) is accepted
too, case-insensitively. The same species carries the same key in every table where it appears.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["species_table", "lookup_coefficients"]

_FILES = {
    "volume": ("volume_equations.csv", ("a", "b", "c")),
    "bef": ("bef_parameters.csv", ("a", "b")),
    "carbon": ("carbon_ratios.csv", ("ratio",)),
}


def _normalise(name) -> str:
    """``"Pinus massoniana Lamb."`` -> ``"pinus_massoniana_lamb"``."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


@cache
def _read(kind: str) -> pd.DataFrame:
    fname, _ = _FILES[kind]
    with (
        resources.files("geoagb.inventory").joinpath("data", fname).open("r", encoding="utf-8") as f
    ):
        return pd.read_csv(f, keep_default_na=False)


def species_table(kind: str) -> pd.DataFrame:
    """One of the shipped coefficient tables, as a DataFrame (a copy).

    Parameters
    ----------
    kind : {"volume", "bef", "carbon"}
        ``"volume"``: Table A1 of the Shenzhen study (columns key, name, a, b, c, table);
        ``"bef"``: Table A2 (key, name, a, b, n, r2, table, note);
        ``"carbon"``: Table A3 (key, name, ratio, table).

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> t = species_table("carbon")
    >>> float(t.set_index("key").loc["pinus_massoniana", "ratio"])
    0.5271
    """
    if kind not in _FILES:
        raise ValueError(f"kind={kind!r} is not a shipped table; choose one of {sorted(_FILES)}.")
    return _read(kind).copy()


def _user_table(table, columns, kind) -> pd.DataFrame:
    """Validate a user table (DataFrame or CSV path) with a species column and ``columns``."""
    if isinstance(table, (str, Path)):
        table = pd.read_csv(table, keep_default_na=False)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a DataFrame or a CSV path; got {type(table).__name__}. Give columns "
            f"'species' (or 'key') and {list(columns)}, like geoagb.inventory.species_table({kind!r})."
        )
    id_col = "key" if "key" in table.columns else "species" if "species" in table.columns else None
    missing = [c for c in columns if c not in table.columns]
    if id_col is None or missing:
        raise ValueError(
            f"a {kind} table needs a 'species' (or 'key') column and the columns {list(columns)}; "
            f"missing {(['species'] if id_col is None else []) + missing} in columns "
            f"{list(table.columns)}."
        )
    out = pd.DataFrame({"key": table[id_col].map(_normalise)})
    out["name"] = table["name"].to_numpy() if "name" in table.columns else table[id_col].to_numpy()
    for c in columns:
        out[c] = pd.to_numeric(table[c], errors="raise").to_numpy(dtype=float)
    if out["key"].duplicated().any():
        dup = out.loc[out["key"].duplicated(), "key"].tolist()
        raise ValueError(f"the {kind} table lists species {dup} more than once; keep one row each.")
    return out


def lookup_coefficients(kind: str, species, table=None) -> np.ndarray:
    """Coefficients of ``species`` in a shipped (or user) table.

    Parameters
    ----------
    kind : {"volume", "bef", "carbon"}
    species : str or array-like of str
        Table key or printed name (case-insensitive), one per tree / plot or a single one.
    table : DataFrame or path, optional
        A user table with a ``species`` (or ``key``) column and the coefficient columns
        (``a, b, c`` for volume; ``a, b`` for bef; ``ratio`` for carbon) replacing the shipped one.

    Returns
    -------
    ndarray of shape (k,) for one species or (n, k) for n species; k coefficient columns.

    Raises
    ------
    ValueError
        An unknown species; the message lists the valid keys.
    """
    if kind not in _FILES:
        raise ValueError(f"kind={kind!r} is not a shipped table; choose one of {sorted(_FILES)}.")
    columns = _FILES[kind][1]
    t = _read(kind) if table is None else _user_table(table, columns, kind)
    index = {}
    for i, (key, name) in enumerate(zip(t["key"], t["name"])):
        index.setdefault(_normalise(key), i)
        index.setdefault(_normalise(name), i)
    values = t.loc[:, list(columns)].to_numpy(dtype=float)

    scalar = isinstance(species, str)
    names = np.atleast_1d(np.asarray(species, dtype=object))
    if names.ndim != 1:
        raise ValueError(
            f"species must be a string or a 1-D sequence of strings; got shape {names.shape}."
        )
    uniq, inverse = np.unique(names.astype(str), return_inverse=True)
    rows = []
    unknown = []
    for u in uniq:
        i = index.get(_normalise(u))
        if i is None:
            unknown.append(str(u))
        rows.append(-1 if i is None else i)
    if unknown:
        source = "the given table" if table is not None else f"geoagb's {kind} table"
        raise ValueError(
            f"unknown species {unknown[:5]}{' ...' if len(unknown) > 5 else ''} for {source}; valid "
            f"species keys: {list(t['key'])}. Use one of them, or pass your own coefficients "
            f"(table=DataFrame with 'species' and {list(columns)})."
        )
    out = values[np.asarray(rows)[inverse]]
    return out[0] if scalar else out
