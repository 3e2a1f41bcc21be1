"""The candidate estimators a portfolio config asks for (unfitted)."""

from __future__ import annotations

from features.binning import WoeBinner
from models.challenger import HistGradientBoostingCandidate, XGBoostChallenger, monotone_from_binning
from models.scorecard import ScoreScaling, WoeLogisticScorecard
from pipelines.config import PortfolioConfig


def build_estimators(cfg: PortfolioConfig, binner: WoeBinner, selected: list[str]) -> dict:
    """``scorecard`` always; ``xgboost`` and ``hist_gradient_boosting`` when enabled."""
    m, scaling = cfg.models, ScoreScaling(**cfg.scaling.model_dump())
    out = {"scorecard": WoeLogisticScorecard(binner, selected, scaling, C=m.scorecard.C, max_iter=m.scorecard.max_iter)}
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
                                           search_seconds=m.xgboost.search_seconds, n_search=m.xgboost.n_search,
                                           seed=cfg.sample.seed, categorical=categorical)
    if m.hist_gradient_boosting.enabled:
        out["hist_gradient_boosting"] = HistGradientBoostingCandidate(scaling, monotone=monotone,
                                                                      params=m.hist_gradient_boosting.params,
                                                                      seed=cfg.sample.seed, categorical=categorical)
    return out


def refit_function(cfg: PortfolioConfig, candidate: str, selected: list[str], categorical: list[str]):
    """``fit(X, y)`` for the walk-forward backtest: re-bin and refit ``candidate`` on earlier data.

    Tree candidates take a seeded stratified 20 % of the training data for early stopping
    and skip the parameter search (one candidate: the defaults plus the config's params).
    """
    import numpy as np

    from features.binning import BinningSpec
    from models.candidate import CreditModel

    def fit(X, y):
        binner = WoeBinner(BinningSpec(**cfg.binning.model_dump(exclude={"categorical"})), categorical=categorical).fit(X, y)
        estimator = build_estimators(cfg, binner, selected)[candidate]
        if isinstance(estimator, WoeLogisticScorecard):
            estimator.fit(X, y)
        else:
            if hasattr(estimator, "n_search"):
                estimator.n_search, estimator.search_seconds = 1, 0.0
            rng = np.random.default_rng(cfg.sample.seed)
            valid = np.zeros(len(y), dtype=bool)
            for cls in (0, 1):
                idx = np.flatnonzero(y == cls)
                valid[rng.permutation(idx)[: max(1, len(idx) // 5)]] = True
            estimator.fit(X[~valid], y[~valid], X[valid], y[valid])
        m = cfg.models
        return CreditModel(candidate, estimator, m.calibration, m.grades, m.reason_codes, m.labels, m.exact_reasons).fit_calibration(X, y)

    return fit
