"""Every root-to-leaf path of a tree ensemble, flattened into arrays.

Path-dependent TreeSHAP (Lundberg et al., 2020) explains a tree ensemble through the game
``v(S) = sum over leaves l of w_l * prod over the features f on the path to l of
(f in S ? z_lf(x) : b_lf)``, where ``z_lf(x)`` is 1 when ``x`` satisfies every split on ``f`` along
the path and ``b_lf`` is the product of the cover ratios ``cover(child) / cover(parent)`` of those
splits. Each leaf is thus a small product game over its ``d <= depth`` distinct path features, and
:class:`LeafPaths` stores what that game needs. It is read from XGBoost's documented JSON model
format (``Booster.save_raw("json")``); models the fast path cannot represent exactly (DART,
linear boosters, categorical splits, several outputs, zero covers) raise :class:`Unsupported`
and are explained by XGBoost's own ``pred_interactions`` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

__all__ = ["LeafPaths", "Unsupported", "leaf_paths_from_xgboost"]


class Unsupported(ValueError):
    """The model cannot be represented as :class:`LeafPaths`; the message says why."""


@dataclass
class LeafPaths:
    """Flattened root-to-leaf paths of a tree ensemble (one row per leaf).

    Attributes
    ----------
    value : ndarray (L,)
        Leaf values (output units, e.g. Mg/ha for an AGB regressor).
    n_unique : ndarray (L,)
        Number ``d`` of distinct features on the path.
    features : ndarray (L, D)
        The distinct path features (column indices), padded with -1.
    zero_fraction : ndarray (L, D)
        ``b``: product of the cover ratios of the splits on each distinct feature.
    depth : ndarray (L,)
        Number of splits on the path.
    node_feature, node_slot : ndarray (L, depth_max)
        Feature of each split and its position in ``features``.
    threshold : ndarray (L, depth_max) float32
        Split value; XGBoost sends ``x < threshold`` left, in float32.
    goes_left, default_left : ndarray (L, depth_max) bool
        Whether the path takes the left child, and where a missing value goes.
    tree_ptr : ndarray (T + 1,)
        Leaves of tree ``t`` are ``tree_ptr[t]:tree_ptr[t + 1]``.
    n_features : int
        Number of input columns.
    """

    value: np.ndarray
    n_unique: np.ndarray
    features: np.ndarray
    zero_fraction: np.ndarray
    depth: np.ndarray
    node_feature: np.ndarray
    node_slot: np.ndarray
    threshold: np.ndarray
    goes_left: np.ndarray
    default_left: np.ndarray
    tree_ptr: np.ndarray
    n_features: int

    @property
    def n_leaves(self) -> int:
        return int(self.value.shape[0])

    @property
    def max_unique(self) -> int:
        return int(self.n_unique.max(initial=0))

    def expected_value(self) -> float:
        """``v(empty set)``: sum of leaf values weighted by their cover fractions (no intercept)."""
        return float(
            np.sum(
                self.value * np.prod(np.where(self.features >= 0, self.zero_fraction, 1.0), axis=1)
            )
        )


def _iteration_trees(model: dict, iteration_range) -> range:
    gb = model["learner"]["gradient_booster"]["model"]
    n_trees = len(gb["trees"])
    begin, end = (
        (0, 0) if iteration_range is None else (int(iteration_range[0]), int(iteration_range[1]))
    )
    if begin == 0 and end == 0:
        return range(n_trees)
    indptr = gb.get("iteration_indptr")
    if indptr is None:  # pragma: no cover - XGBoost < 2.1 JSON
        n_par = int(gb["gbtree_model_param"].get("num_parallel_tree", 1))
        return range(begin * n_par, min(end * n_par, n_trees))
    return range(int(indptr[begin]), int(indptr[min(end, len(indptr) - 1)]))


def leaf_paths_from_xgboost(booster, iteration_range=None) -> LeafPaths:
    """Read the leaf paths of an XGBoost ``gbtree`` booster.

    Parameters
    ----------
    booster : xgboost.Booster
    iteration_range : (begin, end) or None
        Boosting rounds to use, as in ``Booster.predict``; ``None`` or ``(0, 0)``: all.

    Raises
    ------
    Unsupported
        DART or linear booster, categorical splits, several outputs, or a zero cover.
    """
    model = json.loads(booster.save_raw("json"))
    learner = model["learner"]
    gbooster = learner["gradient_booster"]
    if gbooster.get("name") != "gbtree":
        raise Unsupported(
            f"booster type {gbooster.get('name')!r} (the fast path reads 'gbtree' only)"
        )
    lmp = learner["learner_model_param"]
    if int(lmp.get("num_class", 0)) > 1 or int(lmp.get("num_target", 1)) > 1:
        raise Unsupported("a model with several outputs")
    n_features = int(lmp["num_feature"])
    trees = gbooster["model"]["trees"]

    values, n_unique, feats, zfrac, depths, nfeat, nslot, thr, gleft, dleft, ptr = (
        [] for _ in range(11)
    )
    ptr.append(0)
    for t in _iteration_trees(model, iteration_range):
        tree = trees[t]
        if any(int(s) != 0 for s in tree["split_type"]):
            raise Unsupported("categorical splits")
        left = tree["left_children"]
        right = tree["right_children"]
        split_idx = tree["split_indices"]
        cond = tree["split_conditions"]
        cover = tree["sum_hessian"]
        dflt = tree["default_left"]
        # depth-first walk; each stack entry carries the path taken so far
        stack = [(0, [])]
        n_before = len(values)
        while stack:
            node, path = stack.pop()
            lc = left[node]
            if lc == -1:
                values.append(float(cond[node]))
                uniq: list[int] = []
                frac: list[float] = []
                slots: list[int] = []
                for parent, child, _go_left in path:
                    f = split_idx[parent]
                    if f not in uniq:
                        uniq.append(f)
                        frac.append(1.0)
                    s = uniq.index(f)
                    frac[s] *= cover[child] / cover[parent]
                    slots.append(s)
                n_unique.append(len(uniq))
                feats.append(uniq)
                zfrac.append(frac)
                depths.append(len(path))
                nfeat.append([split_idx[p] for p, _, _ in path])
                nslot.append(slots)
                thr.append([cond[p] for p, _, _ in path])
                gleft.append([g for _, _, g in path])
                dleft.append([bool(dflt[p]) for p, _, _ in path])
                continue
            if cover[node] <= 0 or cover[lc] <= 0 or cover[right[node]] <= 0:
                raise Unsupported(f"a zero cover (hessian sum) in tree {t}")
            stack.append((right[node], path + [(node, right[node], False)]))
            stack.append((lc, path + [(node, lc, True)]))
        if len(values) == n_before:  # pragma: no cover - a tree always has a leaf
            raise Unsupported(f"tree {t} has no leaf")
        ptr.append(len(values))

    n_leaves = len(values)
    d_max = max((len(u) for u in feats), default=0)
    p_max = max(depths, default=0)

    def pad(rows, width, fill, dtype):
        out = np.full((n_leaves, max(width, 1)), fill, dtype=dtype)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return out

    return LeafPaths(
        value=np.asarray(values, dtype=np.float64),
        n_unique=np.asarray(n_unique, dtype=np.int64),
        features=pad(feats, d_max, -1, np.int64),
        zero_fraction=pad(zfrac, d_max, 1.0, np.float64),
        depth=np.asarray(depths, dtype=np.int64),
        node_feature=pad(nfeat, p_max, 0, np.int64),
        node_slot=pad(nslot, p_max, 0, np.int64),
        threshold=pad(thr, p_max, 0.0, np.float32),
        goes_left=pad(gleft, p_max, False, np.bool_),
        default_left=pad(dleft, p_max, False, np.bool_),
        tree_ptr=np.asarray(ptr, dtype=np.int64),
        n_features=n_features,
    )
