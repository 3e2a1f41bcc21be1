"""Rank ordering and cut-off strategy: outcomes by score band.

The lift / gains table by risk-score quantile, the bad rate per band, whether it is
monotone across bands, and the approval strategy table of a scorecard's points
(higher = safer). Inputs follow the conventions of :mod:`models.metric_inputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ModelError
from models.metric_inputs import (
    as_1d,
    bin_order,
    check_int,
    check_numeric,
    check_same_length,
    check_y,
    edge_text,
    numeric_edges,
    quantile_groups,
)

__all__ = ["bad_rate_by_band", "cutoff_table", "lift_table", "rank_ordering_ok"]


def lift_table(y_true: Any, y_score: Any, n_bins: int = 10) -> pd.DataFrame:
    """Lift / gains table by quantile bin of the risk score, **riskiest bin first**.

    Bins are cut at the ``n_bins``-quantiles of ``y_score`` (right-closed, ties kept
    together, so heavy ties give fewer bins). Columns: ``bin`` (1 = riskiest),
    ``min_score, max_score, n, bads, bad_rate, cum_n, cum_bads, cum_bad_rate,
    cum_capture_rate`` (share of all bads in this and riskier bins), ``lift``
    (bad_rate / overall bad rate) and ``cum_lift`` (cum_bad_rate / overall bad rate).
    """
    y = check_y(y_true)
    s = check_numeric(y_score, "y_score")
    check_same_length(y_true=y, y_score=s)
    n_bins = check_int(n_bins, "n_bins", 1)
    g = quantile_groups(s, n_bins)
    k = int(g.max()) + 1
    order = np.arange(k)[::-1]  # highest score = riskiest first
    n = np.bincount(g, minlength=k)[order]
    bads = np.bincount(g, weights=y, minlength=k)[order].astype(np.int64)
    min_s = pd.Series(s).groupby(g).min().to_numpy()[order]
    max_s = pd.Series(s).groupby(g).max().to_numpy()[order]
    overall = y.mean()
    cum_n = np.cumsum(n)
    cum_bads = np.cumsum(bads)
    bad_rate = bads / n
    cum_bad_rate = cum_bads / cum_n
    return pd.DataFrame(
        {
            "bin": np.arange(1, k + 1),
            "min_score": min_s,
            "max_score": max_s,
            "n": n,
            "bads": bads,
            "bad_rate": bad_rate,
            "cum_n": cum_n,
            "cum_bads": cum_bads,
            "cum_bad_rate": cum_bad_rate,
            "cum_capture_rate": cum_bads / y.sum(),
            "lift": bad_rate / overall,
            "cum_lift": cum_bad_rate / overall,
        }
    )


def bad_rate_by_band(
    y_true: Any, score_or_band: Any, bins: int | Sequence[float] | None = None
) -> pd.DataFrame:
    """Bad rate per band, in band order.

    * ``bins=None``: ``score_or_band`` already holds band labels (a categorical dtype
      keeps its order, otherwise labels are sorted).
    * ``bins=int``: a numeric score cut at its quantiles into that many bands.
    * ``bins=sequence``: interior cut points for a numeric score.

    Numeric bands are right-closed ``(lower, upper]``, ascending score. Columns:
    ``band, lower, upper, n, share, bads, bad_rate`` (lower/upper NaN for labels).
    """
    y = check_y(y_true, both_classes=False)
    if bins is None:
        x = as_1d(score_or_band, "score_or_band")
        check_same_length(y_true=y, score_or_band=x)
        xs = (
            score_or_band.reset_index(drop=True)
            if isinstance(score_or_band, pd.Series)
            else pd.Series(x)
        )
        if xs.isna().any():
            raise ModelError(f"score_or_band: contains {int(xs.isna().sum())} missing value(s)")
        labels = bin_order(xs)
        idx = np.empty(len(xs), dtype=np.int64)
        for i, lab in enumerate(labels):
            idx[(xs == lab).to_numpy()] = i
        lower = upper = np.full(len(labels), np.nan)
        band_names: list[Any] = labels
    else:
        s = check_numeric(score_or_band, "score_or_band")
        check_same_length(y_true=y, score_or_band=s)
        if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
            cuts = numeric_edges(s, int(bins), None)
        else:
            cuts = numeric_edges(s, 0, bins)
        edges = np.concatenate([[-np.inf], cuts, [np.inf]])
        idx = np.searchsorted(cuts, s, side="left")
        lower, upper = edges[:-1], edges[1:]
        band_names = [f"({edge_text(lo)}, {edge_text(up)}]" for lo, up in zip(lower, upper)]
    k = len(band_names)
    n = np.bincount(idx, minlength=k)
    bads = np.bincount(idx, weights=y, minlength=k).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, bads / np.maximum(n, 1), np.nan)
    return pd.DataFrame(
        {
            "band": band_names,
            "lower": lower,
            "upper": upper,
            "n": n,
            "share": n / len(y),
            "bads": bads,
            "bad_rate": rate,
        }
    )


def rank_ordering_ok(
    table: pd.DataFrame, direction: str = "auto", strict: bool = False, column: str = "bad_rate"
) -> bool:
    """Whether the bad rate is monotone across the rows of ``table`` (in row order).

    ``direction``: ``"increasing"``, ``"decreasing"`` or ``"auto"`` (either). Equal
    neighbours are allowed unless ``strict``. Empty bands (NaN bad rate) are skipped.
    Works on :func:`bad_rate_by_band` and :func:`lift_table` output.
    """
    if not isinstance(table, pd.DataFrame):
        raise ModelError(f"table: expected a DataFrame, got {type(table).__name__}")
    if column not in table.columns:
        raise ModelError(f"table: has no column {column!r}")
    if direction not in ("auto", "increasing", "decreasing"):
        raise ModelError(
            f"direction: must be 'auto', 'increasing' or 'decreasing', got {direction!r}"
        )
    rates = pd.to_numeric(table[column], errors="coerce").dropna().to_numpy(dtype=float)
    if len(rates) == 0:
        raise ModelError(f"table: column {column!r} has no value")
    d = np.diff(rates)
    inc = bool(np.all(d > 0)) if strict else bool(np.all(d >= 0))
    dec = bool(np.all(d < 0)) if strict else bool(np.all(d <= 0))
    if direction == "increasing":
        return inc
    if direction == "decreasing":
        return dec
    return inc or dec


def cutoff_table(y_true: Any, score: Any, cutoffs: Sequence[float] | None = None) -> pd.DataFrame:
    """Approval strategy table for a scorecard **score in points, HIGHER = SAFER**.

    At each cut-off, applicants with ``score >= cutoff`` are approved. ``cutoffs``
    defaults to the deciles of ``score`` (0 %, 10 %, ..., 100 %; duplicates merged).
    Columns: ``cutoff, n_approved, approval_rate, bads_approved, bad_rate_approved``
    (the expected bad rate among approved; NaN when none approved), ``bads_rejected``,
    ``bads_rejected_share`` (share of all bads the cut-off rejects) and
    ``goods_rejected_share``. Rows sorted by ascending cut-off.
    """
    y = check_y(y_true)
    s = check_numeric(score, "score")
    check_same_length(y_true=y, score=s)
    if cutoffs is None:
        cuts = np.unique(np.quantile(s, np.linspace(0.0, 1.0, 11)))
    else:
        cuts = np.sort(check_numeric(cutoffs, "cutoffs"))
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # suffix sums: number / bads with score >= cutoff
    bads_suffix = np.concatenate([np.cumsum(y_sorted[::-1])[::-1], [0]])
    first = np.searchsorted(s_sorted, cuts, side="left")
    n_total, bads_total = len(y), int(y.sum())
    goods_total = n_total - bads_total
    n_app = n_total - first
    bads_app = bads_suffix[first].astype(np.int64)
    goods_app = n_app - bads_app
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n_app > 0, bads_app / np.maximum(n_app, 1), np.nan)
    return pd.DataFrame(
        {
            "cutoff": cuts,
            "n_approved": n_app,
            "approval_rate": n_app / n_total,
            "bads_approved": bads_app,
            "bad_rate_approved": rate,
            "bads_rejected": bads_total - bads_app,
            "bads_rejected_share": (bads_total - bads_app) / bads_total,
            "goods_rejected_share": (goods_total - goods_app) / goods_total,
        }
    )
