"""Registry: the MLflow run, the model version, the champion alias; and monitoring of the champion."""

import dagster as dg
import pandas as pd

from features.sample import ModelingSample

from features.sample import newest_applications
from models.monitoring import monitor_population
from models.promotion import decide_promotion
from models.serving import ScoringPipeline
from models.validation_report import ReportResult
from pipelines.mlflow_logging import current_champion, load_champion, log_candidate_run, promote
from pipelines.resources import MlflowResource, PortfolioResource, WorkdirResource
from pipelines.scoring import conform_to_schema


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


@dg.asset(group_name="monitoring")
def monitoring(context: dg.AssetExecutionContext, portfolio: PortfolioResource, mlflow: MlflowResource,
               workdir: WorkdirResource, applications: pd.DataFrame, modeling_sample: ModelingSample, registered_model: dict) -> dict:
    """The champion scores the newest applications; score PSI and feature CSI against development."""
    cfg = portfolio.load()
    champion = load_champion(mlflow, cfg.model_name)
    schema = champion.metadata.get_input_schema()
    recent = conform_to_schema(newest_applications(applications, cfg.monitoring.recent_months), schema, "applications")
    dev = conform_to_schema(modeling_sample.split("dev"), schema, "modeling_sample")
    features = schema.input_names()
    result = monitor_population(champion.predict(dev[features])["pd"], champion.predict(recent[features])["pd"],
                                dev[features], recent[features], cfg.monitoring.psi_warn, cfg.monitoring.psi_alert)
    log = context.log.warning if result["status"] != "ok" else context.log.info
    log(f"monitoring: champion score PSI {result['score_psi']:.4f} on {result['recent_rows']} newest applications ({result['status']})")
    result["csi"].to_csv(workdir.run_dir(context.run.run_id) / "monitoring_csi.csv", index=False)
    context.add_output_metadata({"score_psi": result["score_psi"], "status": result["status"]})
    return result
