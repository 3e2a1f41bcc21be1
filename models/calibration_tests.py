"""Calibration tests: does the PD match the observed default rate.

Brier score, log loss, the Hosmer-Lemeshow test, and the per-grade one-sided binomial
and Jeffreys tests (ECB/EBA) of a master scale. Inputs follow the conventions of
:mod:`models.metric_inputs`; calibration metrics accept a sample with one class only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas
from scipy import stats

from features.errors import ModelError
from models.metric_inputs import (
    as_1d,
    bin_order,
    check_alpha,
    check_int,
    check_pd,
    check_same_length,
    check_y,
    quantile_groups,
)

__all__ = ["HLResult", "brier", "grade_tests", "hosmer_lemeshow", "log_loss"]

# Functions taking a probability of default call that argument ``pd`` (the domain's
# name); it shadows the pandas alias there, so they use the full ``pandas`` name.


class HLResult(NamedTuple):
    """Hosmer-Lemeshow goodness-of-fit test."""

    statistic: float
    dof: int
    p_value: float


def brier(y_true: Any, pd: Any) -> float:
    """Brier score: mean squared difference between PD and outcome."""
    y = check_y(y_true, both_classes=False)
    p = check_pd(pd)
    check_same_length(y_true=y, pd=p)
    return float(np.mean((p - y) ** 2))


def log_loss(y_true: Any, pd: Any) -> float:
    """Mean negative log-likelihood of the outcomes under the PDs. PDs are clipped to
    ``[eps, 1 - eps]`` with ``eps`` the float64 machine epsilon (as scikit-learn does), so
    a PD of exactly 0 or 1 gives a large but finite loss."""
    y = check_y(y_true, both_classes=False)
    p = check_pd(pd)
    check_same_length(y_true=y, pd=p)
    eps = np.finfo(float).eps
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def hosmer_lemeshow(y_true: Any, pd: Any, groups: int = 10) -> HLResult:
    """Hosmer-Lemeshow test over ``groups`` quantile groups of the PD.

    Groups are cut at the quantiles of ``pd`` (right-closed, ties kept together, so
    heavily tied PDs can give fewer groups ``g``). Statistic
    ``sum_g (O_g - E_g)^2 / (E_g * (1 - E_g / n_g))`` with ``O_g`` observed bads and
    ``E_g`` the sum of PDs; ``dof = g - 2``; p-value from the chi-square upper tail.
    """
    y = check_y(y_true, both_classes=False)
    p = check_pd(pd)
    check_same_length(y_true=y, pd=p)
    groups = check_int(groups, "groups", 3)
    g = quantile_groups(p, groups)
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
    y_true: Any, pd: Any, grade: Any, alpha: float = 0.05
) -> pandas.DataFrame:
    """Per-grade PD backtest.

    Columns: ``grade, n, defaults, mean_pd, observed_dr``, ``binomial_p_value``
    (one-sided exact binomial test, H0: the PD is not underestimated, i.e. the default
    rate <= mean_pd; ``scipy.stats.binomtest(defaults, n, mean_pd, "greater")``),
    ``jeffreys_p_value`` (``Beta(defaults + 1/2, n - defaults + 1/2).cdf(mean_pd)``, the
    ECB/EBA Jeffreys test), and ``binomial_pass`` / ``jeffreys_pass`` = p-value >=
    ``alpha``. Grades follow their categorical order if any, otherwise sorted order.
    """
    alpha = check_alpha(alpha)
    y = check_y(y_true, both_classes=False)
    p = check_pd(pd)
    g = as_1d(grade, "grade")
    check_same_length(y_true=y, pd=p, grade=g)
    gs = grade.reset_index(drop=True) if isinstance(grade, pandas.Series) else pandas.Series(g)
    if gs.isna().any():
        raise ModelError(f"grade: contains {int(gs.isna().sum())} missing value(s)")
    rows = []
    for lab in bin_order(gs):
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
