"""PD calibration and the master scale (rating grades).

:class:`Calibrator` maps a model's raw PD to a calibrated PD. It must be fitted on
held-out (raw PD, outcome) pairs — the validation rows of
:class:`models.protocol.DevelopmentProtocol`, never the rows the model was fitted on,
whose raw PDs are overconfident:

* ``"platt"`` — logistic regression of the outcome on ``logit(raw PD)`` with an
  intercept, by Newton-Raphson to full convergence and without a penalty. At the
  maximum-likelihood solution the intercept's score equation is
  ``sum(calibrated PD) = sum(y)``, so the mean calibrated PD on development equals the
  development bad rate; the slope is refused unless positive, so the calibrated PD
  ranks applicants exactly as the raw PD does.
* ``"isotonic"`` — scikit-learn's isotonic regression (non-decreasing, clipped outside
  the development range). Pool-adjacent-violators keeps every block's sum, so the mean
  again equals the bad rate; ranking is kept weakly (ties within a block).
* ``"none"`` — the raw PD as it is (a model already calibrated, e.g. the scorecard's
  logistic regression).

Then, in this order:

* ``long_run_rate`` (optional) — central tendency (EBA GL/2017/16 §§ 5.3.5): the
  calibrated PDs are shifted by one constant in log-odds so that their mean on the
  calibration rows equals the long-run average default rate, which covers a full
  economic cycle when the development window does not. Ranking is unchanged.
* ``pd_floor`` — no PD below the floor (CRR art. 160(1): 0.03 % for exposures to
  corporates/institutions, 0.05 % for retail under CRR3; default 0.03 %).

:class:`MasterScale` cuts calibrated development PDs into ``n_grades`` grades, 1 the
safest. Choice: **log-spaced boundaries between quantiles**. The ``n_grades - 1`` cut
points (the median when ``n_grades == 2``) are geometric between the ``1/n_grades`` and ``1 - 1/n_grades`` quantiles of the
development PDs, so grade 1 holds about the safest ``1/n`` of development, grade n the
riskiest ``1/n``, and every grade in between spans the same PD ratio — the usual shape
of a bank master scale, where PDs of neighbouring grades differ by a constant factor.
Grade ``k`` covers ``[pd_min, pd_max)``; grade 1 starts at 0 and grade n ends at 1
(inclusive), so the grades partition [0, 1] and rise with PD.

A raw PD without signal (all values equal, a Platt slope that is not positive) and PDs
too concentrated to cut the master scale raise
:class:`~features.errors.UninformativeModelError`: the nightly run drops that candidate
and keeps the others (:func:`models.candidate_fitting.fit_candidates`); bad values (NaN,
outside [0, 1], one class only) stay plain :class:`~features.errors.ModelError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression

from features.errors import ModelError, UninformativeModelError
from models.calibration_tests import grade_tests

__all__ = ["Calibrator", "MasterScale", "calibration_table"]

_EPS = 1e-12


def _as_pd(values: Any, name: str = "pd") -> np.ndarray:
    p = np.asarray(values, dtype=float).ravel()
    if np.isnan(p).any():
        raise ModelError(f"{name}: contains {int(np.isnan(p).sum())} missing value(s)")
    if ((p < 0) | (p > 1)).any():
        raise ModelError(f"{name}: values must lie in [0, 1]")
    return p


def _as_y(values: Any, n: int) -> np.ndarray:
    y = np.asarray(values).ravel()
    if y.dtype == bool:
        y = y.astype(int)
    if len(y) != n:
        raise ModelError(f"y: has {len(y)} values but pd has {n}")
    if not np.isin(y, (0, 1)).all():
        raise ModelError("y: must be 0 (good) / 1 (bad)")
    if len(np.unique(y)) != 2:
        raise ModelError("y: calibration needs both goods and bads")
    return y.astype(float)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def _loglik(z: np.ndarray, y: np.ndarray) -> float:
    # sum of y*z - log(1 + e^z), computed stably
    return float(np.sum(y * z - np.logaddexp(0.0, z)))


class Calibrator:
    """Raw PD → calibrated PD; fit on held-out rows (see the module docstring).

    Parameters
    ----------
    method : "platt", "isotonic" or "none"
    long_run_rate : float in (0, 1), optional
        Long-run average default rate the mean calibrated PD is anchored to.
    pd_floor : float in [0, 1)
        Lowest PD handed out.

    Fitted attributes: ``intercept_``/``slope_`` (Platt), ``isotonic_`` (isotonic),
    ``shift_`` (log-odds shift of the anchoring, 0 without it).
    """

    METHODS = ("platt", "isotonic", "none")

    def __init__(self, method: str = "platt", long_run_rate: float | None = None, pd_floor: float = 0.0,
                 max_iter: int = 100, tol: float = 1e-12):
        if method not in self.METHODS:
            raise ModelError(f"calibration: method must be one of {self.METHODS}, got {method!r}")
        if long_run_rate is not None and not 0 < long_run_rate < 1:
            raise ModelError(f"calibration: long_run_rate must be in (0, 1), got {long_run_rate!r}")
        if not 0 <= pd_floor < 1:
            raise ModelError(f"calibration: pd_floor must be in [0, 1), got {pd_floor!r}")
        self.method = method
        self.long_run_rate = long_run_rate
        self.pd_floor = float(pd_floor)
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, pd_raw: Any, y: Any) -> "Calibrator":
        p = _as_pd(pd_raw, "pd_raw")
        y = _as_y(y, len(p))
        if self.method == "isotonic":
            self.isotonic_ = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
            self.isotonic_.fit(p, y)
        elif self.method == "platt":
            self._fit_platt(p, y)
        self.fitted_ = True
        self.shift_ = 0.0 if self.long_run_rate is None else _anchor_shift(self._base(p), self.long_run_rate)
        return self

    def _fit_platt(self, p: np.ndarray, y: np.ndarray) -> None:
        z = _logit(p)
        if np.ptp(z) == 0:
            raise UninformativeModelError("calibration: raw PDs are all equal, Platt scaling cannot be fitted")
        A = np.column_stack([np.ones_like(z), z])
        # start at the identity map (a well-ranked model is near it): intercept 0, slope 1
        beta = np.array([0.0, 1.0])
        for _ in range(self.max_iter):
            q = _sigmoid(A @ beta)
            grad = A.T @ (y - q)
            hess = (A * (q * (1 - q))[:, None]).T @ A
            try:
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError as exc:
                raise ModelError("calibration: Platt scaling hit a singular Hessian "
                                 "(the raw PD may separate goods from bads perfectly)") from exc
            # damped Newton: the log-likelihood is concave, halve the step until it does not fall
            ll = _loglik(A @ beta, y)
            for _ in range(50):
                if _loglik(A @ (beta + step), y) >= ll - 1e-12 * abs(ll):
                    break
                step = step / 2
            beta = beta + step
            if np.max(np.abs(step)) < self.tol:
                break
        else:
            raise ModelError(f"calibration: Platt scaling did not converge in {self.max_iter} iterations "
                             "(the raw PD may separate goods from bads perfectly)")
        if beta[1] <= 0:
            raise UninformativeModelError(f"calibration: Platt slope {beta[1]:.4f} is not positive; "
                             "the raw PD does not rank bads above goods")
        self.intercept_, self.slope_ = float(beta[0]), float(beta[1])

    def _base(self, p: np.ndarray) -> np.ndarray:
        if self.method == "isotonic":
            return np.asarray(self.isotonic_.predict(p), dtype=float)
        if self.method == "platt":
            return _sigmoid(self.intercept_ + self.slope_ * _logit(p))
        return p

    def transform(self, pd_raw: Any) -> np.ndarray:
        """Calibrated PD for raw PDs."""
        if not getattr(self, "fitted_", False):
            raise ModelError("calibration: not fitted; call fit(pd_raw, y) first")
        q = self._base(_as_pd(pd_raw, "pd_raw"))
        if self.shift_:
            q = _sigmoid(_logit(q) + self.shift_)
        return np.maximum(q, self.pd_floor)

    def fit_transform(self, pd_raw: Any, y: Any) -> np.ndarray:
        return self.fit(pd_raw, y).transform(pd_raw)


def _anchor_shift(q: np.ndarray, target: float) -> float:
    """The log-odds shift ``c`` with ``mean(sigmoid(logit(q) + c)) == target`` (bisection; the mean rises with c)."""
    z = _logit(q)
    lo, hi = -30.0, 30.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if _sigmoid(z + mid).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


class MasterScale:
    """Rating grades 1 (safest) … ``n_grades`` from calibrated development PDs.

    Cut points are log-spaced between the ``1/n`` and ``1 - 1/n`` quantiles of the
    (positive) development PDs; see the module docstring.
    """

    def __init__(self, n_grades: int = 10):
        if int(n_grades) != n_grades or n_grades < 2:
            raise ModelError(f"master scale: n_grades must be an integer >= 2, got {n_grades!r}")
        self.n_grades = int(n_grades)

    def fit(self, pd_cal: Any) -> "MasterScale":
        p = _as_pd(pd_cal, "pd")
        positive = p[p > 0]
        if len(positive) == 0:
            raise UninformativeModelError("master scale: every development PD is 0")
        n = self.n_grades
        if n == 2:  # one cut: the median
            lo = hi = float(np.quantile(positive, 0.5))
            if not 0 < lo < 1:
                raise UninformativeModelError(f"master scale: the median development PD {lo:.6g} cannot split two grades")
            self.cuts_ = np.array([lo])
        else:
            lo, hi = np.quantile(positive, [1.0 / n, 1.0 - 1.0 / n])
            hi = min(hi, 1.0 - 1e-9)
            if not hi > lo:
                raise UninformativeModelError(f"master scale: development PDs are too concentrated for {n} grades "
                                 f"(the {1 / n:.0%} and {1 - 1 / n:.0%} quantiles are both {lo:.6g})")
            self.cuts_ = np.geomspace(lo, hi, n - 1)
            self.cuts_[0], self.cuts_[-1] = lo, hi  # exact ends despite rounding
        if np.any(np.diff(self.cuts_) <= 0):
            raise UninformativeModelError(f"master scale: the PD range {lo:.6g}..{hi:.6g} is too narrow for {n} grades")
        self.dev_counts_ = np.bincount(self.grade(p) - 1, minlength=n)
        return self

    def grade(self, pd_: Any) -> np.ndarray:
        """Grade of each PD: 1 + the number of cut points at or below it."""
        if not hasattr(self, "cuts_"):
            raise ModelError("master scale: not fitted; call fit(pd) first")
        p = _as_pd(pd_, "pd")
        return (np.searchsorted(self.cuts_, p, side="right") + 1).astype(int)

    def table(self) -> pd.DataFrame:
        """grade, pd_min, pd_max (grade k is ``[pd_min, pd_max)``, the last includes 1), pd_mid, dev_count.

        ``pd_mid`` is the geometric midpoint; the open-ended grades 1 and n continue the
        ladder's ratio (half a step below the first cut / above the last, capped at 1).
        """
        if not hasattr(self, "cuts_"):
            raise ModelError("master scale: not fitted; call fit(pd) first")
        c = self.cuts_
        lower = np.concatenate([[0.0], c])
        upper = np.concatenate([c, [1.0]])
        ratio = c[1] / c[0] if len(c) >= 2 else 2.0
        mid = np.sqrt(np.maximum(lower, _EPS) * upper)
        mid[0] = c[0] / np.sqrt(ratio)
        mid[-1] = min(c[-1] * np.sqrt(ratio), (c[-1] + 1.0) / 2.0)
        return pd.DataFrame({"grade": np.arange(1, self.n_grades + 1), "pd_min": lower, "pd_max": upper,
                             "pd_mid": mid, "dev_count": self.dev_counts_})


def calibration_table(y: Any, pd: Any, grade: Any, alpha: float = 0.05) -> pd.DataFrame:  # noqa: A002
    """Per-grade backtest of the PD: :func:`models.calibration_tests.grade_tests` (n, defaults, mean PD,
    observed default rate, binomial and Jeffreys tests), grades in ascending order."""
    table = grade_tests(y, pd, np.asarray(grade), alpha=alpha)
    return table.sort_values("grade").reset_index(drop=True)
