"""Vintage curves, roll rates and bucket-to-bad shares from the repayment history.

Library code (no I/O); inputs as in :mod:`features.outcomes`, outputs tidy pandas frames.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
import polars as pl

from features import history_input as hi
from features.bad_definition import BadDefinition, as_bad_definition
from features.errors import ConfigError, OutcomeError

# Delinquency buckets: (label, lowest DPD), ascending. charged_off / paid_off are added
# from the status column and override the DPD bucket.
DEFAULT_BUCKETS: tuple[tuple[str, int], ...] = (
    ("current", 0),
    ("1-29", 1),
    ("30-59", 30),
    ("60-89", 60),
    ("90+", 90),
)


def vintage_curves(
    applications: Any,
    performance: Any,
    bad_definition: BadDefinition,
    max_mob: int | None = None,
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """Cumulative bad rate by MOB for each vintage (application month of approved loans).

    loans at MOB m = approved loans of the vintage observed at or before MOB m;
    cum_bads = those that reached dpd_threshold or a bad status at or before MOB m
    (not limited to the performance window). Only MOBs the vintage has reached by
    ``as_of`` (and <= max_mob). Columns: vintage, mob, loans, cum_bads, cum_bad_rate.
    """
    bd = as_bad_definition(bad_definition)
    if max_mob is not None and (isinstance(max_mob, bool) or not isinstance(max_mob, int) or max_mob < 1):
        raise ConfigError(f"vintage_curves: max_mob must be a positive integer, got {max_mob!r}")
    apps, perf = hi.prepare(applications, performance)
    as_of_m = hi.resolve_as_of(as_of, perf)
    rows = hi.approved_rows(apps, perf)
    per_loan = (
        rows.lazy()
        .filter((pl.col("mob") >= 1) & (pl.col("snap_m") <= as_of_m))
        .group_by("loan_id")
        .agg(
            vintage_m=pl.col("app_m").first(),
            first_obs=pl.col("mob").min(),
            first_bad=pl.col("mob").filter(hi.bad_row(bd)).min(),
        )
        .collect()
    )
    vint = (
        apps.filter(pl.col("decision") == "approved")
        .group_by("app_m")
        .agg(vintage=pl.col("application_month").first())
        .with_columns(reach=pl.lit(as_of_m, dtype=pl.Int32) - pl.col("app_m"))
    )
    if max_mob is not None:
        vint = vint.with_columns(reach=pl.min_horizontal("reach", pl.lit(max_mob)))
    vint = vint.filter(pl.col("reach") >= 1)
    grid = vint.select(
        pl.col("app_m").alias("vintage_m"),
        "vintage",
        mob=pl.int_ranges(1, pl.col("reach") + 1, dtype=pl.Int32),
    ).explode("mob")
    obs = per_loan.group_by("vintage_m", pl.col("first_obs").alias("mob")).agg(n_obs=pl.len())
    bads = (
        per_loan.filter(pl.col("first_bad").is_not_null())
        .group_by("vintage_m", pl.col("first_bad").alias("mob"))
        .agg(n_bad=pl.len())
    )
    out = (
        grid.join(obs, on=["vintage_m", "mob"], how="left")
        .join(bads, on=["vintage_m", "mob"], how="left")
        .sort("vintage_m", "mob")
        .with_columns(
            loans=pl.col("n_obs").fill_null(0).cum_sum().over("vintage_m").cast(pl.Int64),
            cum_bads=pl.col("n_bad").fill_null(0).cum_sum().over("vintage_m").cast(pl.Int64),
        )
        .filter(pl.col("loans") > 0)
        .select(
            "vintage",
            "mob",
            "loans",
            "cum_bads",
            cum_bad_rate=pl.col("cum_bads") / pl.col("loans"),
        )
    )
    return hi.to_pandas(out).astype({"mob": "int64"})


# --------------------------------------------------------------------------- roll rates
def _check_buckets(buckets: Any) -> tuple[tuple[str, int], ...]:
    if isinstance(buckets, Mapping):
        buckets = tuple(buckets.items())
    try:
        out = tuple((str(label), int(low)) for label, low in buckets)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"buckets: expected (label, lowest DPD) pairs, got {buckets!r}"
        ) from exc
    lows = [low for _, low in out]
    labels = [label for label, _ in out]
    if not out or lows[0] != 0 or any(b <= a for a, b in zip(lows, lows[1:])):
        raise ConfigError(
            f"buckets: lowest DPDs must start at 0 and increase strictly, got {lows}"
        )
    if len(set(labels)) != len(labels) or {"charged_off", "paid_off"} & set(labels):
        raise ConfigError(
            f"buckets: labels must be unique and not charged_off/paid_off, got {labels}"
        )
    return out


def _bucket_expr(buckets: tuple[tuple[str, int], ...]) -> tuple[pl.Expr, list[str]]:
    labels = [label for label, _ in buckets] + ["charged_off", "paid_off"]
    idx = sum(
        ((pl.col("dpd") >= low).cast(pl.Int8) for _, low in buckets[1:]),
        start=pl.lit(0, dtype=pl.Int8),
    )
    n = len(buckets)
    idx = (
        pl.when(pl.col("sev") == hi.CHARGED)
        .then(pl.lit(n, dtype=pl.Int8))
        .when(pl.col("sev") == hi.PAID)
        .then(pl.lit(n + 1, dtype=pl.Int8))
        .otherwise(idx)
    )
    return idx, labels


def roll_rates(
    performance: Any, buckets: Any = DEFAULT_BUCKETS
) -> pd.DataFrame:
    """Month-to-month transitions between delinquency buckets.

    Buckets by DPD (``buckets``: (label, lowest DPD) pairs), overridden by the status
    charged_off / paid_off. Only transitions between consecutive calendar months of
    the same loan (gaps break the chain); duplicates are resolved to the worst row.
    charged_off and paid_off are absorbing: destinations only. Long format with every
    (from, to) pair: from_bucket, to_bucket, count, share (of the from bucket; NaN
    when the from bucket never occurs).
    """
    buckets = _check_buckets(buckets)
    perf = hi.prepare_performance(performance, None)
    idx, labels = _bucket_expr(buckets)
    n_from = len(buckets)
    # Deduplicate (worst DPD, then worst status), then pair consecutive months.
    rows = (
        hi.dedupe(perf)
        .with_columns(b=idx)
        .with_columns(nb=pl.col("b").shift(-1), n_key=pl.col("key").shift(-1))
        .filter((pl.col("n_key") == pl.col("key") + 1) & (pl.col("b") < n_from))
        .group_by("b", "nb")
        .agg(count=pl.len())
        .collect()
    )
    grid = pl.DataFrame(
        {
            "b": [i for i in range(n_from) for _ in labels],
            "nb": [j for _ in range(n_from) for j in range(len(labels))],
        },
        schema={"b": pl.Int8, "nb": pl.Int8},
    )
    out = (
        grid.join(rows, on=["b", "nb"], how="left")
        .with_columns(count=pl.col("count").fill_null(0).cast(pl.Int64))
        .with_columns(total=pl.col("count").sum().over("b"))
        .sort("b", "nb")
        .select(
            from_bucket=pl.col("b").replace_strict(
                dict(enumerate(labels)), return_dtype=pl.String
            ),
            to_bucket=pl.col("nb").replace_strict(
                dict(enumerate(labels)), return_dtype=pl.String
            ),
            count="count",
            share=pl.when(pl.col("total") > 0).then(pl.col("count") / pl.col("total")),
        )
    )
    return hi.to_pandas(out)


def roll_rate_matrix(df: pd.DataFrame | pl.DataFrame) -> pd.DataFrame:
    """Square matrix of shares (rows: from, columns: to) from :func:`roll_rates` output.

    Buckets keep their order of first appearance; buckets that are only destinations
    (charged_off, paid_off) get an absorbing row (1.0 on the diagonal). A from bucket
    that never occurred has a row of NaN.
    """
    if isinstance(df, pl.DataFrame):
        df = df.to_pandas()
    missing = [c for c in ("from_bucket", "to_bucket", "share") if c not in df.columns]
    if missing:
        raise OutcomeError(f"roll rates: missing column(s) {', '.join(missing)}")
    order = list(dict.fromkeys([*df["from_bucket"].tolist(), *df["to_bucket"].tolist()]))
    mat = df.pivot_table(
        index="from_bucket", columns="to_bucket", values="share", aggfunc="sum", dropna=False
    ).reindex(index=order, columns=order)
    sources = set(df["from_bucket"].tolist())
    for b in order:
        if b not in sources:
            mat.loc[b, :] = 0.0
            mat.loc[b, b] = 1.0
        else:
            never = df.loc[df["from_bucket"] == b, "share"].isna().all()
            mat.loc[b, :] = float("nan") if never else mat.loc[b, :].fillna(0.0)
    mat.index.name = "from_bucket"
    mat.columns.name = "to_bucket"
    return mat.astype(float)


def bucket_to_bad(
    performance: Any,
    bad_definition: BadDefinition,
    buckets: Any = DEFAULT_BUCKETS,
    mature_only: bool = True,
    as_of: dt.date | str | None = None,
) -> pd.DataFrame:
    """For each bucket: of the accounts in it at some MOB within the window, the share
    that reach bad (DPD >= dpd_threshold or a bad status) at that MOB or later, still
    within the window.

    Duplicate (loan, month) rows count once, as the worst row. MOB is
    ``months_on_book`` (this table has no application dates). With
    ``mature_only`` (default), only loans whose whole window has been observed by
    ``as_of`` count (application month inferred as snapshot_month - months_on_book),
    so young loans do not dilute the shares. Columns: bucket, accounts, reached_bad,
    share_bad.
    """
    bd = as_bad_definition(bad_definition)
    buckets = _check_buckets(buckets)
    perf = hi.prepare_performance(performance, None, ("months_on_book",))
    as_of_m = hi.resolve_as_of(as_of, perf)
    W = bd.performance_window
    idx, labels = _bucket_expr(buckets)
    labels = labels[:-1]  # paid_off: nothing can follow
    rows = (
        hi.dedupe(perf, ("months_on_book",))
        .with_columns(mob=pl.col("months_on_book").cast(pl.Int32))
        .filter((pl.col("mob") >= 1) & (pl.col("mob") <= W) & (pl.col("snap_m") <= as_of_m))
        .with_columns(b=idx, is_bad=hi.bad_row(bd))
    )
    per_loan = rows.group_by("loan_id").agg(
        last_bad=pl.col("mob").filter(pl.col("is_bad")).max(),
        app_m=(pl.col("snap_m") - pl.col("mob")).min(),
    )
    if mature_only:
        per_loan = per_loan.filter(pl.col("app_m") + W <= as_of_m)
    first_in = rows.group_by("loan_id", "b").agg(first=pl.col("mob").min())
    stats = (
        first_in.join(per_loan, on="loan_id", how="inner")
        .group_by("b")
        .agg(
            accounts=pl.len(),
            reached_bad=(pl.col("last_bad") >= pl.col("first")).fill_null(False).sum(),
        )
        .collect()
    )
    grid = pl.DataFrame({"b": list(range(len(labels)))}, schema={"b": pl.Int8})
    out = (
        grid.join(stats, on="b", how="left")
        .sort("b")
        .select(
            bucket=pl.col("b").replace_strict(dict(enumerate(labels)), return_dtype=pl.String),
            accounts=pl.col("accounts").fill_null(0).cast(pl.Int64),
            reached_bad=pl.col("reached_bad").fill_null(0).cast(pl.Int64),
        )
        .with_columns(
            share_bad=pl.when(pl.col("accounts") > 0).then(
                pl.col("reached_bad") / pl.col("accounts")
            )
        )
    )
    return hi.to_pandas(out)
