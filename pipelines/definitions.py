"""The Dagster code location `pipelines`: the nightly credit-model job and its schedule.

The portfolio config comes from ``CREDITPIPE_CONFIG`` (default: the embedded demo config)
and the run's work directory from ``CREDITPIPE_WORKDIR`` (default ``.data/work``).
"""

from __future__ import annotations

import os

import dagster as dg

from pipelines.assets import ingest, modeling, outcomes, registry, validation
from pipelines.checks import loan_book_contract
from pipelines.logging import concise_console
from pipelines.resources import resources_for

ASSET_MODULES = [ingest, outcomes, modeling, validation, registry]

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    # one process for the whole run: a process per step re-imports the stack (~10 s each) for no gain on 2 cores
    executor_def=dg.in_process_executor,
    description="Nightly retraining: ingest → contracts → outcomes → sample → binning → selection → "
                "candidates → backtest → report → registry → monitoring",
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_retraining", job=nightly_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


def build_definitions(config_path: str | None = None, workdir: str | None = None, tracking_uri: str = "") -> dg.Definitions:
    """The code location for one portfolio config."""
    return dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=[loan_book_contract],
        jobs=[nightly_job],
        schedules=[nightly_schedule],
        resources=resources_for(config_path, workdir or ".data/work", tracking_uri),
        loggers={"concise": concise_console},
    )


defs = build_definitions(os.environ.get("CREDITPIPE_CONFIG") or None, os.environ.get("CREDITPIPE_WORKDIR") or None)
