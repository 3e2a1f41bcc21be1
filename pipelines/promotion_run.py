"""The registry side of a run: compare with the champion, then log, register, verify and settle the aliases.

Called by the ``champion_comparison`` and ``registered_model`` assets; usable on its own
(the crash tests call :func:`register_and_promote` directly with a prepared model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException

from features.errors import ModelError
from features.loan_book import PII_COLUMNS
from features.sample import ModelingSample
from models import discrimination
from models.comparison import delong_paired
from models.lineage import (
    RunFingerprint,
    code_fingerprint,
    config_fingerprint,
    table_fingerprint,
)
from models.promotion import (
    ChampionComparison,
    PromotionDecision,
    contract_status,
    scored_evidence,
)
from models.serving import ScoringPipeline
from models.validation_report import ReportResult
from pipelines.config import PortfolioConfig
from pipelines.mlflow_logging import (
    ROOT,
    log_candidate_models,
    resolved_config,
    start_parent_run,
)
from pipelines.registry_store import (
    CHALLENGER,
    CHAMPION,
    aliased_version,
    current_user,
    fault_point,
    load_champion_model,
    register_version,
    registry_errors,
    settle_aliases,
    unchanged_since,
    verify_version,
)
from pipelines.resources import MlflowResource


def run_fingerprint(cfg: PortfolioConfig, tables: dict[str, pd.DataFrame]) -> RunFingerprint:
    """Content hashes of the input tables (PII digests left out: their salt changes per process), config and code."""
    return RunFingerprint(tables={name: table_fingerprint(frame, ignore=PII_COLUMNS) for name, frame in tables.items()},
                          config_sha256=config_fingerprint(resolved_config(cfg)), code_sha256=code_fingerprint(ROOT))


def _contract_summary(contracts_dir: str | Path) -> dict | None:
    path = Path(contracts_dir) / "docs" / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else None


def run_contract_status(contracts_dir: str | Path):
    return contract_status(_contract_summary(contracts_dir))


def compare_with_champion(res: MlflowResource, cfg: PortfolioConfig, sample: ModelingSample, predictions: pd.DataFrame,
                          candidate: str, fingerprint: RunFingerprint, contracts_dir: str | Path) -> ChampionComparison:
    """The champion re-scored through its own registered pipeline on this run's rows, against this run's candidate.

    Its gates use this run's levels: the calibration tests' ``models.calibration.test_alpha``
    and the rank-ordering ``promotion.rank_ordering_alpha``.
    """
    base = {"candidate": candidate, "fingerprint": fingerprint}
    with registry_errors(res, "reading the champion"):
        same = unchanged_since(res, cfg.model_name, fingerprint.sha256)
        if same is not None:
            return ChampionComparison(**base, unchanged_since=same)
        champion = load_champion_model(res, cfg.model_name)
    if champion is None:
        return ChampionComparison(**base)
    # its own registered scoring pipeline reads this run's rows the way the champion was trained to read them
    pipeline: ScoringPipeline = champion.model.unwrap_python_model().pipeline
    scored = {}
    try:
        for split in ("dev", "test", "oot"):
            rows = sample.split(split)
            _, out = pipeline.decisions(rows)  # PD, score and grade; no reason codes needed here
            scored[split] = pd.DataFrame({"target": rows["target"].to_numpy(), "pd": out["pd"].to_numpy(),
                                          "score": out["score"].to_numpy(), "grade": out["grade"].to_numpy()})
    except ModelError as exc:
        return ChampionComparison(**base, champion_version=champion.version, champion_unscorable=str(exc))
    champ_features = json.loads(champion.tags.get("model_features", "[]"))
    champ_features = [f for f in champ_features if f in sample.sample.columns]
    evidence = scored_evidence(scored, sample.split("dev")[champ_features], sample.split("oot")[champ_features],
                               cfg.models.calibration.test_alpha, run_contract_status(contracts_dir),
                               cfg.promotion.rank_ordering_alpha)
    rows, auc, ks, delong = {}, {}, {}, {}
    for split in ("test", "oot"):
        part = predictions.loc[sample.split(split).index]
        y = part["target"].to_numpy()
        d = delong_paired(y, part[f"pd_{candidate}"].to_numpy(dtype=float), scored[split]["pd"].to_numpy(dtype=float))
        rows[split] = (len(y), int(y.sum()))
        delong[split] = d
        auc[split] = {"champion": d.auc_b, "candidate": d.auc_a}
        ks[split] = {"champion": discrimination.ks(y, -scored[split]["score"].to_numpy(dtype=float)).statistic,
                     "candidate": discrimination.ks(y, -part[f"score_{candidate}"].to_numpy(dtype=float)).statistic}
    return ChampionComparison(**base, champion_version=champion.version, champion_candidate=champion.tags.get("candidate"),
                              rows=rows, auc=auc, ks=ks, delong=delong, champion_evidence=evidence)


@dataclass(frozen=True)
class Registration:
    """What the registry looks like after this run."""

    model_name: str
    mlflow_run_id: str
    model_version: str | None  # None: nothing registered (unchanged)
    decision: str  # champion, challenger, pending, unchanged
    reasons: tuple[str, ...]
    champion_version: str | None
    challenger_version: str | None

    @property
    def promoted(self) -> bool:
        return self.decision == CHAMPION


def _description(decision: str, reasons: tuple[str, ...], gates, report_link: str) -> str:
    lines = [f"Decision: {decision}.", *(f"- {r}" for r in reasons), "", "Gates:",
             *(f"- {g.describe()}" for g in gates), "", f"Validation report: {report_link}"]
    return "\n".join(lines)[:5000]


def register_and_promote(res: MlflowResource, cfg: PortfolioConfig, dagster_run_id: str,
                         pipelines: dict[str, ScoringPipeline], report: ReportResult, decision: PromotionDecision,
                         comparison: ChampionComparison, example: pd.DataFrame, lineage_doc: dict) -> Registration:
    """Log the job's runs, register the chosen candidate, verify it, then settle the aliases (in that order).

    Each step is a :func:`fault_point`; a failure anywhere leaves every alias where it was.
    """
    client = res.client()
    name, chosen = cfg.model_name, report.candidate
    user = current_user(res.resolved_uri())
    results = json.loads(Path(report.metrics_path).read_text())
    fault_point("before_tracking")
    with registry_errors(res, "logging the run and registering the model"):
        tags = {"contract_status": run_contract_status(report.contracts_dir), "decision": decision.decision, "run_by": user,
                "input_fingerprint": comparison.fingerprint.sha256}
        run = start_parent_run(res, cfg, dagster_run_id, report, lineage_doc, tags)
        parent = run.info.run_id
        try:
            mlflow.log_dict(decision.as_dict(), "promotion.json")
            if comparison.delong:
                mlflow.log_text(comparison.table().to_csv(index=False), "champion_comparison.csv")
            fault_point("after_parent_run")
            if decision.decision == "unchanged":
                mlflow.set_tag("unchanged_since", decision.unchanged_since)
                mlflow.end_run()
                return Registration(name, parent, None, "unchanged", decision.reasons, aliased_version(client, name, CHAMPION),
                                    aliased_version(client, name, CHALLENGER))
            children = log_candidate_models(cfg, parent, dagster_run_id, pipelines, results.get("candidates", {}), example,
                                            {"contract_status": tags["contract_status"]})
            fault_point("after_models_logged")
            child_run, model_uri, model_id = children[chosen]
            mv = register_version(client, name, model_uri, model_id, child_run, {
                "candidate": chosen, "dagster_run_id": dagster_run_id, "mlflow_run_id": child_run,
                "mlflow_parent_run_id": parent, "run_by": user, "oot_auc": repr(float(report.metrics["oot"]["auc"]))})
            version = str(mv.version)
            fault_point("after_register")
            verify_version(name, version, pipelines[chosen], example)
            client.set_model_version_tag(name, version, "artifacts", "verified")
            fault_point("after_verify")
            link = f"runs:/{parent}/report/validation_report.html"
            features = [r["feature"] for r in results.get("csi", [])]
            for k, v in {"decision_proposed": decision.decision, "reasons": " | ".join(decision.reasons)[:5000],
                         "gates": json.dumps([g.__dict__ for g in decision.gates]), "report": link,
                         "compared_with_champion": comparison.champion_version or "",
                         # the validator pack: the model card, and the initial validation later runs test it against
                         "model_card": f"runs:/{parent}/report/model_card.md",
                         "initial_validation": json.dumps(results.get("initial_reference")),
                         "model_features": json.dumps(features),  # registry tags hold 100,000 characters
                         **({"approval": "pending"} if decision.decision == "pending" else {})}.items():
                client.set_model_version_tag(name, version, k, v)
            fault_point("after_tags")
            final, why = decision.decision, ""
            if final in (CHAMPION, CHALLENGER):
                final, why = settle_aliases(client, name, version, final, comparison.champion_version)
            fault_point("after_alias")
            reasons = decision.reasons + ((why,) if why else ())
            client.update_model_version(name, version, description=_description(final, reasons, decision.gates, link))
            client.set_model_version_tag(name, version, "decision", final)
            if why:
                client.set_model_version_tag(name, version, "reasons", " | ".join(reasons)[:5000])
            # last: a later identical run finds this version only once everything above is done
            client.set_model_version_tag(name, version, "input_fingerprint", comparison.fingerprint.sha256)
            mlflow.set_tags({"decision": final, "model_version": version, "reasons": " | ".join(reasons)[:5000]})
            mlflow.end_run()
        except BaseException:
            try:
                mlflow.end_run("FAILED")
            except (MlflowException, OSError):
                pass
            raise
        return Registration(name, parent, version, final, reasons, aliased_version(client, name, CHAMPION),
                            aliased_version(client, name, CHALLENGER))
