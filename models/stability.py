"""Stability: how far a population has moved from development.

PSI of a score (quantile bins of the development sample, open outer bins) and CSI of a
feature (numeric or categorical, missing values in their own bin), with the empty-bin
floor :data:`PSI_EPS`. Inputs follow the conventions of :mod:`models.metric_inputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ModelError
from models.metric_inputs import (
    MISSING_LABEL,
    as_series,
    check_numeric,
    check_same_length,
    edge_text,
    is_categorical,
    numeric_edges,
)

__all__ = ["PSI_EPS", "csi", "csi_table", "psi", "psi_from_shares", "psi_table"]


#: Floor applied to a bin share of 0 in PSI / CSI so that ``ln(a / e)`` stays finite.
PSI_EPS = 1e-4


def _psi_contributions(e: np.ndarray, a: np.ndarray, eps: float) -> np.ndarray:
    ef = np.maximum(e, eps)
    af = np.maximum(a, eps)
    return (af - ef) * np.log(af / ef)


def _check_eps(eps: float) -> float:
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ModelError(f"eps: must be in (0, 1), got {eps!r}")
    return float(eps)


def psi_from_shares(expected_shares: Sequence[float], actual_shares: Sequence[float], eps: float = PSI_EPS) -> float:
    """PSI from per-bin shares: ``sum (a - e) * ln(a / e)``.

    Each share vector must be non-negative and sum to 1 (tolerance 1e-6). A share of 0
    (empty bin) is floored at ``eps`` (default 1e-4) before the formula; shares are not
    renormalised after the floor.
    """
    eps = _check_eps(eps)
    e = check_numeric(expected_shares, "expected_shares")
    a = check_numeric(actual_shares, "actual_shares")
    check_same_length(expected_shares=e, actual_shares=a)
    for name, v in (("expected_shares", e), ("actual_shares", a)):
        if (v < 0).any():
            raise ModelError(f"{name}: shares must be non-negative")
        if abs(v.sum() - 1.0) > 1e-6:
            raise ModelError(f"{name}: shares must sum to 1, got {v.sum():.8g}")
    return float(_psi_contributions(e, a, eps).sum())


def _stability_table(
    expected: pd.Series,
    actual: pd.Series,
    bins: int,
    breaks: Sequence[float] | None,
    eps: float,
    categorical: bool,
) -> pd.DataFrame:
    e_missing = expected.isna().to_numpy()
    a_missing = actual.isna().to_numpy()
    rows: list[dict[str, Any]] = []
    if categorical:
        e_vals, a_vals = expected[~e_missing], actual[~a_missing]
        if isinstance(expected.dtype, pd.CategoricalDtype):
            cats = list(expected.cat.categories)
            cats += [c for c in pd.unique(a_vals) if c not in set(cats)]
        else:
            cats = list(pd.unique(pd.concat([e_vals, a_vals], ignore_index=True)))
            try:
                cats = sorted(cats)
            except TypeError:
                pass
        e_counts = e_vals.value_counts()
        a_counts = a_vals.value_counts()
        for c in cats:
            rows.append(
                {
                    "bin": str(c),
                    "lower": np.nan,
                    "upper": np.nan,
                    "expected_count": int(e_counts.get(c, 0)),
                    "actual_count": int(a_counts.get(c, 0)),
                }
            )
    else:
        e_num = expected.to_numpy(dtype=float)[~e_missing]
        a_num = actual.to_numpy(dtype=float)[~a_missing]
        if len(e_num) == 0:
            raise ModelError("expected: has no non-missing value to build bins from")
        cuts = numeric_edges(e_num, bins, breaks)
        edges = np.concatenate([[-np.inf], cuts, [np.inf]])
        # right-closed bins (lower, upper]
        e_idx = np.searchsorted(cuts, e_num, side="left")
        a_idx = np.searchsorted(cuts, a_num, side="left")
        e_counts = np.bincount(e_idx, minlength=len(edges) - 1)
        a_counts = np.bincount(a_idx, minlength=len(edges) - 1)
        for i in range(len(edges) - 1):
            rows.append(
                {
                    "bin": f"({edge_text(edges[i])}, {edge_text(edges[i + 1])}]",
                    "lower": float(edges[i]),
                    "upper": float(edges[i + 1]),
                    "expected_count": int(e_counts[i]),
                    "actual_count": int(a_counts[i]),
                }
            )
    if e_missing.any() or a_missing.any():
        rows.append(
            {
                "bin": MISSING_LABEL,
                "lower": np.nan,
                "upper": np.nan,
                "expected_count": int(e_missing.sum()),
                "actual_count": int(a_missing.sum()),
            }
        )
    table = pd.DataFrame(rows)
    table["expected_share"] = table["expected_count"] / len(expected)
    table["actual_share"] = table["actual_count"] / len(actual)
    table["psi_contribution"] = _psi_contributions(
        table["expected_share"].to_numpy(), table["actual_share"].to_numpy(), eps
    )
    return table[
        [
            "bin",
            "lower",
            "upper",
            "expected_count",
            "actual_count",
            "expected_share",
            "actual_share",
            "psi_contribution",
        ]
    ]


def psi_table(expected: Any, actual: Any, bins: int = 10, breaks: Sequence[float] | None = None,
              eps: float = PSI_EPS) -> pd.DataFrame:
    """Population Stability Index per bin of a numeric score.

    Bins: the interior cut points are ``breaks`` if given, otherwise the ``bins``-quantiles
    of ``expected`` (the development sample; duplicate quantiles merged, so heavy ties
    give fewer bins). The outer bins are open (-inf / +inf) so every actual value falls in
    a bin (``-inf`` / ``+inf`` in ``breaks`` are accepted and ignored); bins are
    right-closed ``(lower, upper]``.

    Empty bins: a share of 0 is floored at ``eps`` (default 1e-4) when computing
    ``psi_contribution = (a - e) * ln(a / e)``; the share columns show the raw shares.
    NaN is refused here; use :func:`csi` to treat missing values as their own bin.
    """
    eps = _check_eps(eps)
    e = check_numeric(expected, "expected")
    a = check_numeric(actual, "actual")
    return _stability_table(pd.Series(e), pd.Series(a), bins, breaks, eps, categorical=False)


def psi(expected: Any, actual: Any, bins: int = 10, breaks: Sequence[float] | None = None,
        eps: float = PSI_EPS) -> float:
    """Population Stability Index ``sum (a - e) * ln(a / e)`` over the bins of
    :func:`psi_table` (quantile bins of ``expected``; empty-bin shares floored at ``eps``)."""
    return float(psi_table(expected, actual, bins=bins, breaks=breaks, eps=eps)["psi_contribution"].sum())


def csi_table(expected: Any, actual: Any, bins: int = 10, breaks: Sequence[float] | None = None,
              eps: float = PSI_EPS) -> pd.DataFrame:
    """Characteristic Stability Index table of one feature (= PSI of that feature).

    Numeric features (numeric dtype of ``expected``) are binned as in :func:`psi_table`;
    categorical features (object, string, category or bool dtype) get one bin per
    category seen in either sample (a category new in ``actual`` has an expected share of
    0, floored at ``eps``). Missing values (NaN/None) form their own bin ``"Missing"``.
    """
    eps = _check_eps(eps)
    e = as_series(expected, "expected")
    a = as_series(actual, "actual")
    categorical = is_categorical(e)
    if not categorical:
        if is_categorical(a) and not a.isna().all():
            raise ModelError(
                f"actual: expected is numeric but actual has dtype {a.dtype}; "
                "both samples of a feature must have the same kind"
            )
        e_num = check_numeric(e, "expected", allow_nan=True)
        a_num = check_numeric(a, "actual", allow_nan=True)
        e, a = pd.Series(e_num), pd.Series(a_num)
    elif breaks is not None:
        raise ModelError("breaks: only applies to a numeric feature, expected is categorical")
    return _stability_table(e, a, bins, breaks, eps, categorical=categorical)


def csi(expected: Any, actual: Any, bins: int = 10, breaks: Sequence[float] | None = None,
        eps: float = PSI_EPS) -> float:
    """Characteristic Stability Index of one feature; see :func:`csi_table`."""
    return float(csi_table(expected, actual, bins=bins, breaks=breaks, eps=eps)["psi_contribution"].sum())
