"""Validate input tables against their data contracts.

For each table the contract is compiled in code into a GX Core ExpectationSuite (see
:func:`compile_table` / :func:`compile_flat`) and run on a copy of the pandas DataFrame
in an ephemeral GX context.  What GX cannot express on pandas is computed in pandas
(column types, category shares), DuckDB (row rules) or Polars (the loan-history rules of
:mod:`features.history_rules`: referential integrity, snapshot after application,
months-on-book consistency, contiguous histories), and is reported in the same result
rows with its severity.

Modules: :mod:`.checks` (the check model and its prose), :mod:`.table_run` (a table
under validation and the expectation builders), :mod:`.drift`, :mod:`.gx_batches`,
:mod:`.quarantine`, :mod:`.compile_table`, :mod:`.compile_flat`, :mod:`.relations`,
:mod:`.gx_runner` (GX session and Data Docs), :mod:`.report`; this one holds the entry
points.

Row keys of failing rows come from the same predicates as the GX expectations, evaluated
in pandas only for the expectations that failed; they feed ``example_keys`` and the
quarantine files.  PII values never reach GX (they are masked before validation), the
results, the Data Docs, the summary or the quarantine files.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from features import loan_book
from features.errors import ConfigError

from .compile_flat import compile_flat
from .compile_table import compile_table
from .contract import FlatContract, TableContract, load_contract
from .drift import load_baseline
from .gx_batches import run_checks
from .gx_runner import GxSession
from .quarantine import safe_name, write_quarantine
from .relations import compile_relations
from .report import ContractReport
from .table_run import TableRun


def resolve_as_of(as_of: Any) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp(dt.date.today())
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"as_of {as_of!r} is not a date: {exc}") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts.normalize()



def _finish(
    runs: list[TableRun], session: GxSession, *, run_id: str, as_of: pd.Timestamp, docs_dir: Any,
    quarantine_dir: Any, partial_count: int,
) -> ContractReport:
    for r in runs:
        mask_cols = list(r.pii) + [c for c in r.work.columns if r.keep_columns is not None and c not in r.keep_columns and c not in r.pii]
        run_checks(r, session, mask_cols, partial_count)
    report = ContractReport(
        results=[x for r in runs for x in r.results],
        run_id=run_id,
        as_of=str(as_of.date()),
        contract_versions={r.table: r.version for r in runs},
        row_counts={r.table: r.n for r in runs},
        pii_columns={r.table: list(r.pii) for r in runs},
        stats={r.table: r.stats for r in runs},
        timings={f"{r.table}: {k}": v for r in runs for k, v in r.timings.items()},
    )
    t0 = time.perf_counter()
    if quarantine_dir is not None:
        qdir = Path(quarantine_dir) / safe_name(run_id)
        for r in runs:
            path = write_quarantine(r, qdir, r.pii)
            if path is not None:
                report.quarantine_paths[r.table] = path
    if report.quarantine_paths:
        report.timings["quarantine files"] = time.perf_counter() - t0
    if docs_dir is not None:
        t0 = time.perf_counter()
        docs = Path(docs_dir)
        docs.mkdir(parents=True, exist_ok=True)
        for r in runs:
            errors_failed = any(not x.success and x.severity == "error" for x in r.results)
            session.finish_table(r.table, r.docs_extra, success=not errors_failed,
                                 meta={"run_id": run_id, "as_of": str(as_of.date()), "contract_version": r.version})
        report.data_docs_path = session.build_docs()
        report.summary_path = docs / "summary.json"
        report.timings["data docs + summary"] = time.perf_counter() - t0
        report.summary_path.write_text(json.dumps(report.summary(), indent=2), encoding="utf-8")
    return report


def validate_loan_book(
    applications: Any,
    performance: Any,
    *,
    as_of: Any = None,
    baseline: Any = None,
    docs_dir: str | Path | None = None,
    quarantine_dir: str | Path | None = None,
    run_id: str = "manual",
    key_examples: int = 5,
    contracts: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping] | None = None,
) -> ContractReport:
    """Validate the loan book (``applications`` + ``performance``) against its contracts.

    ``contracts`` maps a table to a contract name, path or object (default: the packaged
    ones); ``overrides`` maps a table to a partial contract merged on top (e.g.
    ``{"applications": {"distribution": {"severity": "error"}}}``).  Bad data never raises:
    it becomes result rows; ``report.raise_for_errors()`` turns errors into a
    DataContractError.
    """
    contracts = dict(contracts or {})
    overrides = dict(overrides or {})
    unknown = (set(contracts) | set(overrides)) - {loan_book.APPLICATIONS, loan_book.PERFORMANCE}
    if unknown:
        raise ConfigError(f"contracts/overrides for unknown table(s): {', '.join(sorted(unknown))}")
    ca = load_contract(contracts.get(loan_book.APPLICATIONS, loan_book.APPLICATIONS), overrides.get(loan_book.APPLICATIONS))
    cp = load_contract(contracts.get(loan_book.PERFORMANCE, loan_book.PERFORMANCE), overrides.get(loan_book.PERFORMANCE))
    for c, name in ((ca, "applications"), (cp, "performance")):
        if not isinstance(c, TableContract):
            raise ConfigError(f"the {name} contract must be a table contract (kind: table)")
    as_of_ts = resolve_as_of(as_of)
    base = load_baseline(baseline)
    apps = TableRun(ca.table, ca.version, applications, key_examples)
    perf = TableRun(cp.table, cp.version, performance, key_examples)
    for run, contract in ((apps, ca), (perf, cp)):
        t0 = time.perf_counter()
        compile_table(run, contract, as_of_ts, base)
        run.timings["types + compile"] = time.perf_counter() - t0
    compile_relations(perf, apps, cp)
    session = GxSession(run_id, Path(docs_dir) if docs_dir is not None else None)
    return _finish([apps, perf], session, run_id=run_id, as_of=as_of_ts, docs_dir=docs_dir,
                   quarantine_dir=quarantine_dir, partial_count=key_examples)


def validate_flat_table(
    df: Any,
    *,
    target: str = "GoodCredit",
    bad_values: Sequence = (2,),
    id: str | None = None,
    date: str | None = None,
    baseline: Any = None,
    docs_dir: str | Path | None = None,
    quarantine_dir: str | Path | None = None,
    run_id: str = "manual",
    as_of: Any = None,
    allowed_values: Sequence | None = None,
    types: Mapping[str, str] | None = None,
    pii: Sequence[str] = (),
    key_examples: int = 5,
    contract: Any = None,
    overrides: Mapping | None = None,
) -> ContractReport:
    """Validate a flat application table with a ready target against the generic contract.

    ``bad_values`` are the target values meaning "bad"; unless ``allowed_values`` is given,
    the target may hold only those and one good value.  ``types`` declares columns
    ``numeric``/``categorical`` (a declared numeric column holding text is an error);
    ``pii`` adds PII columns to the contract's list.
    """
    if not isinstance(target, str) or not target:
        raise ConfigError("validate_flat_table: target must be a column name")
    bad = list(bad_values) if not isinstance(bad_values, (str, bytes)) else [bad_values]
    if not bad:
        raise ConfigError("validate_flat_table: bad_values must name at least one target value")
    c = load_contract(contract if contract is not None else "flat_table", overrides)
    if not isinstance(c, FlatContract):
        raise ConfigError("the flat-table contract must be a flat contract (kind: flat)")
    as_of_ts = resolve_as_of(as_of)
    base = load_baseline(baseline)
    run = TableRun(c.table, c.version, df, key_examples)
    t0 = time.perf_counter()
    compile_flat(run, c, target=target, bad_values=bad, allowed_values=allowed_values, id=id, date=date,
                 types=dict(types or {}), pii=list(pii), as_of=as_of_ts, baseline=base)
    run.timings["types + compile"] = time.perf_counter() - t0
    session = GxSession(run_id, Path(docs_dir) if docs_dir is not None else None)
    return _finish([run], session, run_id=run_id, as_of=as_of_ts, docs_dir=docs_dir,
                   quarantine_dir=quarantine_dir, partial_count=key_examples)
