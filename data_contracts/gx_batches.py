"""Running a table's checks: GX expectations in narrow column batches, the others here.

GX's pandas engine copies its whole batch frame for every column-map metric, so the
columns of a large table are validated in batches of at most :data:`GX_BATCH_CELLS`
cells; PII values are replaced by a placeholder before GX sees them.
"""

from __future__ import annotations

import time
from typing import Iterable

import numpy as np
import pandas as pd

from .checks import Check, esc, outcome_from_gx
from .gx_runner import GX_SEVERITY, GxSession
from .report import ContractResult
from .table_run import TableRun

REDACTED = "REDACTED"
GX_BATCH_CELLS = 4_000_000


def gx_series(tr: TableRun, col: str, masked: bool) -> pd.Series:
    """A column as GX sees it: PII (and unknown) values replaced by a placeholder, nulls
    kept; integers as int64 (float64 when nullable), dates as datetime64[ns] -- the
    dtypes GX's pandas engine compares vectorised instead of value by value."""
    s = tr.work[col]
    if masked:
        return pd.Series(np.where(s.notna().to_numpy(), REDACTED, None), dtype=object)
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return s
    if pd.api.types.is_integer_dtype(dtype):
        if s.hasnans:
            return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan))
        return s.astype("int64")
    if pd.api.types.is_float_dtype(dtype) and dtype != np.float64:
        return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan))
    if pd.api.types.is_datetime64_any_dtype(dtype) and dtype != np.dtype("datetime64[ns]"):
        try:
            return s.astype("datetime64[ns]")
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            return s  # outside the ns range: GX compares value by value
    return s


def run_checks(tr: TableRun, session: GxSession, masked: Iterable[str], partial_count: int) -> None:
    masked = set(masked)
    gx_checks = [c for c in tr.checks if c.gx is not None]
    for c in gx_checks:
        c.gx.severity = GX_SEVERITY[c.severity]
        c.gx.meta = {"severity": c.severity, "contract_version": tr.version}
        c.gx.description = f"[{c.severity}] " + c.expected
    # group 0: table-level checks on the whole frame; then one narrow frame per column set
    groups: dict[tuple | None, list[Check]] = {None: []}
    for c in gx_checks:
        groups.setdefault(c.cols, []).append(c)
    series: dict[str, pd.Series] = {}

    def col(name: str) -> pd.Series:
        if name not in series:
            series[name] = gx_series(tr, name, name in masked)
        return series[name]

    # the whole frame (for column names and row count), PII masked, without copying
    table_frame = tr.work.copy(deep=False)
    for c in masked:
        if c in table_frame.columns:
            table_frame[c] = col(c).to_numpy()
    table_frame = table_frame.rename(columns={c: tr.gx_name(c) for c in table_frame.columns if tr.gx_name(c) != c})
    # pack the column groups into batches of at most GX_BATCH_CELLS cells: one batch for
    # a small table, one column per batch for a large one
    batches: list[tuple[list[str], list[Check]]] = []
    for cols, checks in groups.items():
        if cols is None:
            continue
        if batches:
            merged = list(dict.fromkeys([*batches[-1][0], *cols]))
            if len(merged) * max(tr.n, 1) <= GX_BATCH_CELLS:
                batches[-1] = (merged, batches[-1][1] + checks)
                continue
        batches.append((list(cols), list(checks)))

    def frame_of(cols: list[str]) -> pd.DataFrame:
        if len(cols) == 1:
            return col(cols[0]).to_frame(tr.gx_name(cols[0]))
        return pd.concat({tr.gx_name(c): col(c) for c in cols}, axis=1)

    frames = [(table_frame, groups[None])] + [(frame_of(cols), checks) for cols, checks in batches]
    t0 = time.perf_counter()
    results = session.validate(
        tr.table, [(f, [c.gx for c in checks]) for f, checks in frames],
        meta={"contract": tr.table, "contract_version": tr.version}, partial_count=partial_count,
    ) if gx_checks else []
    tr.timings["gx"] = time.perf_counter() - t0
    by_check = {id(c): r for (_, checks), rs in zip(frames, results) for c, r in zip(checks, rs)}
    for c in tr.checks:
        t0 = time.perf_counter()
        if c.gx is not None:
            out = outcome_from_gx(c, by_check.get(id(c)), tr.n)
            if not out.success and out.unexpected_count and c.mask_fn is not None:
                out.mask = c.mask_fn()
                tr.timings["failing-row keys (pandas)"] = tr.timings.get("failing-row keys (pandas)", 0.0) + time.perf_counter() - t0
        else:
            out = c.own()
            tr.timings[c.engine] = tr.timings.get(c.engine, 0.0) + time.perf_counter() - t0
            tr.docs_extra.append({
                "expectation": c.expectation, "column": c.column, "engine": c.engine, "severity": c.severity,
                "description": esc(f"[{c.severity}] ") + c.expected, "observed": out.observed,
                "success": out.success, "element_count": out.element_count or tr.n,
                "unexpected_count": out.unexpected_count,
                "examples": [] if c.pii else list(out.examples)[:partial_count],
            })
        keys: list = []
        if not out.success and out.mask is not None:
            keys = tr.example_keys(out.mask)
            if out.mask.any():
                tr.failing.append((f"{c.column or tr.table}:{c.expectation}", out.mask))
        tr.results.append(ContractResult(
            table=tr.table, column=c.column, expectation=c.expectation, severity=c.severity,
            success=bool(out.success), expected=c.expected, observed=out.observed,
            unexpected_count=int(out.unexpected_count or 0), example_keys=keys,
            contract_version=tr.version, engine=c.engine,
        ))
