"""Ingest: the loan history as the warehouse holds it (PII masked on read), and its contract."""

import os

import dagster as dg
import pandas as pd

from features.loan_book import PII_COLUMNS
from features.pii import mask_pii
from pipelines.resources import PortfolioResource, WarehouseResource
from pipelines.sources import read_applications, read_performance


def _salt() -> str:
    return os.environ.get("CREDITPIPE_PII_SALT", "credit-pipeline")


@dg.asset(group_name="ingest", kinds={"duckdb"})
def applications(context: dg.AssetExecutionContext, portfolio: PortfolioResource, warehouse: WarehouseResource) -> pd.DataFrame:
    """One row per application, accepted or rejected, with PII replaced by salted digests."""
    frame = mask_pii(read_applications(portfolio.load(), warehouse), PII_COLUMNS, _salt())
    context.add_output_metadata({"rows": len(frame), "columns": len(frame.columns)})
    return frame


@dg.asset(group_name="ingest", kinds={"duckdb"})
def performance(context: dg.AssetExecutionContext, portfolio: PortfolioResource, warehouse: WarehouseResource) -> pd.DataFrame:
    """One row per approved loan per month on book."""
    frame = read_performance(portfolio.load(), warehouse)
    context.add_output_metadata({"rows": len(frame)})
    return frame
