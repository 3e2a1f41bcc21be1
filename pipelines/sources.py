"""Reading a portfolio's loan history from its source, with the config's roles.

Warehouse mode reads ``applications`` and ``performance`` (tables of a DuckDB file or a
PostgreSQL database, or CSV/Parquet files named in ``source.tables``) and puts them in our
roles (:class:`features.roles.HistoryRoles`): role columns renamed, the lender's codes
mapped, months on book counted from 1. Table mode reads a flat application table with a
ready target; its id and date columns are renamed to ``application_id`` and
``application_date`` so every later stage sees one shape, and it has no repayment
history (an empty ``performance``).

The portfolio's contracts (``contract.applications`` / ``contract.performance``, default:
the demo book's) say which columns are PII: masked on read, never features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.errors import SourceError
from features.flat_table import infer_types, read_flat_table
from features.loan_book import APPLICATIONS, PERFORMANCE, PERFORMANCE_COLUMNS
from features.roles import HistoryRoles
from pipelines.config import PortfolioConfig, TableSource, WarehouseSource
from pipelines.resources import WarehouseResource

FILE_SUFFIXES = (".csv", ".parquet", ".pq")


def history_roles(src: WarehouseSource) -> HistoryRoles:
    """The config's roles of the loan history (columns, codes, MOB convention)."""
    return HistoryRoles(columns=src.columns, decision=src.values.decision, status=src.values.status,
                        delinquency_codes=src.delinquency_codes, months_on_book_starts_at=src.months_on_book_starts_at)


def read_source_table(cfg: PortfolioConfig, warehouse: WarehouseResource, table: str) -> pd.DataFrame:
    """A table of the loan history as the lender holds it (their names and codes)."""
    name = cfg.source.tables.get(table, table)
    if name.lower().endswith(FILE_SUFFIXES):
        path = Path(name)
        if not path.is_file():
            raise SourceError(f"{table}: source.tables.{table} names the file {path}, which does not exist")
        return pd.read_csv(path, low_memory=False) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    return warehouse.read_table(name)


def portfolio_contracts(cfg: PortfolioConfig) -> dict[str, str]:
    """Table -> the contract it is validated against (the lender's YAML, else the demo book's)."""
    return {APPLICATIONS: cfg.contract.applications or APPLICATIONS, PERFORMANCE: cfg.contract.performance or PERFORMANCE}


def pii_columns(cfg: PortfolioConfig, table: str = APPLICATIONS) -> list[str]:
    """The columns of ``table`` its contract marks ``pii: true`` (flat tables: the flat contract's list)."""
    from data_contracts import load_contract

    if isinstance(cfg.source, TableSource):
        return list(load_contract("flat_table").pii_columns) if table == APPLICATIONS else []
    return list(load_contract(portfolio_contracts(cfg)[table]).pii_columns)


def never_feature_columns(cfg: PortfolioConfig) -> list[str]:
    """Application columns that are never features: the contract's PII and ``source.exclude``."""
    return [*pii_columns(cfg), *cfg.source.exclude]


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
    return history_roles(cfg.source).applications(read_source_table(cfg, warehouse, APPLICATIONS))


def read_applications(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    if isinstance(cfg.source, TableSource):
        return read_flat_applications(cfg.source)[0]
    return read_warehouse_applications(cfg, warehouse)


def read_performance(cfg: PortfolioConfig, warehouse: WarehouseResource) -> pd.DataFrame:
    if isinstance(cfg.source, TableSource):
        # A flat table with a ready target has no repayment history.
        return pd.DataFrame({c: pd.Series(dtype="object") for c in PERFORMANCE_COLUMNS})
    return history_roles(cfg.source).performance(read_source_table(cfg, warehouse, PERFORMANCE))
