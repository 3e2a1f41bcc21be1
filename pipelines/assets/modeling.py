"""Modeling: sample design, binning, feature selection and candidate models."""

import dagster as dg
import pandas as pd

from features.binning import WoeBinner
from features.loan_book import NON_FEATURE_COLUMNS
from features.sample import ModelingSample, SampleDesign, build_modeling_sample, sample_summary
from models.candidate_fitting import FittedCandidates, fit_candidates
from pipelines.estimators import build_estimators, build_protocol, fit_binner, selected_features, selection_table
from pipelines.config import PortfolioConfig, TableSource
from pipelines.resources import PortfolioResource
from pipelines.sources import never_feature_columns, pii_columns


def never_features(cfg: PortfolioConfig) -> list[str]:
    """Keys, dates, decision results, PII, the target and the config's exclusions."""
    cols = list(NON_FEATURE_COLUMNS) + never_feature_columns(cfg)  # + the contract's PII and source.exclude
    if isinstance(cfg.source, TableSource):
        cols.append(cfg.source.target)
    return cols


@dg.asset(group_name="modeling")
def modeling_sample(context: dg.AssetExecutionContext, portfolio: PortfolioResource,
                    applications: pd.DataFrame, loan_outcomes: dict[str, pd.DataFrame]) -> ModelingSample:
    """Labelled loans with features as of the application date, PII removed, split dev / validation / test / oot."""
    cfg = portfolio.load()
    sample, features = build_modeling_sample(applications, loan_outcomes["outcomes"], SampleDesign(**cfg.sample.model_dump()),
                                             never_features=never_features(cfg),
                                             carry=[a for a in cfg.protected.attributes if a not in pii_columns(cfg)],
                                             performance_window=None if isinstance(cfg.source, TableSource)
                                             else cfg.bad_definition.performance_window)
    summary = sample_summary(sample)
    per_split = summary[summary["application_month"].isna()].drop(columns="application_month")  # no NaT column
    context.log.info("sample design:\n" + per_split.to_string(index=False))
    context.add_output_metadata({"rows": len(sample), "features": len(features)})
    return ModelingSample(sample=sample, features=features, summary=summary)


@dg.asset(group_name="modeling")
def binning(context: dg.AssetExecutionContext, portfolio: PortfolioResource, modeling_sample: ModelingSample) -> WoeBinner:
    """optbinning BinningProcess fitted on the development (fit) rows."""
    binner = fit_binner(portfolio.load(), modeling_sample.split("dev"), modeling_sample.features)
    context.add_output_metadata({"variables": len(binner.variables_)})
    return binner


@dg.asset(group_name="modeling")
def feature_selection(context: dg.AssetExecutionContext, portfolio: PortfolioResource,
                      modeling_sample: ModelingSample, binning: WoeBinner) -> pd.DataFrame:
    """IV range, WOE correlation and count limits on the development (fit) rows."""
    table = selection_table(portfolio.load(), binning, modeling_sample.split("dev"))
    context.add_output_metadata({"selected": int(table["selected"].sum()), "candidates": len(table)})
    return table


@dg.asset(group_name="modeling")
def candidates(context: dg.AssetExecutionContext, portfolio: PortfolioResource, modeling_sample: ModelingSample,
               binning: WoeBinner, feature_selection: pd.DataFrame) -> FittedCandidates:
    """Candidates fitted on the development rows; early stopping, search, calibration and master scale on validation.

    A candidate that comes out uninformative is dropped with its reason (logged, reported); the others go on."""
    cfg = portfolio.load()
    estimators = build_estimators(cfg, binning, selected_features(feature_selection))
    context.log.info(f"fitting candidates {list(estimators)} (test and out-of-time rows are not read)")
    models = fit_candidates(build_protocol(cfg), estimators, modeling_sample.sample, modeling_sample.features)
    for name, reason in models.dropped.items():
        context.log.warning(f"candidate {name} dropped as uninformative: {reason}")
    refitted = {n: m for n, m in models.items() if m.development["final_fit"] == "development"}
    context.log.info(f"final fit: {next(iter(models.values())).development['reason']}")
    if refitted:
        context.log.info("final fit on all development rows, calibrated on cross-fitted out-of-fold PDs ("
                         f"{cfg.models.calibration.cross_fit_folds} folds): "
                         + ", ".join(f"{n} {m.refit_seconds_:.1f} s" for n, m in refitted.items()))
    return models
