"""Talking to MLflow: one tracking run per pipeline run, model versions, the champion alias."""

from __future__ import annotations

import importlib.metadata as md
import json
import re
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from models.serving import CreditScoreModel, ScoringPipeline
from models.validation_report import ReportResult
from pipelines.config import PortfolioConfig
from pipelines.resources import MlflowResource

CHAMPION = "champion"
_RUNTIME_PACKAGES = ("pandas", "numpy", "scikit-learn", "optbinning", "xgboost", "mlflow", "credit-pipeline")


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value
    return out


def _redact_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def config_params(cfg: PortfolioConfig) -> dict[str, str]:
    """The config as flat MLflow params, passwords in URLs redacted."""
    params = _flatten("", cfg.model_dump(mode="json"), {})
    return {k: (_redact_url(str(v)) if k.endswith("url") else str(v))[:500] for k, v in params.items()}


def _requirements() -> list[str]:
    reqs = []
    for pkg in _RUNTIME_PACKAGES:
        try:
            reqs.append(f"{pkg}=={md.version(pkg)}")
        except md.PackageNotFoundError:
            continue
    return reqs


def log_candidate_run(res: MlflowResource, cfg: PortfolioConfig, dagster_run_id: str, pipelines: dict[str, ScoringPipeline],
                      chosen: str, example: pd.DataFrame, report: ReportResult) -> dict:
    """Log params, metrics, the report, the contract results and every candidate as a pyfunc model;
    register the chosen candidate as a new model version."""
    res.client()  # sets the tracking URI
    experiment_id = res.experiment_id(cfg.mlflow.experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{cfg.portfolio}-{dagster_run_id[:8]}",
                          tags={"dagster_run_id": dagster_run_id, "portfolio": cfg.portfolio, "candidate": chosen}) as run:
        mlflow.log_params({**config_params(cfg), **contract_params(report.contracts_dir)})
        mlflow.log_metrics({f"{split}_{k}": float(v) for split, m in report.metrics.items() if isinstance(m, dict)
                            for k, v in m.items() if isinstance(v, (int, float)) and v is not None})
        mlflow.log_artifacts(report.report_dir, artifact_path="report")
        if Path(report.contracts_dir).is_dir():
            mlflow.log_artifacts(report.contracts_dir, artifact_path="contracts")
        infos = {}
        for name, pipeline in pipelines.items():
            X = pipeline.input_frame(example)
            infos[name] = mlflow.pyfunc.log_model(
                name=f"model_{name}", python_model=CreditScoreModel(pipeline), input_example=X,
                signature=infer_signature(X, pipeline.predict(X)), pip_requirements=_requirements(),
                metadata={"id_column": pipeline.id_column, "portfolio": cfg.portfolio, "candidate": name},
            )
    version = mlflow.register_model(infos[chosen].model_uri, cfg.model_name,
                                    tags={"oot_auc": repr(float(report.metrics["oot"]["auc"])), "candidate": chosen,
                                          "dagster_run_id": dagster_run_id, "mlflow_run_id": run.info.run_id})
    return {"mlflow_run_id": run.info.run_id, "model_version": str(version.version), "model_uri": infos[chosen].model_uri,
            "candidate": chosen}


def contract_params(contracts_dir: str | Path) -> dict[str, str]:
    """The version of every data contract the run was validated against."""
    summary = Path(contracts_dir) / "docs" / "summary.json"
    if not summary.is_file():
        return {}
    versions = json.loads(summary.read_text()).get("contract_versions", {})
    return {f"contract_version.{table}": str(v) for table, v in versions.items()}


def log_failed_validation(res: MlflowResource, cfg: PortfolioConfig, dagster_run_id: str, contracts_dir: Path,
                          message: str) -> str:
    """A tracking run (no model, registry untouched) holding the failed validation's Data Docs and summary."""
    res.client()
    experiment_id = res.experiment_id(cfg.mlflow.experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{cfg.portfolio}-{dagster_run_id[:8]}-contract-failed",
                          tags={"dagster_run_id": dagster_run_id, "portfolio": cfg.portfolio, "status": "contract_failed"}) as run:
        mlflow.log_params(contract_params(contracts_dir))
        if contracts_dir.is_dir():
            mlflow.log_artifacts(str(contracts_dir), artifact_path="contracts")
        mlflow.log_text(message, "contracts/failure_message.txt")
    return run.info.run_id


@dataclass(frozen=True)
class Champion:
    version: str
    oot_auc: float


def current_champion(res: MlflowResource, model_name: str) -> Champion | None:
    client = res.client()
    try:
        mv = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None
    return Champion(version=str(mv.version), oot_auc=float(mv.tags["oot_auc"]))


def promote(res: MlflowResource, model_name: str, version: str) -> None:
    res.client().set_registered_model_alias(model_name, CHAMPION, version)


def load_champion(res: MlflowResource, model_name: str):
    """The champion as an MLflow pyfunc model."""
    res.client()
    return mlflow.pyfunc.load_model(f"models:/{model_name}@{CHAMPION}")
