"""Test helper: the registry step alone, in its own process, with a prepared model (for the fault tests).

    python -m tests.registry_driver SPEC.json

SPEC: ``config`` (portfolio YAML), ``source_model`` (a models:/ URI whose pipeline is re-registered),
``report_dir`` (a finished run's report directory), ``contracts_dir``, ``warehouse`` (DuckDB file for
example rows), ``decision`` (champion | challenger | pending), ``compared_with`` (champion version or
null), ``tag`` (makes the input fingerprint unique). Tracking URI from ``MLFLOW_TRACKING_URI``.
Prints the Registration as JSON; a CreditPipelineError exits 1 with its message on stderr.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import duckdb
import mlflow

from features.errors import CreditPipelineError
from models.lineage import RunFingerprint
from models.promotion import ChampionComparison, PromotionDecision
from models.validation_report import ReportResult
from pipelines.config import load_config
from pipelines.promotion_run import register_and_promote
from pipelines.resources import MlflowResource


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    cfg = load_config(spec["config"])
    res = MlflowResource(tracking_uri=os.environ["MLFLOW_TRACKING_URI"])  # fixed now: set_tracking_uri rewrites the variable
    # the prepared model may live on another server (CREDITPIPE_TEST_SOURCE_URI) than the one written to
    mlflow.set_tracking_uri(os.environ.get("CREDITPIPE_TEST_SOURCE_URI") or res.resolved_uri())
    pipeline = mlflow.pyfunc.load_model(spec["source_model"]).unwrap_python_model().pipeline
    res.client()
    with duckdb.connect(spec["warehouse"], read_only=True) as con:
        example = con.execute("select * from applications limit 5").df()
    report_dir = Path(spec["report_dir"])
    metrics = json.loads((report_dir / "metrics.json").read_text())
    candidate = metrics["chosen_candidate"]
    decision = PromotionDecision(spec["decision"], (f"driver: {spec['decision']} ({spec['tag']})",))
    report = ReportResult(report_path=str(report_dir / "validation_report.html"), metrics_path=str(report_dir / "metrics.json"),
                          report_dir=str(report_dir), contracts_dir=spec["contracts_dir"], candidate=candidate,
                          metrics=metrics["metrics"], promotion=decision)
    fingerprint = RunFingerprint(tables={"applications": {"sha256": spec["tag"], "rows": 5, "columns": 1}},
                                 config_sha256="driver", code_sha256="driver")
    comparison = ChampionComparison(candidate=candidate, fingerprint=fingerprint, champion_version=spec["compared_with"])
    try:
        result = register_and_promote(res, cfg, f"driver-{spec['tag']}", {candidate: pipeline}, report, decision, comparison,
                                      example, {"driver": spec["tag"]})
    except CreditPipelineError as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
