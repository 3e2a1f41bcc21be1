"""Cross-table relations of the performance contract, from the loan-history rules.

The rules themselves are :func:`features.history_rules.history_flags`, the one definition
the outcome step's ``history_problems`` uses too; this module turns the contract's
``relations`` into checks with their severity and failing-row masks.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import polars as pl

from features.history_rules import CONTRACT_RELATIONS, history_flags

from .checks import Check, Outcome
from .contract import TableContract
from .table_run import TableRun

_NEEDS = {
    "approved_application": (("loan_id",), ("application_id", "decision")),
    "snapshot_after_application_month": (("loan_id", "snapshot_month"), ("application_id", "application_date", "decision")),
    "months_on_book_consistent": (("loan_id", "snapshot_month", "months_on_book"), ("application_id", "application_date", "decision")),
    "contiguous_history": (("loan_id", "snapshot_month"), ("application_id", "application_date", "decision")),
}


def _month_index(values: pd.Series) -> pl.Series:
    """Months since 1970-01 (nulls for missing dates): consecutive calendar months differ by 1."""
    d = pd.to_datetime(values, errors="coerce").to_numpy(dtype="datetime64[ns]")
    months = d.astype("datetime64[M]").astype("int64").astype("float64")
    months[np.isnat(d)] = np.nan
    return pl.Series(months, nan_to_null=True).cast(pl.Int32)


def _ids(a: pd.Series, b: pd.Series) -> tuple[pl.Series, pl.Series]:
    """Loan and application ids as one Polars type (text when the two tables disagree)."""
    pa, pb = pl.Series(a.to_numpy(dtype=object) if a.dtype == object else a), pl.Series(b.to_numpy(dtype=object) if b.dtype == object else b)
    if pa.dtype != pb.dtype:
        if pa.dtype.is_integer() and pb.dtype.is_integer():
            return pa.cast(pl.Int64), pb.cast(pl.Int64)
        return pa.cast(pl.String), pb.cast(pl.String)
    return pa, pb


def compile_relations(perf: TableRun, apps: TableRun | None, contract: TableContract) -> None:
    rel = contract.relations
    if not rel or perf.n == 0 or apps is None:
        return
    todo = [name for name in rel
            if all(perf.has(c) for c in _NEEDS[name][0]) and all(apps.has(c) for c in _NEEDS[name][1])]
    if not todo:
        return
    cache: dict[str, Any] = {}

    def evaluate() -> dict[str, Any]:
        if cache:
            return cache
        loan_ids, app_ids = _ids(perf.work["loan_id"], apps.work["application_id"])
        has_dates = apps.has("application_date")
        a = pl.DataFrame({
            "application_id": app_ids,
            "app_m": _month_index(apps.work["application_date"]) if has_dates else pl.Series([None] * apps.n, dtype=pl.Int32),
            "decision": pl.Series(apps.work["decision"].astype(object).where(apps.work["decision"].notna(), None).to_numpy(),
                                  dtype=pl.String, strict=False),
        })
        p = {"loan_id": loan_ids, "row": pl.Series(np.arange(perf.n, dtype=np.int64))}
        p["snap_m"] = _month_index(perf.work["snapshot_month"]) if perf.has("snapshot_month") else \
            pl.Series([None] * perf.n, dtype=pl.Int32)
        if "months_on_book_consistent" in todo:
            p["months_on_book"] = pl.Series(pd.to_numeric(perf.work["months_on_book"], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan), nan_to_null=True)
        rows, loans = history_flags(a, pl.DataFrame(p))
        gap_loans = loans.filter(pl.col("missing") > 0)
        rows = rows.with_columns(gap=pl.col("loan_id").is_in(gap_loans.get_column("loan_id").implode()))
        cache["rows"] = rows
        cache["gap_loans"] = gap_loans.height
        cache["missing_months"] = int(gap_loans.get_column("missing").sum() or 0)
        return cache

    def mask_of(*flags: str) -> np.ndarray:
        rows = evaluate()["rows"]
        sel = rows.select(pl.any_horizontal(*flags).fill_null(False)).to_series()
        m = np.zeros(perf.n, dtype=bool)
        m[rows.get_column("row").filter(sel).to_numpy()] = True
        return m

    def approved() -> Outcome:
        rows = evaluate()["rows"]
        m = mask_of("unknown_loan", "rejected_loan")
        k = int(m.sum())
        if not k:
            return Outcome(True, f"all {perf.n} rows belong to approved applications", 0, None, perf.n)
        orphans, rejected = int(rows.get_column("unknown_loan").sum()), int(rows.get_column("rejected_loan").sum())
        loans = perf.work["loan_id"].to_numpy()[m]
        return Outcome(False, f"{k} of {perf.n} rows ({len(pd.unique(loans))} loans) without an approved application: "
                              f"{orphans} rows with no application, {rejected} rows of applications not approved",
                       k, m, perf.n)

    def simple(kinds: tuple[str, ...], what: str) -> Callable[[], Outcome]:
        def f() -> Outcome:
            m = mask_of(*kinds)
            k = int(m.sum())
            return Outcome(k == 0, f"{k} of {perf.n} rows {what}", k, m if k else None, perf.n)
        return f

    def contiguous() -> Outcome:
        m = mask_of("gap")
        k = int(m.sum())
        got = evaluate()
        return Outcome(k == 0, f"{got['gap_loans']} loans ({k} rows) with a missing month in their history "
                               f"({got['missing_months']} months missing between MOB 1 and the last snapshot)",
                       k, m if k else None, perf.n)

    specs = {
        "approved_application": ("loan_id", "expect_loan_id_to_match_an_approved_application",
                                 "every loan_id is the application_id of an approved application", approved),
        "snapshot_after_application_month": ("snapshot_month", "expect_snapshot_month_after_application_month",
                                             "snapshot_month after the loan's application month",
                                             simple(CONTRACT_RELATIONS["snapshot_after_application_month"],
                                                    "dated on or before the application month")),
        "months_on_book_consistent": ("months_on_book", "expect_months_on_book_consistent_with_dates",
                                      "months_on_book = months from the application month to snapshot_month (1 in the month after)",
                                      simple(CONTRACT_RELATIONS["months_on_book_consistent"],
                                             "with months_on_book inconsistent with the dates")),
        "contiguous_history": ("snapshot_month", "expect_contiguous_monthly_history",
                               "no month missing between MOB 1 and a loan's last snapshot", contiguous),
    }
    for name in todo:
        col, expectation, expected, fn = specs[name]
        perf.checks.append(Check(col, expectation, rel[name].severity, expected, own=fn, engine="polars"))
