"""Reading a portfolio's loan history from its source, with the config's column mapping.

Warehouse mode reads ``applications`` and ``performance``. Table mode reads a flat
application table with a ready target; its id and date columns are renamed to
``application_id`` and ``application_date`` so every later stage sees one shape, and it
has no repayment history (an empty ``performance``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.flat_table import infer_types, read_flat_table
from features.loan_book import APPLICATIONS, PERFORMANCE, PERFORMANCE_COLUMNS
from pipelines.config import PortfolioConfig, TableSource
from pipelines.resources import WarehouseResource


def _read(cfg: PortfolioConfig, warehouse: WarehouseResource, table: str) -> pd.DataFrame:
    src = cfg.source
    mapping = src.columns.get(table, {})  # ours -> theirs
    return warehouse.read_table(src.tables.get(table, table), rename={theirs: ours for ours, theirs in mapping.items()})


def read_flat_applications(src: TableSource) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The flat table, typed, with ``application_id`` (and ``application_date``); and its types table."""
    raw = read_flat_table(src.path)
    keep_as_is = [src.date] if src.date else []  # dates are parsed by the outcome step
    typed, types = infer_types(raw, overrides=src.types, exclude=keep_as_is)
    typed = typed.rename(columns={src.id: "application_id"}) if src.id else typed.assign(application_id=np.arange(len(typed)))
    if src.date:
        typed = typed.rename(columns={src.date: "application_date"})
    return typed, types


def read_warehouse_applications(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    return _read(cfg, warehouse, APPLICATIONS)


def read_applications(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    if isinstance(cfg.source, TableSource):
        return read_flat_applications(cfg.source)[0]
    return read_warehouse_applications(cfg, warehouse)


def read_performance(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    if isinstance(cfg.source, TableSource):
        # A flat table with a ready target has no repayment history.
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PERFORMANCE_COLUMNS})
    return _read(cfg, warehouse, PERFORMANCE)
