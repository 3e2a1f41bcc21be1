"""optbinning's optimiser on pre-binned counts: the same steps as ``OptimalBinning.fit``, without the rows.

``OptimalBinning.fit`` does: split missing / special / clean; (categorical) group rare
categories and order categories by bad rate; CART pre-binning (``max_n_prebins``,
``min_prebin_size``); merge pure pre-bins; solve (CP by default); build the binning
table. Every step but the solve only needs good/bad counts per distinct value, so here
they run on :class:`~features.prebinning.CellCounts` and the solve and the table are
optbinning's own (``OptimalBinning._fit_optimizer``, ``BinningTable``) on an
``OptimalBinning`` object that ends up fitted exactly as if it had seen the rows.

Why not ``OptimalBinning.fit(values, y, sample_weight=counts)``: its categorical path
orders categories by the *unweighted* mean of y, and its weighted CART uses a float
``min_weight_fraction_leaf`` that can drop a leaf of exactly the minimum size. Why not
``OptimalBinningSketch`` / ``BinningProcessSketch``: their pre-bins are ``max_n_prebins``
equal-frequency quantiles of a GK / t-digest sketch instead of the CART pre-binning, so
their bins are not plain optbinning's, and the sketches are updated row by row in Python.

Same answers: on an exact variable (every distinct value a cell) the CART sees the same
values with integer weights, so it finds the same splits (float32 midpoints, as
scikit-learn's tree) and the solver gets the same pre-bins. On an inexact variable (more
distinct values than the sketch keeps) splits can only fall on the quantile cut points:
the documented difference from plain optbinning, which may split between any two values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from optbinning import OptimalBinning
from optbinning.binning.binning import _check_parameters
from optbinning.binning.binning_statistics import BinningTable, bin_info
from sklearn.tree import DecisionTreeClassifier, _tree

from features.errors import ConfigError
from features.prebinning import CellCounts


def solve(cells: CellCounts, name: str, params: dict, fixed_splits=None) -> OptimalBinning:
    """A fitted ``OptimalBinning`` for one variable from its cell counts.

    ``params`` are ``OptimalBinning`` keyword arguments (max_n_bins, min_bin_size,
    monotonic_trend, special_codes, cat_cutoff, max_n_prebins, min_prebin_size, ...).
    ``fixed_splits`` (numeric): the bins are exactly these splits, with no solve (no
    trend, bin size or bin count constraint is imposed on a modeler's splits); a split that
    leaves a bin without goods or without bads is a ConfigError.
    """
    dtype = "categorical" if cells.kind == "categorical" else "numerical"
    ob = OptimalBinning(name=name, dtype=dtype, **params)
    if fixed_splits is not None and len(fixed_splits):
        fixed = np.sort(np.asarray(fixed_splits, dtype=float))
        if len(np.unique(fixed)) != len(fixed):
            raise ConfigError(f"binning.fixed_splits.{name}: splits are not unique: {list(fixed_splits)}")
        ob.user_splits, ob.user_splits_fixed = list(fixed), [True] * len(fixed)
    try:
        _check_parameters(**ob.get_params())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"binning: variable {name}: {exc}") from None
    if ob.user_splits is not None:
        ob.user_splits, ob.user_splits_fixed = np.asarray(ob.user_splits), np.asarray(ob.user_splits_fixed)
    n_total = cells.n
    ob._n_samples = ob._n_samples_weighted = n_total
    ob._n_nonevent_missing, ob._n_event_missing = int(cells.missing[0]), int(cells.missing[1])
    ob._n_nonevent_special, ob._n_event_special = int(cells.special[0]), int(cells.special[1])

    goods, bads = cells.goods.astype(np.int64), cells.bads.astype(np.int64)
    if dtype == "categorical":
        categories, others, goods, bads, lower = _order_categories(cells, ob.cat_cutoff, name)
        ob._categories, ob._cat_others = categories, others
        if len(others):
            mask = np.isin(np.asarray(cells.categories, dtype=object), others)
            ob._n_nonevent_cat_others, ob._n_event_cat_others = int(cells.goods[mask].sum()), int(cells.bads[mask].sum())
        exact = True
    else:
        keep = (goods + bads) > 0
        lower = np.concatenate(([-np.inf], cells.edges))[keep]  # lower edge of each non-empty cell
        goods, bads = goods[keep], bads[keep]
        ob._categories, ob._cat_others = [], []
        exact = cells.exact
    if len(goods) == 0:  # only missing / special values in development: one empty regular bin, WOE 0
        goods, bads, lower = np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([-np.inf])
        if dtype == "categorical":
            ob._categories = np.array([], dtype=object)

    if ob.user_splits is not None:
        splits = ob.user_splits
    else:
        splits = _cart_splits(lower if exact else np.arange(len(lower), dtype=float), goods, bads,
                              ob.max_n_prebins, math.ceil(ob.min_prebin_size * n_total))
        if not exact and len(splits):  # a threshold k + 0.5 between cells k and k+1: the lower edge of cell k+1
            splits = lower[np.floor(splits).astype(int) + 1]
    splits, n_nonevent, n_event = _refine(ob, np.asarray(splits, dtype=float), lower, goods, bads, name)
    ob._n_prebins = len(n_nonevent)
    if ob.user_splits is not None and len(splits):
        # fixed splits are the bins, exactly: no solve (trend, size and count constraints could reject them)
        ob._status, ob._splits_optimal = "FIXED", splits
        ob._solution = np.ones(len(n_nonevent), dtype=bool)
    else:
        ob._fit_optimizer(splits, n_nonevent, n_event)
    if not len(splits):
        n_nonevent, n_event = np.array([goods.sum()]), np.array([bads.sum()])
    ob._n_nonevent, ob._n_event = bin_info(ob._solution, n_nonevent, n_event, ob._n_nonevent_missing, ob._n_event_missing,
                                           ob._n_nonevent_special, ob._n_event_special, ob._n_nonevent_cat_others,
                                           ob._n_event_cat_others, ob._cat_others)
    min_x, max_x = (cells.lo, cells.hi) if dtype == "numerical" else (None, None)
    ob._binning_table = BinningTable(name, dtype, ob.special_codes, ob._splits_optimal, ob._n_nonevent, ob._n_event,
                                     min_x, max_x, ob._categories, ob._cat_others, ob.user_splits)
    ob._is_fitted = True
    return ob


def _order_categories(cells: CellCounts, cat_cutoff, name: str):
    """Rare categories to 'others', the rest ordered by bad rate as optbinning orders them."""
    cats = np.asarray(cells.categories, dtype=object)
    goods, bads = cells.goods, cells.bads
    counts = goods + bads
    present = counts > 0
    cats, goods, bads, counts = cats[present], goods[present], bads[present], counts[present]
    others = np.array([], dtype=object)
    if cat_cutoff is not None:
        rare = counts < np.ceil(cat_cutoff * counts.sum())
        if rare.all():
            raise ConfigError(f"binning: variable {name}: every category is rarer than cat_cutoff={cat_cutoff}")
        # optbinning: value_counts() order, i.e. by count (descending), ties in order of first appearance
        by_count = np.argsort(-counts, kind="stable")
        others = cats[by_count][rare[by_count]]
        cats, goods, bads, counts = cats[~rare], goods[~rare], bads[~rare], counts[~rare]
    # optbinning: pd.Series(y).groupby(x).mean().sort_values(): labels sorted, then a (non-stable) sort by
    # bad rate; the same call on the same sorted labels gives the same order, ties included
    order = np.argsort(cats.astype(str), kind="stable")
    rate = pd.Series(bads[order] / counts[order], index=cats[order])
    sorted_cats = rate.sort_values().index.values
    pos = {c: i for i, c in enumerate(cats)}
    idx = np.array([pos[c] for c in sorted_cats], dtype=np.int64)
    return sorted_cats, others, goods[idx], bads[idx], np.arange(len(idx), dtype=float)


def _cart_splits(x: np.ndarray, goods: np.ndarray, bads: np.ndarray, max_leaves: int, min_count: int) -> np.ndarray:
    """optbinning's CART pre-binning on one row per (value, class) weighted by its count.

    The raw fit uses ``min_samples_leaf=min_count``; with integer weights the same rule is a
    minimum leaf weight of ``min_count - 0.5`` (safe from float rounding).
    """
    total = float(goods.sum() + bads.sum())
    min_weight = min_count - 0.5
    if min_weight > total / 2:
        return np.empty(0)
    xs = np.concatenate((x[goods > 0], x[bads > 0]))
    ys = np.concatenate((np.zeros(int((goods > 0).sum())), np.ones(int((bads > 0).sum()))))
    ws = np.concatenate((goods[goods > 0], bads[bads > 0])).astype(float)
    tree = DecisionTreeClassifier(min_weight_fraction_leaf=min_weight / total, max_leaf_nodes=max_leaves, random_state=0)
    tree.fit(xs.reshape(-1, 1), ys, sample_weight=ws)
    splits = np.unique(tree.tree_.threshold)
    return splits[splits != _tree.TREE_UNDEFINED]


def _refine(ob: OptimalBinning, splits: np.ndarray, lower: np.ndarray, goods: np.ndarray, bads: np.ndarray, name: str):
    """Pre-bin counts; pure pre-bins (no goods or no bads) merged as ``OptimalBinning._compute_prebins`` does."""
    while len(splits):
        idx = np.searchsorted(splits, lower, side="right")  # = np.digitize(x, splits, right=False)
        n_nonevent = np.bincount(idx, weights=goods, minlength=len(splits) + 1).astype(np.int64)
        n_event = np.bincount(idx, weights=bads, minlength=len(splits) + 1).astype(np.int64)
        remove = (n_nonevent == 0) | (n_event == 0)
        if not remove.any():
            return splits, n_nonevent, n_event
        ob._n_refinements += 1
        drop = np.concatenate((remove[:-2], [remove[-2] | remove[-1]]))
        if ob.user_splits_fixed is not None:
            if ob.user_splits_fixed[drop].any():
                raise ConfigError(f"binning.fixed_splits.{name}: splits {list(ob.user_splits[drop])} leave a bin "
                                  "without goods or without bads; choose other splits")
            ob.user_splits_fixed = ob.user_splits_fixed[~drop]
            ob.user_splits = ob.user_splits[~drop]
        splits = splits[~drop]
    return splits, np.array([]), np.array([])
