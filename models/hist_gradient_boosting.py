"""scikit-learn's HistGradientBoostingClassifier as a candidate, with the XGBoost challenger's interface."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from features.errors import ModelError
from models.discrimination import auc
from models.scorecard import ScoreScaling
from models.tree_inputs import check_xy, fit_raw_features, require_eval_set

__all__ = ["HistGradientBoostingCandidate"]


class HistGradientBoostingCandidate:
    """scikit-learn's HistGradientBoostingClassifier with the challenger's interface.

    Native missing values and categories (``category`` dtype fixed at fit, unseen →
    missing), early stopping on the given validation split (log loss, 20 rounds),
    monotone constraints as for :class:`XGBoostChallenger`. No parameter search:
    ``params`` go straight to the estimator. No ``contributions``.
    """

    def __init__(self, scaling: ScoreScaling | None = None, monotone: dict[str, int] | None = None,
                 params: dict | None = None, seed: int = 42, categorical: Sequence[str] = (),
                 fixed_iter: int | None = None):
        if fixed_iter is not None and fixed_iter < 1:
            raise ModelError(f"challenger: fixed_iter must be at least 1, got {fixed_iter}")
        self.fixed_iter = fixed_iter  # set by frozen(): no early stopping, no evaluation set
        self.scaling = scaling or ScoreScaling()
        self.monotone = dict(monotone or {})
        self.params = dict(params or {})
        self.seed = int(seed)
        self.categorical = list(categorical)

    def frozen(self, rounds_scale: float = 1.0) -> "HistGradientBoostingCandidate":
        """An unfitted copy with the early-stopping iteration count (times ``rounds_scale``) fixed."""
        if not hasattr(self, "estimator_"):
            raise ModelError("challenger: frozen() needs a fitted candidate")
        return HistGradientBoostingCandidate(self.scaling, monotone=self.monotone, params=self.params, seed=self.seed,
                                             categorical=self.categorical,
                                             fixed_iter=max(1, int(round(self.estimator_.n_iter_ * float(rounds_scale)))))

    def fit(self, X: pd.DataFrame, y, X_valid: pd.DataFrame | None = None, y_valid=None) -> "HistGradientBoostingCandidate":
        if self.fixed_iter is None:
            require_eval_set(X_valid, y_valid)
            y_valid = check_xy(X_valid, y_valid, "validation")
        y = check_xy(X, y, "development")
        self.frame_, self.features_, monotone = fit_raw_features(X, self.categorical, self.monotone)
        too_many = [c for c, cats in self.frame_.categories_.items() if len(cats) > 254]
        if too_many:
            raise ModelError(f"challenger: categorical features {too_many} have more than 254 categories")
        settings = {"learning_rate": 0.05, "max_iter": 1000, "max_leaf_nodes": 15, "min_samples_leaf": 40,
                    "l2_regularization": 1.0, "early_stopping": True, "n_iter_no_change": 20,
                    "scoring": "loss", **self.params}
        if self.fixed_iter is not None:
            settings.update(max_iter=self.fixed_iter, early_stopping=False)
        self.estimator_ = HistGradientBoostingClassifier(
            categorical_features="from_dtype", monotonic_cst=monotone or None, random_state=self.seed, **settings)
        if self.fixed_iter is not None:
            self.estimator_.fit(self.frame_.transform(X), y)
        else:
            self.estimator_.fit(self.frame_.transform(X), y, X_val=self.frame_.transform(X_valid), y_val=y_valid)
            self.valid_auc_ = auc(y_valid, self.predict_proba(X_valid))
        self.best_iteration_ = int(self.estimator_.n_iter_) - 1
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        if not hasattr(self, "estimator_"):
            raise ModelError("challenger: not fitted; call fit(X, y, X_valid, y_valid) first")
        return self.estimator_.predict_proba(self.frame_.transform(X))[:, 1].astype(float)

    def score(self, X: pd.DataFrame, pd_raw: np.ndarray | None = None) -> np.ndarray:
        return np.rint(self.scaling.pd_to_score(self.predict_proba(X) if pd_raw is None else pd_raw)).astype(int)

    @property
    def notes_(self) -> dict[str, str]:
        return {}

    def attributions(self, X: pd.DataFrame, exact: bool = False) -> None:
        """None: scikit-learn's histogram boosting has no per-row attribution, so no reason codes."""
        return None

    def explain(self, X: pd.DataFrame, exact: bool = False) -> tuple[np.ndarray, np.ndarray, None]:
        raw = self.predict_proba(X)
        return raw, self.score(X, pd_raw=raw), None

    def report_tables(self) -> dict[str, pd.DataFrame]:
        return {}
