"""Talking to MLflow tracking: the experiment, one parent run per job and a child run per candidate.

A validator searches runs by tag (``portfolio``, ``candidate``, ``contract_status``,
``decision``), reads the whole resolved config as params and ``lineage.json`` (input
fingerprints, contract versions, git commit, Dagster run id, package versions, seed).
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import subprocess
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema

from models.lineage import RunFingerprint
from models.serving import CreditScoreModel, ScoringPipeline
from models.validation_report import ReportResult
from pipelines.config import PortfolioConfig
from pipelines.registry_store import (  # noqa: F401  (monitoring reads them here)
    CHAMPION,
    current_champion,
    load_champion,
    process_gone,
    process_holder,
)
from pipelines.resources import MlflowResource

ROOT = Path(__file__).resolve().parents[1]
_RUNTIME_PACKAGES = ("pandas", "numpy", "scikit-learn", "optbinning", "xgboost", "mlflow", "credit-pipeline")
_LINEAGE_PACKAGES = (*_RUNTIME_PACKAGES, "dagster", "great-expectations", "scipy", "polars", "duckdb")
#: The experiment tag MLflow's UI reads to open an experiment on its training runs (not the GenAI view).
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
TRAINING_KIND = "custom_model_development"
DEFAULT_EXPERIMENT_ID = "0"


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value
    return out


def _redact_url(url: str) -> str:
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def resolved_config(cfg: PortfolioConfig) -> dict:
    """The whole config with every default filled in, passwords in URLs redacted."""
    def redact(value, key=""):
        if isinstance(value, dict):
            return {k: redact(v, k) for k, v in value.items()}
        return _redact_url(value) if key == "url" and isinstance(value, str) else value
    return redact(cfg.model_dump(mode="json"))


def config_params(cfg: PortfolioConfig) -> dict[str, str]:
    """The resolved config as flat MLflow params (``section.key``)."""
    return {k: str(v)[:6000] for k, v in _flatten("", resolved_config(cfg), {}).items()}


def _requirements() -> list[str]:
    reqs = []
    for pkg in _RUNTIME_PACKAGES:
        try:
            reqs.append(f"{pkg}=={md.version(pkg)}")
        except md.PackageNotFoundError:
            continue
    return reqs


def package_versions() -> dict[str, str]:
    out = {}
    for pkg in _LINEAGE_PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def git_commit() -> str | None:
    """The checked-out commit, with ``-dirty`` when the tree has uncommitted changes; None outside git."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10,
                                check=False)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10, check=False).stdout.strip()
        return commit.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def contract_versions(contracts_dir: str | Path) -> dict[str, str]:
    summary = Path(contracts_dir) / "docs" / "summary.json"
    if not summary.is_file():
        return {}
    return {t: str(v) for t, v in json.loads(summary.read_text()).get("contract_versions", {}).items()}


def contract_params(contracts_dir: str | Path) -> dict[str, str]:
    """The version of every data contract the run was validated against."""
    return {f"contract_version.{t}": v for t, v in contract_versions(contracts_dir).items()}


def lineage(cfg: PortfolioConfig, dagster_run_id: str, fingerprint: RunFingerprint, contracts_dir: str | Path) -> dict:
    """What ``lineage.json`` holds: where every number of the run came from."""
    return {"dagster_run_id": dagster_run_id, "portfolio": cfg.portfolio, "input_tables": fingerprint.tables,
            "input_fingerprint": fingerprint.sha256, "config_sha256": fingerprint.config_sha256,
            "code_sha256": fingerprint.code_sha256, "contract_versions": contract_versions(contracts_dir),
            "git_commit": git_commit(), "packages": package_versions(), "seed": cfg.sample.seed}


def training_experiment(res: MlflowResource, name: str) -> str:
    """The experiment's id; created as a model-training experiment, and the store's empty ``Default`` removed.

    MLflow's UI opens an experiment in its GenAI view unless ``mlflow.experimentKind`` says
    it holds model training runs. A fresh store starts with an empty ``Default`` experiment
    nobody asked for; it is deleted when it holds no run.
    """
    client = res.client()
    exp = client.get_experiment_by_name(name)
    if exp is None:
        uri = res.resolved_uri()
        location = (Path(uri[len("sqlite:///"):]).resolve().parent / "mlartifacts").as_uri() if uri.startswith("sqlite:///") else None
        try:
            experiment_id = client.create_experiment(name, artifact_location=location, tags={EXPERIMENT_KIND_TAG: TRAINING_KIND})
        except MlflowException as exc:  # created by a concurrent run meanwhile
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment_id = client.get_experiment_by_name(name).experiment_id
    else:
        experiment_id = exp.experiment_id
        if exp.tags.get(EXPERIMENT_KIND_TAG) != TRAINING_KIND:
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, TRAINING_KIND)
    _drop_empty_default(client, experiment_id)
    return experiment_id


def _drop_empty_default(client, experiment_id: str) -> None:
    if experiment_id == DEFAULT_EXPERIMENT_ID:
        return
    try:
        default = client.get_experiment(DEFAULT_EXPERIMENT_ID)
    except MlflowException:
        return
    if default.lifecycle_stage != "active" or client.search_runs([DEFAULT_EXPERIMENT_ID], max_results=1, run_view_type=3):
        return
    try:
        client.delete_experiment(DEFAULT_EXPERIMENT_ID)
    except MlflowException:  # not allowed on this server (permissions): leave it
        pass


def _numbers(metrics: dict) -> dict[str, float]:
    """``split_name`` → value for every number of a ``metrics[split][name]`` mapping (nested dicts skipped)."""
    out = {}
    for split, values in metrics.items():
        if not isinstance(values, dict):
            if isinstance(values, (bool, int, float)) and values is not None:
                out[split] = float(values)
            continue
        for k, v in values.items():
            if isinstance(v, (bool, int, float)) and v is not None:
                out[f"{split}_{k}"] = float(v)
    return out


def start_parent_run(res: MlflowResource, cfg: PortfolioConfig, dagster_run_id: str, report: ReportResult,
                     lineage_doc: dict, tags: dict[str, str]):
    """The job's parent run: the resolved config as params, headline metrics, report, contracts, lineage.json.

    Returns the active run; the caller ends it (``mlflow.end_run``) once the registry is settled.
    """
    experiment_id = training_experiment(res, cfg.mlflow.experiment)
    close_dead_runs(res.client(), experiment_id, cfg.portfolio)
    run = mlflow.start_run(experiment_id=experiment_id, run_name=f"{cfg.portfolio}-{dagster_run_id[:8]}",
                           tags={"dagster_run_id": dagster_run_id, "portfolio": cfg.portfolio,
                                 "candidate": report.candidate, "holder": process_holder(), **tags})
    mlflow.log_params({**config_params(cfg), **contract_params(report.contracts_dir)})
    mlflow.log_metrics(_numbers(report.metrics))
    mlflow.log_dict(lineage_doc, "lineage.json")
    mlflow.log_artifacts(report.report_dir, artifact_path="report")
    if Path(report.contracts_dir).is_dir():
        mlflow.log_artifacts(report.contracts_dir, artifact_path="contracts")
    return run


def close_dead_runs(client, experiment_id: str, portfolio: str) -> None:
    """Runs of the portfolio left RUNNING by a process that died (killed, crashed) are marked KILLED."""
    for run in client.search_runs([experiment_id], f"tags.portfolio = '{portfolio}' and attributes.status = 'RUNNING'",
                                  max_results=200):
        if process_gone(run.data.tags.get("holder", "")):
            client.set_terminated(run.info.run_id, "KILLED")


def raw_rows_signature(X: pd.DataFrame, output: pd.DataFrame) -> ModelSignature:
    """The pyfunc's signature: the feature columns by name, any type; the scoring pipeline reads raw rows itself.

    MLflow's own type enforcement refuses int64 for a ``double`` column and float64 for a ``long`` one,
    so a typed signature rejects raw rows that the pipeline reads fine (a CSV of whole numbers, a
    warehouse DECIMAL); the pipeline's reader checks types and names the column when one is wrong.
    """
    inputs = Schema([ColSpec(AnyType(), name=str(c), required=False) for c in X.columns])
    return ModelSignature(inputs=inputs, outputs=infer_signature(X, output).outputs)


def log_candidate_models(cfg: PortfolioConfig, parent_run_id: str, dagster_run_id: str, pipelines: dict[str, ScoringPipeline],
                         candidate_metrics: dict[str, dict], example: pd.DataFrame, tags: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    """One child run per candidate (its own metrics, its pyfunc model); name → (child run id, model URI, model id)."""
    experiment_id = mlflow.get_run(parent_run_id).info.experiment_id
    out = {}
    for name, pipeline in pipelines.items():
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{cfg.portfolio}-{dagster_run_id[:8]}-{name}", nested=True,
                              parent_run_id=parent_run_id,
                              tags={"dagster_run_id": dagster_run_id, "portfolio": cfg.portfolio, "candidate": name,
                                    "holder": process_holder(), **tags}) as child:
            mlflow.log_metrics(_numbers(candidate_metrics.get(name, {})))
            X = pipeline.input_frame(example)
            info = mlflow.pyfunc.log_model(
                name=f"model_{name}", python_model=CreditScoreModel(pipeline), input_example=X,
                signature=raw_rows_signature(X, pipeline.predict(X)), pip_requirements=_requirements(),
                metadata={"id_column": pipeline.id_column, "portfolio": cfg.portfolio, "candidate": name},
            )
        out[name] = (child.info.run_id, info.model_uri, info.model_id)
    return out


def log_failed_validation(res: MlflowResource, cfg: PortfolioConfig, dagster_run_id: str, contracts_dir: Path,
                          message: str) -> str:
    """A tracking run (no model, registry untouched) holding the failed validation's Data Docs and summary."""
    experiment_id = training_experiment(res, cfg.mlflow.experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{cfg.portfolio}-{dagster_run_id[:8]}-contract-failed",
                          tags={"dagster_run_id": dagster_run_id, "portfolio": cfg.portfolio, "status": "contract_failed",
                                "contract_status": "fail"}) as run:
        mlflow.log_params(contract_params(contracts_dir))
        if contracts_dir.is_dir():
            mlflow.log_artifacts(str(contracts_dir), artifact_path="contracts")
        mlflow.log_text(message, "contracts/failure_message.txt")
    return run.info.run_id
