"""Reading files from others: nothing in a model file or bundle runs as code, nothing is inflated unbounded.

People share fitted models and ``.geoagb`` bundles. Loading one must not let the file act on the
machine. The threat model (``docs/security.rst``): the attacker writes the whole file; geoagb
reads it with default settings. This module is the one place that opens such files.

* **Zip members are sized before they are read** (:func:`open_zip`): the number of members, each
  member's declared size, the total and the compression ratio are checked from the central
  directory before a byte is inflated. :mod:`zipfile` never inflates more than a member's
  declared size (it stops there and checks the CRC), so the declared sizes bound the memory.
* **skops files are audited node by node before anything is constructed** (:func:`audit_skops`):
  the raw ``schema.json`` is walked and every node's loader and type must be on an exact
  allow-list (:data:`GEOAGB_TYPES`: the types geoagb itself writes; never a module prefix, never
  the file's own list). Nodes that call a named function or constructor with arguments
  (``FunctionNode``, ``MethodNode``, ``PartialNode``, ``OperatorFuncNode``,
  ``ConstructorFromReduceNode``) are refused outright. The node arrays of scikit-learn trees are
  bounds-checked too: scikit-learn indexes them without checks, so a crafted tree could read
  outside its memory on the first prediction. Only then is the file handed to
  :func:`skops.io.loads`, trusting exactly the audited names (skops audits again).
* **pickle and joblib files run code by design**; they are read only with ``trusted=True``
  (``--trust`` on the command line).

Passing ``trusted=True`` (``--trust``) accepts every type in a file: only for files you made or
whose source you trust.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np

__all__ = [
    "GEOAGB_TYPES",
    "UntrustedFileError",
    "ZipLimits",
    "audit_skops",
    "load_pickle",
    "load_skops",
    "open_zip",
    "read_member",
]


class UntrustedFileError(ValueError):
    """A file holds something geoagb will not load without ``trusted=``/``--trust``."""


class ZipLimits:
    """Size limits of a zip archive read from an untrusted file (bytes, counts, ratios).

    Parameters
    ----------
    member_bytes : int
        Largest declared (inflated) size of one member.
    total_bytes : int
        Largest sum of the declared sizes.
    members : int
        Most members.
    ratio : float
        Largest inflated / compressed size of a member larger than ``ratio_floor`` bytes; a
        zip bomb reaches ratios of 1000, geoagb's own members about 2-20.
    ratio_floor : int
        Members up to this size are not held to ``ratio``.
    """

    def __init__(
        self,
        member_bytes: int = 2 << 30,
        total_bytes: int = 4 << 30,
        members: int = 100_000,
        ratio: float = 200.0,
        ratio_floor: int = 1 << 20,
    ):
        self.member_bytes = int(member_bytes)
        self.total_bytes = int(total_bytes)
        self.members = int(members)
        self.ratio = float(ratio)
        self.ratio_floor = int(ratio_floor)


#: Default limits (a model of 2 GiB, 4 GiB in all).
LIMITS = ZipLimits()

#: Loaders (skops node kinds) that never call a function named by the file.
_SAFE_LOADERS = frozenset(
    {
        "ObjectNode",
        "DictNode",
        "ListNode",
        "TupleNode",
        "JsonNode",
        "NdArrayNode",
        "BytesNode",
        "BytearrayNode",
        "TypeNode",
        "TreeNode",
        "RandomGeneratorNode",
        "CachedNode",
    }
)

_PLAIN = {
    "DictNode": ("builtins.dict",),
    "ListNode": ("builtins.list",),
    "TupleNode": ("builtins.tuple",),
    "JsonNode": (
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.NoneType",
    ),
    "BytesNode": ("builtins.bytes",),
    "BytearrayNode": ("builtins.bytearray",),
    "TypeNode": ("builtins.str", "builtins.int", "builtins.float", "builtins.bool"),
    "NdArrayNode": (
        "numpy.ndarray",
        "numpy.float64",
        "numpy.float32",
        "numpy.int64",
        "numpy.int32",
        "numpy.bool",
        "numpy.bool_",
    ),
    "RandomGeneratorNode": ("numpy.random._generator.Generator",),
    "TreeNode": ("sklearn.tree._tree.Tree",),
}

#: The exact types geoagb writes into a model file, by skops loader: the estimators of
#: ``geoagb fit`` (XGBoost, random forest, residual kriging with simple, ordinary or co-kriging)
#: and geoagb's kriging estimators, with the containers and arrays they hold.
GEOAGB_TYPES: dict[str, frozenset[str]] = {
    **{k: frozenset(v) for k, v in _PLAIN.items()},
    "ObjectNode": frozenset(
        {
            "geoagb.kriging._ck.CoKriging",
            "geoagb.kriging._ok.OrdinaryKriging",
            "geoagb.kriging._ok.SimpleKriging",
            "geoagb.kriging._regressor.KrigingRegressor",
            "geoagb.kriging._residual.ResidualKrigingRegressor",
            "geoagb.kriging._variogram.Variogram",
            "geoagb.base.DropCoordinates",
            "sklearn.ensemble._forest.RandomForestRegressor",
            "sklearn.tree._classes.DecisionTreeRegressor",
            "xgboost.core.Booster",
            "xgboost.sklearn.XGBRegressor",
        }
    ),
}


def _where(path) -> str:
    return str(path) if path is not None else "the file"


# ---- zip archives ------------------------------------------------------------------------------
def open_zip(source, *, path=None, limits: ZipLimits | None = None) -> zipfile.ZipFile:
    """Open a zip archive whose members were all checked against ``limits`` before any read.

    Parameters
    ----------
    source : str, Path, bytes or file object
        The archive.
    path : str or Path, optional
        How messages name it (default: ``source`` when it is a path).
    limits : ZipLimits, optional
        Default :data:`LIMITS`.

    Raises
    ------
    UntrustedFileError
        Too many members, a member or the total too large, or a zip bomb's compression ratio.
    ValueError
        Not a zip archive (truncated, or another format).
    """
    lim = limits or LIMITS
    name = _where(
        path if path is not None else (source if isinstance(source, (str, Path)) else None)
    )
    fileobj = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    try:
        z = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(
            f"{name} is not a readable zip archive ({err}): it is truncated or another format; "
            "write it again, or copy it again."
        ) from None
    try:
        infos = z.infolist()
        if len(infos) > lim.members:
            raise UntrustedFileError(
                f"{name} holds {len(infos):,} members, more than the limit of {lim.members:,}; "
                "it is not a file geoagb wrote."
            )
        total = 0
        for info in infos:
            size, packed = info.file_size, max(info.compress_size, 1)
            total += size
            if size > lim.member_bytes:
                raise UntrustedFileError(
                    f"{name}: member {info.filename!r} inflates to {size:,} bytes, more than the "
                    f"limit of {lim.member_bytes:,}; it is not a file geoagb wrote."
                )
            if size > lim.ratio_floor and size / packed > lim.ratio:
                raise UntrustedFileError(
                    f"{name}: member {info.filename!r} inflates {size / packed:,.0f}-fold "
                    f"({packed:,} -> {size:,} bytes), more than the limit of {lim.ratio:g}-fold "
                    "(a zip bomb); it is not a file geoagb wrote."
                )
        if total > lim.total_bytes:
            raise UntrustedFileError(
                f"{name} inflates to {total:,} bytes in all, more than the limit of "
                f"{lim.total_bytes:,}; it is not a file geoagb wrote."
            )
    except BaseException:
        z.close()
        raise
    return z


def read_member(z: zipfile.ZipFile, member: str, *, path=None) -> bytes:
    """The bytes of one member of an archive from :func:`open_zip`, with a one-line error for a
    corrupted member (bad CRC, truncated data).
    """
    try:
        return z.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
        raise ValueError(
            f"{_where(path)}: member {member!r} is corrupted ({err}); copy the file again."
        ) from None


# ---- skops files -------------------------------------------------------------------------------
def _allowed(extra: Iterable[str]) -> dict[str, frozenset[str]]:
    extra = frozenset(extra)
    return {k: v | extra for k, v in GEOAGB_TYPES.items()}


def _nodes(node, trail="root"):
    """Every skops node (a dict with ``__loader__``) under ``node``, with where it sits."""
    stack = [(node, trail)]
    while stack:
        n, t = stack.pop()
        if isinstance(n, dict):
            if "__loader__" in n:
                yield n, t
            stack.extend((v, f"{t}.{k}") for k, v in n.items() if isinstance(v, (dict, list)))
        elif isinstance(n, list):
            stack.extend((v, f"{t}[{i}]") for i, v in enumerate(n) if isinstance(v, (dict, list)))


def _type_name(node) -> str:
    return f"{node.get('__module__')}.{node.get('__class__')}"


def _json_int(node, what, name) -> int:
    try:
        if node.get("__loader__") == "JsonNode":
            value = json.loads(node["content"])
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    except (TypeError, KeyError, ValueError):
        pass
    raise UntrustedFileError(
        f"{name}: a decision tree's {what} is not an integer; the file was altered."
    )


def _check_tree(node, z, name) -> None:
    """Bounds of a scikit-learn tree's node array, read from the raw file before construction."""
    try:
        args = node["__reduce__"]["args"]["content"]
        state = node["content"]["content"]
        n_features = _json_int(args[0], "number of features", name)
        n_nodes = _json_int(state["node_count"], "node count", name)
        files = state["nodes"]["file"], state["values"]["file"]
    except (KeyError, TypeError, IndexError):
        raise UntrustedFileError(
            f"{name}: a decision tree is not stored as scikit-learn stores it; the file was altered."
        ) from None
    nodes = np.load(io.BytesIO(read_member(z, files[0], path=name)), allow_pickle=False)
    values = np.load(io.BytesIO(read_member(z, files[1], path=name)), allow_pickle=False)
    fields = set(nodes.dtype.names or ())
    ok = (
        nodes.ndim == 1
        and {"left_child", "right_child", "feature"} <= fields
        and len(nodes) == n_nodes
        and values.shape[:1] == (n_nodes,)
        and n_features >= 1
    )
    if ok and n_nodes:
        left, right = nodes["left_child"].astype(np.int64), nodes["right_child"].astype(np.int64)
        feat = nodes["feature"].astype(np.int64)
        idx = np.arange(n_nodes)
        leaf = left == -1
        ok = bool(
            np.all(right[leaf] == -1)
            and np.all((left[~leaf] > idx[~leaf]) & (left[~leaf] < n_nodes))
            and np.all((right[~leaf] > idx[~leaf]) & (right[~leaf] < n_nodes))
            and np.all((feat[~leaf] >= 0) & (feat[~leaf] < n_features))
        )
    if not ok:
        raise UntrustedFileError(
            f"{name}: a decision tree's node array points outside the tree (children or features "
            "out of range); the file was altered, and scikit-learn would read outside its memory."
        )


def audit_skops(source, *, path=None, trusted: Iterable[str] = ()) -> list[str]:
    """Check every node of a skops file against :data:`GEOAGB_TYPES` before anything is built.

    Parameters
    ----------
    source : str, Path or bytes
        The skops file, or its bytes.
    path : str or Path, optional
        How messages name the file.
    trusted : iterable of str, optional
        Further type names (``module.Class``) to accept, for any safe loader.

    Returns
    -------
    list of str
        The audited type names, sorted: what :func:`skops.io.loads` may trust.

    Raises
    ------
    UntrustedFileError
        A node that calls a function, or a type outside the allow-list; the first one is named.
    """
    if path is None and isinstance(source, (str, Path)):
        path = source
    name = _where(path)
    allowed = _allowed(trusted)
    with open_zip(source, path=name) as z:
        try:
            schema = json.loads(read_member(z, "schema.json", path=name))
        except KeyError:
            raise ValueError(
                f"{name} is not a skops file (no schema.json); save it again."
            ) from None
        except json.JSONDecodeError as err:
            raise ValueError(f"{name}: the skops schema is not valid JSON ({err}).") from None
        seen = set()
        for node, trail in _nodes(schema):
            loader = node.get("__loader__")
            if loader == "CachedNode":
                continue
            type_name = _type_name(node)
            if loader not in _SAFE_LOADERS:
                raise UntrustedFileError(
                    f"{name} holds a {loader} ({type_name}, at {trail}), which calls a function "
                    "named by the file while loading; geoagb never writes one. Load it only if "
                    "you made it or trust its source: trusted=True (command line: --trust)."
                )
            if type_name not in allowed.get(loader, ()):
                raise UntrustedFileError(
                    f"{name} holds type {type_name} ({loader}, at {trail}), which is not on "
                    "geoagb's allow-list; load it only if you made it or trust its source: "
                    f"trusted=[{type_name!r}] or trusted=True (command line: --trust)."
                )
            if loader == "TreeNode":
                _check_tree(node, z, name)
            seen.add(type_name)
    return sorted(seen)


def load_skops(source, *, path=None, trusted=None):
    """Build the object in a skops file (a path or its bytes) after :func:`audit_skops`.

    ``trusted=True`` skips the audit and accepts every type in the file (only for files you
    trust; the sizes are still checked); a list adds type names to the allow-list.
    """
    import skops.io as sio

    if path is None and isinstance(source, (str, Path)):
        path = source
    if trusted is True:
        with open_zip(source, path=path):
            pass
        kind = {"file": source} if isinstance(source, (str, Path)) else {"data": source}
        names = sio.get_untrusted_types(**kind)
    else:
        names = audit_skops(source, path=path, trusted=trusted or ())
    if isinstance(source, (str, Path)):
        return sio.load(source, trusted=names)
    return sio.loads(source, trusted=names)


def load_pickle(path, *, trusted=False):
    """Unpickle a joblib / pickle file, only with ``trusted=True`` (pickle runs code by design)."""
    import pickle

    import joblib

    path = Path(path)
    if trusted is not True:
        raise UntrustedFileError(
            f"{path} is a pickle file ({path.suffix}): reading it runs any code it holds. Load "
            "it only if you made it or trust its source: trusted=True (command line: --trust); "
            "share models as .geoagb bundles (geoagb fit) or skops files instead."
        )
    try:
        return joblib.load(path)
    except (pickle.UnpicklingError, EOFError, ValueError, IndexError, KeyError) as err:
        raise ValueError(
            f"{path} could not be read as a joblib/pickle file ({type(err).__name__}: "
            f"{str(err)[:120]}): it is truncated or not a saved model; write it again with "
            "joblib.dump(model, 'model.joblib'), or copy it again."
        ) from err
