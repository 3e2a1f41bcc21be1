"""Loan outcomes: from raw repayment history to a trustworthy target.

This module derives the outcome per application; the bad definition lives in
:mod:`features.bad_definition`, the input checks in :mod:`features.history_input`, the
history rules in :mod:`features.history_rules` and vintage curves / roll rates in
:mod:`features.vintages` (all re-exported here).

Library code (no Dagster, no MLflow, no I/O). Inputs are the ``applications`` and
``performance`` tables of :mod:`features.loan_book`, as pandas or polars DataFrames;
every computation is vectorised in Polars. Outputs are tidy pandas DataFrames.

Conventions (the choices a validator should know about)
-------------------------------------------------------
* **Months on book are derived from dates**: ``mob = months(snapshot_month) -
  months(application month)``, so MOB 1 is the month after the application month.
  The ``months_on_book`` column is not trusted for the target; disagreements are
  listed by :func:`features.history_rules.history_problems` (kind ``mob_mismatch``).
  Only :func:`features.vintages.bucket_to_bad`, which has no application dates, uses
  ``months_on_book``.
* ``snapshot_month`` and ``application_date`` are truncated to the first of the month.
* **Point in time**: rows after ``as_of`` (default: the latest ``snapshot_month``) are
  ignored, so ``derive_outcomes(..., as_of=...)`` reproduces what was known then.
* **Performance window**: MOB 1..``performance_window``. A loan is *mature* when its
  application month + ``performance_window`` months <= the ``as_of`` month.
* **Bad**: ``days_past_due >= dpd_threshold`` or a status in ``bad_statuses`` at some
  MOB inside the window. A loan that went bad inside the window is **bad even before
  it is mature**: the outcome can no longer change, and calling it immature would drop
  early defaults from the sample and bias the bad rate of recent vintages down.
  Events after the window (e.g. 90+ at MOB 13 with a 12-month window) do not count.
* **Indeterminate**: not bad, and worst DPD in the window inside the closed band
  ``indeterminate_dpd`` (e.g. a loan that reached 60 DPD and cured).
* **Immature**: not bad and not mature (whatever its current delinquency).
* **Closed early**: first ``paid_off`` status at a MOB < window, handled by
  ``closed_early`` (``good_if_clean``: judged like a mature loan on what was observed
  up to closing; ``exclude``: outcome ``closed_early``; ``immature``).
* **Gaps**: missing months are unobserved; a loan is judged on what is observed and
  ``months_missing`` counts the window months that should have been observed (up to
  ``as_of`` and up to the first terminal status) but were not.
* **Duplicates** of (loan_id, snapshot_month) are resolved deterministically as the
  worst row: highest DPD, then worst status (charged_off > delinquent > current >
  paid_off). ``derive_outcomes`` aggregations are invariant to duplicates.
* **Contract errors** raise :class:`OutcomeError`: missing columns, nulls in keys,
  unknown ``decision``/``status`` values, negative DPD, duplicate application ids, and
  performance rows dated in a month *before* the application month. A snapshot in the
  application month itself (MOB 0) is outside every window: ignored and reported.
* **No performance at all** for an approved loan: ``immature`` while the window has not
  elapsed, afterwards outcome ``no_performance`` (target null) -- it cannot be called
  good without evidence. Performance of unknown or rejected applications is ignored.
  Both are reported by :func:`history_problems`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import polars as pl

from features import history_input as hi
from features.bad_definition import CLOSED_EARLY_OPTIONS, BadDefinition, as_bad_definition
from features.history_rules import history_problems
from features.vintages import DEFAULT_BUCKETS, bucket_to_bad, roll_rate_matrix, roll_rates, vintage_curves

__all__ = [
    "BadDefinition",
    "CLOSED_EARLY_OPTIONS",
    "DEFAULT_BUCKETS",
    "OUTCOMES",
    "bucket_to_bad",
    "derive_outcomes",
    "history_problems",
    "outcome_counts_by_vintage",
    "roll_rate_matrix",
    "roll_rates",
    "vintage_curves",
]

OUTCOMES: tuple[str, ...] = (
    "bad",
    "good",
    "indeterminate",
    "immature",
    "closed_early",
    "no_performance",
    "rejected",
)


def derive_outcomes(
    applications: Any,
    performance: Any,
    bad_definition: BadDefinition,
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """One row per application with its outcome and target (see module docstring).

    Columns: application_id, application_month, decision, outcome, target (1 bad,
    0 good, null otherwise), worst_dpd_in_window, first_bad_mob, months_observed,
    months_missing, last_status_in_window, mob_as_of.
    """
    bd = as_bad_definition(bad_definition)
    apps, perf = hi.prepare(applications, performance)
    as_of_m = hi.resolve_as_of(as_of, perf)
    out = _outcomes_pl(apps, perf, bd, as_of_m)
    return hi.to_pandas(
        out,
        {
            "target": "Int8",
            "worst_dpd_in_window": "Int64",
            "first_bad_mob": "Int64",
            "months_observed": "Int64",
            "months_missing": "Int64",
            "mob_as_of": "Int64",
        },
    )


def _outcomes_pl(
    apps: pl.DataFrame, perf: pl.DataFrame, bd: BadDefinition, as_of_m: int
) -> pl.DataFrame:
    W = bd.performance_window
    rows = hi.approved_rows(apps, perf)
    window = rows.lazy().filter(
        (pl.col("mob") >= 1) & (pl.col("mob") <= W) & (pl.col("snap_m") <= as_of_m)
    )
    terminal_mob = pl.col("mob").filter(pl.col("sev").is_in(hi.TERMINAL)).min()
    expected_last = pl.min_horizontal(
        pl.lit(W), pl.lit(as_of_m) - pl.col("app_m").first(), terminal_mob
    )
    stats = (
        window.group_by("loan_id")
        .agg(
            worst_dpd_in_window=pl.col("dpd").max(),
            first_bad_mob=pl.col("mob").filter(hi.bad_row(bd)).min(),
            paid_off_mob=pl.col("mob").filter(pl.col("sev") == hi.PAID).min(),
            months_observed=pl.col("mob").n_unique().cast(pl.Int32),
            months_missing=(
                expected_last
                - pl.col("mob").filter(pl.col("mob") <= expected_last).n_unique()
            ).cast(pl.Int32),
            last_key=(pl.col("mob") * 4 + pl.col("sev")).max(),
        )
        .collect()
    )

    approved = pl.col("decision") == "approved"
    mob_as_of = pl.lit(as_of_m, dtype=pl.Int32) - pl.col("app_m")
    band_lo, band_hi = bd.indeterminate_dpd if bd.indeterminate_dpd else (None, None)
    in_band = (
        pl.col("worst_dpd_in_window").is_between(band_lo, band_hi, closed="both")
        if band_lo is not None
        else pl.lit(False)
    )
    judged = pl.when(in_band).then(pl.lit("indeterminate")).otherwise(pl.lit("good"))
    closed = {
        "good_if_clean": judged,
        "exclude": pl.lit("closed_early"),
        "immature": pl.lit("immature"),
    }[bd.closed_early]
    mature = pl.col("mob_as_of") >= W

    outcome = (
        pl.when(~approved)
        .then(pl.lit("rejected"))
        .when(pl.col("months_observed") == 0)
        .then(pl.when(mature).then(pl.lit("no_performance")).otherwise(pl.lit("immature")))
        .when(pl.col("first_bad_mob").is_not_null())
        .then(pl.lit("bad"))
        .when(pl.col("paid_off_mob") < W)
        .then(closed)
        .when(~mature)
        .then(pl.lit("immature"))
        .otherwise(judged)
    )
    last_status = pl.col("last_key").mod(4).replace_strict(
        hi.STATUS_OF, default=None, return_dtype=pl.String
    )

    out = (
        apps.lazy()
        .join(stats.lazy(), left_on="application_id", right_on="loan_id", how="left")
        .with_columns(mob_as_of=pl.when(approved).then(mob_as_of))
        .with_columns(
            months_observed=pl.when(approved).then(
                pl.col("months_observed").fill_null(0)
            ),
            months_missing=pl.when(approved).then(
                pl.col("months_missing").fill_null(
                    pl.min_horizontal(pl.lit(W), pl.col("mob_as_of")).clip(lower_bound=0)
                )
            ),
        )
        .with_columns(outcome=outcome)
        .select(
            "application_id",
            "application_month",
            "decision",
            "outcome",
            target=pl.when(pl.col("outcome") == "bad")
            .then(pl.lit(1, dtype=pl.Int8))
            .when(pl.col("outcome") == "good")
            .then(pl.lit(0, dtype=pl.Int8)),
            worst_dpd_in_window="worst_dpd_in_window",
            first_bad_mob="first_bad_mob",
            months_observed="months_observed",
            months_missing="months_missing",
            last_status_in_window=last_status,
            mob_as_of="mob_as_of",
        )
        .sort("application_id")
        .collect()
    )
    return out


def outcome_counts_by_vintage(outcomes: Any) -> pd.DataFrame:
    """Per application month: applications, approved, rejected, one count per outcome,
    bad_rate = bad / (bad + good) (NaN without bads or goods) and, when the outcomes
    carry it, mob_as_of (months on book the vintage has reached). In a vintage younger
    than the window bad_rate counts early bads and early payoffs only: filter on
    mob_as_of >= performance_window for matured rates."""
    cols = ["application_month", "decision", "outcome"]
    has_mob = "mob_as_of" in getattr(outcomes, "columns", ())
    df = hi.as_polars(outcomes, "outcomes", cols + (["mob_as_of"] if has_mob else []))
    counts = [
        (pl.col("outcome") == o).sum().cast(pl.Int64).alias(o)
        for o in OUTCOMES
        if o != "rejected"
    ]
    out = (
        df.group_by("application_month")
        .agg(
            applications=pl.len().cast(pl.Int64),
            approved=(pl.col("decision") == "approved").sum().cast(pl.Int64),
            rejected=(pl.col("decision") == "rejected").sum().cast(pl.Int64),
            *counts,
            *([pl.col("mob_as_of").max().cast(pl.Int64)] if has_mob else []),
        )
        .sort("application_month")
        .select(
            "application_month",
            "applications",
            "approved",
            "rejected",
            *[o for o in OUTCOMES if o != "rejected"],
            *(["mob_as_of"] if has_mob else []),
        )
        .with_columns(
            bad_rate=pl.when((pl.col("bad") + pl.col("good")) > 0).then(
                pl.col("bad") / (pl.col("bad") + pl.col("good"))
            )
        )
    )
    return hi.to_pandas(out, {"mob_as_of": "Int64"} if has_mob else {})

