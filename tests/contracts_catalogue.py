"""The bad-input catalogue of the data contracts: one corruption per entry.

Each entry takes a valid ``(applications, performance)`` pair (copies) and returns the
corrupted pair, with what the contract report must say: table, column, expectation,
severity, and words the failure message must contain.  The library tests
(tests/test_contracts.py) run every entry through ``validate_loan_book``; the pipeline's
own tests can run the same catalogue through the whole Dagster job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

AS_OF = "2026-06-30"  # the demo book's history ends 2025-12


@dataclass(frozen=True)
class Corruption:
    name: str
    corrupt: Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]
    table: str
    column: str | None
    expectation: str
    severity: str = "error"
    words: tuple[str, ...] = ()  # the failure message (or the warning row) contains these
    extra: dict = field(default_factory=dict)


def _approved(apps: pd.DataFrame) -> pd.Series:
    return apps["decision"] == "approved"


def _set(df: pd.DataFrame, row: int, col: str, value, dtype=None) -> pd.DataFrame:
    df = df.copy()
    if dtype is not None:
        df[col] = df[col].astype(dtype)
    df.loc[df.index[row], col] = value
    return df


def _first_perf_row_of(perf: pd.DataFrame, apps: pd.DataFrame, *, months_on_book: int | None = None) -> int:
    approved = set(apps.loc[_approved(apps), "application_id"])
    ok = perf["loan_id"].isin(approved)
    if months_on_book is not None:
        ok &= perf["months_on_book"] == months_on_book
    return int(np.flatnonzero(ok.to_numpy())[0])


def missing_column(a, p):
    return a.drop(columns=["age"]), p


def renamed_column(a, p):
    return a.rename(columns={"monthly_income": "income"}), p


def extra_column(a, p):
    return a.assign(favourite_colour="teal"), p


def string_in_numeric(a, p):
    return _set(a, 3, "age", "forty", dtype=object), p


def decimal_comma(a, p):
    a = a.copy()
    a["requested_amount"] = a["requested_amount"].map(lambda v: f"{v:.2f}".replace(".", ","))
    return a, p


def negative_income(a, p):
    i = int(np.flatnonzero(a["monthly_income"].notna().to_numpy())[0])
    return _set(a, i, "monthly_income", -1500.0), p


def age_250(a, p):
    return _set(a, 5, "age", 250), p


def duplicate_application_id(a, p):
    a = a.copy()
    a.loc[a.index[8], "application_id"] = a["application_id"].iloc[7]
    return a, p


def null_application_id(a, p):
    return _set(a, 4, "application_id", np.nan, dtype="float64"), p


def null_loan_id(a, p):
    return a, _set(p, 2, "loan_id", pd.NA, dtype="Int64")


def future_application_date(a, p):
    return _set(a, 6, "application_date", pd.Timestamp("2031-03-15")), p


def snapshot_before_application(a, p):
    i = _first_perf_row_of(p, a)
    loan = p["loan_id"].iloc[i]
    app_month = a.loc[a["application_id"] == loan, "application_date"].iloc[0].to_period("M").to_timestamp()
    return a, _set(p, i, "snapshot_month", app_month - pd.DateOffset(months=2))


def orphan_performance(a, p):
    extra = p.iloc[[0, 1]].copy()
    extra["loan_id"] = 99_999_999
    return a, pd.concat([p, extra], ignore_index=True)


def rejected_loan_in_performance(a, p):
    rejected = a.loc[~_approved(a)].iloc[0]
    extra = p.iloc[[0]].copy()
    extra["loan_id"] = rejected["application_id"]
    extra["snapshot_month"] = rejected["application_date"].to_period("M").to_timestamp() + pd.DateOffset(months=1)
    extra["months_on_book"] = 1
    return a, pd.concat([p, extra], ignore_index=True)


def unknown_category(a, p):
    return _set(a, 9, "product", "mortgage"), p


def script_category(a, p):
    return _set(a, 10, "region", "<script>alert('x')</script>"), p


def negative_dpd(a, p):
    return a, _set(p, 3, "days_past_due", -7)


def mob_inconsistent(a, p):
    i = _first_perf_row_of(p, a, months_on_book=2)
    p = p.copy()
    p.loc[p.index[i], "months_on_book"] = 5
    return a, p


def duplicate_month(a, p):
    return a, pd.concat([p, p.iloc[[12]]], ignore_index=True)


def missing_month(a, p):
    loans = p.groupby("loan_id")["months_on_book"].transform("size")
    i = int(np.flatnonzero(((loans >= 4) & (p["months_on_book"] == 2)).to_numpy())[0])
    return a, p.drop(index=p.index[i]).reset_index(drop=True)


def empty_applications(a, p):
    return a.iloc[0:0], p


def empty_performance(a, p):
    return a, p.iloc[0:0]


def all_null_column(a, p):
    return a.assign(monthly_income=np.nan), p


def all_null_required(a, p):
    return a.assign(bureau_score=pd.array([pd.NA] * len(a), dtype="Int32")), p


def infinity(a, p):
    return _set(a, 11, "requested_amount", np.inf), p


def interest_rate_percent(a, p):
    i = int(np.flatnonzero(_approved(a).to_numpy())[0])
    return _set(a, i, "interest_rate", 12.5), p


def bureau_score_out_of_range(a, p):
    return _set(a, 12, "bureau_score", 900), p


def unknown_special_code(a, p):
    return _set(a, 13, "bureau_score", -3), p


def approved_without_amount(a, p):
    i = int(np.flatnonzero(_approved(a).to_numpy())[1])
    return _set(a, i, "approved_amount", np.nan), p


def snapshot_not_first_day(a, p):
    return a, _set(p, 4, "snapshot_month", p["snapshot_month"].iloc[4] + pd.Timedelta(days=14))


def unparseable_date(a, p):
    a = a.copy()
    a["application_date"] = a["application_date"].dt.strftime("%Y-%m-%d").astype(object)
    a.loc[a.index[14], "application_date"] = "31/02/2024?"
    return a, p


def fractional_integer(a, p):
    return _set(a, 15, "term_months", 12.5, dtype="float64"), p


def unknown_status(a, p):
    return a, _set(p, 5, "status", "written_off")


def duplicate_column_names(a, p):
    a = pd.concat([a, a[["age"]]], axis=1)
    return a, p


def date_as_number(a, p):
    a = a.copy()
    a["application_date"] = np.arange(len(a))
    return a, p


CATALOGUE: list[Corruption] = [
    Corruption("missing column", missing_column, "applications", "age", "expect_column_to_exist", words=("column missing",)),
    Corruption("renamed column", renamed_column, "applications", "monthly_income", "expect_column_to_exist",
               words=("column missing",), extra={"warn": ("expect_table_columns_to_match_set", "'income'")}),
    Corruption("extra unexpected column", extra_column, "applications", None, "expect_table_columns_to_match_set",
               severity="warn", words=("'favourite_colour'",)),
    Corruption("string in a numeric column", string_in_numeric, "applications", "age", "expect_column_values_to_be_of_type",
               words=("not numbers", "'forty'")),
    Corruption("decimal-comma strings", decimal_comma, "applications", "requested_amount", "expect_column_values_to_be_of_type",
               words=("text, not numbers", "decimal comma")),
    Corruption("negative income", negative_income, "applications", "monthly_income", "expect_column_values_to_be_between",
               words=("at least 0", "-1500.0")),
    Corruption("age 250", age_250, "applications", "age", "expect_column_values_to_be_between", words=("between 18 and 100", "250")),
    Corruption("duplicate application_id", duplicate_application_id, "applications", "application_id",
               "expect_column_values_to_be_unique", words=("unique",)),
    Corruption("null application_id", null_application_id, "applications", "application_id",
               "expect_column_values_to_not_be_null", words=("null", "row 4")),
    Corruption("null loan_id", null_loan_id, "performance", "loan_id", "expect_column_values_to_not_be_null", words=("null",)),
    Corruption("future application date", future_application_date, "applications", "application_date",
               "expect_column_values_to_be_between", words=("future", "2031-03-15")),
    Corruption("performance dated before its application", snapshot_before_application, "performance", "snapshot_month",
               "expect_snapshot_month_after_application_month", words=("on or before the application month",)),
    Corruption("orphan performance rows", orphan_performance, "performance", "loan_id",
               "expect_loan_id_to_match_an_approved_application", words=("2 rows with no application", "loan_id=99999999")),
    Corruption("performance of a rejected application", rejected_loan_in_performance, "performance", "loan_id",
               "expect_loan_id_to_match_an_approved_application", words=("not approved",)),
    Corruption("unknown category value", unknown_category, "applications", "product", "expect_column_values_to_be_in_set",
               words=("'mortgage'", "personal_loan")),
    Corruption("category value with <script>", script_category, "applications", "region", "expect_column_values_to_be_in_set",
               words=("&lt;script&gt;",)),
    Corruption("negative DPD", negative_dpd, "performance", "days_past_due", "expect_column_values_to_be_between",
               words=("between 0 and 3650", "-7")),
    Corruption("MOB inconsistent with dates", mob_inconsistent, "performance", "months_on_book",
               "expect_months_on_book_consistent_with_dates", words=("inconsistent with the dates",)),
    Corruption("duplicate month rows", duplicate_month, "performance", "loan_id, snapshot_month",
               "expect_compound_columns_to_be_unique", words=("one row per loan_id per snapshot_month",)),
    Corruption("missing month in a loan's history", missing_month, "performance", "snapshot_month",
               "expect_contiguous_monthly_history", severity="warn", words=("missing month",)),
    Corruption("empty applications table", empty_applications, "applications", None, "expect_table_row_count_to_be_between",
               words=("at least 1 row",)),
    Corruption("empty performance table", empty_performance, "performance", None, "expect_table_row_count_to_be_between",
               words=("at least 1 row",)),
    Corruption("all-null nullable column", all_null_column, "applications", "monthly_income",
               "expect_column_proportion_of_non_null_values_to_be_between", words=("not entirely null",)),
    Corruption("all-null required column", all_null_required, "applications", "bureau_score",
               "expect_column_values_to_not_be_null", words=("3000 of 3000 rows null",)),
    Corruption("infinity", infinity, "applications", "requested_amount", "expect_column_values_to_not_be_in_set",
               words=("finite", "inf")),
    Corruption("interest rate in percent", interest_rate_percent, "applications", "interest_rate",
               "expect_column_values_to_be_between", words=("between 0 and 1", "12.5")),
    Corruption("bureau score out of range", bureau_score_out_of_range, "applications", "bureau_score",
               "expect_column_values_to_be_between", words=("between 300 and 850 or a special code -1/-2", "900")),
    Corruption("unknown bureau special code", unknown_special_code, "applications", "bureau_score",
               "expect_column_values_to_be_between", words=("-3",)),
    Corruption("approved without approved_amount", approved_without_amount, "applications", "approved_amount",
               "expect_rows_to_satisfy_approved_amount_when_approved", words=("approved application has an approved_amount",)),
    Corruption("snapshot not on the first day", snapshot_not_first_day, "performance", "snapshot_month",
               "expect_rows_to_satisfy_snapshot_month_is_first_day", words=("first day of a month",)),
    Corruption("unparseable date", unparseable_date, "applications", "application_date", "expect_column_values_to_be_of_type",
               words=("not parseable as dates", "31/02/2024?")),
    Corruption("fractional integer", fractional_integer, "applications", "term_months", "expect_column_values_to_be_of_type",
               words=("not whole numbers", "12.5")),
    Corruption("unknown status", unknown_status, "performance", "status", "expect_column_values_to_be_in_set",
               words=("'written_off'",)),
    Corruption("duplicated column names", duplicate_column_names, "applications", None, "expect_table_column_names_to_be_unique",
               words=("'age'",)),
    Corruption("numbers in a date column", date_as_number, "applications", "application_date", "expect_column_values_to_be_of_type",
               words=("not dates",)),
]
