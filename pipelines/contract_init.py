"""`creditpipe contract init`: draft the portfolio's data contracts from its source tables.

Reads the tables as the nightly job does (roles applied: see :mod:`features.roles`),
profiles them with :func:`data_contracts.draft.draft_contract` and writes one YAML per
table into the output directory, then prints what was inferred and what to review.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd

from data_contracts.draft import Draft, contract_yaml, draft_contract
from features.errors import ConfigError
from features.loan_book import APPLICATIONS, PERFORMANCE
from pipelines.config import PortfolioConfig, TableSource
from pipelines.resources import WarehouseResource
from pipelines.sources import FILE_SUFFIXES, read_applications, read_performance


def init_contracts(cfg: PortfolioConfig, output: str | Path, *, margin: float = 0.5,
                   max_categories: int = 20) -> tuple[dict[str, Path], dict[str, Draft], dict[str, float]]:
    """Draft and write ``<output>/<portfolio>_<table>.yaml`` per table; returns paths, drafts and timings."""
    if isinstance(cfg.source, TableSource):
        raise ConfigError("contract init drafts the contracts of a loan history (source.kind: warehouse); a flat "
                          "table is checked by the generic flat-table contract")
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    warehouse = WarehouseResource(url=cfg.source.url)
    readers = {APPLICATIONS: read_applications, PERFORMANCE: read_performance}
    paths, drafts, timings = {}, {}, {}
    for table, read in readers.items():
        t0 = time.perf_counter()
        frame = read(cfg, warehouse)
        timings[f"read {table}"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        where = cfg.source.tables.get(table, table)
        source = where if where.lower().endswith(FILE_SUFFIXES) else f"table {where} of {_safe_url(cfg.source.url)}"
        draft = draft_contract(frame, table, source=source, margin=margin, max_categories=max_categories,
                               source_names=cfg.source.columns.get(table, {}))
        timings[f"profile {table}"] = time.perf_counter() - t0
        path = out / f"{cfg.portfolio}_{table}.yaml"
        notes = [f"Ranges: the {0.001:g} and {0.999:g} quantiles widened by {margin:g} x their distance on each side."]
        path.write_text(contract_yaml(draft, notes), encoding="utf-8")
        paths[table], drafts[table] = path, draft
    return paths, drafts, timings


def _safe_url(url: str) -> str:
    """The URL without a password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def print_drafts(paths: dict[str, Path], drafts: dict[str, Draft]) -> None:
    with pd.option_context("display.max_colwidth", 70, "display.width", 220, "display.max_rows", 500):
        for table, draft in drafts.items():
            frame = draft.profile_frame()[["column", "source", "type", "nulls", "distinct", "pii", "observed", "drafted"]]
            print(f"\n{table}: {len(frame)} columns -> {paths[table]}")
            print(frame.to_string(index=False))
    print("\nreview before committing the contracts:")
    items = [f"[{t}] {r}" for t, d in drafts.items() for r in d.review]
    generic = ["every range and category list comes from this one extract: widen or narrow it to what the business allows",
               "the PII marks: a personal column not marked here becomes a feature",
               "set a version and a reviewer in each contract's description"]
    for line in items + generic:
        print(f"  - {line}")
    print("\nthen point the portfolio config at them:\ncontract:")
    for table, path in paths.items():
        print(f"  {table}: {path}")
