"""Scorecard coefficient statistics against independent computations on German credit."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from models.coefficient_stats import coefficient_table, vif

COLUMNS = ["duration2", "amount5", "installment8", "age13", "cards16"]


@pytest.fixture(scope="module")
def fitted(german):
    X = german[COLUMNS].to_numpy(dtype=float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (german["GoodCredit"] == 2).to_numpy(dtype=int)
    model = LogisticRegression(C=np.inf, max_iter=2000, tol=1e-10).fit(X, y)
    return X, y, model


def _numeric_hessian(X, y, beta, h=1e-4):
    """Finite-difference Hessian of the negative log-likelihood (no analytic formula shared with the code)."""
    X1 = np.column_stack([np.ones(len(X)), X])

    def nll(b):
        z = X1 @ b
        return np.sum(np.logaddexp(0, z) - y * z)

    k = len(beta)
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            e_i, e_j = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (nll(beta + e_i + e_j) - nll(beta + e_i - e_j) - nll(beta - e_i + e_j) + nll(beta - e_i - e_j)) / (4 * h * h)
    return H


def test_standard_errors_and_p_values_match_a_numeric_hessian(fitted):
    X, y, model = fitted
    table = coefficient_table(X, COLUMNS, model.intercept_[0], model.coef_[0])
    beta = np.concatenate([model.intercept_, model.coef_[0]])
    se = np.sqrt(np.diag(np.linalg.inv(_numeric_hessian(X, y, beta))))
    assert table["term"].tolist() == ["(intercept)", *COLUMNS]
    np.testing.assert_allclose(table["coefficient"], beta, rtol=1e-12)
    np.testing.assert_allclose(table["std_error"], se, rtol=1e-4)
    np.testing.assert_allclose(table["p_value"], 2 * stats.norm.sf(np.abs(beta / se)), rtol=1e-3)
    assert table.set_index("term").loc["duration2", "p_value"] < 0.01  # loan duration matters on German credit


@pytest.mark.skipif(importlib.util.find_spec("statsmodels") is None, reason="statsmodels is an optional cross-check")
def test_matches_statsmodels(fitted):
    import statsmodels.api as sm

    X, y, model = fitted
    res = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    table = coefficient_table(X, COLUMNS, model.intercept_[0], model.coef_[0])
    np.testing.assert_allclose(table["std_error"], res.bse, rtol=1e-4)


def test_vif_is_the_diagonal_of_the_inverse_correlation_matrix(fitted):
    X, _, _ = fitted
    np.testing.assert_allclose(vif(X), np.diag(np.linalg.inv(np.corrcoef(X, rowvar=False))), rtol=1e-8)
    collinear = np.column_stack([X[:, 0], X[:, 1], X[:, 0] + X[:, 1]])
    assert np.isinf(vif(collinear)).all()
