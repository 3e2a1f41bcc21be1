"""A candidate as it is registered: estimator + PD calibration + master scale + reason codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import ModelError
from models.calibration import Calibrator, MasterScale
from models.reason_codes import rank_reasons, scorecard_points_lost


class CreditModel:
    """A fitted estimator made ready for decisions.

    ``predict_proba`` is the calibrated PD (calibrated to the development bad rate),
    ``score`` the estimator's points (higher = safer), ``grade`` the master-scale grade
    (1 = safest) of the calibrated PD, and ``reasons`` the top ``top_n`` reason codes in
    plain words (``labels``): the variables that cost most points (scorecard) or added
    most to the PD (tree models, from XGBoost's own ``pred_contribs``).
    """

    def __init__(self, name: str, estimator, calibration: str = "platt", n_grades: int = 10, top_n: int = 4,
                 labels: dict[str, str] | None = None, exact_reasons: bool = False):
        self.name = name
        self.estimator = estimator
        self.calibration = calibration
        self.n_grades = n_grades
        self.top_n = top_n
        self.labels = dict(labels or {})
        self.exact_reasons = exact_reasons  # tree models: TreeSHAP (exact, slow) or path attribution (fast)

    def fit_calibration(self, X_dev: pd.DataFrame, y_dev) -> "CreditModel":
        """Calibrate the fitted estimator's PD and cut the master scale on development."""
        raw = self.estimator.predict_proba(X_dev)
        self.calibrator_ = Calibrator(self.calibration).fit(raw, np.asarray(y_dev))
        self.master_scale_ = MasterScale(self.n_grades).fit(self.calibrator_.transform(raw))
        return self

    def raw_pd(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.predict_proba(X), dtype=float)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "calibrator_"):
            raise ModelError(f"candidate {self.name}: fit_calibration was not called")
        return self.calibrator_.transform(self.raw_pd(X))

    def score(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.estimator.score(X)).astype(int)

    def grade(self, X: pd.DataFrame) -> np.ndarray:
        return self.master_scale_.grade(self.predict_proba(X))

    def reasons(self, X: pd.DataFrame) -> pd.DataFrame:
        if hasattr(self.estimator, "points_table_"):
            values = scorecard_points_lost(self.estimator, X)
        elif hasattr(self.estimator, "contributions"):
            values = self.estimator.contributions(X, approx=not self.exact_reasons).drop(columns="bias")
        else:  # no per-feature attribution (e.g. HistGradientBoosting): no reasons
            return pd.DataFrame({f"reason_{i + 1}": pd.Series([None] * len(X), dtype=object, index=X.index)
                                 for i in range(self.top_n)})
        return rank_reasons(values.to_numpy(dtype=float), list(values.columns), self.top_n, self.labels, index=X.index)

    def decide(self, X: pd.DataFrame) -> pd.DataFrame:
        """PD, score, grade and reason codes for each row, in input order."""
        raw = self.raw_pd(X)
        pd_ = self.calibrator_.transform(raw)
        if hasattr(self.estimator, "points_table_"):
            score = self.score(X)
        else:  # tree models: points are the scaled raw PD; no second pass through the trees
            score = np.rint(self.estimator.scaling.pd_to_score(raw)).astype(int)
        out = pd.DataFrame({"pd": pd_, "score": score, "grade": self.master_scale_.grade(pd_)}, index=X.index)
        return pd.concat([out, self.reasons(X)], axis=1)
