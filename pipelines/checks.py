"""Blocking data-contract checks on the input assets (Great Expectations via data_contracts)."""

import json

import dagster as dg
import pandas as pd

from data_contracts import ContractReport, validate_flat_table, validate_loan_book
from pipelines.config import PortfolioConfig, TableSource
from pipelines.mlflow_logging import log_failed_validation
from pipelines.resources import MlflowResource, PortfolioResource, WorkdirResource
from pipelines.sources import portfolio_contracts

CONTRACT_SPECS = [
    dg.AssetCheckSpec("contract", asset="applications", blocking=True,
                      description="applications data contract (GX): columns, types, keys, ranges, categories, dates"),
    dg.AssetCheckSpec("contract", asset="performance", blocking=True,
                      description="performance data contract (GX): keys, DPD, statuses, dates vs applications"),
]


def _overrides(cfg: PortfolioConfig, table: str) -> dict:
    extra = dict(cfg.contract.overrides.get(table, {}))
    extra.setdefault("distribution", {})
    extra["distribution"] = {**extra["distribution"], "severity": cfg.contract.drift_severity}
    return extra


def name_source_columns(report: ContractReport, columns: dict[str, dict[str, str]]) -> None:
    """Results name a mapped role column by both names, e.g. ``decision (DECISION)``: the lender knows theirs."""
    for r in report.results:
        theirs = columns.get(r.table, {})
        if r.column and theirs:
            r.column = ", ".join(f"{c} ({theirs[c]})" if theirs.get(c, c) != c else c for c in r.column.split(", "))


def validate_portfolio(cfg: PortfolioConfig, applications: pd.DataFrame, performance: pd.DataFrame,
                       workdir: WorkdirResource, run_id: str, accept: bool = True) -> ContractReport:
    """Run the portfolio's contracts; Data Docs, summary and quarantine go to the run's directory.

    With ``accept``, a passing batch becomes the baseline of the next run's distribution checks.
    """
    out = workdir.run_dir(run_id) / "contracts"
    baseline_path = workdir.baseline_path(cfg.portfolio)
    baseline = json.loads(baseline_path.read_text()) if cfg.contract.baseline and baseline_path.is_file() else None
    common = dict(baseline=baseline, docs_dir=out / "docs", quarantine_dir=out / "quarantine", run_id=run_id)
    src = cfg.source
    if isinstance(src, TableSource):
        # Validate with the lender's own column names, so messages name them.
        frame = applications.rename(columns={"application_id": src.id, "application_date": src.date}) if src.id else \
            applications.drop(columns="application_id").rename(columns={"application_date": src.date})
        report = validate_flat_table(frame, target=src.target, bad_values=src.bad_values, id=src.id, date=src.date,
                                     types=src.types, overrides=_overrides(cfg, "flat_table"), **common)
    else:
        report = validate_loan_book(applications, performance, as_of=None, contracts=portfolio_contracts(cfg),
                                    overrides={t: _overrides(cfg, t) for t in ("applications", "performance")}, **common)
    if not isinstance(src, TableSource):
        name_source_columns(report, src.columns)
    if accept and report.success and cfg.contract.baseline:
        baseline_path.parent.mkdir(parents=True, exist_ok=True)
        baseline_path.write_text(json.dumps(report.baseline(), indent=1))
    return report


def read_and_validate(cfg: PortfolioConfig, workdir: str, run_id: str) -> ContractReport:
    """Read the portfolio's source as the ingest assets do, then validate it (``creditpipe validate``).

    A check-only validation never moves the baseline: only a nightly run accepts a batch.
    """
    from features.pii import mask_pii
    from pipelines.assets.ingest import pii_salt
    from pipelines.resources import WarehouseResource
    from pipelines.sources import pii_columns, read_applications, read_performance

    warehouse = WarehouseResource(url=cfg.source.url if cfg.source.kind == "warehouse" else "duckdb:///.data/warehouse.duckdb")
    applications = mask_pii(read_applications(cfg, warehouse), pii_columns(cfg), pii_salt())
    performance = mask_pii(read_performance(cfg, warehouse), pii_columns(cfg, "performance"), pii_salt())
    return validate_portfolio(cfg, applications, performance, WorkdirResource(path=workdir), run_id, accept=False)


@dg.multi_asset_check(specs=CONTRACT_SPECS, ins={"applications": dg.AssetIn("applications"), "performance": dg.AssetIn("performance")})
def loan_book_contract(context: dg.AssetCheckExecutionContext, portfolio: PortfolioResource, workdir: WorkdirResource,
                       mlflow: MlflowResource, applications: pd.DataFrame, performance: pd.DataFrame):
    """Validate the loan book; an error-severity failure stops everything downstream."""
    cfg = portfolio.load()
    report = validate_portfolio(cfg, applications, performance, workdir, context.run.run_id)
    for w in report.warnings:
        context.log.warning(f"contract warning: {w.table}.{w.column}: {w.expectation}: expected {w.expected}, observed {w.observed}")
    message = report.failure_message() if not report.success else ""
    if message:
        context.log.error(message)
        # validators find failed validations in MLflow too; no model, the registry is not touched
        log_failed_validation(mlflow, cfg, context.run.run_id, workdir.run_dir(context.run.run_id) / "contracts", message)
    for asset in ("applications", "performance"):
        tables = {"applications", "flat_table"} if asset == "applications" else {"performance"}
        rows = [r for r in report.results if r.table in tables]
        errors = [r for r in rows if not r.success and r.severity == "error"]
        yield dg.AssetCheckResult(
            asset_key=asset, check_name="contract", passed=not errors, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"evaluated": len(rows), "errors": len(errors),
                      "warnings": sum(1 for r in rows if not r.success and r.severity == "warn"),
                      "failures": message, "data_docs": str(report.data_docs_path or "")},
        )
