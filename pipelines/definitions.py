"""The Dagster code location `pipelines`: jobs, schedules, sensors, partitions and checks of one portfolio.

The portfolio config comes from ``CREDITPIPE_CONFIG`` (default: the embedded demo config)
and the run's work directory from ``CREDITPIPE_WORKDIR`` (default ``.data/work``).
"""

from __future__ import annotations

import os

import dagster as dg

from pipelines.assets import (
    ingest,
    modeling,
    monitoring,
    outcomes,
    registry,
    validation,
)
from pipelines.checks import loan_book_contract
from pipelines.config import load_config
from pipelines.jobs import build_jobs
from pipelines.logging import concise_console
from pipelines.partitions import application_months
from pipelines.resources import resources_for
from pipelines.schedules import build_schedules
from pipelines.sensors import build_sensors
from pipelines.storage import AssetStore

ASSET_MODULES = [ingest, outcomes, modeling, validation, registry, monitoring]


def build_definitions(config_path: str | None = None, workdir: str | None = None, tracking_uri: str = "") -> dg.Definitions:
    """The code location for one portfolio config."""
    cfg = load_config(config_path or None)
    jobs = build_jobs(cfg)
    workdir = workdir or ".data/work"
    return dg.Definitions(
        assets=[*dg.load_assets_from_modules(ASSET_MODULES),
                ingest.build_loan_book_month(application_months(cfg.orchestration.first_month))],
        asset_checks=[loan_book_contract],
        jobs=list(jobs.values()),
        schedules=build_schedules(cfg, jobs, workdir),
        sensors=build_sensors(cfg, jobs),
        resources={**resources_for(config_path, workdir, tracking_uri), "io_manager": AssetStore()},
        loggers={"concise": concise_console},
    )


defs = build_definitions(os.environ.get("CREDITPIPE_CONFIG") or None, os.environ.get("CREDITPIPE_WORKDIR") or None)
