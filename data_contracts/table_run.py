"""One table under validation: the untouched input, a coerced working copy, and its checks.

The ``add_*`` methods are the expectation builders (a GX expectation plus the pandas
predicate that finds the failing rows' keys); drift lives in :mod:`.drift`, running the
checks through GX in :mod:`.gx_batches`, quarantine files in :mod:`.quarantine`.
"""

from __future__ import annotations

from typing import Any, Sequence

import great_expectations.expectations as gxe
import math
import numpy as np
import pandas as pd
from great_expectations.expectations.row_conditions import Column as GxColumn

from .checks import Check, Outcome, esc, fmt_bound, fmt_num, key_str
from .coerce import TypeOutcome, check_type
from .report import ContractResult


class TableRun:
    """One table under validation: the untouched input, a coerced working copy, checks."""

    def __init__(self, table: str, version: str, df: Any, key_examples: int):
        self.table = table
        self.version = version
        self.input = as_pandas(df, table)
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
                out.append(", ".join(f"{c}={key_str(v)}" for c, v in zip(cols, vals)))
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
                what = f"values between {fmt_bound(lo)} and {fmt_bound(hi)}"
            elif lo is not None:
                what = f"values of at least {fmt_bound(lo)}"
            else:
                what = f"values of at most {fmt_bound(hi)}"
            if special:
                what += " or a special code " + "/".join(fmt_num(x) for x in special)

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
        shown = ", ".join(esc(repr(v)) for v in values)
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
            return Outcome(False, "duplicated column name(s): " + ", ".join(esc(repr(d)) for d in dups) + " (the first of each was validated)", len(dups))

        self.checks.append(Check(None, "expect_table_column_names_to_be_unique", severity, "distinct column names", own=run, engine="pandas"))



def as_pandas(df: Any, table: str) -> pd.DataFrame:
    if isinstance(df, pd.DataFrame):
        return df
    to_pandas = getattr(df, "to_pandas", None)
    if callable(to_pandas):  # polars / pyarrow
        return to_pandas()
    raise TypeError(f"{table}: expected a pandas (or polars) DataFrame, got {type(df).__name__}")

