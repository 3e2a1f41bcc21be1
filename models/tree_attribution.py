"""XGBoost's path attribution (``predict(pred_contribs=True, approx_contribs=True)``) from the leaves rows reach.

The path attribution of a tree (Saabas) credits each split on a row's root-to-leaf path with the
change of the node's mean value (the cover-weighted mean of the leaves below it) from the node to
the child the row takes. For one tree it therefore depends on the leaf alone: XGBoost adds up, per
row and tree, a fresh float32 buffer of the path's steps, then adds that buffer to the row's
contributions tree after tree. :class:`PathAttribution` builds each tree's per-leaf buffer once
per booster, with XGBoost's float32 arithmetic in XGBoost's order (the node means bottom-up
``(left_mean * left_cover + right_mean * right_cover) / cover``; the path's steps root to leaf),
and per batch gathers the buffers of the leaves XGBoost's own traversal reports
(``pred_leaf=True``) and adds them in float32, tree after tree. Adding a zero changes no float,
so each feature's column only visits the trees that split on it; the result is XGBoost's own
numbers, bit for bit (``tests/test_tree_attribution.py``), at a fraction of the cost: XGBoost
walks every path once per row and tree and updates every column, the traversal for
``pred_leaf`` costs what a prediction costs, and the gather is a few NumPy passes per tree.

Only the feature columns are computed (the bias column, which reason codes never read, is left out).
Gradient-boosted trees (``gbtree``) with one output are supported; anything else raises.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import xgboost as xgb

from features.errors import ModelError

__all__ = ["PathAttribution"]

#: Rows per block: the leaf matrix of a block (rows x trees, float32 and int32) stays small (XGBoost's
#: ``pred_leaf`` on 32k-row blocks also costs a third less CPU than on a 200k-row batch at once).
BLOCK_ROWS = 32_768


class PathAttribution:
    """Per-leaf path-attribution tables of a fitted booster; :meth:`contributions` of a DMatrix."""

    def __init__(self, booster: xgb.Booster):
        model = json.loads(booster.save_raw("json"))["learner"]
        booster_kind = model["gradient_booster"]["name"]
        if booster_kind != "gbtree":
            raise ModelError(f"path attribution: needs a gbtree booster, got {booster_kind!r}")
        params = model["learner_model_param"]
        if int(params.get("num_class", 0)) > 1 or int(params.get("num_target", 1)) > 1:
            raise ModelError("path attribution: needs a booster with one output")
        trees = model["gradient_booster"]["model"]["trees"]
        self.n_features = int(params["num_feature"])
        self.n_trees = len(trees)
        # per feature: the trees that split on it, in tree order, and each one's per-node table (leaf rows used)
        by_feature: list[list[tuple[int, np.ndarray]]] = [[] for _ in range(self.n_features)]
        for t, tree in enumerate(trees):
            for feature, table in _leaf_tables(tree).items():
                by_feature[feature].append((t, table))
        self.features_used = [f for f in range(self.n_features) if by_feature[f]]
        self._trees = {f: np.array([t for t, _ in by_feature[f]], dtype=np.intp) for f in self.features_used}
        self._tables = {f: [table for _, table in by_feature[f]] for f in self.features_used}

    def contributions(self, booster: xgb.Booster, data: xgb.DMatrix, threads: int = 2,
                      block_rows: int = BLOCK_ROWS) -> np.ndarray:
        """Rows x features float32: ``booster.predict(data, pred_contribs=True, approx_contribs=True)``
        without its last (bias) column, to the bit. ``booster`` is the booster the tables were built from;
        ``threads`` sum the features' columns side by side; ``block_rows`` rows' leaves are held at a time."""
        if booster.num_boosted_rounds() != self.n_trees:
            raise ModelError(f"path attribution: tables of {self.n_trees} trees, booster has "
                             f"{booster.num_boosted_rounds()}")
        n = data.num_row()
        out = np.zeros((n, self.n_features), dtype=np.float32, order="F")  # a column per feature: contiguous adds
        pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None
        try:
            for start in range(0, n, block_rows):
                stop = min(start + block_rows, n)
                block = data.slice(np.arange(start, stop)) if (start, stop) != (0, n) else data
                leaves = np.ascontiguousarray(booster.predict(block, pred_leaf=True).astype(np.int32).T)  # trees x rows
                columns = [out[start:stop, f] for f in self.features_used]
                work = [(leaves, self._trees[f], self._tables[f], col) for f, col in zip(self.features_used, columns)]
                if pool is None:
                    for item in work:
                        _accumulate(*item)
                else:  # NumPy's take and add release the GIL: the features' columns are summed side by side
                    list(pool.map(lambda item: _accumulate(*item), _largest_first(work)))
        finally:
            if pool is not None:
                pool.shutdown()
        return out


def _largest_first(work: list) -> list:
    """The features splitting most trees first, so the workers finish together."""
    return sorted(work, key=lambda item: -len(item[1]))


def _accumulate(leaves: np.ndarray, trees: np.ndarray, tables: list[np.ndarray], column: np.ndarray) -> None:
    """``column += tables[k][leaves[trees[k]]]`` for k in order (float32, as XGBoost adds tree after tree)."""
    buffer = np.empty(len(column), dtype=np.float32)
    for t, table in zip(trees, tables):
        np.take(table, leaves[t], out=buffer)
        np.add(column, buffer, out=column)


def _leaf_tables(tree: dict) -> dict[int, np.ndarray]:
    """Feature -> float32 array over the tree's nodes: what the feature's entry of XGBoost's per-tree buffer
    holds for a row ending in that leaf (zero elsewhere). Only features the tree splits on appear."""
    left = np.asarray(tree["left_children"], dtype=np.int64)
    right = np.asarray(tree["right_children"], dtype=np.int64)
    feature = np.asarray(tree["split_indices"], dtype=np.int64)
    cover = np.asarray(tree["sum_hessian"], dtype=np.float32)
    value = np.asarray(tree["split_conditions"], dtype=np.float32)  # a leaf's value sits in its split condition
    n_nodes = len(left)
    is_leaf = left == -1
    mean = np.zeros(n_nodes, dtype=np.float32)

    def fill(node: int) -> np.float32:  # XGBoost's FillNodeMeanValues, in float32 and its order of operations
        if is_leaf[node]:
            result = value[node]
        else:
            result = np.float32(fill(int(left[node])) * cover[left[node]])
            result = np.float32(result + np.float32(fill(int(right[node])) * cover[right[node]]))
            result = np.float32(result / cover[node])
        mean[node] = result
        return result

    fill(0)
    tables: dict[int, np.ndarray] = {}
    if is_leaf[0]:
        return tables
    # walk every root-to-leaf path; the buffer starts at zero per tree, and each step adds (child mean - node mean)
    stack: list[tuple[int, dict[int, np.float32]]] = [(0, {})]
    while stack:
        node, steps = stack.pop()
        if is_leaf[node]:
            # the last step adds leaf value - leaf mean = 0 exactly: nothing to add
            for f, v in steps.items():
                tables.setdefault(f, np.zeros(n_nodes, dtype=np.float32))[node] = v
            continue
        f = int(feature[node])
        for child in (int(left[node]), int(right[node])):
            delta = np.float32(mean[child] - mean[node])
            after = dict(steps)
            after[f] = np.float32(after.get(f, np.float32(0.0)) + delta)
            stack.append((child, after))
    return tables
