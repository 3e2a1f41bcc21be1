"""WOE logistic scorecard: logistic regression on WOE features, scaled to integer points.

Scaling: ``score = offset - factor * ln(odds_bad)`` with ``factor = pdo / ln 2`` and
``offset = base_points - factor * ln(base_odds)``, so ``base_points`` sit at
``base_odds``:1 good:bad odds and every ``pdo`` points double the good:bad odds.
Each bin's points are ``round(-(coef * woe + intercept / n) * factor + offset / n)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from features.binning import WoeBinner
from features.errors import ModelError


@dataclass(frozen=True)
class ScoreScaling:
    base_points: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        if self.base_odds <= 0 or self.pdo <= 0:
            raise ModelError(f"scaling: base_odds and pdo must be positive, got {self.base_odds}, {self.pdo}")

    @property
    def factor(self) -> float:
        return self.pdo / np.log(2.0)

    @property
    def offset(self) -> float:
        return self.base_points - self.factor * np.log(self.base_odds)

    def score_to_pd(self, score) -> np.ndarray:
        """The PD a score stands for: ``1 / (1 + exp((score - offset) / factor))``."""
        return 1.0 / (1.0 + np.exp((np.asarray(score, dtype=float) - self.offset) / self.factor))

    def pd_to_score(self, pd_) -> np.ndarray:
        p = np.clip(np.asarray(pd_, dtype=float), 1e-12, 1 - 1e-12)
        return self.offset - self.factor * np.log(p / (1 - p))


class WoeLogisticScorecard:
    """Logistic regression on the WOE of selected variables, with a points table.

    Parameters
    ----------
    binner : fitted WoeBinner
    variables : list of str
        Selected variables (a subset of the binner's).
    scaling : ScoreScaling
    C, max_iter : passed to scikit-learn's LogisticRegression (lbfgs, deterministic).
    """

    def __init__(self, binner: WoeBinner, variables: list[str], scaling: ScoreScaling | None = None,
                 C: float = 1.0, max_iter: int = 1000, rebin: bool = False):
        if not variables:
            raise ModelError("scorecard: no variable was selected; relax selection thresholds")
        missing = [] if rebin else [v for v in variables if v not in binner.variables_]
        if missing:
            raise ModelError(f"scorecard: variables {missing} were not binned")
        self.rebin = rebin  # fit() re-optimises the bins (same settings) on its own rows first
        self.binner = binner
        self.variables = list(variables)
        self.scaling = scaling or ScoreScaling()
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y, X_valid: pd.DataFrame | None = None, y_valid=None) -> "WoeLogisticScorecard":
        """Fit on WOE (the evaluation set is not used: nothing stops early); a variable whose coefficient comes out with the wrong sign is dropped and the rest refitted.

        With WOE = ln(%good/%bad) every coefficient of a bad-event model must be negative;
        a positive one means collinearity turned the variable around, and its points
        would reward risk. The most positive is dropped first, one at a time.
        """
        y = np.asarray(y)
        if self.rebin:
            self.binner = _unfitted(self.binner).fit(X, y)
        woe_all = self.binner.transform(X, variables=self.variables)
        self.dropped_ = {}
        while True:
            self.estimator_ = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="lbfgs")
            self.estimator_.fit(woe_all[self.variables].to_numpy(), y)
            coef = self.estimator_.coef_[0]
            if coef.max() <= 0 or len(self.variables) == 1:
                break
            worst = self.variables[int(np.argmax(coef))]
            self.dropped_[worst] = f"coefficient {coef.max():+.4f} has the wrong sign (collinearity)"
            self.variables = [v for v in self.variables if v != worst]
        self.points_table_ = self._points_table()
        return self

    def frozen(self, rounds_scale: float = 1.0) -> "WoeLogisticScorecard":
        """An unfitted copy with this fit's configuration fixed, to refit on other rows.

        Same binning settings (the bins are re-optimised on the rows ``fit`` gets), the
        variables kept after wrong-sign drops, the same ``C``; ``rounds_scale`` does not apply.
        """
        return WoeLogisticScorecard(self.binner, self.features_, self.scaling, C=self.C, max_iter=self.max_iter,
                                    rebin=True)

    def _points_table(self) -> pd.DataFrame:
        coef = dict(zip(self.variables, self.estimator_.coef_[0]))
        intercept, n = float(self.estimator_.intercept_[0]), len(self.variables)
        f, o = self.scaling.factor, self.scaling.offset
        rows = []
        for name in self.variables:
            for _, b in self.binner.binning_table(name).iterrows():
                raw = -(coef[name] * b["woe"] + intercept / n) * f + o / n
                rows.append({"variable": name, "bin": b["bin"], "count": int(b["count"]), "bad_rate": b["bad_rate"],
                             "woe": float(b["woe"]), "coefficient": float(coef[name]), "points": int(np.round(raw))})
        return pd.DataFrame(rows)

    @property
    def features_(self) -> list[str]:
        """The variables the fitted scorecard reads (after wrong-sign drops)."""
        return list(self.variables)

    @property
    def notes_(self) -> dict[str, str]:
        """Variable → why it was dropped after fitting."""
        return dict(self.dropped_)

    def report_tables(self) -> dict[str, pd.DataFrame]:
        coefs = self.points_table_.groupby("variable", sort=False)["coefficient"].first().reset_index()
        return {"Points table": self.points_table_, "Coefficients (logistic regression on WOE)": coefs}

    def attributions(self, X: pd.DataFrame, exact: bool = False) -> pd.DataFrame:
        """Points each row loses on each variable against the variable's best populated bin."""
        return self._lost(self._points(self._indices(X)), X.index)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """PD (probability of bad) from the logistic regression, unrounded."""
        return self._regression_pd(self.binner.transform(X, variables=self.variables).to_numpy())

    def _regression_pd(self, woe: np.ndarray) -> np.ndarray:
        """The fitted regression's PD, its linear predictor summed variable by variable in a fixed order.

        Not ``estimator_.predict_proba``: BLAS's matrix-vector product rounds a row differently by
        its position in the batch (fused multiply-adds in the vector body, not in the tail), so a
        customer's PD changed in the last digit with the other rows scored in the same chunk. Here
        each row's arithmetic is the same whatever surrounds it; it agrees with scikit-learn's to
        within 1e-15.
        """
        z = np.full(len(woe), float(self.estimator_.intercept_[0]))
        for j, coefficient in enumerate(self.estimator_.coef_[0]):
            z += woe[:, j] * coefficient  # elementwise multiply, then add: never fused
        return expit(z)

    def points(self, X: pd.DataFrame) -> pd.DataFrame:
        """Integer points per variable for each row (the scorecard as a table lookup)."""
        return pd.DataFrame(self._points(self._indices(X)), index=X.index, columns=self.variables, copy=False)

    def score(self, X: pd.DataFrame, pd_raw: np.ndarray | None = None) -> np.ndarray:
        """Integer score: the sum of points (rounded per bin, so not a function of the PD); higher is safer."""
        return self._points(self._indices(X)).sum(axis=1)

    def explain(self, X: pd.DataFrame, exact: bool = False) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """``predict_proba``, ``score`` and ``attributions`` of the same rows from one binning pass.

        Each row's bins are found once; the WOE matrix handed to the regression is the one
        ``predict_proba`` builds (same values, same column-major layout), so the PD is the same to the bit.
        """
        indices = self._indices(X)
        woe = np.empty(indices.shape, order="F")  # the layout of WoeBinner.transform: same dot products
        for j, name in enumerate(self.variables):
            np.take(self.binner.maps_[name].woe, indices[:, j], out=woe[:, j])
        points = self._points(indices)
        score = points.sum(axis=1)
        return self._regression_pd(woe), score, self._lost(points, X.index)

    def _indices(self, X: pd.DataFrame) -> np.ndarray:
        """Each row's bin (binning-table row) per variable, rows x variables."""
        return self.binner.transform(X, metric="indices", variables=self.variables).to_numpy()

    def _points(self, indices: np.ndarray) -> np.ndarray:
        """Integer points of each row's bin per variable, rows x variables."""
        out = np.empty(indices.shape, dtype=np.int64, order="F")
        for j, name in enumerate(self.variables):
            pts = self.points_table_.loc[self.points_table_["variable"] == name, "points"].to_numpy(dtype=np.int64)
            np.take(pts, indices[:, j], out=out[:, j])
        return out

    def _lost(self, points: np.ndarray, index: pd.Index) -> pd.DataFrame:
        """Points lost against each variable's best populated bin, written over ``points``."""
        best = self.points_table_[self.points_table_["count"] > 0].groupby("variable")["points"].max()
        missing = [v for v in self.variables if v not in best.index]
        if missing:
            raise ModelError(f"scorecard: variables {missing} have no populated bin in the points table")
        lost = np.subtract(best.reindex(self.variables).to_numpy(dtype=np.int64)[None, :], points, out=points)
        return pd.DataFrame(lost, index=index, columns=self.variables, copy=False)


def _unfitted(binner: WoeBinner) -> WoeBinner:
    """A new binner with ``binner``'s settings (nothing fitted)."""
    return WoeBinner(binner.spec, categorical=binner.categorical, seed=binner.seed,
                     max_exact_values=binner.max_exact_values, n_quantiles=binner.n_quantiles, n_jobs=binner.n_jobs)
