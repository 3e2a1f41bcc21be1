"""Modeling: sample design, binning, feature selection and candidate models."""

import dagster as dg
import pandas as pd

from features.binning import BinningSpec, WoeBinner
from features.loan_book import NON_FEATURE_COLUMNS
from features.sample import ModelingSample, SampleDesign, build_modeling_sample, sample_summary
from features.selection import SelectionRules, select_features
from models.candidate import CreditModel
from models.scorecard import WoeLogisticScorecard
from pipelines.estimators import build_estimators
from pipelines.config import PortfolioConfig, TableSource
from pipelines.resources import PortfolioResource
from pipelines.sources import never_feature_columns


def never_features(cfg: PortfolioConfig) -> list[str]:
    """Keys, dates, decision results, PII, the target and the config's exclusions."""
    cols = list(NON_FEATURE_COLUMNS) + never_feature_columns(cfg)  # + the contract's PII and source.exclude
    if isinstance(cfg.source, TableSource):
        cols.append(cfg.source.target)
    return cols


@dg.asset(group_name="modeling")
def modeling_sample(context: dg.AssetExecutionContext, portfolio: PortfolioResource,
                    applications: pd.DataFrame, loan_outcomes: dict[str, pd.DataFrame]) -> ModelingSample:
    """Labelled loans with features as of the application date, PII removed, split dev / test / oot."""
    cfg = portfolio.load()
    sample, features = build_modeling_sample(applications, loan_outcomes["outcomes"], SampleDesign(**cfg.sample.model_dump()),
                                             never_features=never_features(cfg),
                                             performance_window=None if isinstance(cfg.source, TableSource)
                                             else cfg.bad_definition.performance_window)
    summary = sample_summary(sample)
    context.log.info("sample design:\n" + summary[summary["application_month"].isna()].to_string(index=False))
    context.add_output_metadata({"rows": len(sample), "features": len(features)})
    return ModelingSample(sample=sample, features=features, summary=summary)


@dg.asset(group_name="modeling")
def binning(context: dg.AssetExecutionContext, portfolio: PortfolioResource, modeling_sample: ModelingSample) -> WoeBinner:
    """optbinning BinningProcess fitted on the development split."""
    cfg = portfolio.load()
    dev = modeling_sample.split("dev")
    binner = WoeBinner(BinningSpec(**cfg.binning.model_dump(exclude={"categorical"})), categorical=cfg.binning.categorical)
    binner.fit(dev[modeling_sample.features], dev["target"])
    context.add_output_metadata({"variables": len(binner.variables_)})
    return binner


@dg.asset(group_name="modeling")
def feature_selection(context: dg.AssetExecutionContext, portfolio: PortfolioResource,
                      modeling_sample: ModelingSample, binning: WoeBinner) -> pd.DataFrame:
    """IV range, WOE correlation and count limits on the development split."""
    cfg = portfolio.load()
    dev = modeling_sample.split("dev")
    iv = binning.summary().set_index("name")["iv"]
    table = select_features(iv, binning.transform(dev), SelectionRules(**cfg.selection.model_dump()))
    context.add_output_metadata({"selected": int(table["selected"].sum()), "candidates": len(table)})
    return table


@dg.asset(group_name="modeling")
def candidates(context: dg.AssetExecutionContext, portfolio: PortfolioResource, modeling_sample: ModelingSample,
               binning: WoeBinner, feature_selection: pd.DataFrame) -> dict[str, CreditModel]:
    """Candidate models fitted on development (early stopping on test), calibrated, with a master scale."""
    cfg = portfolio.load()
    sample, features = modeling_sample.sample, modeling_sample.features
    dev, test = sample.query("split == 'dev'"), sample.query("split == 'test'")
    selected = feature_selection.loc[feature_selection["selected"], "variable"].tolist()
    fitted = {}
    for name, estimator in build_estimators(cfg, binning, selected).items():
        context.log.info(f"fitting candidate {name}")
        if isinstance(estimator, WoeLogisticScorecard):
            estimator.fit(dev[features], dev["target"])
        else:
            estimator.fit(dev[features], dev["target"], test[features], test["target"])
        m = cfg.models
        fitted[name] = CreditModel(name, estimator, m.calibration, m.grades, m.reason_codes, m.labels, m.exact_reasons).fit_calibration(
            dev[features], dev["target"])
    return fitted
