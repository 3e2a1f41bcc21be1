"""Application-month partitions: one month of the loan book can be (re)loaded, validated and backfilled alone.

The training assets read the whole window they need (``applications`` / ``performance``);
``loan_book_month`` is the same source cut at one application month, so an operator can
reload and re-validate a month that was corrected in the warehouse, or backfill a range of
months from the UI, without retraining.
"""

from __future__ import annotations

import dagster as dg
import pandas as pd


def application_months(first_month: str) -> dg.MonthlyPartitionsDefinition:
    """Calendar months from ``first_month`` (YYYY-MM) up to and including the current one."""
    return dg.MonthlyPartitionsDefinition(start_date=first_month, end_offset=1, fmt="%Y-%m")


def month_rows(frame: pd.DataFrame, date_column: str, month: str) -> pd.DataFrame:
    """The rows of ``frame`` whose ``date_column`` falls in ``month`` (YYYY-MM)."""
    months = pd.to_datetime(frame[date_column], errors="coerce").dt.to_period("M")
    return frame[(months == pd.Period(month, "M")).to_numpy()]
