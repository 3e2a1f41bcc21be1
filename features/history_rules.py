"""The rules of a loan history, defined once for the data contract and the outcome step.

:func:`history_flags` marks each performance row (no application, an application that
was not approved, dated before or in the application month, months on book inconsistent
with the dates) and measures each loan's missing months between MOB 1 and its last
snapshot. The contract's relations (``data_contracts.relations``) turn the flags into
expectations with a severity; :func:`history_problems` counts them for the report.
Library code, no I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import polars as pl

from features import history_input as hi
from features.loan_book import APPLICATIONS, PERFORMANCE

HISTORY_RULES: dict[str, tuple[str, str]] = {
    # kind: (column, description); the table is performance except for no_performance
    "unknown_loan": (
        "loan_id",
        "performance rows whose loan_id is not an application (ignored)",
    ),
    "rejected_loan": (
        "loan_id",
        "performance rows for a rejected application (ignored)",
    ),
    "duplicate_snapshot": (
        "snapshot_month",
        "extra rows for the same (loan_id, snapshot_month) (the worst DPD is kept)",
    ),
    "before_application": (
        "snapshot_month",
        "rows dated in a month before the application month of an approved loan "
        "(derive_outcomes raises)",
    ),
    "in_application_month": (
        "snapshot_month",
        "rows dated in the application month itself, MOB 0 (ignored)",
    ),
    "not_first_of_month": (
        "snapshot_month",
        "snapshot_month not on the first day of a month (truncated to the month)",
    ),
    "mob_mismatch": (
        "months_on_book",
        "months_on_book differs from the months between application and snapshot "
        "(the dates are used)",
    ),
    "gap": (
        "snapshot_month",
        "missing monthly snapshots between MOB 1 and the loan's last snapshot "
        "(rows = missing months; judged on what is observed)",
    ),
    "stopped_reporting": (
        "snapshot_month",
        "open loans (last status not paid_off/charged_off) whose snapshots stop "
        "before the as-of month",
    ),
    "no_performance": (
        "loan_id",
        "approved applications with no snapshot although MOB 1 has been reached",
    ),
}

# The contract's relations (data_contracts/*.yaml ``relations``) -> the rule kinds they enforce.
CONTRACT_RELATIONS: dict[str, tuple[str, ...]] = {
    "approved_application": ("unknown_loan", "rejected_loan"),
    "snapshot_after_application_month": ("before_application", "in_application_month"),
    "months_on_book_consistent": ("mob_mismatch",),
    "contiguous_history": ("gap",),
}


def history_flags(apps: pl.DataFrame, perf: pl.DataFrame, as_of_m: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Flag every performance row and measure every approved loan's history.

    ``apps``: ``application_id``, ``app_m`` (month index), ``decision``; duplicated ids
    count once (first decision, earliest month). ``perf``: ``loan_id`` (same type as
    ``application_id``), ``snap_m`` and optionally ``months_on_book``; other columns are
    carried along. Rows with a null ``loan_id`` or ``snap_m`` are not judged here (the
    contract's null checks name them).

    Returns ``(rows, loans)``. ``rows``: ``perf`` in its order plus ``app_m``,
    ``decision``, ``mob`` (months from the application month, by the dates) and one
    boolean column per row rule (``unknown_loan``, ``rejected_loan``,
    ``before_application``, ``in_application_month``, ``mob_mismatch``). ``loans``: per
    approved loan observed at MOB >= 1 (up to ``as_of_m``): ``last_mob``, ``months``
    (distinct months observed), ``last_snap``, ``missing`` (= last_mob - months, the
    ``gap`` rule) and, when ``perf`` has ``sev``, ``last_sev``.
    """
    first = (
        apps.filter(pl.col("application_id").is_not_null())
        .group_by("application_id", maintain_order=True)
        .agg(pl.col("decision").first(), pl.col("app_m").min())
        .select(pl.col("application_id").alias("loan_id"), "app_m", "decision", has_application=pl.lit(True))
        .sort("loan_id")
    )
    approved = pl.col("decision").fill_null("") == "approved"
    has_mob = "months_on_book" in perf.columns
    rows = (
        perf.join(first, on="loan_id", how="left", maintain_order="left")
        .with_columns(mob=pl.col("snap_m") - pl.col("app_m"))
        .with_columns(
            unknown_loan=pl.col("loan_id").is_not_null() & pl.col("has_application").is_null(),
            rejected_loan=pl.col("has_application").fill_null(False) & ~approved,
            before_application=approved & (pl.col("mob") < 0).fill_null(False),
            in_application_month=approved & (pl.col("mob") == 0).fill_null(False),
            mob_mismatch=(approved & (pl.col("months_on_book").cast(pl.Int64) != pl.col("mob")).fill_null(False))
            if has_mob else pl.lit(False),
        )
    )
    observed = rows.filter(approved & (pl.col("mob") >= 1))
    if as_of_m is not None:
        observed = observed.filter(pl.col("snap_m") <= as_of_m)
    loans = (
        observed.group_by("loan_id")
        .agg(
            last_mob=pl.col("mob").max(),
            months=pl.col("mob").n_unique(),
            last_snap=pl.col("snap_m").max(),
            *([(pl.col("mob") * 4 + pl.col("sev")).max().mod(4).alias("last_sev")] if "sev" in perf.columns else []),
        )
        .with_columns(missing=pl.col("last_mob") - pl.col("months"))
    )
    return rows, loans


def history_problems(
    applications: Any, performance: Any, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """Problems of the repayment history, one row per kind (all kinds, count 0 too).

    Columns: kind, table, column, rows, loans, example_loan_ids (up to 5,
    comma-separated), description. Never raises on the problems it lists.
    """
    apps = hi.prepare_applications(applications)
    has_mob = "months_on_book" in getattr(performance, "columns", ())
    perf = hi.prepare_performance(performance, apps.schema["application_id"], ("months_on_book",) if has_mob else ())
    as_of_m = hi.resolve_as_of(as_of, perf) if (as_of is not None or perf.height) else None
    rows, loans = history_flags(apps, perf, as_of_m)

    found: dict[str, tuple[int, int, str]] = {}

    def record(kind: str, frame: pl.DataFrame, n_rows: int | None = None) -> None:
        ids = frame.get_column("loan_id")
        found[kind] = (int(frame.height if n_rows is None else n_rows), int(ids.n_unique()),
                       hi.examples(ids) if frame.height else "")

    for kind in ("unknown_loan", "rejected_loan", "before_application", "in_application_month", "mob_mismatch"):
        record(kind, rows.filter(pl.col(kind)))
    record("not_first_of_month", rows.filter(pl.col("snap_day") != 1))
    keyed = hi.loan_month_key(perf)
    record("duplicate_snapshot", keyed.filter(pl.col("key") == pl.col("key").shift(1)))
    gaps = loans.filter(pl.col("missing") > 0)
    record("gap", gaps, n_rows=int(gaps["missing"].sum() or 0))
    if as_of_m is not None:
        record("stopped_reporting",
               loans.filter(~pl.col("last_sev").is_in(hi.TERMINAL) & (pl.col("last_snap") < as_of_m)))
        never = (
            apps.filter((pl.col("decision") == "approved") & (pl.col("app_m") < as_of_m))
            .select(pl.col("application_id").alias("loan_id"))
            .join(loans.select("loan_id"), on="loan_id", how="anti")
        )
        record("no_performance", never)

    records = []
    for kind, (column, description) in HISTORY_RULES.items():
        n_rows, n_loans, examples = found.get(kind, (0, 0, ""))
        records.append({
            "kind": kind,
            "table": APPLICATIONS if kind == "no_performance" else PERFORMANCE,
            "column": column,
            "rows": n_rows,
            "loans": n_loans,
            "example_loan_ids": examples,
            "description": description,
        })
    return pd.DataFrame.from_records(records)


def months_on_book(applications: Any, performance: pd.DataFrame) -> pd.DataFrame:
    """``performance`` with ``months_on_book`` derived from the dates when it has none
    (1 in the month after the application month); as it is otherwise."""
    if "months_on_book" in performance.columns:
        return performance
    apps = hi.prepare_applications(applications)
    perf = hi.as_polars(performance, PERFORMANCE, ("loan_id", "snapshot_month"))
    snap_m = hi.month_index(hi.to_date(perf, "snapshot_month", PERFORMANCE))
    keys = perf.select("loan_id").with_columns(snap_m=snap_m)
    if keys.schema["loan_id"] != apps.schema["application_id"]:
        keys = keys.with_columns(pl.col("loan_id").cast(apps.schema["application_id"], strict=False))
    mob = keys.join(apps.select(pl.col("application_id").alias("loan_id"), "app_m"), on="loan_id", how="left",
                    maintain_order="left").select(mob=pl.col("snap_m") - pl.col("app_m"))
    return performance.assign(months_on_book=mob.get_column("mob").to_pandas().astype("Int64").to_numpy())
