"""The candidate interface, and a candidate as it is registered: estimator + PD calibration
+ master scale + reason codes."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from features.errors import ModelError
from models.calibration import Calibrator, MasterScale
from models.reason_codes import rank_reasons
from models.scorecard import ScoreScaling


class Candidate(Protocol):
    """What every candidate estimator implements (scorecard, XGBoost, HistGradientBoosting).

    Raw feature frames in; PD = probability of bad; points higher = safer.

    * ``fit(X, y, X_valid=None, y_valid=None)`` — fit on ``(X, y)``; the evaluation set is
      for early stopping and the parameter search (estimators that need one say so when
      it is missing; the scorecard ignores it);
    * ``predict_proba(X)`` — the raw (uncalibrated) PD;
    * ``score(X, pd_raw=None)`` — integer points; ``pd_raw`` (the raw PD of the same rows)
      spares models whose points are a function of the PD a second pass;
    * ``attributions(X, exact=False)`` — per-feature contributions to the risk of each row
      (higher = riskier: points lost for the scorecard, log-odds added for trees), or
      ``None`` when the model has none;
    * ``explain(X, exact=False)`` — ``(predict_proba, score, attributions)`` of the same rows
      from one pass over them (what a decision reads; each equal to its own method's result);
    * ``frozen(rounds_scale=1.0)`` — an unfitted copy with this fit's configuration fixed
      (binning settings, variables, parameters, boosting rounds × ``rounds_scale``) that
      fits without an evaluation set: the protocol's refit on all development rows;
    * ``features_`` — the features the fitted model reads; ``notes_`` — feature → why it
      was left out after fitting; ``report_tables()`` — title → table for the report.
    """

    scaling: ScoreScaling
    features_: list[str]
    notes_: dict[str, str]

    def fit(self, X: pd.DataFrame, y, X_valid: pd.DataFrame | None = None, y_valid=None) -> "Candidate": ...

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray: ...

    def score(self, X: pd.DataFrame, pd_raw: np.ndarray | None = None) -> np.ndarray: ...

    def attributions(self, X: pd.DataFrame, exact: bool = False) -> pd.DataFrame | None: ...

    def explain(self, X: pd.DataFrame, exact: bool = False) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None]: ...

    def report_tables(self) -> dict[str, pd.DataFrame]: ...

    def frozen(self, rounds_scale: float = 1.0) -> "Candidate": ...


class CreditModel:
    """A fitted candidate made ready for decisions.

    ``predict_proba`` is the calibrated PD (calibrated on held-out rows, see
    :class:`models.protocol.DevelopmentProtocol`), ``score`` the estimator's points (higher
    = safer), ``grade`` the master-scale grade (1 = safest) of the calibrated PD, and
    ``reasons`` the top ``top_n`` reason codes in plain words (``labels``): the variables
    that cost most points (scorecard) or added most to the PD (tree models).
    ``calibration`` holds :class:`~models.calibration.Calibrator`'s parameters
    (``method``, ``long_run_rate``, ``pd_floor``).
    """

    def __init__(self, name: str, estimator: Candidate, calibration: dict | None = None, n_grades: int = 10,
                 top_n: int = 4, labels: dict[str, str] | None = None, exact_reasons: bool = False):
        self.name = name
        self.estimator = estimator
        self.calibration = dict(calibration or {"method": "platt"})
        self.n_grades = n_grades
        self.top_n = top_n
        self.labels = dict(labels or {})
        self.exact_reasons = exact_reasons  # tree models: TreeSHAP (exact, slow) or path attribution (fast)
        # set by models.protocol.DevelopmentProtocol: the AUCs the choice read (fit and validation rows, before any
        # refit on all development) and how the estimator in use was fitted and calibrated
        self.choice_auc: dict[str, float] = {}
        self.development: dict = {"final_fit": "fit_rows", "fitted_on": "the development (fit) rows",
                                  "calibrated_on": "the validation rows"}

    def fit_calibration(self, X_valid: pd.DataFrame, y_valid) -> "CreditModel":
        """Calibrate the fitted estimator's PD and cut the master scale on held-out rows."""
        return self.calibrate(self.estimator.predict_proba(X_valid), y_valid)

    def calibrate(self, raw_pd, y) -> "CreditModel":
        """Calibrate and cut the master scale on raw PDs of rows the model did not learn from
        (held-out rows, or the cross-fitted out-of-fold PDs of the refit on all development)."""
        raw = np.asarray(raw_pd, dtype=float)
        self.calibrator_ = Calibrator(**self.calibration).fit(raw, np.asarray(y))
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

    def pd_and_score(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``predict_proba`` and ``score`` of the same rows from one pass of the estimator (a tree model's points
        are a function of its raw PD: scoring its rows a second time cost the 1M backtest 7.5 s)."""
        if not hasattr(self, "calibrator_"):
            raise ModelError(f"candidate {self.name}: fit_calibration was not called")
        raw = self.raw_pd(X)
        return self.calibrator_.transform(raw), np.asarray(self.estimator.score(X, pd_raw=raw)).astype(int)

    def grade(self, X: pd.DataFrame) -> np.ndarray:
        return self.master_scale_.grade(self.predict_proba(X))

    def reasons(self, X: pd.DataFrame) -> pd.DataFrame:
        return self._reasons(self.estimator.attributions(X, exact=self.exact_reasons), X.index)

    def _reasons(self, values: pd.DataFrame | None, index: pd.Index) -> pd.DataFrame:
        if values is None:  # no per-feature attribution (e.g. HistGradientBoosting): no reasons
            return pd.DataFrame({f"reason_{i + 1}": pd.Series([None] * len(index), dtype=object, index=index)
                                 for i in range(self.top_n)})
        return rank_reasons(values.to_numpy(), list(values.columns), self.top_n, self.labels, index=index)

    def decide(self, X: pd.DataFrame, reasons: bool = True) -> pd.DataFrame:
        """PD, score, grade and (with ``reasons``) reason codes for each row, in input order.

        One pass of the estimator over the rows (``explain``): the PD, points and
        attributions are those of ``predict_proba``, ``score`` and ``reasons``. Without
        ``reasons`` (monitoring, champion comparison) no attribution is computed
        (``pd_and_score``): the same PD, score and grade at a fraction of a tree model's cost.
        """
        if reasons:
            raw, points, values = self.estimator.explain(X, exact=self.exact_reasons)
            pd_ = self.calibrator_.transform(np.asarray(raw, dtype=float))
        else:
            pd_, points = self.pd_and_score(X)
        out = pd.DataFrame({"pd": pd_, "score": np.asarray(points).astype(int), "grade": self.master_scale_.grade(pd_)},
                           index=X.index)
        return pd.concat([out, self._reasons(values, X.index)], axis=1) if reasons else out
