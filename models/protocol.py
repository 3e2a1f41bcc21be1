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

Final fit (``final_fit="development"``)
    Once the configuration of each candidate is settled on ``validation`` (bins'
    settings, variables, parameters, boosting rounds) and its validation AUC recorded
    for the choice, the candidate is refitted with that configuration fixed on *all*
    development rows (``dev`` + ``validation``): a quarter more rows for the model that
    is registered, as a peer trained on the same rows gets. Its calibration and master
    scale are then fitted on cross-fitted out-of-fold raw PDs: ``cross_fit_folds``
    stratified folds of development (grouped by customer when there is one, seeded),
    each fold scored by the same fixed configuration fitted on the other folds. After
    the refit, development and validation numbers are in-sample; the validation AUC the
    choice read is kept in ``CreditModel.choice_auc``.

Final fit by the data (``final_fit="auto"``, the config's default)
    The refit on development pays where rows are scarce: with a few hundred bads a
    quarter more rows moves the bins, the coefficients and the trees, and calibrating on
    every development row instead of the validation quarter narrows the PD's error. With
    plenty of bads it buys little (the 1M-application demo book, 15,235 bads in the fit
    rows: the XGBoost's test AUC 0.8414 refitted, 0.8412 as fitted on the fit rows; out
    of time 0.8691 and 0.8692) and costs ``cross_fit_folds + 1`` more fits of every
    candidate (83 of the 1M nightly run's 166 s of candidates). So ``auto`` refits on
    development when the fit rows hold fewer than ``refit_below_bads`` bads (config
    ``models.refit_below_bads``, 5,000: each of the scorecard's at most 20 coefficients
    then rests on hundreds of bads, and German, 134, and Taiwan, 2,962, are still
    refitted), and otherwise keeps the models fitted on the fit rows and calibrated on
    validation. The rule reads the fit rows' bad count only (rows the protocol already
    reads), and each model records which final fit was used and why
    (``CreditModel.development``: ``setting`` and ``reason``; the report and
    ``metrics.json`` show them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import pandas as pd

from features.errors import ModelError
from features.sample import stratified_folds
from models import discrimination
from models.candidate import Candidate, CreditModel

__all__ = ["DevelopmentProtocol", "STEPS", "REFIT_STEPS", "ROLE_NAMES", "rows_table"]

#: The rows each step reads (role names of the sample's ``split`` column).
STEPS: dict[str, tuple[str, ...]] = {
    "binning": ("dev",), "selection": ("dev",), "fit": ("dev",),
    "early stopping": ("validation",), "parameter search": ("validation",), "calibration": ("validation",),
    "master scale": ("validation",), "choice of candidate": ("validation",),
    "reported discrimination and calibration": ("test", "oot"), "month-by-month backtest": ("oot",),
}

#: With ``final_fit="development"``: the steps after the choice (they replace fit, calibration and master scale).
REFIT_STEPS: dict[str, tuple[str, ...]] = {
    "final fit (configuration fixed above)": ("dev", "validation"),
    "calibration (cross-fitted out-of-fold PDs)": ("dev", "validation"),
    "master scale (cross-fitted out-of-fold PDs)": ("dev", "validation"),
}

#: Plain names of the roles, as the report prints them.
ROLE_NAMES = {"dev": "development (fit)", "validation": "validation", "test": "test", "oot": "out of time"}


def rows_table(sample: pd.DataFrame, has_dates: bool = True, final_fit: str = "fit_rows") -> pd.DataFrame:
    """One row per step: the role(s) it reads and their row and bad counts (for the report).

    ``final_fit="development"`` adds the refit on all development rows and its cross-fitted
    calibration and master scale, which are then the ones in use.
    """
    counts = sample.groupby("split", observed=True)["target"].agg(["size", "sum"])
    names = dict(ROLE_NAMES, oot="out of time" if has_dates else "second holdout")
    steps = dict(STEPS)
    if final_fit == "development":
        steps = {("choice of candidate (validation AUC before the final fit)" if k == "choice of candidate" else
                  f"{k} (to settle the configuration)" if k in ("fit", "calibration", "master scale") else k): v
                 for k, v in STEPS.items()}
        reporting = ("reported discrimination and calibration", "month-by-month backtest")
        steps = {**{k: v for k, v in steps.items() if k not in reporting}, **REFIT_STEPS,
                 **{k: steps[k] for k in reporting}}
    rows = []
    for step, roles in steps.items():
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
    final_fit : "fit_rows", "development" or "auto"
        Keep the models fitted on the fit rows, refit them on all development rows
        (:meth:`refit`), or refit only when the fit rows hold fewer than
        ``refit_below_bads`` bads (:meth:`final_fit_for`).
    """

    wrap: Callable[[str, Candidate], CreditModel]
    choose_by: str = "validation_auc"
    max_auc_gap: float | None = None
    final_fit: str = "fit_rows"
    refit_below_bads: int | None = None  # final_fit="auto": refit on development below this many bads in the fit rows
    cross_fit_folds: int = 3
    seed: int = 42
    group_column: str | None = None
    record_choice: bool = True  # False: no choice follows (a walk-forward origin), so no AUC is computed for one

    def __post_init__(self) -> None:
        if self.choose_by not in ("validation_auc", "scorecard"):
            raise ModelError(f"protocol: choose_by must be 'validation_auc' or 'scorecard', got {self.choose_by!r}")
        if self.final_fit not in ("fit_rows", "development", "auto"):
            raise ModelError(f"protocol: final_fit must be 'fit_rows', 'development' or 'auto', got {self.final_fit!r}")
        if self.refit_below_bads is not None and (isinstance(self.refit_below_bads, bool) or
                                                  not isinstance(self.refit_below_bads, int) or self.refit_below_bads < 0):
            raise ModelError(f"protocol: refit_below_bads must be an integer >= 0, got {self.refit_below_bads!r}")
        if self.final_fit == "auto" and self.refit_below_bads is None:
            raise ModelError("protocol: final_fit 'auto' needs refit_below_bads (the fit rows' bad count below which "
                             "the models are refitted on all development rows), got None")
        if isinstance(self.cross_fit_folds, bool) or not isinstance(self.cross_fit_folds, int) or self.cross_fit_folds < 2:
            raise ModelError(f"protocol: cross_fit_folds must be an integer >= 2, got {self.cross_fit_folds!r}")

    @staticmethod
    def role(sample: pd.DataFrame, name: str) -> pd.DataFrame:
        part = sample[sample["split"] == name]
        if part.empty or part["target"].nunique() < 2:
            raise ModelError(f"protocol: the {ROLE_NAMES.get(name, name)} rows ({len(part)}) need goods and bads")
        return part

    def fit(self, estimators: Mapping[str, Candidate], sample: pd.DataFrame, features: list[str]) -> dict[str, CreditModel]:
        """Fit each estimator on ``dev`` (evaluation set ``validation``), then calibrate on ``validation``.

        The AUCs on ``dev`` and ``validation`` are recorded in ``choice_auc`` for the choice;
        when :meth:`final_fit_for` says ``development``, each candidate is then :meth:`refit` on all
        development rows. Each model's ``development`` records the final fit used and why.
        """
        fit, valid = self.role(sample, "dev"), self.role(sample, "validation")
        final_fit, reason = self.final_fit_for(fit["target"].to_numpy())
        out = {}
        for name, estimator in estimators.items():
            y_valid = valid["target"].to_numpy()
            estimator.fit(fit[features], fit["target"].to_numpy(), valid[features], y_valid)
            raw_valid = np.asarray(estimator.predict_proba(valid[features]), dtype=float)  # once: calibration and choice
            model = self.wrap(name, estimator).calibrate(raw_valid, y_valid)
            choice = {"dev": discrimination.auc(fit["target"].to_numpy(), model.predict_proba(fit[features])),
                      "validation": discrimination.auc(y_valid, model.calibrator_.transform(raw_valid))} \
                if self.record_choice else {}
            if final_fit == "development":
                model = self.refit(name, estimator, sample, features, len(fit))
            model.development = {**model.development, "setting": self.final_fit, "reason": reason}
            model.choice_auc = choice
            out[name] = model
        return out

    def final_fit_for(self, y_fit: np.ndarray) -> tuple[str, str]:
        """The final fit of this run (``"development"`` or ``"fit_rows"``) and why, from the fit rows' targets."""
        if self.final_fit != "auto":
            return self.final_fit, f"models.final_fit is '{self.final_fit}'"
        bads = int(np.sum(y_fit))
        if bads < self.refit_below_bads:
            return "development", (f"models.final_fit is 'auto' and the fit rows hold {bads:,} bads, fewer than "
                                   f"models.refit_below_bads ({self.refit_below_bads:,}): a quarter more rows still "
                                   "moves the model, so it is refitted on all development rows")
        return "fit_rows", (f"models.final_fit is 'auto' and the fit rows hold {bads:,} bads, at least "
                            f"models.refit_below_bads ({self.refit_below_bads:,}): the model fitted on them is kept "
                            "(a refit on all development rows would change it little and cost "
                            f"{self.cross_fit_folds + 1} more fits)")

    def folds(self, development: pd.DataFrame) -> np.ndarray:
        """Fold number (0..K-1) of each development row: stratified, grouped by customer when there is one, seeded."""
        groups = (development[self.group_column].to_numpy()
                  if self.group_column and self.group_column in development.columns else None)
        return stratified_folds(development["target"].to_numpy(), self.cross_fit_folds, np.random.default_rng(self.seed),
                                groups)

    def refit(self, name: str, settled: Candidate, sample: pd.DataFrame, features: list[str], n_fit: int) -> CreditModel:
        """``settled``'s configuration fitted on all development rows, calibrated on cross-fitted out-of-fold PDs.

        Boosting rounds found by early stopping on ``n_fit`` rows are scaled by the rows each
        fit gets over ``n_fit``. Reads the ``dev`` and ``validation`` rows only.
        """
        start = time.perf_counter()
        development = sample[sample["split"].isin(["dev", "validation"])]
        # the settled configuration reads its own features only (the scorecard: the variables it kept), so the
        # refits copy and re-bin those, not every candidate feature
        X, y = development[[f for f in features if f in set(settled.features_)]], development["target"].to_numpy()
        fold = self.folds(development)
        oof = np.empty(len(development))
        for k in range(self.cross_fit_folds):
            train = fold != k
            if len(np.unique(y[train])) < 2 or len(np.unique(y[~train])) < 2:
                raise ModelError(f"protocol: cross-fit fold {k} of {self.cross_fit_folds} needs goods and bads on both "
                                 f"sides; lower models.calibration.cross_fit_folds")
            estimator = settled.frozen(rounds_scale=train.sum() / n_fit).fit(X[train], y[train])
            oof[~train] = estimator.predict_proba(X[~train])
        final = settled.frozen(rounds_scale=len(development) / n_fit).fit(X, y)
        model = self.wrap(name, final).calibrate(oof, y)
        model.development = {"final_fit": "development", "fitted_on": "all development rows (fit + validation)",
                             "calibrated_on": f"{self.cross_fit_folds}-fold cross-fitted out-of-fold PDs of development",
                             "rows": int(len(development)), "folds": self.cross_fit_folds}
        model.refit_seconds_ = time.perf_counter() - start  # the cost of the final fit (logged, not a reported number)
        return model

    def auc(self, models: Mapping[str, CreditModel], role: str = "validation") -> dict[str, float]:
        """The AUC the choice reads: each model's on ``validation`` or ``dev`` rows, recorded by :meth:`fit`
        before any refit (after it, those rows are in-sample). Never a reported split."""
        if role not in ("dev", "validation"):
            raise ModelError(f"protocol: the choice reads the dev and validation rows only, not {role!r}")
        missing = [n for n, m in models.items() if role not in m.choice_auc]
        if missing:
            raise ModelError(f"protocol: candidates {missing} were not fitted by the protocol (no recorded AUC)")
        return {name: model.choice_auc[role] for name, model in models.items()}

    def choose(self, models: Mapping[str, CreditModel]) -> str:
        """The candidate to register (see ``choose_by``); reads only the validation AUCs :meth:`fit` recorded."""
        if not models:
            raise ModelError("protocol: no candidate to choose from")
        if self.choose_by == "scorecard":
            if "scorecard" not in models:
                raise ModelError("protocol: choose_by is 'scorecard' but there is no scorecard candidate")
            return "scorecard"
        aucs = self.auc(models)
        pool = aucs
        if self.max_auc_gap is not None:
            fit = self.auc(models, role="dev")
            pool = {n: a for n, a in aucs.items() if fit[n] - a <= self.max_auc_gap} or aucs
        return min(pool, key=lambda n: (-round(pool[n], 12), n != "scorecard", n))
