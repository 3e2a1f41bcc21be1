"""The monitoring report (HTML + JSON) in the run's directory and in MLflow, against the champion's version."""

from __future__ import annotations

import json
import math
from pathlib import Path

from models.monitoring import MonitoringResult, render_html
from pipelines.config import PortfolioConfig
from pipelines.mlflow_logging import training_experiment
from pipelines.resources import MlflowResource


def write_monitoring_report(result: MonitoringResult, out: Path, title: str) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    html, js = out / "monitoring_report.html", out / "monitoring.json"
    html.write_text(render_html(result, title), encoding="utf-8")
    js.write_text(json.dumps(result.summary(), indent=1, default=float), encoding="utf-8")
    return html, js


def log_monitoring_run(res: MlflowResource, cfg: PortfolioConfig, dagster_run_id: str, champion_version: str,
                       result: MonitoringResult, report_dir: Path) -> str:
    """One MLflow run per evaluation, tagged with the champion's version; the version carries the latest status."""
    import mlflow

    client = res.client()
    experiment_id = training_experiment(res, cfg.mlflow.experiment)
    tags = {"kind": "monitoring", "model_name": cfg.model_name, "model_version": str(champion_version),
            "dagster_run_id": dagster_run_id, "monitoring_status": result.status, "portfolio": cfg.portfolio}
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"monitoring {cfg.model_name} v{champion_version}",
                          tags=tags) as run:
        values = {"score_psi": result.score_psi, "approved_score_psi": result.approved_score_psi,
                  "approval_rate": result.approval["current_rate"], "max_csi": float(result.csi["csi"].max()) if len(result.csi) else 0.0}
        mlflow.log_metrics({k: float(v) for k, v in values.items() if not math.isnan(v)})  # NaN (no approvals): not logged
        mlflow.log_artifacts(str(report_dir), artifact_path="monitoring")
    client.set_model_version_tag(cfg.model_name, str(champion_version), "monitoring_status", result.status)
    client.set_model_version_tag(cfg.model_name, str(champion_version), "monitoring_run_id", run.info.run_id)
    return run.info.run_id
