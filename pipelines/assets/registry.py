"""Registry: the champion re-scored on this run's rows, the MLflow runs, the model version and its aliases."""

import dagster as dg
import pandas as pd

from features.sample import ModelingSample
from models.backtest import BacktestResult
from models.candidate_fitting import FittedCandidates
from models.promotion import ChampionComparison
from models.serving import scoring_pipelines
from models.validation_report import ReportResult
from pipelines.mlflow_logging import lineage
from pipelines.promotion_run import (
    Registration,
    compare_with_champion,
    register_and_promote,
    run_fingerprint,
)
from pipelines.resources import MlflowResource, PortfolioResource, WorkdirResource
from pipelines.scoring import fitted_reader, scoring_names


@dg.asset(group_name="registry")
def champion_comparison(context: dg.AssetExecutionContext, portfolio: PortfolioResource, mlflow: MlflowResource,
                        workdir: WorkdirResource, applications: pd.DataFrame, performance: pd.DataFrame,
                        modeling_sample: ModelingSample, backtest: BacktestResult) -> ChampionComparison:
    """The current champion re-scored through its own registered pipeline on this run's test and out-of-time rows
    (paired DeLong against this run's chosen candidate), and the input fingerprint looked up in the registry."""
    cfg = portfolio.load()
    fingerprint = run_fingerprint(cfg, {"applications": applications, "performance": performance})
    result = compare_with_champion(mlflow, cfg, modeling_sample, backtest.backtest.predictions, backtest.chosen, fingerprint,
                                   workdir.run_dir(context.run.run_id) / "contracts")
    if result.unchanged_since:
        context.log.info(f"champion comparison: unchanged since version {result.unchanged_since}")
    elif result.delong:
        context.log.info("champion comparison:\n" + result.table().to_string(index=False))
    context.add_output_metadata({"input_fingerprint": fingerprint.sha256,
                                 "champion_version": result.champion_version or "none"})
    return result


@dg.asset(group_name="registry")
def registered_model(context: dg.AssetExecutionContext, portfolio: PortfolioResource, mlflow: MlflowResource,
                     applications: pd.DataFrame, modeling_sample: ModelingSample, candidates: FittedCandidates,
                     champion_comparison: ChampionComparison, validation_report: ReportResult) -> Registration:
    """Log the job's runs, register the chosen candidate, verify it, and settle champion / challenger as decided."""
    cfg = portfolio.load()
    # the registered model reads raw files as training read the source (helper B: reader + development domain)
    id_column, source_names = scoring_names(cfg)
    reader = fitted_reader(cfg, applications, modeling_sample.features)
    pipelines = scoring_pipelines(candidates, modeling_sample.features, modeling_sample.split("dev"), reader,
                                  cfg.model_name, id_column, source_names)
    example = modeling_sample.split("oot")[modeling_sample.features].head(5)
    doc = lineage(cfg, context.run.run_id, champion_comparison.fingerprint, validation_report.contracts_dir)
    result = register_and_promote(mlflow, cfg, context.run.run_id, pipelines, validation_report, validation_report.promotion,
                                  champion_comparison, example, doc)
    context.log.info(f"registry: {result.decision} — " + "; ".join(result.reasons))
    context.add_output_metadata({"decision": result.decision, "model_version": result.model_version or "none",
                                 "champion_version": result.champion_version or "none", "mlflow_run_id": result.mlflow_run_id})
    return result

