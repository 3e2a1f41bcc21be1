"""Ingest: the loan history as the warehouse holds it (PII masked on read), and its contract."""

import os
import secrets

import dagster as dg
import pandas as pd

from features.errors import SourceError
from features.loan_book import PII_COLUMNS
from features.pii import mask_pii
from pipelines.config import TableSource
from pipelines.resources import PortfolioResource, WarehouseResource, WorkdirResource
from pipelines.storage import run_scoped
from pipelines.sources import (
    pii_columns,
    read_applications,
    read_flat_applications,
    read_performance,
    read_warehouse_applications,
)

_RUN_SALT = secrets.token_hex(16)


def pii_salt() -> str:
    """``CREDITPIPE_PII_SALT`` when a stable join key is needed across runs; else a secret that dies with the process.

    A known salt would let anyone hash every possible national id or phone number and
    reverse the digests, so the default is random and never stored.
    """
    return os.environ.get("CREDITPIPE_PII_SALT") or _RUN_SALT


def masked(frame: pd.DataFrame, columns: list[str], keep_digests: bool) -> pd.DataFrame:
    """PII replaced by salted digests; unless ``keep_digests``, the digests are marked run-scoped: the asset store
    keeps them in memory for the run's contract check and never writes them (orchestration.keep_pii_digests)."""
    present = [c for c in columns if c in frame.columns]
    frame = mask_pii(frame, present, pii_salt())
    return frame if keep_digests else run_scoped(frame, present)


@dg.asset(group_name="ingest", kinds={"duckdb"})
def applications(context: dg.AssetExecutionContext, portfolio: PortfolioResource, warehouse: WarehouseResource,
                 workdir: WorkdirResource) -> pd.DataFrame:
    """One row per application, accepted or rejected, with PII replaced by salted digests."""
    cfg = portfolio.load()
    if isinstance(cfg.source, TableSource):
        frame, types = read_flat_applications(cfg.source)
        types.to_csv(workdir.run_dir(context.run.run_id) / "inferred_types.csv", index=False)
        context.log.info("inferred column types (override with source.types):\n" + types.to_string(index=False))
    else:
        frame = read_warehouse_applications(cfg, warehouse)
    frame = masked(frame, pii_columns(cfg), cfg.orchestration.keep_pii_digests)  # the contract says which are PII
    context.add_output_metadata({"rows": len(frame), "columns": len(frame.columns)})
    return frame


@dg.asset(group_name="ingest", kinds={"duckdb"})
def performance(context: dg.AssetExecutionContext, portfolio: PortfolioResource, warehouse: WarehouseResource) -> pd.DataFrame:
    """One row per approved loan per month on book."""
    cfg = portfolio.load()
    frame = masked(read_performance(cfg, warehouse), pii_columns(cfg, "performance"), cfg.orchestration.keep_pii_digests)
    context.add_output_metadata({"rows": len(frame)})
    return frame


def build_loan_book_month(partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """``loan_book_month``: one application month (a vintage) read, PII-masked and validated on its own."""

    @dg.asset(name="loan_book_month", group_name="ingest", kinds={"duckdb"}, partitions_def=partitions_def,
              check_specs=[dg.AssetCheckSpec("contract", asset="loan_book_month", blocking=True,
                                             description="the month's applications and their repayment history "
                                                         "against the data contracts")])
    def loan_book_month(context: dg.AssetExecutionContext, portfolio: PortfolioResource, warehouse: WarehouseResource,
                        workdir: WorkdirResource):
        """The applications of one month and the performance rows of their loans, validated as a batch of their own.

        Reload a corrected month or backfill a range from the UI; the nightly retrain still reads
        the whole window through ``applications`` and ``performance``.
        """
        from pipelines.checks import validate_portfolio
        from pipelines.partitions import month_rows

        cfg = portfolio.load()
        month = context.partition_key
        apps = masked(read_applications(cfg, warehouse), PII_COLUMNS, cfg.orchestration.keep_pii_digests)
        if "application_date" not in apps:
            raise SourceError("applications: the source has no application date column, so it cannot be loaded by "
                              "application month (set source.date for a flat table)")
        apps = month_rows(apps, "application_date", month)
        perf = read_performance(cfg, warehouse)
        perf = perf[perf["loan_id"].isin(apps["application_id"])]
        report = validate_portfolio(cfg, apps, perf, workdir, f"{context.run.run_id}-{month}", accept=False)
        yield dg.Output({"applications": apps, "performance": perf},
                        metadata={"month": month, "applications": len(apps), "performance_rows": len(perf),
                                  "approved": int((apps["decision"] == "approved").sum()) if "decision" in apps else len(apps)})
        yield dg.AssetCheckResult(check_name="contract", passed=report.success, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"errors": len(report.errors), "warnings": len(report.warnings),
                                            "failures": report.failure_message() if not report.success else ""})

    return loan_book_month
