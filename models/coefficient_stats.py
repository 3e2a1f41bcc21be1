"""Coefficient statistics of a fitted logistic regression: intercept, standard errors, Wald
z and p-values, and variance inflation factors — with numpy only.

Standard errors come from the observed Fisher information of the log-likelihood at the
fitted coefficients, ``(X1' W X1)^-1`` with ``X1 = [1, X]`` and ``W = diag(p (1 - p))``. A
scorecard fitted with a small L2 penalty (scikit-learn's ``C``) has its coefficients
pulled slightly towards 0; the Wald statistics are those of the fitted values.
VIF of feature ``j`` is ``1 / (1 - R_j^2)``, ``R_j^2`` from the least-squares regression of
``x_j`` on the other features with an intercept.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from features.errors import ModelError


def _design(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(X)), X])


def logistic_covariance(X: np.ndarray, intercept: float, coef: Sequence[float]) -> np.ndarray:
    """Covariance of (intercept, coef...) from the inverse Hessian of the negative log-likelihood."""
    X = np.asarray(X, dtype=float)
    beta = np.concatenate([[float(intercept)], np.asarray(coef, dtype=float).ravel()])
    if X.ndim != 2 or X.shape[1] + 1 != len(beta):
        raise ModelError(f"X: has {X.shape[1] if X.ndim == 2 else '?'} columns for {len(beta) - 1} coefficients")
    X1 = _design(X)
    p = 1.0 / (1.0 + np.exp(-(X1 @ beta)))
    hessian = X1.T @ (X1 * (p * (1 - p))[:, None])
    try:
        return np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        raise ModelError("X: the information matrix is singular (perfectly collinear features)") from None


def vif(X: np.ndarray) -> np.ndarray:
    """Variance inflation factor of each column of ``X`` (inf for a column the others explain exactly)."""
    X = np.asarray(X, dtype=float)
    k = X.shape[1]
    if k == 1:
        return np.ones(1)
    out = np.empty(k)
    for j in range(k):
        others = _design(np.delete(X, j, axis=1))
        fit, *_ = np.linalg.lstsq(others, X[:, j], rcond=None)
        resid = X[:, j] - others @ fit
        tss = np.sum((X[:, j] - X[:, j].mean()) ** 2)
        r2 = 1.0 - resid @ resid / tss if tss > 0 else 1.0
        out[j] = np.inf if r2 >= 1 - 1e-12 else 1.0 / (1.0 - r2)
    return out


def coefficient_table(X: np.ndarray, names: Sequence[str], intercept: float, coef: Sequence[float]) -> pd.DataFrame:
    """``term, coefficient, std_error, z, p_value, vif`` for the intercept and each feature (two-sided Wald test)."""
    names = list(names)
    if len(names) != np.asarray(X).shape[1]:
        raise ModelError(f"names: {len(names)} names for {np.asarray(X).shape[1]} columns")
    cov = logistic_covariance(X, intercept, coef)
    beta = np.concatenate([[float(intercept)], np.asarray(coef, dtype=float).ravel()])
    se = np.sqrt(np.diag(cov))
    z = beta / se
    return pd.DataFrame({"term": ["(intercept)", *names], "coefficient": beta, "std_error": se, "z": z,
                         "p_value": 2 * stats.norm.sf(np.abs(z)), "vif": np.concatenate([[np.nan], vif(X)])})
