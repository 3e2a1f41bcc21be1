"""Held-out PDs on real data for tests of PD diagnostics (fairness, supervisory tests).

A plain logistic regression on five standardised Taiwan credit-card columns (no SEX,
MARRIAGE or AGE, so the protected attributes stay out of the model), fitted on the even
rows and scored on the odd ones: a real PD with real discrimination, cheap to fit.

    from tests.taiwan_pd import held_out_pd
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

FEATURES = ("LIMIT_BAL", "PAY_0", "PAY_2", "BILL_AMT1", "PAY_AMT1")


def held_out_pd(taiwan: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(scored, y, pd)``: the mask of the scored (odd) rows of ``taiwan``, their outcome and their PD."""
    x = taiwan[list(FEATURES)].to_numpy(dtype=float)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    y = taiwan["default_next_month"].to_numpy()
    fit = np.arange(len(y)) % 2 == 0
    p = LogisticRegression(max_iter=500).fit(x[fit], y[fit]).predict_proba(x[~fit])[:, 1]
    return ~fit, y[~fit], p
