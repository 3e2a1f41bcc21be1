"""The jobs of the code location.

* ``nightly_retrain``: the whole graph, ingest to monitoring, in one process (a process per
  step re-imports the stack, ~10 s each, for no gain on two cores). Tagged with the portfolio,
  so the run queue (``dagster.yaml``: ``tag_concurrency_limits``) never runs two retrains of one
  portfolio at once.
* ``daily_monitoring`` (a job cannot share the ``monitoring`` asset's name): today's applications and performance, their contracts, and the champion's
  monitoring against the development window of the last retrain.
* ``validate_only``: read the loan book and run its data contracts; nothing is trained.
* ``load_month``: one application month (partition) read and validated on its own; backfill
  ranges of months from the UI.
"""

from __future__ import annotations

import dagster as dg

from pipelines.config import PortfolioConfig

RETRAIN_TAG = "creditpipe/retrain"  # value: the portfolio; at most one queued-to-running retrain per value
MONTHLY_ASSETS = dg.AssetSelection.assets("loan_book_month")
INPUTS = dg.AssetSelection.assets("applications", "performance")


def build_jobs(cfg: PortfolioConfig) -> dict[str, dg.UnresolvedAssetJobDefinition]:
    jobs = [
        dg.define_asset_job(
            "nightly_retrain",
            selection=dg.AssetSelection.all() - MONTHLY_ASSETS,
            executor_def=dg.in_process_executor,
            tags={RETRAIN_TAG: cfg.portfolio},
            description=f"Nightly retraining of portfolio '{cfg.portfolio}': ingest → contracts → outcomes → sample → "
                        "binning → selection → candidates → backtest → report → registry → monitoring",
        ),
        dg.define_asset_job(
            "daily_monitoring",
            selection=INPUTS | dg.AssetSelection.assets("monitoring"),
            executor_def=dg.in_process_executor,
            description="The champion on the newest applications (contracts first): score PSI, CSI, grades, approval "
                        "rate and early delinquency against the last retrain's development window",
        ),
        dg.define_asset_job(
            "validate_only",
            selection=INPUTS,
            executor_def=dg.in_process_executor,
            description="Read the loan book and run its data contracts; nothing is trained or registered",
        ),
        dg.define_asset_job(
            "load_month",
            selection=MONTHLY_ASSETS,
            executor_def=dg.in_process_executor,
            description="Reload and validate one application month (a partition); backfill a range from the UI",
        ),
    ]
    return {job.name: job for job in jobs}
