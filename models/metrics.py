"""Credit-risk metrics as plain functions (numpy / pandas / scipy, in the style of
``sklearn.metrics``).

Conventions used by every function in this module
-------------------------------------------------

* ``y_true`` is the outcome: **1 = bad** (default, event), **0 = good**. Booleans are
  accepted (True = bad). Any other coding (e.g. German credit's 1/2) is refused: map it
  first.
* ``y_score`` is a **risk score: higher = more likely bad** (a PD, a log-odds of bad,
  ...). ``pd`` arguments are probabilities of default in [0, 1].
* The one exception is :func:`cutoff_table`, which takes scorecard **points: higher =
  safer** (applicants with ``score >= cutoff`` are approved).
* WOE sign convention: ``WOE = ln(%good / %bad)`` (``ln(dist_good / dist_bad)``), the
  convention of optbinning. A riskier-than-average bin therefore has a **negative** WOE.
* Discrimination metrics (AUC, Gini, KS, WOE/IV, lift, cut-off table) need both classes
  present; calibration metrics (Brier, log loss, Hosmer-Lemeshow, grade tests, bad rate
  by band) accept a sample with one class only.

Invalid inputs (length mismatch, NaN, non-binary outcome, one class only where both are
needed, PD outside [0, 1], ...) raise :class:`features.errors.ModelError` whose message
names the argument and the problem. Nothing here does I/O or plotting; every table is a
``pandas.DataFrame`` with plain snake_case column names.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas
import pandas as pd
from scipy import stats

from features.errors import ModelError

__all__ = [
    "KSResult",
    "DeLongResult",
    "HLResult",
    "PSI_EPS",
    "auc",
    "auc_delong_ci",
    "gini",
    "ks",
    "ks_table",
    "psi",
    "psi_table",
    "psi_from_shares",
    "csi",
    "csi_table",
    "woe_iv_table",
    "iv",
    "brier",
    "log_loss",
    "hosmer_lemeshow",
    "grade_tests",
    "lift_table",
    "bad_rate_by_band",
    "rank_ordering_ok",
    "cutoff_table",
]

#: Floor applied to a bin share of 0 in PSI / CSI so that ``ln(a / e)`` stays finite.
PSI_EPS = 1e-4

MISSING_LABEL = "Missing"

# Functions taking a probability of default call that argument ``pd`` (the domain's
# name); it shadows the pandas alias there, so they use the full ``pandas`` name.


class KSResult(NamedTuple):
    """Kolmogorov-Smirnov statistic and the score at which it is attained."""

    statistic: float
    threshold: float


class DeLongResult(NamedTuple):
    """AUC with its DeLong standard error and (1 - alpha) confidence interval."""

    auc: float
    lower: float
    upper: float
    se: float


class HLResult(NamedTuple):
    """Hosmer-Lemeshow goodness-of-fit test."""

    statistic: float
    dof: int
    p_value: float


# --------------------------------------------------------------------------- validation


def _as_1d(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        arr = x.to_numpy()
    elif isinstance(x, pd.DataFrame):
        raise ModelError(f"{name}: expected a 1-D array or Series, got a DataFrame")
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ModelError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ModelError(f"{name}: is empty")
    return arr


def _as_series(x: Any, name: str) -> pd.Series:
    """1-D input as a Series with a fresh index; object arrays of numbers and None
    become float (so a numeric feature with missing values stays numeric)."""
    if isinstance(x, pd.Series):
        _as_1d(x, name)
        return x.reset_index(drop=True)
    arr = _as_1d(x, name)
    return pd.Series(arr).infer_objects()


def _check_same_length(**arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ModelError(f"length mismatch: {desc} rows")


def _check_y(y_true: Any, name: str = "y_true", both_classes: bool = True) -> np.ndarray:
    arr = _as_1d(y_true, name)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        num = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ModelError(
            f"{name}: must be binary numeric (1 = bad, 0 = good), got dtype {arr.dtype}"
        ) from None
    n_nan = int(np.isnan(num).sum())
    if n_nan:
        raise ModelError(f"{name}: contains {n_nan} NaN value(s); the outcome must be known")
    values = np.unique(num)
    if not np.isin(values, [0.0, 1.0]).all():
        shown = ", ".join(repr(v.item()) for v in values[:5])
        raise ModelError(
            f"{name}: must be binary with 1 = bad and 0 = good, got values {{{shown}}}"
        )
    out = num.astype(np.int64)
    if both_classes and len(values) < 2:
        only = "bad (1)" if values[0] == 1 else "good (0)"
        raise ModelError(
            f"{name}: only one class present (all {only}); both bads and goods are needed"
        )
    return out


def _check_numeric(x: Any, name: str, allow_nan: bool = False) -> np.ndarray:
    arr = _as_1d(x, name)
    if arr.dtype == bool:
        arr = arr.astype(float)
    try:
        num = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"{name}: must be numeric, got dtype {arr.dtype}") from None
    if not allow_nan:
        n_nan = int(np.isnan(num).sum())
        if n_nan:
            raise ModelError(f"{name}: contains {n_nan} NaN value(s)")
    if np.isinf(num).any():
        raise ModelError(f"{name}: contains infinite value(s)")
    return num


def _check_pd(x: Any, name: str = "pd") -> np.ndarray:
    num = _check_numeric(x, name)
    if (num < 0).any() or (num > 1).any():
        raise ModelError(
            f"{name}: probabilities of default must lie in [0, 1], "
            f"got min {num.min():.6g}, max {num.max():.6g}"
        )
    return num


def _check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ModelError(f"alpha: must be in (0, 1), got {alpha!r}")
    return float(alpha)


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ModelError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


# --------------------------------------------------------------------------- discrimination


def auc(y_true: Any, y_score: Any) -> float:
    """Area under the ROC curve (probability a random bad scores above a random good;
    ties count one half), via the Mann-Whitney rank-sum with midranks."""
    y = _check_y(y_true)
    s = _check_numeric(y_score, "y_score")
    _check_same_length(y_true=y, y_score=s)
    ranks = stats.rankdata(s)  # midranks
    n1 = int(y.sum())
    n0 = len(y) - n1
    return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * n0))


def gini(y_true: Any, y_score: Any) -> float:
    """Gini coefficient (accuracy ratio) ``2 * AUC - 1``."""
    return 2.0 * auc(y_true, y_score) - 1.0


def auc_delong_ci(y_true: Any, y_score: Any, alpha: float = 0.05) -> DeLongResult:
    """AUC with DeLong (1988) variance computed by the fast midrank algorithm of
    Sun & Xu (2014), O(n log n).

    Returns ``(auc, lower, upper, se)``: the two-sided ``1 - alpha`` Wald interval
    ``auc +/- z * se``, clipped to [0, 1]. Needs at least two bads and two goods.
    """
    alpha = _check_alpha(alpha)
    y = _check_y(y_true)
    s = _check_numeric(y_score, "y_score")
    _check_same_length(y_true=y, y_score=s)
    x_pos = s[y == 1]
    x_neg = s[y == 0]
    m, n = len(x_pos), len(x_neg)
    if m < 2 or n < 2:
        raise ModelError(
            f"y_true: DeLong variance needs at least 2 bads and 2 goods, got {m} and {n}"
        )
    tx = stats.rankdata(x_pos)
    ty = stats.rankdata(x_neg)
    tz = stats.rankdata(np.concatenate([x_pos, x_neg]))
    auc_value = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
    v10 = (tz[:m] - tx) / n  # placement of each bad among the goods
    v01 = 1.0 - (tz[m:] - ty) / m  # share of bads above each good
    var = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    se = float(math.sqrt(max(var, 0.0)))
    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    lower = max(0.0, auc_value - z * se)
    upper = min(1.0, auc_value + z * se)
    return DeLongResult(float(auc_value), float(lower), float(upper), se)


def ks_table(y_true: Any, y_score: Any) -> pd.DataFrame:
    """KS curve: one row per distinct score value, ascending.

    Columns: ``threshold``; ``cum_bad_rate`` = share of all bads with score <= threshold
    (the bads' empirical CDF); ``cum_good_rate`` = the same for goods; ``diff`` =
    ``cum_good_rate - cum_bad_rate`` (positive when goods score lower, as they should).
    """
    y = _check_y(y_true)
    s = _check_numeric(y_score, "y_score")
    _check_same_length(y_true=y, y_score=s)
    thresholds, inverse = np.unique(s, return_inverse=True)
    bads = np.bincount(inverse, weights=y, minlength=len(thresholds))
    totals = np.bincount(inverse, minlength=len(thresholds))
    goods = totals - bads
    cum_bad = np.cumsum(bads) / bads.sum()
    cum_good = np.cumsum(goods) / goods.sum()
    return pd.DataFrame(
        {
            "threshold": thresholds,
            "cum_bad_rate": cum_bad,
            "cum_good_rate": cum_good,
            "diff": cum_good - cum_bad,
        }
    )


def ks(y_true: Any, y_score: Any) -> KSResult:
    """Kolmogorov-Smirnov statistic: ``max |F_bad(t) - F_good(t)|`` over score values
    ``t`` (empirical CDFs, ``score <= t``), and the lowest score ``t`` attaining it."""
    table = ks_table(y_true, y_score)
    gap = table["diff"].abs().to_numpy()
    i = int(np.argmax(gap))
    return KSResult(float(gap[i]), float(table["threshold"].iloc[i]))


# --------------------------------------------------------------------------- stability


def _psi_contributions(e: np.ndarray, a: np.ndarray, eps: float) -> np.ndarray:
    ef = np.maximum(e, eps)
    af = np.maximum(a, eps)
    return (af - ef) * np.log(af / ef)


def _check_eps(eps: float) -> float:
    if not (isinstance(eps, (int, float)) and 0 < eps < 1):
        raise ModelError(f"eps: must be in (0, 1), got {eps!r}")
    return float(eps)


def psi_from_shares(
    expected_shares: Sequence[float], actual_shares: Sequence[float], eps: float = PSI_EPS
) -> float:
    """PSI from per-bin shares: ``sum (a - e) * ln(a / e)``.

    Each share vector must be non-negative and sum to 1 (tolerance 1e-6). A share of 0
    (empty bin) is floored at ``eps`` (default 1e-4) before the formula; shares are not
    renormalised after the floor.
    """
    eps = _check_eps(eps)
    e = _check_numeric(expected_shares, "expected_shares")
    a = _check_numeric(actual_shares, "actual_shares")
    _check_same_length(expected_shares=e, actual_shares=a)
    for name, v in (("expected_shares", e), ("actual_shares", a)):
        if (v < 0).any():
            raise ModelError(f"{name}: shares must be non-negative")
        if abs(v.sum() - 1.0) > 1e-6:
            raise ModelError(f"{name}: shares must sum to 1, got {v.sum():.8g}")
    return float(_psi_contributions(e, a, eps).sum())


def _numeric_edges(expected: np.ndarray, bins: int, breaks: Sequence[float] | None) -> np.ndarray:
    """Interior cut points: user ``breaks`` or the quantiles of ``expected``."""
    if breaks is not None:
        try:
            cuts = np.asarray(breaks, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ModelError(f"breaks: must be numeric cut points, got {breaks!r}") from None
        if np.isnan(cuts).any():
            raise ModelError("breaks: contains NaN")
        cuts = cuts[np.isfinite(cuts)]  # the outer bins are always open: drop -inf / +inf
        if len(cuts) and np.any(np.diff(cuts) <= 0):
            raise ModelError("breaks: cut points must be strictly increasing")
    else:
        bins = _check_int(bins, "bins", 1)
        cuts = np.unique(np.quantile(expected, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    return cuts


def _fmt(v: float) -> str:
    return "inf" if v == np.inf else "-inf" if v == -np.inf else f"{v:.6g}"


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
        cuts = _numeric_edges(e_num, bins, breaks)
        edges = np.concatenate([[-np.inf], cuts, [np.inf]])
        # right-closed bins (lower, upper]
        e_idx = np.searchsorted(cuts, e_num, side="left")
        a_idx = np.searchsorted(cuts, a_num, side="left")
        e_counts = np.bincount(e_idx, minlength=len(edges) - 1)
        a_counts = np.bincount(a_idx, minlength=len(edges) - 1)
        for i in range(len(edges) - 1):
            rows.append(
                {
                    "bin": f"({_fmt(edges[i])}, {_fmt(edges[i + 1])}]",
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


def psi_table(
    expected: Any,
    actual: Any,
    bins: int = 10,
    breaks: Sequence[float] | None = None,
    eps: float = PSI_EPS,
) -> pd.DataFrame:
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
    e = _check_numeric(expected, "expected")
    a = _check_numeric(actual, "actual")
    return _stability_table(pd.Series(e), pd.Series(a), bins, breaks, eps, categorical=False)


def psi(
    expected: Any,
    actual: Any,
    bins: int = 10,
    breaks: Sequence[float] | None = None,
    eps: float = PSI_EPS,
) -> float:
    """Population Stability Index ``sum (a - e) * ln(a / e)`` over the bins of
    :func:`psi_table` (quantile bins of ``expected``; empty-bin shares floored at ``eps``)."""
    return float(psi_table(expected, actual, bins=bins, breaks=breaks, eps=eps)["psi_contribution"].sum())


def csi_table(
    expected: Any,
    actual: Any,
    bins: int = 10,
    breaks: Sequence[float] | None = None,
    eps: float = PSI_EPS,
) -> pd.DataFrame:
    """Characteristic Stability Index table of one feature (= PSI of that feature).

    Numeric features (numeric dtype of ``expected``) are binned as in :func:`psi_table`;
    categorical features (object, string, category or bool dtype) get one bin per
    category seen in either sample (a category new in ``actual`` has an expected share of
    0, floored at ``eps``). Missing values (NaN/None) form their own bin ``"Missing"``.
    """
    eps = _check_eps(eps)
    e = _as_series(expected, "expected")
    a = _as_series(actual, "actual")
    categorical = _is_categorical(e)
    if not categorical:
        if _is_categorical(a) and not a.isna().all():
            raise ModelError(
                f"actual: expected is numeric but actual has dtype {a.dtype}; "
                "both samples of a feature must have the same kind"
            )
        e_num = _check_numeric(e, "expected", allow_nan=True)
        a_num = _check_numeric(a, "actual", allow_nan=True)
        e, a = pd.Series(e_num), pd.Series(a_num)
    elif breaks is not None:
        raise ModelError("breaks: only applies to a numeric feature, expected is categorical")
    return _stability_table(e, a, bins, breaks, eps, categorical=categorical)


def csi(
    expected: Any,
    actual: Any,
    bins: int = 10,
    breaks: Sequence[float] | None = None,
    eps: float = PSI_EPS,
) -> float:
    """Characteristic Stability Index of one feature; see :func:`csi_table`."""
    return float(csi_table(expected, actual, bins=bins, breaks=breaks, eps=eps)["psi_contribution"].sum())


# --------------------------------------------------------------------------- WOE / IV


def _bin_order(x: pd.Series) -> list[Any]:
    present = x.dropna()
    if isinstance(x.dtype, pd.CategoricalDtype):
        seen = set(present.unique())
        return [c for c in x.cat.categories if c in seen]
    labels = list(pd.unique(present))
    try:
        return sorted(labels)
    except TypeError:
        return labels


def woe_iv_table(x_binned: Any, y_true: Any) -> pd.DataFrame:
    """Weight of evidence and information value per bin of an already binned feature.

    ``x_binned`` holds bin labels (any values; a categorical dtype keeps its category
    order, otherwise labels are sorted); missing values form their own bin "Missing".
    Columns: ``bin, count, bads, goods, dist_bad, dist_good, woe, iv`` where
    ``dist_bad = bads / total bads``, ``woe = ln(dist_good / dist_bad)`` (optbinning's
    sign: riskier bins have negative WOE) and ``iv = (dist_good - dist_bad) * woe``.

    A bin with no bads or no goods gets ``woe = 0`` and ``iv = 0``, as optbinning does
    (no smoothing); merge such bins before using the WOE in a model.
    """
    y = _check_y(y_true)
    x = _as_series(x_binned, "x_binned")
    _check_same_length(x_binned=x.to_numpy(), y_true=y)
    missing = x.isna().to_numpy()
    labels = _bin_order(x)
    rows = []
    for lab in labels:
        mask = (x == lab).to_numpy() & ~missing
        rows.append((lab, int(mask.sum()), int(y[mask].sum())))
    if missing.any():
        rows.append((MISSING_LABEL, int(missing.sum()), int(y[missing].sum())))
    table = pd.DataFrame(rows, columns=["bin", "count", "bads"])
    table["goods"] = table["count"] - table["bads"]
    table["dist_bad"] = table["bads"] / table["bads"].sum()
    table["dist_good"] = table["goods"] / table["goods"].sum()
    ok = (table["bads"] > 0) & (table["goods"] > 0)
    woe = np.zeros(len(table))
    woe[ok.to_numpy()] = np.log(table.loc[ok, "dist_good"] / table.loc[ok, "dist_bad"])
    table["woe"] = woe
    table["iv"] = np.where(ok, (table["dist_good"] - table["dist_bad"]) * woe, 0.0)
    return table


def iv(x_binned: Any, y_true: Any) -> float:
    """Information value: the sum of :func:`woe_iv_table`'s ``iv`` column."""
    return float(woe_iv_table(x_binned, y_true)["iv"].sum())


# --------------------------------------------------------------------------- calibration


def brier(y_true: Any, pd: Any) -> float:  # noqa: A002 - "pd" is the domain name
    """Brier score: mean squared difference between PD and outcome."""
    y = _check_y(y_true, both_classes=False)
    p = _check_pd(pd)
    _check_same_length(y_true=y, pd=p)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: Any, pd: Any) -> float:  # noqa: A002
    """Mean negative log-likelihood of the outcomes under the PDs. PDs are clipped to
    ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon (as scikit-learn does), so
    a PD of exactly 0 or 1 gives a large but finite loss."""
    y = _check_y(y_true, both_classes=False)
    p = _check_pd(pd)
    _check_same_length(y_true=y, pd=p)
    eps = np.finfo(float).eps
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _quantile_groups(values: np.ndarray, groups: int) -> np.ndarray:
    """Group index 0..k-1 by the ``groups``-quantiles of ``values``; right-closed
    bins, duplicate quantiles merged (tied values are never split between groups)."""
    cuts = np.unique(np.quantile(values, np.linspace(0.0, 1.0, groups + 1)[1:-1]))
    idx = np.searchsorted(cuts, values, side="left")
    _, dense = np.unique(idx, return_inverse=True)  # drop empty groups
    return dense


def hosmer_lemeshow(y_true: Any, pd: Any, groups: int = 10) -> HLResult:  # noqa: A002
    """Hosmer-Lemeshow test over ``groups`` quantile groups of the PD.

    Groups are cut at the quantiles of ``pd`` (right-closed, ties kept together, so
    heavily tied PDs can give fewer groups ``g``). Statistic
    ``sum_g (O_g - E_g)^2 / (E_g * (1 - E_g / n_g))`` with ``O_g`` observed bads and
    ``E_g`` the sum of PDs; ``dof = g - 2``; p-value from the chi-square upper tail.
    """
    y = _check_y(y_true, both_classes=False)
    p = _check_pd(pd)
    _check_same_length(y_true=y, pd=p)
    groups = _check_int(groups, "groups", 3)
    g = _quantile_groups(p, groups)
    k = int(g.max()) + 1
    if k < 3:
        raise ModelError(
            f"pd: only {k} distinct PD group(s) could be formed; Hosmer-Lemeshow needs >= 3"
        )
    n_g = np.bincount(g, minlength=k).astype(float)
    obs = np.bincount(g, weights=y, minlength=k)
    exp = np.bincount(g, weights=p, minlength=k)
    denom = exp * (1.0 - exp / n_g)
    if np.any(denom <= 0):
        raise ModelError("pd: a Hosmer-Lemeshow group has all PDs equal to 0 or 1")
    stat = float(np.sum((obs - exp) ** 2 / denom))
    dof = k - 2
    return HLResult(stat, dof, float(stats.chi2.sf(stat, dof)))


def grade_tests(
    y_true: Any, pd: Any, grade: Any, alpha: float = 0.05  # noqa: A002
) -> pd.DataFrame:
    """Per-grade PD backtest.

    Columns: ``grade, n, defaults, mean_pd, observed_dr``, ``binomial_p_value``
    (one-sided exact binomial test, H0: the PD is not underestimated, i.e. the default
    rate <= mean_pd; ``scipy.stats.binomtest(defaults, n, mean_pd, "greater")``),
    ``jeffreys_p_value`` (``Beta(defaults + 1/2, n - defaults + 1/2).cdf(mean_pd)``, the
    ECB/EBA Jeffreys test), and ``binomial_pass`` / ``jeffreys_pass`` = p-value >=
    ``alpha``. Grades follow their categorical order if any, otherwise sorted order.
    """
    alpha = _check_alpha(alpha)
    y = _check_y(y_true, both_classes=False)
    p = _check_pd(pd)
    g = _as_1d(grade, "grade")
    _check_same_length(y_true=y, pd=p, grade=g)
    gs = grade.reset_index(drop=True) if isinstance(grade, pandas.Series) else pandas.Series(g)
    if gs.isna().any():
        raise ModelError(f"grade: contains {int(gs.isna().sum())} missing value(s)")
    rows = []
    for lab in _bin_order(gs):
        mask = (gs == lab).to_numpy()
        n = int(mask.sum())
        d = int(y[mask].sum())
        mean_pd = float(p[mask].mean())
        p_binom = float(stats.binomtest(d, n, mean_pd, alternative="greater").pvalue)
        p_jeff = float(stats.beta.cdf(mean_pd, d + 0.5, n - d + 0.5))
        rows.append(
            {
                "grade": lab,
                "n": n,
                "defaults": d,
                "mean_pd": mean_pd,
                "observed_dr": d / n,
                "binomial_p_value": p_binom,
                "jeffreys_p_value": p_jeff,
                "binomial_pass": p_binom >= alpha,
                "jeffreys_pass": p_jeff >= alpha,
            }
        )
    return pandas.DataFrame(rows)


# --------------------------------------------------------------------------- tables


def lift_table(y_true: Any, y_score: Any, n_bins: int = 10) -> pd.DataFrame:
    """Lift / gains table by quantile bin of the risk score, **riskiest bin first**.

    Bins are cut at the ``n_bins``-quantiles of ``y_score`` (right-closed, ties kept
    together, so heavy ties give fewer bins). Columns: ``bin`` (1 = riskiest),
    ``min_score, max_score, n, bads, bad_rate, cum_n, cum_bads, cum_bad_rate,
    cum_capture_rate`` (share of all bads in this and riskier bins), ``lift``
    (bad_rate / overall bad rate) and ``cum_lift`` (cum_bad_rate / overall bad rate).
    """
    y = _check_y(y_true)
    s = _check_numeric(y_score, "y_score")
    _check_same_length(y_true=y, y_score=s)
    n_bins = _check_int(n_bins, "n_bins", 1)
    g = _quantile_groups(s, n_bins)
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
    y = _check_y(y_true, both_classes=False)
    if bins is None:
        x = _as_1d(score_or_band, "score_or_band")
        _check_same_length(y_true=y, score_or_band=x)
        xs = (
            score_or_band.reset_index(drop=True)
            if isinstance(score_or_band, pd.Series)
            else pd.Series(x)
        )
        if xs.isna().any():
            raise ModelError(f"score_or_band: contains {int(xs.isna().sum())} missing value(s)")
        labels = _bin_order(xs)
        idx = np.empty(len(xs), dtype=np.int64)
        for i, lab in enumerate(labels):
            idx[(xs == lab).to_numpy()] = i
        lower = upper = np.full(len(labels), np.nan)
        band_names: list[Any] = labels
    else:
        s = _check_numeric(score_or_band, "score_or_band")
        _check_same_length(y_true=y, score_or_band=s)
        if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
            cuts = _numeric_edges(s, int(bins), None)
        else:
            cuts = _numeric_edges(s, 0, bins)
        edges = np.concatenate([[-np.inf], cuts, [np.inf]])
        idx = np.searchsorted(cuts, s, side="left")
        lower, upper = edges[:-1], edges[1:]
        band_names = [f"({_fmt(lo)}, {_fmt(up)}]" for lo, up in zip(lower, upper)]
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
    y = _check_y(y_true)
    s = _check_numeric(score, "score")
    _check_same_length(y_true=y, score=s)
    if cutoffs is None:
        cuts = np.unique(np.quantile(s, np.linspace(0.0, 1.0, 11)))
    else:
        cuts = np.sort(_check_numeric(cutoffs, "cutoffs"))
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

