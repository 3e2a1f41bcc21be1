"""Reading a portfolio's loan history from its source, with the config's column mapping."""

from __future__ import annotations

import pandas as pd

from features.loan_book import APPLICATIONS, PERFORMANCE, PERFORMANCE_COLUMNS
from pipelines.config import PortfolioConfig
from pipelines.resources import WarehouseResource


def _read(cfg: PortfolioConfig, warehouse: WarehouseResource, table: str) -> pd.DataFrame:
    src = cfg.source
    mapping = src.columns.get(table, {})  # ours -> theirs
    frame = warehouse.read_table(src.tables.get(table, table), rename={theirs: ours for ours, theirs in mapping.items()})
    return frame


def read_applications(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    return _read(cfg, warehouse, APPLICATIONS)


def read_performance(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    if cfg.source.kind != "warehouse":
        # A flat table with a ready target has no repayment history.
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PERFORMANCE_COLUMNS})
    return _read(cfg, warehouse, PERFORMANCE)
