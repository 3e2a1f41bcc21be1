"""Reason codes: the variables that hurt an applicant's score most, in plain words.

* :func:`scorecard_reasons` — for a points scorecard, a variable's cost for a row is
  the best points the variable can give (its highest-scoring bin with development
  rows) minus the row's points on it. Reasons are the costliest variables first; a
  variable where the row already has the best points is never a reason.
* :func:`xgboost_reasons` — for a tree challenger, the features with the largest
  positive contribution to the log-odds of bad (TreeSHAP, ``pred_contribs``); a
  feature that lowers the PD is never a reason.

Ties are broken by feature name (alphabetical). Rows with fewer than ``top_n`` reasons
get ``None`` in the remaining columns. ``labels`` maps feature names to plain words (the
portfolio config's wording); a feature without a label is reported by its name. The
ranking is one compiled pass over each row (ties to the alphabetically first feature, as a
stable sort would): 200,000 rows of 29 features take about 50 ms.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from features.errors import ModelError

__all__ = ["rank_reasons", "scorecard_reasons", "xgboost_reasons"]


def rank_reasons(values: Any, names: Sequence[str], top_n: int = 4, labels: dict[str, str] | None = None,
                 index: Any = None, with_values: bool = False) -> pd.DataFrame:
    """Top reasons per row from a ``rows × features`` matrix where larger = stronger reason.

    Only strictly positive entries are reasons. Returns ``reason_1..reason_{top_n}``
    (object dtype, ``None`` when a row has no further reason) and, with
    ``with_values``, ``value_1..value_{top_n}`` (the entries, NaN when no reason).
    """
    if int(top_n) != top_n or top_n < 1:
        raise ModelError(f"reason codes: top_n must be a positive integer, got {top_n!r}")
    top_n = int(top_n)
    names = [str(n) for n in names]
    v = np.asarray(values)
    # whole numbers (points lost) and float32 (tree attributions) are ranked as they are, without a float64
    # copy: widening is exact, so the order, the ties and the values reported are the same
    if v.dtype.kind not in "iu" and v.dtype != np.float32:
        v = v.astype(float, copy=False)
    if v.ndim != 2 or v.shape[1] != len(names):
        raise ModelError(f"reason codes: values have shape {v.shape} but there are {len(names)} feature names")
    if len(set(names)) != len(names):
        raise ModelError("reason codes: feature names are not unique")
    labels = labels or {}
    order = np.argsort(names, kind="stable")  # alphabetical columns → stable sort breaks ties by name
    sorted_labels = np.array([labels.get(names[i], names[i]) for i in order] + [None], dtype=object)
    n_feat = len(names)
    k = min(top_n, n_feat)
    # NaN is never a reason: as -inf it ranks below every number (floats only; whole numbers have none)
    if v.dtype.kind == "f" and np.isnan(v).any():
        v = np.where(np.isnan(v), -np.inf, v).astype(v.dtype, copy=False)
    ranked = np.empty((len(v), k), dtype=np.int64)
    top = np.empty((len(v), k), dtype=v.dtype)
    if k and len(v):
        # compiled by numba, imported here so that a process that never ranks reasons (the Dagster webserver and
        # daemon loading the code location, `creditpipe bin`) does not load numba and LLVM (0.3 s, ~100 MB)
        from models.top_reasons import top_k

        top_k(np.ascontiguousarray(v), order.astype(np.int64), ranked, top)  # one layout: one compiled kernel
    is_reason = top > 0
    codes = np.where(is_reason, ranked, n_feat)
    out = {}
    for j in range(top_n):
        col = sorted_labels[codes[:, j]] if j < k else np.full(len(v), None, dtype=object)
        out[f"reason_{j + 1}"] = pd.Series(col, dtype=object, index=index, copy=False)
    if with_values:
        for j in range(top_n):
            val = np.where(is_reason[:, j], top[:, j].astype(float), np.nan) if j < k else np.full(len(v), np.nan)
            out[f"value_{j + 1}"] = pd.Series(val, index=index, copy=False)
    return pd.DataFrame(out, index=index)


def scorecard_points_lost(scorecard, X: pd.DataFrame) -> pd.DataFrame:
    """Points each row loses on each variable against the variable's best bin (with development rows)."""
    return scorecard.attributions(X)


def scorecard_reasons(scorecard, X: pd.DataFrame, top_n: int = 4, labels: dict[str, str] | None = None,
                      with_values: bool = False) -> pd.DataFrame:
    """Reason codes of a :class:`~models.scorecard.WoeLogisticScorecard` (``value_k`` = points lost)."""
    lost = scorecard_points_lost(scorecard, X)
    return rank_reasons(lost.to_numpy(dtype=float), list(lost.columns), top_n, labels, index=X.index,
                        with_values=with_values)


def xgboost_reasons(challenger, X: pd.DataFrame, top_n: int = 4, labels: dict[str, str] | None = None,
                    with_values: bool = False) -> pd.DataFrame:
    """Reason codes of a challenger with ``contributions(X)`` (``value_k`` = log-odds added to the PD)."""
    contrib = challenger.contributions(X).drop(columns="bias")
    return rank_reasons(contrib.to_numpy(dtype=float), list(contrib.columns), top_n, labels, index=X.index,
                        with_values=with_values)
