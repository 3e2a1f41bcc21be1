"""The repayment history read into Polars: typed, checked, keyed by loan and month.

Shared by the outcome, vintage and history-rule modules (library code, no I/O). A table
that cannot be read as a loan history raises :class:`~features.errors.OutcomeError`
naming table, column and problem.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import polars as pl

from features.errors import OutcomeError
from features.loan_book import APPLICATIONS, CATEGORIES, PERFORMANCE

STATUSES: tuple[str, ...] = CATEGORIES["status"]
DECISIONS: tuple[str, ...] = CATEGORIES["decision"]
# Severity of a status: used to pick the worst of duplicate rows (higher = worse).
SEVERITY: dict[str, int] = {"paid_off": 0, "current": 1, "delinquent": 2, "charged_off": 3}
STATUS_OF: dict[int, str] = {v: k for k, v in SEVERITY.items()}
# An Enum whose physical code is the severity: one cheap cast maps status -> severity.
STATUS_ENUM = pl.Enum([STATUS_OF[i] for i in range(len(STATUS_OF))])
PAID, CHARGED = SEVERITY["paid_off"], SEVERITY["charged_off"]
TERMINAL = (PAID, CHARGED)
MAX_EXAMPLES = 5


def examples(ids: Any) -> str:
    vals = pl.Series(ids).unique().sort().head(MAX_EXAMPLES).to_list()
    return ", ".join(str(v) for v in vals)


def as_polars(df: Any, table: str, columns: Sequence[str]) -> pl.DataFrame:
    if isinstance(df, pl.LazyFrame):
        df = df.collect()
    if isinstance(df, pd.DataFrame):
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise OutcomeError(f"{table}: missing column(s) {', '.join(missing)}")
        try:
            return pl.from_pandas(df[list(columns)])
        except Exception as exc:  # pragma: no cover - exotic pandas dtypes
            raise OutcomeError(f"{table}: cannot convert to a table: {exc}") from exc
    if isinstance(df, pl.DataFrame):
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise OutcomeError(f"{table}: missing column(s) {', '.join(missing)}")
        return df.select(columns)
    raise OutcomeError(
        f"{table}: expected a pandas or polars DataFrame, got {type(df).__name__}"
    )


def to_date(df: pl.DataFrame, col: str, table: str) -> pl.Series:
    s = df.get_column(col)
    if s.dtype == pl.Date:
        return s
    if isinstance(s.dtype, pl.Datetime):
        return s.dt.date()
    if s.dtype in (pl.String, pl.Categorical) or isinstance(s.dtype, pl.Enum):
        # ISO only (YYYY-MM-DD, optionally followed by a time): 01/02/2023 is ambiguous.
        parsed = s.cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        bad = parsed.is_null() & s.is_not_null()
        if bad.any():
            raise OutcomeError(
                f"{table}.{col}: {int(bad.sum())} value(s) are not ISO dates YYYY-MM-DD "
                f"(e.g. {', '.join(map(repr, s.filter(bad).head(3).to_list()))})"
            )
        return parsed
    raise OutcomeError(f"{table}.{col}: expected dates, got type {s.dtype}")


def month_index(expr: pl.Expr) -> pl.Expr:
    """Months since year 0: consecutive calendar months differ by 1."""
    return (expr.dt.year().cast(pl.Int32) * 12 + expr.dt.month().cast(pl.Int32) - 1).cast(
        pl.Int32
    )


def check_nulls(df: pl.DataFrame, table: str, cols: Sequence[str], id_col: str) -> None:
    for c in cols:
        n = df.get_column(c).null_count()
        if n:
            ids = df.filter(pl.col(c).is_null()).get_column(id_col)
            hint = f" (loan_ids {examples(ids.drop_nulls())})" if c != id_col else ""
            raise OutcomeError(f"{table}.{c}: {n} null value(s){hint}")


def prepare_applications(applications: Any) -> pl.DataFrame:
    """application_id, application_month (Date), decision, app_m (month index)."""
    cols = ("application_id", "application_date", "decision")
    apps = as_polars(applications, APPLICATIONS, cols)
    check_nulls(apps, APPLICATIONS, cols, "application_id")
    dates = to_date(apps, "application_date", APPLICATIONS)
    apps = apps.with_columns(
        application_month=dates.dt.truncate("1mo"),
        decision=pl.col("decision").cast(pl.String),
    )
    unknown = apps.filter(~pl.col("decision").is_in(DECISIONS))
    if unknown.height:
        raise OutcomeError(
            f"{APPLICATIONS}.decision: {unknown.height} row(s) with values "
            f"{sorted(set(unknown.get_column('decision').to_list()))[:5]} outside "
            f"{', '.join(DECISIONS)} (application_ids "
            f"{examples(unknown.get_column('application_id'))})"
        )
    dup = apps.filter(pl.col("application_id").is_duplicated())
    if dup.height:
        raise OutcomeError(
            f"{APPLICATIONS}.application_id: {dup.height} row(s) share an id; ids must be "
            f"unique (application_ids {examples(dup.get_column('application_id'))})"
        )
    return apps.select(
        "application_id",
        "application_month",
        "decision",
        app_m=month_index(pl.col("application_month")),
    )


def prepare_performance(
    performance: Any, id_dtype: pl.DataType | None, extra: Sequence[str] = ()
) -> pl.DataFrame:
    """loan_id, snap_m (month index), snap_day, dpd (Int32), sev (Int8 severity),
    *extra; sorted by loan_id (so later group-bys on loan_id take the sorted path)."""
    cols = ("loan_id", "snapshot_month", "days_past_due", "status", *extra)
    perf = as_polars(performance, PERFORMANCE, cols)
    if perf.height == 0:  # an empty pandas frame has no types to speak of
        perf = perf.with_columns(
            pl.col("loan_id").cast(id_dtype or pl.Int64),
            pl.col("snapshot_month").cast(pl.Date),
            pl.col("days_past_due").cast(pl.Int32),
            pl.col("status").cast(pl.String),
            *[pl.col(c).cast(pl.Int32) for c in extra],
        )
    check_nulls(perf, PERFORMANCE, cols, "loan_id")
    if id_dtype is not None and perf.schema["loan_id"] != id_dtype:
        both_int = perf.schema["loan_id"].is_integer() and id_dtype.is_integer()
        try:
            perf = perf.with_columns(pl.col("loan_id").cast(id_dtype, strict=not both_int))
        except Exception as exc:
            raise OutcomeError(
                f"{PERFORMANCE}.loan_id: type {perf.schema['loan_id']} does not match "
                f"{APPLICATIONS}.application_id type {id_dtype}"
            ) from exc
    dates = to_date(perf, "snapshot_month", PERFORMANCE)
    if not perf.schema["days_past_due"].is_numeric():
        raise OutcomeError(
            f"{PERFORMANCE}.days_past_due: expected integers, got type "
            f"{perf.schema['days_past_due']}"
        )
    perf = perf.with_columns(
        snap_m=month_index(dates),
        snap_day=dates.dt.day(),
        dpd=pl.col("days_past_due").cast(pl.Int32),
    )
    neg = perf.filter(pl.col("dpd") < 0)
    if neg.height:
        raise OutcomeError(
            f"{PERFORMANCE}.days_past_due: {neg.height} negative value(s) "
            f"(loan_ids {examples(neg.get_column('loan_id'))})"
        )
    status = perf.get_column("status")
    if status.dtype != pl.String and not isinstance(status.dtype, (pl.Categorical, pl.Enum)):
        raise OutcomeError(f"{PERFORMANCE}.status: expected text, got type {status.dtype}")
    perf = perf.with_columns(
        sev=pl.col("status")
        .cast(pl.String)
        .cast(STATUS_ENUM, strict=False)
        .to_physical()
        .cast(pl.Int8)
    )
    unknown = perf.filter(pl.col("sev").is_null())
    if unknown.height:
        vals = sorted(set(unknown.get_column("status").cast(pl.String).head(10_000).to_list()))[:5]
        raise OutcomeError(
            f"{PERFORMANCE}.status: {unknown.height} row(s) with values {vals} outside "
            f"{', '.join(STATUSES)} (loan_ids {examples(unknown.get_column('loan_id'))})"
        )
    return perf.select("loan_id", "snap_m", "snap_day", "dpd", "sev", *extra).sort("loan_id")


def resolve_as_of(as_of: Any, perf: pl.DataFrame) -> int:
    """The as-of month as a month index."""
    if as_of is None:
        if perf.height == 0:
            raise OutcomeError(
                f"{PERFORMANCE}.snapshot_month: the table is empty, so the as-of month "
                "cannot be inferred; pass as_of"
            )
        return int(perf.get_column("snap_m").max())
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise OutcomeError(f"as_of: {as_of!r} is not a date") from exc
    if pd.isna(ts):
        raise OutcomeError(f"as_of: {as_of!r} is not a date")
    return ts.year * 12 + ts.month - 1


def approved_rows(apps: pl.DataFrame, perf: pl.DataFrame) -> pl.DataFrame:
    """Performance of approved loans with the date-derived MOB; raises on rows dated
    before the application month (a contract error)."""
    approved = (
        apps.filter(pl.col("decision") == "approved")
        .select(pl.col("application_id").alias("loan_id"), "app_m")
        .sort("loan_id")
    )
    # Both sides sorted by loan_id: a left join keeping the left order is a merge and
    # keeps the sorted flag for the group-bys that follow.
    rows = (
        perf.join(approved, on="loan_id", how="left", maintain_order="left")
        .filter(pl.col("app_m").is_not_null())
        .with_columns(mob=pl.col("snap_m") - pl.col("app_m"))
    )
    before = rows.filter(pl.col("mob") < 0)
    if before.height:
        raise OutcomeError(
            f"{PERFORMANCE}.snapshot_month: {before.height} row(s) dated before the "
            f"application month of their loan (loan_ids "
            f"{examples(before.get_column('loan_id'))})"
        )
    return rows


def loan_month_key(perf: pl.DataFrame) -> pl.DataFrame:
    """``perf`` (sorted by loan_id) plus ``key`` = dense loan number * (span + 1) +
    month offset, sorted by it: (loan_id, month) order with one integer sort key, and
    ``key + 1`` is the next calendar month of the same loan (never the next loan)."""
    if perf.height == 0:
        return perf.with_columns(key=pl.lit(0, dtype=pl.Int64)).clear()
    first = int(perf.get_column("snap_m").min())
    span = int(perf.get_column("snap_m").max()) - first + 1
    new_loan = (pl.col("loan_id") != pl.col("loan_id").shift(1)).fill_null(True)
    return perf.with_columns(
        key=new_loan.cast(pl.Int64).cum_sum() * (span + 1) + (pl.col("snap_m") - first)
    ).sort("key")


def dedupe(perf: pl.DataFrame, extra: Sequence[str] = ()) -> pl.LazyFrame:
    """One row per (loan, month), the worst: highest DPD, then worst status (``extra``
    columns: their maximum). Sorted by ``key`` (see :func:`_loan_month_key`)."""
    return (
        loan_month_key(perf)
        .lazy()
        .group_by("key", maintain_order=True)
        .agg(
            pl.col("loan_id").first(),
            pl.col("snap_m").first(),
            worst=(pl.col("dpd").cast(pl.Int64) * 4 + pl.col("sev")).max(),
            *[pl.col(c).max() for c in extra],
        )
        .with_columns(
            dpd=(pl.col("worst") // 4).cast(pl.Int32),
            sev=(pl.col("worst") % 4).cast(pl.Int8),
        )
    )


def bad_row(bd: Any) -> pl.Expr:
    expr = pl.col("dpd") >= bd.dpd_threshold
    if bd.bad_statuses:
        expr = expr | pl.col("sev").is_in(bd.bad_status_codes)
    return expr


def to_pandas(df: pl.DataFrame, nullable_ints: Mapping[str, str] = {}) -> pd.DataFrame:
    """To pandas; integer columns with nulls become pandas nullable integers."""
    out = df.to_pandas()
    for col, dtype in nullable_ints.items():
        if col in out.columns:
            s = df.get_column(col)
            values = s.fill_null(0).to_numpy().astype(dtype.lower())
            out[col] = pd.arrays.IntegerArray(values, s.is_null().to_numpy())
    return out


def prepare(applications: Any, performance: Any, extra: Sequence[str] = ()):
    apps = prepare_applications(applications)
    perf = prepare_performance(performance, apps.schema["application_id"], extra)
    return apps, perf

