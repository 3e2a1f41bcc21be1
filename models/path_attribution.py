"""XGBoost's PD and path attribution (Saabas) of the same rows, compiled, in one walk.

What a tree challenger's reason codes read: the log-odds each feature adds to a row's PD,
following the row's path through every tree and crediting each split's feature with the
change of the node's mean value (Saabas 2014, "Interpreting random forests"). XGBoost
computes it as ``predict(pred_contribs=True, approx_contribs=True)``, at a third of the
speed of ``predict``, and a decision needs ``predict`` as well: the two took 4.5 of the
6.6 s of scoring a 200,000-row chunk with reason codes (issue 13).

Within a tree, a row's attribution depends only on the leaf it reaches, so
:meth:`PathAttribution.fit` tabulates, per leaf, the leaf's value and the features on its
path with what each adds; :meth:`PathAttribution.explain` walks each row to its leaves
once and adds both. The arithmetic is XGBoost's, in float32 and in its order:

* the margin starts at the base score's margin (``-logf(1/base_score - 1)``) and adds the
  trees' leaf values tree after tree; the PD is ``1 / (1 + expf(-margin))``;
* node means are the cover-weighted means of their children (``FillNodeMeanValues``); a
  tree's credits are summed in path order, then added to the row's totals tree after tree
  (``CalculateContributionsApprox``);

so the PD equals ``predict``'s and the attributions ``approx_contribs``' to the bit (tested
on German, Taiwan and the demo book, with missing values and categorical splits), and
:meth:`PathAttribution.agrees` re-checks a sample of every batch against XGBoost itself.
The bias column is not computed: reason codes do not read it.

The walk is compiled by numba, parallel over blocks of rows; each row is summed by one
thread in tree order, so the result does not depend on the thread count. Boosters other
than ``gbtree`` with one ``binary:logistic`` output are refused at ``fit``.
"""

from __future__ import annotations

import json
import math

import numba
import numpy as np
import xgboost as xgb

from features.errors import ModelError

__all__ = ["PathAttribution"]

_F32 = np.float32

#: Rows walked together through one tree (see ``_walk``).
_BLOCK = 64


class PathAttribution:
    """The PD and per-feature path attribution of a fitted ``xgb.Booster``.

    ``fit(booster)`` reads the booster's trees; ``explain(X)`` takes its input as a
    ``rows × features`` matrix in the booster's feature order: numbers as XGBoost reads
    them (float32, NaN = missing) and categorical features as category codes (NaN =
    missing or unseen).
    """

    def fit(self, booster: xgb.Booster) -> "PathAttribution":
        if not isinstance(booster, xgb.Booster):
            raise ModelError(f"path attribution: booster must be an xgboost.Booster, got {type(booster).__name__}")
        learner = json.loads(booster.save_raw("json"))["learner"]
        gbm, param = learner["gradient_booster"], learner["learner_model_param"]
        objective = learner.get("objective", {}).get("name")
        if gbm.get("name") != "gbtree" or objective != "binary:logistic":
            raise ModelError(f"path attribution: needs a gbtree booster with objective binary:logistic, got "
                             f"{gbm.get('name')!r} with {objective!r}")
        if int(param.get("num_class", "0") or 0) > 1 or int(param.get("num_target", "1") or 1) > 1:
            raise ModelError("path attribution: needs a booster with one output")
        base_score = _F32(str(param["base_score"]).strip("[]"))  # "[2.2E-1]" (XGBoost 3) or "2.2E-1" (2)
        self.base_margin_ = _F32(_logit(base_score))
        self.n_features_ = int(param["num_feature"])
        tables = [_tree_table(tree) for tree in gbm["model"]["trees"]]
        if not tables:
            raise ModelError("path attribution: the booster has no trees")
        nodes = np.cumsum([0] + [len(t["feature"]) for t in tables])
        words = np.cumsum([0] + [len(t["category_bits"]) for t in tables])
        self.roots_ = nodes[:-1].astype(np.uint64)
        self.depth_ = np.array([t["depth"] for t in tables], dtype=np.int32)
        self.feature_ = np.concatenate([t["feature"] for t in tables]).astype(np.uint64)
        self.threshold_ = np.concatenate([t["threshold"] for t in tables]).astype(_F32)
        # node k's left child at 2k, its right child at 2k + 1 (node numbers across all trees)
        self.children_ = np.concatenate([t["children"] + nodes[i] for i, t in enumerate(tables)]).astype(np.uint64)
        self.missing_right_ = ~np.concatenate([t["default_left"] for t in tables])  # where a missing value goes
        # a categorical split's bit field: its first word and its number of words (0 at a numeric split)
        self.category_start_ = np.concatenate([t["category_start"] + words[i] for i, t in enumerate(tables)]).astype(np.uint64)
        self.category_words_ = np.concatenate([t["category_words"] for t in tables]).astype(np.uint64)
        self.category_bits_ = np.concatenate([t["category_bits"] for t in tables])
        self.leaf_value_ = np.concatenate([t["leaf_value"] for t in tables]).astype(_F32)
        # every leaf's credits padded to the deepest tree's depth with +0 to feature 0, so the walk adds a fixed
        # number per leaf without a branch; XGBoost too adds a tree's +0 to every feature off the row's path
        width = int(self.depth_.max())
        self.credit_feature_ = np.concatenate([_widen(t["credit_feature"], width, 0) for t in tables]).astype(np.uint64)
        self.credit_value_ = np.concatenate([_widen(t["credit_value"], width, 0) for t in tables])
        return self

    def explain(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(pd, attributions)``: float32 PD per row (``predict``'s) and ``rows × features`` float32 log-odds
        each feature adds (``approx_contribs``' without the bias)."""
        if not hasattr(self, "roots_"):
            raise ModelError("path attribution: not fitted; call fit(booster) first")
        X = np.ascontiguousarray(X, dtype=_F32)
        if X.ndim != 2 or X.shape[1] != self.n_features_:
            raise ModelError(f"path attribution: X has shape {X.shape}, the booster reads {self.n_features_} features")
        pd_ = np.empty(len(X), dtype=_F32)
        credit = np.zeros((len(X), self.n_features_), dtype=_F32)
        _walk(X, self.roots_, self.depth_, self.feature_, self.threshold_, self.children_, self.missing_right_,
              self.category_start_, self.category_words_, self.category_bits_, self.leaf_value_, self.credit_feature_,
              self.credit_value_, self.base_margin_, pd_, credit)
        return pd_, credit

    @staticmethod
    def agrees(booster: xgb.Booster, data: xgb.DMatrix, pd_: np.ndarray, attributions: np.ndarray) -> bool:
        """Whether XGBoost's own ``predict`` and ``approx_contribs`` of ``data`` are ``pd_`` and ``attributions``."""
        own_pd = booster.predict(data)
        own = booster.predict(data, pred_contribs=True, approx_contribs=True)[:, :-1]
        return bool(np.array_equal(own_pd, pd_) and np.array_equal(own, attributions))


def _tree_table(tree: dict) -> dict:
    """One tree's nodes, a leaf being its own two children, and per leaf its value and its path's credits (padded
    to the tree's depth with +0 credits to feature 0, so every leaf of the tree adds as many)."""
    left = np.asarray(tree["left_children"], dtype=np.int64)
    right = np.asarray(tree["right_children"], dtype=np.int64)
    n = len(left)
    leaf = left < 0
    cond = np.asarray(tree["split_conditions"], dtype=_F32)  # at a leaf, its value
    hess = np.asarray(tree["sum_hessian"], dtype=_F32)
    split_type = np.asarray(tree.get("split_type") or [0] * n, dtype=np.int64)
    # a categorical split's set of categories (those going right) as a bit field of 32-bit words: node -> first
    # word, number of words (-1 and 0 at numeric splits)
    cat_start = np.full(n, -1, dtype=np.int64)
    cat_size = np.zeros(n, dtype=np.int64)
    listed = np.asarray(tree.get("categories", []), dtype=np.int64)
    words: list[np.ndarray] = []
    at = 0
    for node, beg, size in zip(tree.get("categories_nodes", []), tree.get("categories_segments", []),
                               tree.get("categories_sizes", [])):
        if split_type[node] != 1:
            continue
        chosen = listed[beg:beg + size]
        if not size:  # zero words mark a numeric split in the walk
            raise ModelError("path attribution: a categorical split with no categories in the booster's model")
        bits = np.zeros(int(chosen.max()) // 32 + 1, dtype=np.uint32)
        np.bitwise_or.at(bits, chosen // 32, np.left_shift(np.uint32(1), (chosen % 32).astype(np.uint32)))
        cat_start[node], cat_size[node] = at, len(bits)
        words.append(bits)
        at += len(bits)
    if np.any((split_type == 1) & (cat_start < 0)):
        raise ModelError("path attribution: a categorical split without its categories in the booster's model")

    order = _preorder(left, right)
    mean = cond.copy()  # FillNodeMeanValues: float32, children before parents
    for node in reversed(order):
        if not leaf[node]:
            value = _F32(mean[left[node]] * hess[left[node]])
            value = _F32(value + _F32(mean[right[node]] * hess[right[node]]))
            mean[node] = _F32(value / hess[node])

    depth = np.zeros(n, dtype=np.int64)
    paths: dict[int, tuple] = {0: ()}  # node -> ((feature, parent, child), ...) from the root
    for node in order:
        if not leaf[node]:
            for child in (left[node], right[node]):
                depth[child] = depth[node] + 1
                paths[int(child)] = paths[node] + ((int(tree["split_indices"][node]), node, int(child)),)
    width = int(depth.max())
    credit_feature = np.zeros((n, width), dtype=np.int64)
    credit_value = np.zeros((n, width), dtype=_F32)
    for node in np.flatnonzero(leaf):
        credit: dict[int, np.float32] = {}
        for f, parent, child in paths[int(node)]:  # in path order, each feature's credit summed in float32 from zero
            credit[f] = _F32(credit.get(f, _F32(0)) + _F32(mean[child] - mean[parent]))
        credit_feature[node, :len(credit)] = list(credit)
        credit_value[node, :len(credit)] = list(credit.values())
    nodes = np.arange(n)
    return {"feature": np.where(leaf, 0, np.asarray(tree["split_indices"], dtype=np.int64)),
            "threshold": np.where(leaf, _F32(0), cond), "depth": width,
            "children": np.column_stack([np.where(leaf, nodes, left), np.where(leaf, nodes, right)]).ravel(),
            "default_left": np.asarray(tree["default_left"], dtype=bool),
            "category_start": np.maximum(cat_start, 0), "category_words": cat_size,
            "category_bits": np.concatenate(words) if words else np.empty(0, dtype=np.uint32),
            "leaf_value": np.where(leaf, cond, _F32(0)),
            "credit_feature": credit_feature, "credit_value": credit_value}


def _widen(table: np.ndarray, width: int, fill) -> np.ndarray:
    out = np.full((len(table), width), fill, dtype=np.int32 if table.dtype.kind == "i" else _F32)
    out[:, :table.shape[1]] = table
    return out


def _preorder(left: np.ndarray, right: np.ndarray) -> list[int]:
    order, stack = [], [0]
    while stack:
        node = stack.pop()
        order.append(node)
        if left[node] >= 0:
            stack.extend((int(right[node]), int(left[node])))
    return order  # every parent before its children


@numba.njit(cache=True)
def _logit(p):  # pragma: no cover - compiled
    # XGBoost's ProbToMargin for binary:logistic, in float32 with the C library's logf
    return -math.log(np.float32(1.0) / p - np.float32(1.0))


@numba.njit(parallel=True, cache=True, nogil=True)
def _walk(X, roots, depth, feature, threshold, children, missing_right, cat_start, cat_words, cat_bits,
          leaf_value, credit_feature, credit_value, base_margin, pd_, credit):  # pragma: no cover - compiled
    # blocks of rows walk one tree at a time, level by level: the tree stays in cache, and the rows of a block are
    # independent steps the processor overlaps, where one row's walk is a chain of dependent loads. A leaf is its
    # own child, so every row of a block takes the tree's depth in steps, and a step indexes its child.
    # Every index is unsigned (the tables are, and constants are typed so): numba wraps a negative signed index,
    # a test and a select on each load, which made the walk three times slower
    n_rows = X.shape[0]
    width = np.uint64(credit_feature.shape[1])
    one, five, low_bits = np.uint64(1), np.uint64(5), np.uint64(31)
    for block in numba.prange((n_rows + _BLOCK - 1) // _BLOCK):
        first = np.uint64(block * _BLOCK)
        rows = np.uint64(min(_BLOCK, n_rows - block * _BLOCK))
        nodes = np.empty(rows, dtype=np.uint64)
        margin = np.full(rows, base_margin, dtype=np.float32)
        for t in range(roots.shape[0]):
            nodes[:] = roots[t]
            for _ in range(depth[t]):
                for r in range(rows):
                    node = nodes[r]
                    value = X[first + r, feature[node]]
                    if cat_words[node] == 0:
                        # XGBoost's test, not (value < threshold), and a missing value to the default side; one
                        # expression, not a branch on the row's value the processor would mispredict
                        go_right = (value >= threshold[node]) | ((value != value) & missing_right[node])
                    elif value != value:
                        go_right = missing_right[node]
                    else:
                        # XGBoost's categorical decision: a category in the split's set goes right, any other left;
                        # the set is a bit field, so a split on thousands of categories costs what one on two does
                        code = np.uint64(value)  # a category code, >= 0 (an unseen or missing category is NaN)
                        word = code >> five
                        go_right = word < cat_words[node] and ((cat_bits[cat_start[node] + word] >> (code & low_bits))
                                                               & one) == one
                    nodes[r] = children[node + node + np.uint64(go_right)]
            for r in range(rows):
                node = nodes[r]
                margin[r] += leaf_value[node]
                for k in range(width):
                    credit[first + r, credit_feature[node, k]] += credit_value[node, k]
        for r in range(rows):
            pd_[first + r] = np.float32(1.0) / (np.float32(1.0) + math.exp(-margin[r]))
