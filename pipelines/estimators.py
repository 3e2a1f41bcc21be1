"""From a portfolio config to the library objects of model development (no I/O).

The assets and the walk-forward refits call the same functions, so an origin's refit
is the nightly development in miniature: binning, selection, fitting, calibration and
master scale on the rows before the origin only.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from features.binning import BinningSpec, WoeBinner
from features.sample import split_development
from features.selection import SelectionRules, select_features
from models.candidate import Candidate, CreditModel
from models.challenger import XGBoostChallenger
from models.hist_gradient_boosting import HistGradientBoostingCandidate
from models.protocol import DevelopmentProtocol
from models.scorecard import ScoreScaling, WoeLogisticScorecard
from models.tree_inputs import monotone_from_binning
from pipelines.config import PortfolioConfig


def fit_binner(cfg: PortfolioConfig, fit_rows: pd.DataFrame, features: list[str]) -> WoeBinner:
    """optbinning on the fit rows."""
    b = cfg.binning
    binner = WoeBinner(BinningSpec(**b.model_dump(exclude={"categorical", "n_jobs"})), categorical=b.categorical, n_jobs=b.n_jobs)
    return binner.fit(fit_rows[features], fit_rows["target"])


def selection_table(cfg: PortfolioConfig, binner: WoeBinner, fit_rows: pd.DataFrame) -> pd.DataFrame:
    """IV range, WOE correlation and count limits on the fit rows."""
    iv = binner.summary().set_index("name")["iv"]
    return select_features(iv, binner.transform(fit_rows), SelectionRules(**cfg.selection.model_dump()))


def selected_features(selection: pd.DataFrame) -> list[str]:
    return selection.loc[selection["selected"], "variable"].tolist()


def build_estimators(cfg: PortfolioConfig, binner: WoeBinner, selected: list[str], search: bool = True) -> dict[str, Candidate]:
    """``scorecard`` always; ``xgboost`` and ``hist_gradient_boosting`` when enabled.

    ``search=False``: XGBoost fits one parameter set (the defaults plus the config's params).
    """
    m, scaling = cfg.models, ScoreScaling(**cfg.scaling.model_dump())
    out: dict[str, Candidate] = {
        "scorecard": WoeLogisticScorecard(binner, selected, scaling, C=m.scorecard.C, max_iter=m.scorecard.max_iter)}
    monotone = {}
    if m.xgboost.monotone == "requested":
        asked = [v for v, trend in cfg.binning.monotonic_trends.items() if trend in ("ascending", "descending")]
        monotone = monotone_from_binning(binner, asked) if asked else {}
    elif m.xgboost.monotone == "binning":
        monotone = monotone_from_binning(binner)
    elif isinstance(m.xgboost.monotone, dict):
        monotone = dict(m.xgboost.monotone)
    categorical = list(cfg.binning.categorical)
    if m.xgboost.enabled:
        out["xgboost"] = XGBoostChallenger(scaling, monotone=monotone, params=m.xgboost.params,
                                           search_seconds=m.xgboost.search_seconds if search else 0.0,
                                           n_search=m.xgboost.n_search if search else 1,
                                           search_rows=m.xgboost.search_rows, eval_every=m.xgboost.eval_every,
                                           choose=m.xgboost.choose,
                                           seed=cfg.sample.seed, categorical=categorical, max_auc_gap=m.max_auc_gap)
    if m.hist_gradient_boosting.enabled:
        out["hist_gradient_boosting"] = HistGradientBoostingCandidate(scaling, monotone=monotone,
                                                                      params=m.hist_gradient_boosting.params,
                                                                      seed=cfg.sample.seed, categorical=categorical)
    return out


def build_protocol(cfg: PortfolioConfig) -> DevelopmentProtocol:
    """The development protocol with the config's calibration, grades and reason codes."""
    m, c = cfg.models, cfg.models.calibration
    calibration = {"method": c.method, "long_run_rate": c.long_run_default_rate, "pd_floor": c.pd_floor}

    def wrap(name: str, estimator: Candidate) -> CreditModel:
        return CreditModel(name, estimator, calibration, m.grades, m.reason_codes, m.labels, m.exact_reasons)

    return DevelopmentProtocol(wrap=wrap, choose_by=m.choose_by, max_auc_gap=m.max_auc_gap, final_fit=m.final_fit,
                               refit_below_bads=m.refit_below_bads, cross_fit_folds=c.cross_fit_folds, seed=cfg.sample.seed,
                               group_column=cfg.sample.customer_column)


def refit_function(cfg: PortfolioConfig, candidate: str, features: list[str]):
    """``develop(train)`` for the walk-forward backtest: ``candidate`` developed from scratch on ``train``.

    ``train`` holds labelled rows before an origin; they are split into fit and validation
    rows as the nightly sample is (grouped by customer, stratified, seeded), then binning,
    selection, fitting, calibration and the master scale run on them exactly as in the
    nightly job. Tree candidates skip the parameter search (one parameter set: the
    defaults plus the config's params), so no parameter is chosen with later data either.
    Origins keep the simpler path: the model fitted on the fit rows, calibrated on the
    validation rows (no refit on all rows before the origin, no cross-fitting).
    """
    protocol = replace(build_protocol(cfg), final_fit="fit_rows", record_choice=False)  # one candidate: nothing to choose
    s = cfg.sample

    def develop(train: pd.DataFrame) -> CreditModel:
        roles = split_development(train, s.validation_fraction, s.seed, s.customer_column)
        fit_rows = roles[roles["split"] == "dev"]
        binner = fit_binner(cfg, fit_rows, features)
        selected = selected_features(selection_table(cfg, binner, fit_rows))
        estimator = build_estimators(cfg, binner, selected, search=False)[candidate]
        return protocol.fit({candidate: estimator}, roles, features)[candidate]

    return develop
