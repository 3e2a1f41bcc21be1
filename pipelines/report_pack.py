"""What the validation report's validator pack needs from outside the data: the identity of
the run (model version, code version, time), the champion's stored initial validation and
its latest live-monitoring result in the registry, and the config's thresholds."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from mlflow.exceptions import MlflowException

from models.fairness import FairnessSpec
from models.supervisory import TrafficLights
from models.validator_pack import PackInputs, ReportIdentity
from pipelines.config import PortfolioConfig, TableSource
from pipelines.resources import MlflowResource

if TYPE_CHECKING:
    from models.promotion import ChampionComparison

ROOT = Path(__file__).resolve().parents[1]
CHAMPION = "champion"
#: The model-version tag holding the initial-validation reference (JSON of models.supervisory.initial_reference).
REFERENCE_TAG = "initial_validation"


def code_version(root: Path = ROOT) -> str:
    """The git commit of the code (and whether the tree had uncommitted changes), when it is a git checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True,
                               text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return f"git {commit}" + (" + uncommitted changes" if dirty else "")


def bad_definition_text(cfg: PortfolioConfig) -> str:
    if isinstance(cfg.source, TableSource):
        return f"{cfg.source.target} in {cfg.source.bad_values} (a ready target)"
    b = cfg.bad_definition
    text = f"ever {b.dpd_threshold}+ DPD" + (f" or {', '.join(b.bad_statuses)}" if b.bad_statuses else "")
    text += f" within {b.performance_window} months on book"
    if b.indeterminate_dpd:
        text += f"; worst DPD {b.indeterminate_dpd[0]}–{b.indeterminate_dpd[1]} indeterminate"
    return text


def as_of_month(cfg: PortfolioConfig, sample: pd.DataFrame) -> str:
    if not isinstance(cfg.source, TableSource) and cfg.source.as_of:
        return cfg.source.as_of
    if "application_month" in sample.columns and sample["application_month"].notna().any():
        return pd.Timestamp(sample["application_month"].max()).strftime("%Y-%m")
    return "no application dates"


def next_version(res: MlflowResource, model_name: str) -> str:
    """The version number the registry will give this run's model, if it registers one."""
    try:
        versions = res.client().search_model_versions(f"name='{model_name}'")
    except MlflowException:
        return "1"
    return str(max((int(v.version) for v in versions), default=0) + 1)


def champion_record(res: MlflowResource, model_name: str) -> tuple[dict | None, dict | None]:
    """The champion's stored initial-validation reference and its latest live-monitoring result (None when absent)."""
    client = res.client()
    try:
        mv = client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None, None
    reference = json.loads(mv.tags[REFERENCE_TAG]) if REFERENCE_TAG in mv.tags else None
    if isinstance(reference, dict):
        reference["version"] = str(mv.version)
    else:
        reference = None
    monitoring = None
    run_id = mv.tags.get("monitoring_run_id")
    if run_id:
        try:
            run = client.get_run(run_id)
        except MlflowException:
            run = None
        if run is not None:
            monitoring = {"champion_version": str(mv.version), "status": mv.tags.get("monitoring_status", "–"),
                          "evaluated": datetime.fromtimestamp(run.info.start_time / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC"),
                          **{k: float(v) for k, v in sorted(run.data.metrics.items())}, "mlflow_run_id": run_id}
    return reference, monitoring


def validator_pack_inputs(cfg: PortfolioConfig, res: MlflowResource, run_id: str, candidate: str, sample: pd.DataFrame,
                          comparison: ChampionComparison | None = None) -> PackInputs:
    """Everything the report's validator pack needs from the config, the registry and the checkout.

    ``comparison``: the champion comparison, which carries the run's input fingerprint
    (tables, config, code) and whether the same inputs were registered before.
    """
    data, config_hash, code = "–", "–", code_version()
    fingerprint = comparison.fingerprint if comparison is not None else None
    version = f"{next_version(res, cfg.model_name)} (registered after this report)"
    if comparison is not None and comparison.unchanged_since:
        version = f"none: same inputs, config and code as version {comparison.unchanged_since}, nothing new is registered"
    if fingerprint is not None:
        data = "; ".join(f"{name} {t['sha256'][:12]} ({t['rows']:,} rows)" for name, t in sorted(fingerprint.tables.items()))
        config_hash = fingerprint.config_sha256[:12]
        code += f" · source sha256 {fingerprint.code_sha256[:12]}"
    identity = ReportIdentity(
        portfolio=cfg.portfolio, model_name=cfg.model_name, model_version=version,
        candidate=candidate, as_of=as_of_month(cfg, sample), bad_definition=bad_definition_text(cfg), data_fingerprint=data,
        config_hash=config_hash, code_version=code,
        generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"), run_id=run_id)
    reference, monitoring = champion_record(res, cfg.model_name)
    s, m, p = cfg.supervisory, cfg.monitoring, cfg.protected
    return PackInputs(
        identity=identity,
        lights=TrafficLights(p_amber=s.p_amber, p_red=s.p_red, red_grades=s.red_grades, psi_amber=m.psi_warn,
                             psi_red=m.psi_alert, mwb_amber=s.mwb_amber, mwb_red=s.mwb_red),
        champion_reference=reference,
        fairness=FairnessSpec(tuple(p.attributes), {k: tuple(v) for k, v in p.bands.items()}, min_rows=p.min_group_rows),
        protected_as_feature=p.used_as_feature, approval_rate=p.approval_rate, monitoring=monitoring,
        migration_months=s.migration_months,
        monitoring_note=("This run's own monitoring of the champion runs after registration (the `monitoring` asset): "
                         f"its report is `<workdir>/{run_id}/monitoring/monitoring_report.html` and an MLflow run tagged "
                         "kind=monitoring. Below: the champion's latest monitoring before this run, from the registry."
                         if monitoring else
                         "No monitoring result is recorded on the champion yet. This run's monitoring runs after "
                         f"registration (the `monitoring` asset): `<workdir>/{run_id}/monitoring/monitoring_report.html` "
                         "and an MLflow run tagged kind=monitoring."))
