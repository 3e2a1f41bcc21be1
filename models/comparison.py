"""Champion against candidate on the same rows: paired DeLong test of two AUCs.

Two models scored on the same loans have correlated AUC estimates; comparing each with
its own interval ignores that correlation and is far too conservative. DeLong, DeLong &
Clarke-Pearson (1988) give the covariance of the two estimates from the placement values
of every bad among the goods (and every good among the bads) under each model; the
midrank algorithm of Sun & Xu (2014) computes them in O(n log n).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from features.errors import ModelError


class PairedDeLong(NamedTuple):
    """Difference ``auc_a - auc_b`` of two scores on the same rows, its DeLong standard error,
    the two-sided z test of equal AUCs and the correlation of the two AUC estimates."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    z: float
    p_value: float
    correlation: float


def _placements(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Structural components V10 (per bad), V01 (per good) and the AUC, via midranks."""
    m, n = len(pos), len(neg)
    tx, ty = stats.rankdata(pos), stats.rankdata(neg)
    tz = stats.rankdata(np.concatenate([pos, neg]))
    auc = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:m] - tx) / n  # share of goods below each bad (ties one half)
    v01 = 1.0 - (tz[m:] - ty) / m  # share of bads above each good
    return v10, v01, float(auc)


def delong_paired(y_true: Any, score_a: Any, score_b: Any) -> PairedDeLong:
    """Paired DeLong test of ``AUC(score_a) == AUC(score_b)`` on the same rows.

    Scores are higher-is-riskier (PD). ``y_true`` is 1 for a bad. Needs at least two bads
    and two goods; every array must have the same length and no missing value.
    """
    y = np.asarray(y_true, dtype=float).ravel()
    a = np.asarray(score_a, dtype=float).ravel()
    b = np.asarray(score_b, dtype=float).ravel()
    if not (len(y) == len(a) == len(b)):
        raise ModelError(f"delong_paired: y_true, score_a and score_b differ in length ({len(y)}, {len(a)}, {len(b)})")
    for name, arr in (("y_true", y), ("score_a", a), ("score_b", b)):
        if np.isnan(arr).any():
            raise ModelError(f"delong_paired: {name} has missing values")
    if not np.isin(y, (0.0, 1.0)).all():
        raise ModelError("delong_paired: y_true must be 0 (good) or 1 (bad)")
    bad = y == 1
    m, n = int(bad.sum()), int((~bad).sum())
    if m < 2 or n < 2:
        raise ModelError(f"delong_paired: needs at least 2 bads and 2 goods, got {m} and {n}")
    v10a, v01a, auc_a = _placements(a[bad], a[~bad])
    v10b, v01b, auc_b = _placements(b[bad], b[~bad])
    s10 = np.cov(np.vstack([v10a, v10b]), ddof=1)
    s01 = np.cov(np.vstack([v01a, v01b]), ddof=1)
    cov = s10 / m + s01 / n  # 2x2 covariance of (auc_a, auc_b)
    var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
    diff = auc_a - auc_b
    se = math.sqrt(max(var, 0.0))
    if se == 0.0:  # identical rankings: no evidence of a difference
        z, p = 0.0, 1.0
    else:
        z = diff / se
        p = float(2.0 * stats.norm.sf(abs(z)))
    denom = math.sqrt(cov[0, 0] * cov[1, 1])
    corr = float(cov[0, 1] / denom) if denom > 0 else 1.0
    return PairedDeLong(auc_a, auc_b, float(diff), float(se), float(z), p, corr)
