"""Registry: the MLflow run, the model version, the champion alias."""

import dagster as dg
import pandas as pd

from features.sample import ModelingSample

from models.promotion import decide_promotion
from models.serving import ScoringPipeline
from models.validation_report import ReportResult
from pipelines.mlflow_logging import current_champion, log_candidate_run, promote
from pipelines.resources import MlflowResource, PortfolioResource


@dg.asset(group_name="registry")
def registered_model(context: dg.AssetExecutionContext, portfolio: PortfolioResource, mlflow: MlflowResource,
                     modeling_sample: ModelingSample, candidates: dict, validation_report: ReportResult) -> dict:
    """Log the run to MLflow, register the model version, and move `champion` if the policy says so."""
    cfg = portfolio.load()
    id_column = "application_id" if cfg.source.kind == "warehouse" else cfg.source.id
    pipelines = {name: ScoringPipeline(model, modeling_sample.features, model_name=cfg.model_name, id_column=id_column)
                 for name, model in candidates.items()}
    example = modeling_sample.split("oot")[modeling_sample.features].head(5)
    logged = log_candidate_run(mlflow, cfg, context.run.run_id, pipelines, validation_report.candidate, example,
                               validation_report)
    champion = current_champion(mlflow, cfg.model_name)
    decision = decide_promotion(validation_report.metrics["oot"]["auc"], champion.oot_auc if champion else None,
                                cfg.promotion.min_improvement)
    context.log.info(f"promotion: {decision.reason}")
    if decision.promote:
        promote(mlflow, cfg.model_name, logged["model_version"])
    champion_version = logged["model_version"] if decision.promote else champion.version
    context.add_output_metadata({"model_version": int(logged["model_version"]), "champion_version": int(champion_version),
                                 "mlflow_run_id": logged["mlflow_run_id"]})
    return {**logged, "model_name": cfg.model_name, "champion_version": str(champion_version),
            "promoted": decision.promote, "promotion_reason": decision.reason}

