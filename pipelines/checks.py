"""Blocking data-contract checks on the input assets (Great Expectations via data_contracts)."""

import dagster as dg
import pandas as pd

from data_contracts import validate_loan_book
from pipelines.resources import WorkdirResource

CONTRACT_SPECS = [
    dg.AssetCheckSpec("contract", asset="applications", blocking=True,
                      description="applications data contract (GX): columns, types, keys, ranges, categories, dates"),
    dg.AssetCheckSpec("contract", asset="performance", blocking=True,
                      description="performance data contract (GX): keys, DPD, statuses, dates vs applications"),
]


@dg.multi_asset_check(specs=CONTRACT_SPECS, ins={"applications": dg.AssetIn("applications"), "performance": dg.AssetIn("performance")})
def loan_book_contract(context: dg.AssetCheckExecutionContext, workdir: WorkdirResource,
                       applications: pd.DataFrame, performance: pd.DataFrame):
    """Validate the loan book; an error-severity failure stops everything downstream."""
    run_dir = workdir.run_dir(context.run.run_id)
    report = validate_loan_book(applications, performance, docs_dir=run_dir / "contracts", run_id=context.run.run_id)
    for table in ("applications", "performance"):
        rows = [r for r in report.results if r.table == table]
        errors = [r for r in rows if not r.success and r.severity == "error"]
        warnings = [r for r in rows if not r.success and r.severity == "warn"]
        for w in warnings:
            context.log.warning(f"contract warning: {w.table}.{w.column}: {w.expectation} expected {w.expected}, observed {w.observed}")
        yield dg.AssetCheckResult(
            asset_key=table, check_name="contract", passed=not errors, severity=dg.AssetCheckSeverity.ERROR,
            metadata={"evaluated": len(rows), "errors": len(errors), "warnings": len(warnings),
                      "failures": report.failure_message() if errors else "", "summary_path": str(run_dir / "contracts")},
        )
