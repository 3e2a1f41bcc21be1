"""The development protocol: which rows each step of model development may read.

A validation is worth the independence of its numbers, so every step reads one role of
the sample (the ``split`` column :func:`features.sample.split_sample` assigns):

=================  =============  ====================================================
step               rows           why
=================  =============  ====================================================
binning            ``dev``        fit rows: bins and WOE are part of the model
selection          ``dev``        IV and WOE correlations, part of the model
fit                ``dev``        the estimator's coefficients / trees
early stopping     ``validation`` held out from fit: the stopping round is not tuned on
                                  the rows the trees learn from
parameter search   ``validation`` idem, the search picks by validation AUC
calibration        ``validation`` held-out raw PDs: in-sample PDs are overconfident
master scale       ``validation`` the grade cut points on held-out calibrated PDs
choice             ``validation`` the candidate to register, by validation AUC
report             ``test``,      touched once, after everything above is frozen
                   ``oot``
backtest           ``oot``        month by month, and the walk-forward refits
=================  =============  ====================================================

:class:`DevelopmentProtocol` is the fit loop: it fits every candidate on ``dev`` with
``validation`` as the evaluation set, calibrates and cuts the master scale on
``validation`` and chooses on ``validation``. It never reads a ``test`` or ``oot`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from features.errors import ModelError
from models import metrics
from models.candidate import Candidate, CreditModel

__all__ = ["DevelopmentProtocol", "STEPS", "ROLE_NAMES", "rows_table"]

#: The rows each step reads (role names of the sample's ``split`` column).
STEPS: dict[str, tuple[str, ...]] = {
    "binning": ("dev",), "selection": ("dev",), "fit": ("dev",),
    "early stopping": ("validation",), "parameter search": ("validation",), "calibration": ("validation",),
    "master scale": ("validation",), "choice of candidate": ("validation",),
    "reported discrimination and calibration": ("test", "oot"), "month-by-month backtest": ("oot",),
}

#: Plain names of the roles, as the report prints them.
ROLE_NAMES = {"dev": "development (fit)", "validation": "validation", "test": "test", "oot": "out of time"}


def rows_table(sample: pd.DataFrame, has_dates: bool = True) -> pd.DataFrame:
    """One row per step: the role(s) it reads and their row and bad counts (for the report)."""
    counts = sample.groupby("split", observed=True)["target"].agg(["size", "sum"])
    names = dict(ROLE_NAMES, oot="out of time" if has_dates else "second holdout")
    rows = []
    for step, roles in STEPS.items():
        present = [r for r in roles if r in counts.index]
        rows.append({"step": step, "rows used": " + ".join(names[r] for r in present),
                     "rows": int(sum(counts.loc[r, "size"] for r in present)),
                     "bads": int(sum(counts.loc[r, "sum"] for r in present))})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class DevelopmentProtocol:
    """Fits, calibrates and chooses candidates on the roles of :data:`STEPS`.

    Parameters
    ----------
    wrap : callable ``(name, fitted estimator) -> CreditModel``
        Adds the PD calibration, master scale and reason codes (unfitted calibration).
    choose_by : "validation_auc" or "scorecard"
        The best validation AUC (ties: the scorecard, then name order), or always the scorecard.
    max_auc_gap : float, optional
        With ``validation_auc``, candidates whose AUC on the fit rows exceeds their
        validation AUC by more than this (overfitting) are passed over while another
        candidate stays within it.
    """

    wrap: Callable[[str, Candidate], CreditModel]
    choose_by: str = "validation_auc"
    max_auc_gap: float | None = None

    def __post_init__(self) -> None:
        if self.choose_by not in ("validation_auc", "scorecard"):
            raise ModelError(f"protocol: choose_by must be 'validation_auc' or 'scorecard', got {self.choose_by!r}")

    @staticmethod
    def role(sample: pd.DataFrame, name: str) -> pd.DataFrame:
        part = sample[sample["split"] == name]
        if part.empty or part["target"].nunique() < 2:
            raise ModelError(f"protocol: the {ROLE_NAMES.get(name, name)} rows ({len(part)}) need goods and bads")
        return part

    def fit(self, estimators: Mapping[str, Candidate], sample: pd.DataFrame, features: list[str]) -> dict[str, CreditModel]:
        """Fit each estimator on ``dev`` (evaluation set ``validation``), then calibrate on ``validation``."""
        fit, valid = self.role(sample, "dev"), self.role(sample, "validation")
        out = {}
        for name, estimator in estimators.items():
            estimator.fit(fit[features], fit["target"].to_numpy(), valid[features], valid["target"].to_numpy())
            out[name] = self.wrap(name, estimator).fit_calibration(valid[features], valid["target"].to_numpy())
        return out

    def auc(self, models: Mapping[str, CreditModel], sample: pd.DataFrame, features: list[str],
            role: str = "validation") -> dict[str, float]:
        """AUC of each model's PD on one role's rows (``validation`` or ``dev``, never a reported split)."""
        if role not in ("dev", "validation"):
            raise ModelError(f"protocol: the choice reads the dev and validation rows only, not {role!r}")
        rows = self.role(sample, role)
        y = rows["target"].to_numpy()
        return {name: metrics.auc(y, model.predict_proba(rows[features])) for name, model in models.items()}

    def choose(self, models: Mapping[str, CreditModel], sample: pd.DataFrame, features: list[str]) -> str:
        """The candidate to register (see ``choose_by``); reads only the validation rows."""
        if not models:
            raise ModelError("protocol: no candidate to choose from")
        if self.choose_by == "scorecard":
            if "scorecard" not in models:
                raise ModelError("protocol: choose_by is 'scorecard' but there is no scorecard candidate")
            return "scorecard"
        aucs = self.auc(models, sample, features)
        pool = aucs
        if self.max_auc_gap is not None:
            fit = self.auc(models, sample, features, role="dev")
            pool = {n: a for n, a in aucs.items() if fit[n] - a <= self.max_auc_gap} or aucs
        return min(pool, key=lambda n: (-round(pool[n], 12), n != "scorecard", n))
