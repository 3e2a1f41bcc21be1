"""Validate input tables against their data contracts.

For each table the contract is compiled in code into a GX Core ExpectationSuite (see
:func:`compile_table` / :func:`compile_flat`) and run on a copy of the pandas DataFrame
in an ephemeral GX context.  What GX cannot express on pandas is computed here, in
pandas (column types, category shares) or DuckDB (row rules, referential integrity,
snapshot-after-application, months-on-book consistency, contiguous histories), and is
reported in the same result rows with its severity.

Row keys of failing rows come from the same predicates as the GX expectations, evaluated
in pandas only for the expectations that failed; they feed ``example_keys`` and the
quarantine files.  PII values never reach GX (they are masked before validation), the
results, the Data Docs, the summary or the quarantine files.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import time
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import duckdb
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
from great_expectations.expectations.row_conditions import Column as GxColumn

from features import loan_book
from features.errors import ConfigError

from .coerce import TypeOutcome, check_type, fmt_value, numeric_text_share
from .contract import FlatContract, TableContract, load_contract
from .gx_runner import GX_SEVERITY, GxSession
from .report import ContractReport, ContractResult

REDACTED = "REDACTED"
# GX's pandas engine copies its whole batch frame for every column-map metric, so the
# columns of a large table are validated in narrow batches of at most this many cells
GX_BATCH_CELLS = 4_000_000


# ---------------------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------------------
@dataclass
class Outcome:
    success: bool
    observed: str
    unexpected_count: int = 0
    mask: np.ndarray | None = None  # failing rows (positional), for keys and quarantine
    element_count: int | None = None
    examples: list[str] = field(default_factory=list)  # escaped display values, for the docs


@dataclass
class Check:
    column: str | None
    expectation: str
    severity: str
    expected: str
    gx: Any = None  # a GX expectation, run by GX
    mask_fn: Callable[[], np.ndarray] | None = None  # failing rows of a GX row-level check
    own: Callable[[], Outcome] | None = None  # a check evaluated here
    engine: str = "gx"
    pii: bool = False
    null_check: bool = False
    show_values: bool = True  # quote unexpected values in `observed` (never for PII)
    cols: tuple[str, ...] | None = None  # the columns a GX check reads (None: table-level)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=False)


def _num(x: float) -> str:
    if x is None:
        return "None"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"


class TableRun:
    """One table under validation: the untouched input, a coerced working copy, checks."""

    def __init__(self, table: str, version: str, df: Any, key_examples: int):
        self.table = table
        self.version = version
        self.input = _as_pandas(df, table)
        self.n = len(self.input)
        self.key_examples = key_examples
        names = [str(c) for c in self.input.columns]
        index = pd.Index(names)
        self.duplicate_names = sorted(set(index[index.duplicated()]))
        work = self.input.copy(deep=False)  # copy-on-write: the input is never modified
        work.columns = names
        work = work.loc[:, ~index.duplicated()].reset_index(drop=True)
        self.work = work
        self.positions = list(np.flatnonzero(~index.duplicated()))  # input column position per work column
        self.types: dict[str, TypeOutcome] = {}
        self.bad_columns: set[str] = set()
        self.pii: list[str] = []
        self.key_columns: list[str] = []
        self.keep_columns: list[str] | None = None  # quarantine columns (None: all but PII)
        self.checks: list[Check] = []
        self.results: list[ContractResult] = []
        self.failing: list[tuple[str, np.ndarray]] = []
        self.stats: dict[str, Any] = {}
        self.docs_extra: list[dict] = []
        self.timings: dict[str, float] = {}

    # -- helpers ---------------------------------------------------------------------
    def has(self, col: str) -> bool:
        return col in self.work.columns and col not in self.bad_columns

    def typecheck(self, col: str, typ: str, pii: bool) -> TypeOutcome:
        out = check_type(self.work[col], typ, pii=pii)
        self.types[col] = out
        if out.ok:
            self.work[col] = out.coerced
        else:
            self.bad_columns.add(col)
        return out

    def type_check(self, col: str, typ: str, severity: str, pii: bool, name: str = "expect_column_values_to_be_of_type") -> None:
        out = self.types.get(col) or self.typecheck(col, typ, pii)
        expected = {"integer": "integer values", "float": "numeric values", "string": "text values",
                    "date": "date values (parseable)", "boolean": "boolean values"}[typ]

        def run() -> Outcome:
            if out.ok:
                return Outcome(True, out.observed, 0, None, self.n)
            bad = out.bad
            return Outcome(False, out.observed + "; the column's other checks were skipped", int(bad.sum()), bad, self.n, out.examples)

        self.checks.append(Check(col, name, severity, expected, own=run, engine="pandas", pii=pii))

    def gx_name(self, col: str) -> str:
        # GX sees the real name; everything GX renders comes from the stored validation
        # result, which GxSession.finish_table escapes as a whole
        return col

    def example_keys(self, mask: np.ndarray) -> list:
        idx = np.flatnonzero(mask)[: self.key_examples]
        if len(idx) == 0:
            return []
        cols = [c for c in self.key_columns if self.has(c)]
        if not cols:
            return [f"row {int(i)}" for i in idx]
        out = []
        for i in idx:
            vals = [self.work[c].iat[int(i)] for c in cols]
            if any(pd.isna(v) for v in vals):
                out.append(f"row {int(i)}")
            elif len(cols) == 1:
                v = vals[0]
                out.append(v.item() if isinstance(v, np.generic) else (str(v.date()) if isinstance(v, pd.Timestamp) else v))
            else:
                out.append(", ".join(f"{c}={_key_str(v)}" for c, v in zip(cols, vals)))
        return out

    # -- common column checks ---------------------------------------------------------
    def add_not_null(self, col: str, severity: str, pii: bool = False, name_override: str | None = None) -> None:
        s = self.work[col]
        self.checks.append(Check(
            col, "expect_column_values_to_not_be_null", severity, name_override or "no null values",
            gx=gxe.ExpectColumnValuesToNotBeNull(column=self.gx_name(col)), cols=(col,),
            mask_fn=lambda: s.isna().to_numpy(), pii=pii, null_check=True,
        ))

    def add_unique(self, col: str, severity: str) -> None:
        s = self.work[col]
        self.checks.append(Check(
            col, "expect_column_values_to_be_unique", severity, "unique values (no duplicates)",
            gx=gxe.ExpectColumnValuesToBeUnique(column=self.gx_name(col)), cols=(col,),
            mask_fn=lambda: (s.notna() & s.duplicated(keep=False)).to_numpy(),
        ))

    def add_between(self, col: str, severity: str, lo: Any, hi: Any, special: Sequence[float] = (), what: str | None = None) -> None:
        s = self.work[col]
        kwargs: dict[str, Any] = {"column": self.gx_name(col)}
        if lo is not None:
            kwargs["min_value"] = lo
        if hi is not None:
            kwargs["max_value"] = hi
        if special:
            kwargs["row_condition"] = GxColumn(self.gx_name(col)).is_not_in(list(special))
        if what is None:
            if lo is not None and hi is not None:
                what = f"values between {_fmt_bound(lo)} and {_fmt_bound(hi)}"
            elif lo is not None:
                what = f"values of at least {_fmt_bound(lo)}"
            else:
                what = f"values of at most {_fmt_bound(hi)}"
            if special:
                what += " or a special code " + "/".join(_num(x) for x in special)

        def mask() -> np.ndarray:
            m = s.notna()
            if special:
                m &= ~s.isin(list(special))
            bad = pd.Series(False, index=s.index)
            if lo is not None:
                bad |= s < lo
            if hi is not None:
                bad |= s > hi
            return (m & bad).to_numpy(dtype=bool, na_value=False)

        self.checks.append(Check(col, "expect_column_values_to_be_between", severity, what,
                                 gx=gxe.ExpectColumnValuesToBeBetween(**kwargs), mask_fn=mask, cols=(col,)))

    def add_in_set(self, col: str, severity: str, values: list, what: str | None = None) -> None:
        s = self.work[col]
        shown = ", ".join(_e(repr(v)) for v in values)
        self.checks.append(Check(
            col, "expect_column_values_to_be_in_set", severity, what or f"values in {{{shown}}}",
            gx=gxe.ExpectColumnValuesToBeInSet(column=self.gx_name(col), value_set=list(values)), cols=(col,),
            mask_fn=lambda: (s.notna() & ~s.isin(list(values))).to_numpy(dtype=bool, na_value=False),
        ))

    def add_finite(self, col: str, severity: str) -> None:
        s = self.work[col]
        self.checks.append(Check(
            col, "expect_column_values_to_not_be_in_set", severity, "finite values (no +/-inf)",
            gx=gxe.ExpectColumnValuesToNotBeInSet(column=self.gx_name(col), value_set=[math.inf, -math.inf]), cols=(col,),
            mask_fn=lambda: np.isinf(s.to_numpy(dtype="float64", na_value=np.nan)),
        ))

    def add_not_all_null(self, col: str, severity: str) -> None:
        self.checks.append(Check(
            col, "expect_column_proportion_of_non_null_values_to_be_between", severity,
            "at least one non-null value (column not entirely null)",
            gx=gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column=self.gx_name(col), min_value=0, strict_min=True), cols=(col,),
        ))

    def add_row_count(self, severity: str, lo: int, hi: int | None) -> None:
        what = f"at least {lo} row(s)" + (f" and at most {hi}" if hi is not None else "")
        self.checks.append(Check(None, "expect_table_row_count_to_be_between", severity, what,
                                 gx=gxe.ExpectTableRowCountToBeBetween(min_value=lo, max_value=hi)))

    def add_exists(self, col: str, severity: str, what: str = "column present") -> None:
        self.checks.append(Check(col, "expect_column_to_exist", severity, what,
                                 gx=gxe.ExpectColumnToExist(column=self.gx_name(col))))

    def add_unique_names(self, severity: str) -> None:
        dups = self.duplicate_names

        def run() -> Outcome:
            if not dups:
                return Outcome(True, "all column names distinct")
            return Outcome(False, "duplicated column name(s): " + ", ".join(_e(repr(d)) for d in dups) + " (the first of each was validated)", len(dups))

        self.checks.append(Check(None, "expect_table_column_names_to_be_unique", severity, "distinct column names", own=run, engine="pandas"))

    # -- distribution ------------------------------------------------------------------
    def column_stats(self, col: str, kind: str, max_categories: int = 50) -> dict[str, Any]:
        s = self.work[col]
        st: dict[str, Any] = {"null_rate": float(s.isna().mean()) if self.n else 0.0}
        if kind == "numeric":
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            fin = vals[np.isfinite(vals)]
            st["mean"] = float(fin.mean()) if len(fin) else None
            st["std"] = float(fin.std()) if len(fin) else None
        elif kind == "categorical":
            shares = s.value_counts(normalize=True, dropna=True)
            st["shares"] = {str(k): float(v) for k, v in shares.head(max_categories).items()}
        return st

    def add_drift(self, dist: Any, base_cols: Mapping[str, Any], cols: Mapping[str, str], nullable: Mapping[str, bool]) -> None:
        """Null rate, mean and category shares against the last accepted batch."""
        if self.n < dist.min_rows:
            return
        sev = dist.severity
        for col, kind in cols.items():
            base = base_cols.get(col)
            if not isinstance(base, Mapping) or not self.has(col):
                continue
            if kind == "numeric" and _finite(base.get("mean")):
                m0 = float(base["mean"])
                allowed = dist.mean_tolerance * abs(m0) if abs(m0) > 1e-12 else dist.mean_tolerance
                # numpy, not GX: GX's column.mean scans every value in Python looking for
                # Decimals (about a second per million values)
                self.checks.append(self._mean_check(col, m0, allowed, dist.mean_tolerance, sev))
            if nullable.get(col, True) and _finite(base.get("null_rate")):
                r0 = float(base["null_rate"])
                tol = dist.null_rate_tolerance
                lo, hi = max(0.0, 1 - r0 - tol), min(1.0, 1 - r0 + tol)
                self.checks.append(Check(
                    col, "expect_column_proportion_of_non_null_values_to_be_between", sev,
                    f"null rate within {_num(tol)} of the last accepted batch's {r0:.4f} (non-null share in [{lo:.4f}, {hi:.4f}])",
                    gx=gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column=self.gx_name(col), min_value=lo, max_value=hi), cols=(col,),
                ))
            if kind == "categorical" and isinstance(base.get("shares"), Mapping) and base["shares"]:
                self.checks.append(self._share_check(col, {str(k): float(v) for k, v in base["shares"].items()}, dist.share_tolerance, sev))

    def _mean_check(self, col: str, m0: float, allowed: float, tol: float, sev: str) -> Check:
        s = self.work[col]
        lo, hi = m0 - allowed, m0 + allowed

        def run() -> Outcome:
            vals = s.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                m = float(np.nanmean(vals)) if np.isfinite(vals).any() or np.isinf(vals).any() else math.nan
            if math.isnan(m):
                return Outcome(False, "no value (all null)", 0, None, self.n)
            ratio = f", {m / m0:.3g}x the baseline" if m0 else ""
            return Outcome(lo <= m <= hi, f"mean {m:.6g}{ratio}", 0, None, self.n)

        return Check(col, "expect_column_mean_to_be_between", sev,
                     f"mean within {_num(tol * 100)}% of the last accepted batch's {_num(m0)} "
                     f"([{_num(lo)}, {_num(hi)}])", own=run, engine="pandas")

    def _share_check(self, col: str, base: dict[str, float], tol: float, sev: str) -> Check:
        s = self.work[col]

        def run() -> Outcome:
            now = {str(k): float(v) for k, v in s.value_counts(normalize=True, dropna=True).items()}
            diffs = {k: now.get(k, 0.0) - base.get(k, 0.0) for k in set(now) | set(base)}
            worst = max(diffs, key=lambda k: abs(diffs[k])) if diffs else None
            if worst is None:
                return Outcome(True, "no values")
            d = diffs[worst]
            obs = (f"largest change: {_e(repr(worst))} share {now.get(worst, 0.0):.3f} now vs "
                   f"{base.get(worst, 0.0):.3f} in the last accepted batch ({d:+.3f})")
            return Outcome(abs(d) <= tol, obs, 0, None, self.n)

        return Check(col, "expect_column_category_shares_to_be_stable", sev,
                     f"each category's share within {_num(tol)} of the last accepted batch", own=run, engine="pandas")

    # -- running ---------------------------------------------------------------------
    def gx_series(self, col: str, masked: bool) -> pd.Series:
        """A column as GX sees it: PII (and unknown) values replaced by a placeholder, nulls
        kept; integers as int64 (float64 when nullable), dates as datetime64[ns] -- the
        dtypes GX's pandas engine compares vectorised instead of value by value."""
        s = self.work[col]
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

    def run(self, session: GxSession, masked: Iterable[str], partial_count: int) -> None:
        masked = set(masked)
        gx_checks = [c for c in self.checks if c.gx is not None]
        for c in gx_checks:
            c.gx.severity = GX_SEVERITY[c.severity]
            c.gx.meta = {"severity": c.severity, "contract_version": self.version}
            c.gx.description = f"[{c.severity}] " + c.expected
        # group 0: table-level checks on the whole frame; then one narrow frame per column set
        groups: dict[tuple | None, list[Check]] = {None: []}
        for c in gx_checks:
            groups.setdefault(c.cols, []).append(c)
        series: dict[str, pd.Series] = {}

        def col(name: str) -> pd.Series:
            if name not in series:
                series[name] = self.gx_series(name, name in masked)
            return series[name]

        # the whole frame (for column names and row count), PII masked, without copying
        table_frame = self.work.copy(deep=False)
        for c in masked:
            if c in table_frame.columns:
                table_frame[c] = col(c).to_numpy()
        table_frame = table_frame.rename(columns={c: self.gx_name(c) for c in table_frame.columns if self.gx_name(c) != c})
        # pack the column groups into batches of at most GX_BATCH_CELLS cells: one batch for
        # a small table, one column per batch for a large one
        batches: list[tuple[list[str], list[Check]]] = []
        for cols, checks in groups.items():
            if cols is None:
                continue
            if batches:
                merged = list(dict.fromkeys([*batches[-1][0], *cols]))
                if len(merged) * max(self.n, 1) <= GX_BATCH_CELLS:
                    batches[-1] = (merged, batches[-1][1] + checks)
                    continue
            batches.append((list(cols), list(checks)))

        def frame_of(cols: list[str]) -> pd.DataFrame:
            if len(cols) == 1:
                return col(cols[0]).to_frame(self.gx_name(cols[0]))
            return pd.concat({self.gx_name(c): col(c) for c in cols}, axis=1)

        frames = [(table_frame, groups[None])] + [(frame_of(cols), checks) for cols, checks in batches]
        t0 = time.perf_counter()
        results = session.validate(
            self.table, [(f, [c.gx for c in checks]) for f, checks in frames],
            meta={"contract": self.table, "contract_version": self.version}, partial_count=partial_count,
        ) if gx_checks else []
        self.timings["gx"] = time.perf_counter() - t0
        by_check = {id(c): r for (_, checks), rs in zip(frames, results) for c, r in zip(checks, rs)}
        for c in self.checks:
            t0 = time.perf_counter()
            if c.gx is not None:
                out = _from_gx(c, by_check.get(id(c)), self.n)
                if not out.success and out.unexpected_count and c.mask_fn is not None:
                    out.mask = c.mask_fn()
                    self.timings["failing-row keys (pandas)"] = self.timings.get("failing-row keys (pandas)", 0.0) + time.perf_counter() - t0
            else:
                out = c.own()
                self.timings[c.engine] = self.timings.get(c.engine, 0.0) + time.perf_counter() - t0
                self.docs_extra.append({
                    "expectation": c.expectation, "column": c.column, "engine": c.engine, "severity": c.severity,
                    "description": _e(f"[{c.severity}] ") + c.expected, "observed": out.observed,
                    "success": out.success, "element_count": out.element_count or self.n,
                    "unexpected_count": out.unexpected_count,
                    "examples": [] if c.pii else list(out.examples)[:partial_count],
                })
            keys: list = []
            if not out.success and out.mask is not None:
                keys = self.example_keys(out.mask)
                if out.mask.any():
                    self.failing.append((f"{c.column or self.table}:{c.expectation}", out.mask))
            self.results.append(ContractResult(
                table=self.table, column=c.column, expectation=c.expectation, severity=c.severity,
                success=bool(out.success), expected=c.expected, observed=out.observed,
                unexpected_count=int(out.unexpected_count or 0), example_keys=keys,
                contract_version=self.version, engine=c.engine,
            ))

    def write_quarantine(self, directory: Path, drop: Iterable[str]) -> Path | None:
        if not self.failing:
            return None
        rows = np.unique(np.concatenate([np.flatnonzero(m) for _, m in self.failing]))
        labels = pd.concat([pd.DataFrame({"row": np.flatnonzero(m), "label": lab}) for lab, m in self.failing])
        joined = labels.groupby("row")["label"].agg(";".join)
        drop = set(drop)
        keep_pos = [(name, pos) for name, pos in zip(self.work.columns, self.positions)
                    if name not in drop and (self.keep_columns is None or name in self.keep_columns)]
        out = self.input.iloc[rows, [pos for _, pos in keep_pos]].copy()
        out.columns = [name for name, _ in keep_pos]
        for c in out.columns:
            if out[c].dtype == object:
                s = out[c]
                out[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)).astype(object)
        out = out.reset_index(drop=True)
        out.insert(0, "_row", rows)
        out["_failed_expectations"] = joined.reindex(rows).to_numpy()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.table}.parquet"
        out.to_parquet(path, index=False)
        return path


def _safe_name(run_id: str) -> str:
    """A run id usable as one directory name (no separators, no '..')."""
    name = re.sub(r"[^A-Za-z0-9._=-]+", "_", str(run_id)).strip(".")
    return name or "run"


def _key_str(v: Any) -> str:
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    if isinstance(v, np.generic):
        return str(v.item())
    return str(v)


def _fmt_bound(v: Any) -> str:
    if isinstance(v, (pd.Timestamp, dt.date)):
        return str(pd.Timestamp(v).date())
    return _num(v)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _from_gx(c: Check, r: Any, n: int) -> Outcome:
    if r is None:  # pragma: no cover - GX returns a result per expectation
        return Outcome(False, "not evaluated by GX", 0, None, n)
    info = r.exception_info or {}
    if info.get("raised_exception"):
        msg = str(info.get("exception_message") or "error").splitlines()[0][:300]
        return Outcome(False, f"could not be evaluated: {_e(msg)}", 0, None, n)
    res = r.result or {}
    t = c.expectation
    if t == "expect_column_to_exist":
        return Outcome(bool(r.success), "column present" if r.success else "column missing", 0, None, n)
    if t == "expect_table_columns_to_match_set":
        extra = ((res.get("details") or {}).get("mismatched") or {}).get("unexpected") or []
        if r.success:
            return Outcome(True, "no unexpected columns", 0, None, n)
        return Outcome(False, "unexpected column(s): " + ", ".join(_e(repr(x)) for x in sorted(map(str, extra))), len(extra), None, n)
    if "unexpected_count" in res and res.get("unexpected_count") is not None:
        uc = int(res["unexpected_count"])
        ec = int(res.get("element_count") or n)
        if r.success and uc == 0:
            return Outcome(True, f"0 of {ec} rows unexpected", 0, None, ec)
        pct = 100.0 * uc / ec if ec else 0.0
        what = "null" if c.null_check else "unexpected"
        obs = f"{uc} of {ec} rows {what} ({pct:.2f}%)"
        examples: list[str] = []
        if not c.pii and not c.null_check and c.show_values:
            examples = []
            for v in res.get("partial_unexpected_list") or []:
                f = fmt_value(v)
                if f not in examples:
                    examples.append(f)
            if examples:
                obs += ", e.g. " + ", ".join(examples)
        return Outcome(bool(r.success), obs, uc, None, ec, examples)
    ov = res.get("observed_value")
    if t == "expect_table_row_count_to_be_between" and ov is not None:
        return Outcome(bool(r.success), f"{int(ov)} rows", 0, None, n)
    if t == "expect_column_proportion_of_non_null_values_to_be_between" and ov is not None:
        return Outcome(bool(r.success), f"non-null share {float(ov):.4f} (null rate {1 - float(ov):.4f})", 0, None, n)
    if isinstance(ov, (float, np.floating)):
        obs = f"{float(ov):.6g}"
    elif ov is None:
        obs = "no value (empty or all-null column)"
    else:
        obs = _e(ov)
    return Outcome(bool(r.success), obs, 0, None, n)


def _as_pandas(df: Any, table: str) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame):
        return df
    to_pandas = getattr(df, "to_pandas", None)
    if callable(to_pandas):  # polars / pyarrow
        return to_pandas()
    raise TypeError(f"{table}: expected a pandas (or polars) DataFrame, got {type(df).__name__}")


def _as_of(as_of: Any) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp(dt.date.today())
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"as_of {as_of!r} is not a date: {exc}") from None
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts.normalize()


def _load_baseline(baseline: Any) -> dict:
    if baseline is None:
        return {}
    if isinstance(baseline, (str, Path)):
        path = Path(baseline)
        if not path.is_file():
            raise ConfigError(f"baseline file {path} does not exist")
        try:
            baseline = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"baseline file {path} is not valid JSON: {exc}") from None
    if not isinstance(baseline, Mapping):
        raise ConfigError(f"baseline must be a mapping (report.baseline()), got {type(baseline).__name__}")
    return dict(baseline)


def _base_columns(baseline: Mapping, table: str) -> dict:
    t = baseline.get(table)
    if isinstance(t, Mapping) and isinstance(t.get("columns"), Mapping):
        return dict(t["columns"])
    return {}


# ---------------------------------------------------------------------------------------
# compiling a table contract
# ---------------------------------------------------------------------------------------
def compile_table(run: TableRun, contract: TableContract, as_of: pd.Timestamp, baseline: Mapping) -> None:
    """Compile a table contract into checks on ``run`` (GX expectations where GX can)."""
    run.key_columns = list(contract.key)
    run.pii = [c for c in contract.pii_columns]
    run.keep_columns = [c for c in contract.columns if c not in run.pii]
    cols = run.work.columns

    run.add_unique_names(contract.default_severity)
    run.add_row_count(contract.row_count.severity, contract.row_count.min, contract.row_count.max)
    for col, spec in contract.columns.items():
        sev = spec.severity
        exists_sev = sev if isinstance(sev, str) else (sev or {}).get("exists", contract.missing_columns)
        run.add_exists(col, exists_sev)
    present = [c for c in contract.columns if c in cols]
    run.checks.append(Check(
        None, "expect_table_columns_to_match_set", contract.extra_columns,
        f"only the contract's {len(contract.columns)} columns",
        gx=gxe.ExpectTableColumnsToMatchSet(column_set=[run.gx_name(c) for c in present], exact_match=True),
    ))

    for col in present:
        spec = contract.columns[col]
        run.type_check(col, spec.type, contract.severity(col, "type"), spec.pii)
        if not run.has(col) or run.n == 0:
            continue
        if not spec.nullable:
            run.add_not_null(col, contract.severity(col, "not_null"), pii=spec.pii)
        elif not spec.allow_all_null and not spec.pii:
            run.add_not_all_null(col, contract.severity(col, "not_all_null"))
        if spec.unique:
            run.add_unique(col, contract.severity(col, "unique"))
        if spec.pii:
            continue
        if spec.min is not None or spec.max is not None:
            smin, smax = contract.severity(col, "min"), contract.severity(col, "max")
            if smin == smax or spec.min is None or spec.max is None:
                run.add_between(col, smin if spec.min is not None else smax, spec.min, spec.max, spec.special_codes)
            else:
                run.add_between(col, smin, spec.min, None, spec.special_codes)
                run.add_between(col, smax, None, spec.max, spec.special_codes)
        cats = contract.categories(col)
        if cats:
            run.add_in_set(col, contract.severity(col, "categories"), cats)
        if spec.type == "date":
            if spec.not_future:
                run.add_between(col, contract.severity(col, "not_future"), None, as_of,
                                what=f"no date after the as-of date {as_of.date()} (no future dates)")
            if spec.min_date:
                run.add_between(col, contract.severity(col, "min_date"), pd.Timestamp(spec.min_date), None,
                                what=f"no date before {spec.min_date}")
        if spec.type == "float":
            run.add_finite(col, contract.severity(col, "finite"))

    if len(contract.key) > 1 and run.n and all(run.has(k) for k in contract.key):
        key = list(contract.key)
        frame = run.work
        run.checks.append(Check(
            ", ".join(key), "expect_compound_columns_to_be_unique", contract.severity(key[0], "unique"),
            "one row per " + " per ".join(key) + " (no duplicate keys)",
            gx=gxe.ExpectCompoundColumnsToBeUnique(column_list=[run.gx_name(k) for k in key]),
            mask_fn=lambda: frame.duplicated(subset=key, keep=False).to_numpy(), show_values=False, cols=tuple(key),
        ))

    for rule in contract.rules:
        needs = sorted(set(rule.needs) | ({rule.column} if rule.column else set()))
        if run.n and all(run.has(c) for c in needs):
            run.checks.append(_rule_check(run, rule, needs))

    base = _base_columns(baseline, contract.table)
    kinds: dict[str, str] = {}
    for col, spec in contract.columns.items():
        if spec.drift and not spec.pii and col in cols:
            if spec.type in ("integer", "float"):
                kinds[col] = "numeric"
            elif spec.type == "string":
                kinds[col] = "categorical"
    run.stats = {
        "contract_version": contract.version,
        "rows": run.n,
        "columns": {c: run.column_stats(c, k) for c, k in kinds.items() if run.has(c)},
    }
    if base:
        run.add_drift(contract.distribution, base, kinds, {c: s.nullable for c, s in contract.columns.items()})


def _rule_check(run: TableRun, rule: Any, needs: list[str]) -> Check:
    def run_rule() -> Outcome:
        con = duckdb.connect()
        try:
            frame = run.work[needs].assign(__row=np.arange(run.n, dtype=np.int64))
            con.register("t", frame)
            try:
                rows = con.execute(
                    f"SELECT __row AS r, true AS bad FROM t WHERE NOT coalesce(({rule.sql}), true)"
                ).fetchnumpy()
            except duckdb.Error as exc:
                raise ConfigError(f"{run.table} contract rule {rule.name!r}: its sql does not run: {exc}") from None
        finally:
            con.close()
        mask = np.zeros(run.n, dtype=bool)
        mask[rows["r"][rows["bad"].astype(bool)]] = True
        k = int(mask.sum())
        return Outcome(k == 0, f"{k} of {run.n} rows break the rule" if k else f"0 of {run.n} rows break the rule", k, mask, run.n)

    return Check(rule.column, f"expect_rows_to_satisfy_{rule.name}", rule.severity,
                 _e(rule.description or rule.sql) + f" (rule: {_e(rule.sql)})", own=run_rule, engine="duckdb")


# ---------------------------------------------------------------------------------------
# cross-table relations (performance vs applications), in DuckDB
# ---------------------------------------------------------------------------------------
def compile_relations(perf: TableRun, apps: TableRun | None, contract: TableContract) -> None:
    rel = contract.relations
    if not rel or perf.n == 0:
        return
    p_ok = {c: perf.has(c) for c in ("loan_id", "snapshot_month", "months_on_book")}
    a_ok = {c: apps is not None and apps.has(c) for c in ("application_id", "decision", "application_date")}
    wanted = {
        "approved_application": p_ok["loan_id"] and a_ok["application_id"] and a_ok["decision"],
        "snapshot_after_application_month": p_ok["loan_id"] and p_ok["snapshot_month"] and a_ok["application_id"] and a_ok["application_date"],
        "months_on_book_consistent": all(p_ok.values()) and a_ok["application_id"] and a_ok["application_date"],
        "contiguous_history": p_ok["loan_id"] and p_ok["months_on_book"],
    }
    todo = [name for name in rel if wanted.get(name)]
    if not todo:
        return
    cache: dict[str, Any] = {}

    def evaluate() -> dict[str, Any]:
        if cache:
            return cache
        con = duckdb.connect()
        try:
            pcols = [c for c in ("loan_id", "snapshot_month", "months_on_book") if p_ok[c]]
            con.register("perf", perf.work[pcols].assign(__row=np.arange(perf.n, dtype=np.int64)))
            flags = []
            joined = any(n != "contiguous_history" for n in todo)
            if joined:
                acols = [c for c in ("application_id", "decision", "application_date") if a_ok[c]]
                con.register("apps", apps.work[acols])
                agg = ["application_id"]
                if a_ok["decision"]:
                    agg.append("any_value(decision) AS decision")
                if a_ok["application_date"]:
                    agg.append("min(application_date) AS application_date")
                con.execute(f"CREATE TEMP TABLE a AS SELECT {', '.join(agg)} FROM apps WHERE application_id IS NOT NULL GROUP BY application_id")
            if "approved_application" in todo:
                flags += ["a.application_id IS NULL AS no_application",
                          "(a.application_id IS NOT NULL AND a.decision IS DISTINCT FROM 'approved') AS not_approved"]
            if "snapshot_after_application_month" in todo:
                flags.append("coalesce(p.snapshot_month <= date_trunc('month', a.application_date), false) AS too_early")
            if "months_on_book_consistent" in todo:
                flags.append("coalesce(p.months_on_book <> datediff('month', date_trunc('month', a.application_date), p.snapshot_month), false) AS mob_bad")
            if "contiguous_history" in todo:
                # count(*), not count(DISTINCT): twice as fast; a duplicated month that hides
                # a gap is itself an error of the compound-key check
                con.execute(
                    "CREATE TEMP TABLE gaps AS SELECT loan_id FROM perf WHERE loan_id IS NOT NULL AND months_on_book IS NOT NULL "
                    "GROUP BY loan_id HAVING max(months_on_book) - min(months_on_book) + 1 > count(*)"
                )
                flags.append("(p.loan_id IN (SELECT loan_id FROM gaps)) AS gap")
            names = [f.rsplit(" AS ", 1)[1] for f in flags]
            join = " LEFT JOIN a ON p.loan_id = a.application_id" if joined else ""
            sql = (
                f"SELECT * FROM (SELECT p.__row AS r, {', '.join(flags)} FROM "
                f"perf p{join} WHERE p.loan_id IS NOT NULL) "
                f"WHERE {' OR '.join(names)}"
            )
            got = con.execute(sql).fetchnumpy()
            cache["rows"] = got
            if "contiguous_history" in todo:
                cache["gap_loans"] = con.execute("SELECT count(*) FROM gaps").fetchone()[0]
        finally:
            con.close()
        return cache

    def mask_of(*flags: str) -> np.ndarray:
        got = evaluate()["rows"]
        m = np.zeros(perf.n, dtype=bool)
        sel = np.zeros(len(got["r"]), dtype=bool)
        for f in flags:
            sel |= np.asarray(got[f], dtype=bool)
        m[np.asarray(got["r"])[sel]] = True
        return m

    def approved() -> Outcome:
        got = evaluate()["rows"]
        m = mask_of("no_application", "not_approved")
        k = int(m.sum())
        if not k:
            return Outcome(True, f"all {perf.n} rows belong to approved applications", 0, None, perf.n)
        orphans = int(np.asarray(got["no_application"], dtype=bool).sum())
        rejected = int(np.asarray(got["not_approved"], dtype=bool).sum())
        loans = perf.work["loan_id"].to_numpy()[m]
        return Outcome(False, f"{k} of {perf.n} rows ({len(np.unique(loans))} loans) without an approved application: "
                              f"{orphans} rows with no application, {rejected} rows of applications not approved",
                       k, m, perf.n)

    def simple(flag: str, what: str) -> Callable[[], Outcome]:
        def f() -> Outcome:
            m = mask_of(flag)
            k = int(m.sum())
            return Outcome(k == 0, f"{k} of {perf.n} rows {what}", k, m if k else None, perf.n)
        return f

    def contiguous() -> Outcome:
        m = mask_of("gap")
        k = int(m.sum())
        loans = evaluate().get("gap_loans", 0)
        return Outcome(k == 0, f"{loans} loans ({k} rows) with a missing month in their history", k, m if k else None, perf.n)

    specs = {
        "approved_application": ("loan_id", "expect_loan_id_to_match_an_approved_application",
                                 "every loan_id is the application_id of an approved application", approved),
        "snapshot_after_application_month": ("snapshot_month", "expect_snapshot_month_after_application_month",
                                             "snapshot_month after the loan's application month",
                                             simple("too_early", "dated on or before the application month")),
        "months_on_book_consistent": ("months_on_book", "expect_months_on_book_consistent_with_dates",
                                      "months_on_book = months from the application month to snapshot_month (1 in the month after)",
                                      simple("mob_bad", "with months_on_book inconsistent with the dates")),
        "contiguous_history": ("months_on_book", "expect_contiguous_monthly_history",
                               "no month missing within a loan's history", contiguous),
    }
    for name in todo:
        col, expectation, expected, fn = specs[name]
        perf.checks.append(Check(col, expectation, rel[name].severity, expected, own=fn, engine="duckdb"))


# ---------------------------------------------------------------------------------------
# compiling the flat-table contract
# ---------------------------------------------------------------------------------------
def compile_flat(
    run: TableRun, contract: FlatContract, *, target: str, bad_values: Sequence, allowed_values: Sequence | None,
    id: str | None, date: str | None, types: Mapping[str, str], pii: Sequence[str], as_of: pd.Timestamp, baseline: Mapping,
) -> None:
    chk = contract.checks
    cols = list(run.work.columns)
    run.pii = [c for c in cols if c in set(contract.pii_columns) | set(pii)]
    run.key_columns = [id] if id and id not in run.pii else []
    special = {target, id, date}

    run.add_unique_names(chk.unique_column_names)
    run.add_row_count(chk.row_count, 1, None)

    # target
    run.add_exists(target, chk.target_present, "target column present")
    if target in cols and run.n:
        run.add_not_null(target, chk.target_not_null, name_override="a target value on every row")
        t = run.work[target]
        bad = list(bad_values)
        if allowed_values is not None:
            allowed = list(allowed_values)
            what = "target values in {" + ", ".join(_e(repr(v)) for v in allowed) + "}"
        else:
            goods = t[t.notna() & ~t.isin(bad)]
            good = goods.mode().iloc[0] if len(goods) else None
            allowed = bad + ([good.item() if isinstance(good, np.generic) else good] if good is not None else [])
            what = ("target values: the bad value(s) " + ", ".join(_e(repr(v)) for v in bad)
                    + " and one good value" + (f" ({_e(repr(allowed[-1]))}, the most frequent)" if good is not None else ""))
        run.add_in_set(target, chk.target_values, allowed, what)

        def both() -> Outcome:
            n_bad = int(t.isin(bad).sum())
            n_good = int((t.notna() & ~t.isin(bad)).sum())
            return Outcome(n_bad > 0 and n_good > 0, f"{n_bad} bad rows (values {', '.join(_e(repr(v)) for v in bad)}), {n_good} other rows", 0, None, run.n)

        run.checks.append(Check(target, "expect_target_to_have_both_classes", chk.target_both_classes,
                                "at least one bad and one good row", own=both, engine="pandas"))

    # id
    if id:
        run.add_exists(id, chk.id_present, "id column present")
        if id in cols and run.n:
            run.add_not_null(id, chk.id_not_null)
            run.add_unique(id, chk.id_unique)
    # date
    if date:
        run.add_exists(date, chk.date_present, "date column present")
        if date in cols:
            run.type_check(date, "date", chk.date_parseable, date in run.pii, name="expect_column_values_to_be_dateutil_parseable")
            if run.has(date) and run.n:
                run.add_not_null(date, chk.date_not_null)
                run.add_between(date, chk.date_not_future, None, as_of,
                                what=f"no date after the as-of date {as_of.date()} (no future dates)")

    # declared types
    for col, kind in (types or {}).items():
        if col in cols and kind == "numeric" and col not in special:
            run.type_check(col, "float", chk.declared_numeric, col in run.pii)

    # object columns: numbers held as Python objects (e.g. Decimal from a SQL NUMERIC) are
    # numeric; values that are not scalars (dicts, lists) are an error, not a traceback
    for col in cols:
        if col in run.pii or col in run.bad_columns or col in special or run.work[col].dtype != object:
            continue
        s = run.work[col]
        notna = s.notna().to_numpy()
        vals = s.to_numpy()
        nonscalar = notna & np.fromiter((not isinstance(v, _SCALARS) for v in vals), bool, len(vals))
        if nonscalar.any():
            run.bad_columns.add(col)
            run.checks.append(_nonscalar_check(run, col, nonscalar, chk.mixed_types))
            continue
        numeric = notna & np.fromiter((isinstance(v, Number) and not isinstance(v, (bool, np.bool_)) for v in vals), bool, len(vals))
        if notna.any() and (numeric == notna).all():
            run.work[col] = pd.to_numeric(s, errors="coerce").astype("float64")

    kinds: dict[str, str] = {}
    for col in cols:
        if col in run.pii or col in run.bad_columns:
            continue
        s = run.work[col]
        if run.n:
            run.add_not_all_null(col, chk.column_not_all_null)
        if pd.api.types.is_float_dtype(s.dtype) and run.n:
            run.add_finite(col, chk.no_infinities)
        if s.dtype == object and run.n and col not in special:
            run.checks.append(_mixed_check(run, col, chk.mixed_types))
        is_text = (pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype))
        if is_text and run.n and col not in special and (types or {}).get(col) != "categorical":
            run.checks.append(_numbers_as_text_check(run, col, chk.numbers_as_text))
        if col in (id, date):
            continue
        declared = (types or {}).get(col)
        numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
        if col == target or declared == "categorical" or (is_text and declared != "numeric"):
            if col == target or s.nunique(dropna=True) <= contract.max_categories:
                kinds[col] = "categorical"  # category shares
        elif numeric:
            kinds[col] = "numeric"  # null rate and mean
    run.stats = {
        "contract_version": contract.version,
        "rows": run.n,
        "columns": {c: run.column_stats(c, k, contract.max_categories) for c, k in kinds.items()},
    }
    base = _base_columns(baseline, contract.table)
    if base:
        run.add_drift(contract.distribution, base, kinds, {})


_SCALARS = (str, bytes, Number, np.number, np.bool_, dt.date, dt.datetime, dt.time, pd.Timestamp, pd.Timedelta, np.datetime64)


def _nonscalar_check(run: TableRun, col: str, bad: np.ndarray, severity: str) -> Check:
    s = run.work[col]

    def f() -> Outcome:
        kinds = sorted({type(v).__name__ for v in s[bad].head(1000)})
        return Outcome(False, f"{int(bad.sum())} of {run.n} values are not scalars ({_e(', '.join(kinds))}); "
                              "the column's other checks were skipped", int(bad.sum()), bad, run.n)

    return Check(col, "expect_column_values_to_be_scalars", severity, "scalar values (numbers, text, dates)",
                 own=f, engine="pandas")


def _mixed_check(run: TableRun, col: str, severity: str) -> Check:
    s = run.work[col]

    def f() -> Outcome:
        vals = s.to_numpy()
        notna = s.notna().to_numpy()
        is_num = np.fromiter((isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in vals), bool, len(vals)) & notna
        is_str = np.fromiter((isinstance(v, str) for v in vals), bool, len(vals)) & notna
        if not (is_num.any() and is_str.any()):
            return Outcome(True, "one type of value", 0, None, run.n)
        minority = is_str if is_str.sum() <= is_num.sum() else is_num
        ex = [fmt_value(v) for v in pd.unique(s[minority])[:5]]
        return Outcome(False, f"{int(is_num.sum())} numbers and {int(is_str.sum())} text values mixed, e.g. {', '.join(ex)}",
                       int(minority.sum()), minority, run.n, ex)

    return Check(col, "expect_column_values_to_be_of_one_type", severity, "numbers or text, not both", own=f, engine="pandas")


def _numbers_as_text_check(run: TableRun, col: str, severity: str) -> Check:
    s = run.work[col]

    def f() -> Outcome:
        share, hint = numeric_text_share(s)
        if share < 0.9:
            return Outcome(True, f"{share:.0%} of the values look numeric", 0, None, run.n)
        ex = [fmt_value(v) for v in s.dropna().head(5)]
        return Outcome(False, f"{share:.0%} of the text values are numbers ({hint}), e.g. {', '.join(ex)}",
                       int(s.notna().sum()), None, run.n, ex)

    return Check(col, "expect_text_column_not_to_hold_numbers", severity,
                 "text values that are not numbers (a numeric column is read as numbers)", own=f, engine="pandas")


# ---------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------
def _finish(
    runs: list[TableRun], session: GxSession, *, run_id: str, as_of: pd.Timestamp, docs_dir: Any,
    quarantine_dir: Any, partial_count: int,
) -> ContractReport:
    for r in runs:
        mask_cols = list(r.pii) + [c for c in r.work.columns if r.keep_columns is not None and c not in r.keep_columns and c not in r.pii]
        r.run(session, mask_cols, partial_count)
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
        qdir = Path(quarantine_dir) / _safe_name(run_id)
        for r in runs:
            path = r.write_quarantine(qdir, r.pii)
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
    as_of_ts = _as_of(as_of)
    base = _load_baseline(baseline)
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
    as_of_ts = _as_of(as_of)
    base = _load_baseline(baseline)
    run = TableRun(c.table, c.version, df, key_examples)
    t0 = time.perf_counter()
    compile_flat(run, c, target=target, bad_values=bad, allowed_values=allowed_values, id=id, date=date,
                 types=dict(types or {}), pii=list(pii), as_of=as_of_ts, baseline=base)
    run.timings["types + compile"] = time.perf_counter() - t0
    session = GxSession(run_id, Path(docs_dir) if docs_dir is not None else None)
    return _finish([run], session, run_id=run_id, as_of=as_of_ts, docs_dir=docs_dir,
                   quarantine_dir=quarantine_dir, partial_count=key_examples)
