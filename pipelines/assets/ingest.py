"""Ingest: the loan history as the warehouse holds it (PII masked on read), and its contract."""

import os
import secrets

import dagster as dg
import pandas as pd

from features.loan_book import PII_COLUMNS
from features.pii import mask_pii
from pipelines.config import TableSource
from pipelines.resources import PortfolioResource, WarehouseResource, WorkdirResource
from pipelines.sources import read_flat_applications, read_performance, read_warehouse_applications
from pipelines.sources import pii_columns


_RUN_SALT = secrets.token_hex(16)


def pii_salt() -> str:
    """``CREDITPIPE_PII_SALT`` when a stable join key is needed across runs; else a secret that dies with the process.

    A known salt would let anyone hash every possible national id or phone number and
    reverse the digests, so the default is random and never stored.
    """
    return os.environ.get("CREDITPIPE_PII_SALT") or _RUN_SALT


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
    frame = mask_pii(frame, pii_columns(cfg), pii_salt())  # the portfolio's contract says which columns are PII
    context.add_output_metadata({"rows": len(frame), "columns": len(frame.columns)})
    return frame


@dg.asset(group_name="ingest", kinds={"duckdb"})
def performance(context: dg.AssetExecutionContext, portfolio: PortfolioResource, warehouse: WarehouseResource) -> pd.DataFrame:
    """One row per approved loan per month on book."""
    cfg = portfolio.load()
    frame = mask_pii(read_performance(cfg, warehouse), pii_columns(cfg, "performance"), pii_salt())
    context.add_output_metadata({"rows": len(frame)})
    return frame
