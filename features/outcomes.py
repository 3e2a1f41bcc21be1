"""Loan outcomes: from raw repayment history to a trustworthy target.

Library code (no Dagster, no MLflow, no I/O). Inputs are the ``applications`` and
``performance`` tables of :mod:`features.loan_book`, as pandas or polars DataFrames;
every computation is vectorised in Polars. Outputs are tidy pandas DataFrames.

Conventions (the choices a validator should know about)
-------------------------------------------------------
* **Months on book are derived from dates**: ``mob = months(snapshot_month) -
  months(application month)``, so MOB 1 is the month after the application month.
  The ``months_on_book`` column is not trusted for the target; disagreements are
  listed by :func:`history_problems` (kind ``mob_mismatch``). Only
  :func:`bucket_to_bad`, which has no application dates, uses ``months_on_book``.
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
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import pandas as pd
import polars as pl

from features.errors import ConfigError, OutcomeError
from features.loan_book import APPLICATIONS, CATEGORIES, PERFORMANCE

__all__ = [
    "BadDefinition",
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

STATUSES: tuple[str, ...] = CATEGORIES["status"]
DECISIONS: tuple[str, ...] = CATEGORIES["decision"]
# Severity of a status: used to pick the worst of duplicate rows (higher = worse).
_SEVERITY: dict[str, int] = {"paid_off": 0, "current": 1, "delinquent": 2, "charged_off": 3}
_STATUS_OF: dict[int, str] = {v: k for k, v in _SEVERITY.items()}
# An Enum whose physical code is the severity: one cheap cast maps status -> severity.
_STATUS_ENUM = pl.Enum([_STATUS_OF[i] for i in range(len(_STATUS_OF))])
_PAID, _CHARGED = _SEVERITY["paid_off"], _SEVERITY["charged_off"]
_TERMINAL = (_PAID, _CHARGED)

OUTCOMES: tuple[str, ...] = (
    "bad",
    "good",
    "indeterminate",
    "immature",
    "closed_early",
    "no_performance",
    "rejected",
)
CLOSED_EARLY_OPTIONS = ("good_if_clean", "exclude", "immature")

# Delinquency buckets: (label, lowest DPD), ascending. charged_off / paid_off are added
# from the status column and override the DPD bucket.
DEFAULT_BUCKETS: tuple[tuple[str, int], ...] = (
    ("current", 0),
    ("1-29", 1),
    ("30-59", 30),
    ("60-89", 60),
    ("90+", 90),
)

_MAX_EXAMPLES = 5


# --------------------------------------------------------------------------- config
@dataclass(frozen=True)
class BadDefinition:
    """What makes a loan bad, good, indeterminate or immature."""

    dpd_threshold: int = 90
    performance_window: int = 12
    bad_statuses: tuple[str, ...] = ("charged_off",)
    indeterminate_dpd: tuple[int, int] | None = (30, 89)
    closed_early: str = "good_if_clean"

    def __post_init__(self) -> None:
        def _int(name: str, value: Any, minimum: int) -> None:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ConfigError(
                    f"bad definition: {name} must be an integer, got {value!r}"
                )
            object.__setattr__(self, name, int(value))
            if value < minimum:
                raise ConfigError(
                    f"bad definition: {name} must be >= {minimum}, got {value}"
                )

        _int("dpd_threshold", self.dpd_threshold, 1)
        _int("performance_window", self.performance_window, 1)

        statuses = self.bad_statuses
        if isinstance(statuses, str) or not isinstance(statuses, Sequence):
            raise ConfigError(
                "bad definition: bad_statuses must be a list of statuses, "
                f"got {statuses!r}"
            )
        statuses = tuple(statuses)
        allowed = ("charged_off", "delinquent")
        for s in statuses:
            if s not in allowed:
                raise ConfigError(
                    f"bad definition: bad_statuses has {s!r}; allowed: {', '.join(allowed)}"
                )
        object.__setattr__(self, "bad_statuses", statuses)

        band = self.indeterminate_dpd
        if band is not None:
            if (
                isinstance(band, str)
                or not isinstance(band, Sequence)
                or len(band) != 2
                or any(isinstance(b, bool) or not isinstance(b, numbers.Integral) for b in band)
            ):
                raise ConfigError(
                    "bad definition: indeterminate_dpd must be two integers "
                    f"[low, high] or null, got {band!r}"
                )
            lo, hi = int(band[0]), int(band[1])
            if not 1 <= lo <= hi:
                raise ConfigError(
                    "bad definition: indeterminate_dpd must satisfy 1 <= low <= high, "
                    f"got [{lo}, {hi}]"
                )
            if hi >= self.dpd_threshold:
                raise ConfigError(
                    f"bad definition: indeterminate_dpd upper bound {hi} must be below "
                    f"dpd_threshold {self.dpd_threshold} (the band would overlap 'bad')"
                )
            object.__setattr__(self, "indeterminate_dpd", (lo, hi))

        if self.closed_early not in CLOSED_EARLY_OPTIONS:
            raise ConfigError(
                f"bad definition: closed_early must be one of "
                f"{', '.join(CLOSED_EARLY_OPTIONS)}, got {self.closed_early!r}"
            )

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> BadDefinition:
        """Build from a config mapping (YAML section); unknown keys are a ConfigError."""
        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(
                f"bad definition: unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        if isinstance(config.get("indeterminate_dpd"), list):
            config["indeterminate_dpd"] = tuple(config["indeterminate_dpd"])
        return cls(**config)

    @property
    def _bad_codes(self) -> list[int]:
        return [_SEVERITY[s] for s in self.bad_statuses]


# --------------------------------------------------------------------------- inputs
def _examples(ids: Any) -> str:
    vals = pl.Series(ids).unique().sort().head(_MAX_EXAMPLES).to_list()
    return ", ".join(str(v) for v in vals)


def _as_polars(df: Any, table: str, columns: Sequence[str]) -> pl.DataFrame:
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


def _to_date(df: pl.DataFrame, col: str, table: str) -> pl.Series:
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


def _month_index(expr: pl.Expr) -> pl.Expr:
    """Months since year 0: consecutive calendar months differ by 1."""
    return (expr.dt.year().cast(pl.Int32) * 12 + expr.dt.month().cast(pl.Int32) - 1).cast(
        pl.Int32
    )


def _month_start(d: dt.date) -> dt.date:
    return dt.date(d.year, d.month, 1)


def _check_nulls(df: pl.DataFrame, table: str, cols: Sequence[str], id_col: str) -> None:
    for c in cols:
        n = df.get_column(c).null_count()
        if n:
            ids = df.filter(pl.col(c).is_null()).get_column(id_col)
            hint = f" (loan_ids {_examples(ids.drop_nulls())})" if c != id_col else ""
            raise OutcomeError(f"{table}.{c}: {n} null value(s){hint}")


def _prepare_applications(applications: Any) -> pl.DataFrame:
    """application_id, application_month (Date), decision, app_m (month index)."""
    cols = ("application_id", "application_date", "decision")
    apps = _as_polars(applications, APPLICATIONS, cols)
    _check_nulls(apps, APPLICATIONS, cols, "application_id")
    dates = _to_date(apps, "application_date", APPLICATIONS)
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
            f"{_examples(unknown.get_column('application_id'))})"
        )
    dup = apps.filter(pl.col("application_id").is_duplicated())
    if dup.height:
        raise OutcomeError(
            f"{APPLICATIONS}.application_id: {dup.height} row(s) share an id; ids must be "
            f"unique (application_ids {_examples(dup.get_column('application_id'))})"
        )
    return apps.select(
        "application_id",
        "application_month",
        "decision",
        app_m=_month_index(pl.col("application_month")),
    )


def _prepare_performance(
    performance: Any, id_dtype: pl.DataType | None, extra: Sequence[str] = ()
) -> pl.DataFrame:
    """loan_id, snap_m (month index), snap_day, dpd (Int32), sev (Int8 severity),
    *extra; sorted by loan_id (so later group-bys on loan_id take the sorted path)."""
    cols = ("loan_id", "snapshot_month", "days_past_due", "status", *extra)
    perf = _as_polars(performance, PERFORMANCE, cols)
    if perf.height == 0:  # an empty pandas frame has no types to speak of
        perf = perf.with_columns(
            pl.col("loan_id").cast(id_dtype or pl.Int64),
            pl.col("snapshot_month").cast(pl.Date),
            pl.col("days_past_due").cast(pl.Int32),
            pl.col("status").cast(pl.String),
            *[pl.col(c).cast(pl.Int32) for c in extra],
        )
    _check_nulls(perf, PERFORMANCE, cols, "loan_id")
    if id_dtype is not None and perf.schema["loan_id"] != id_dtype:
        both_int = perf.schema["loan_id"].is_integer() and id_dtype.is_integer()
        try:
            perf = perf.with_columns(pl.col("loan_id").cast(id_dtype, strict=not both_int))
        except Exception as exc:
            raise OutcomeError(
                f"{PERFORMANCE}.loan_id: type {perf.schema['loan_id']} does not match "
                f"{APPLICATIONS}.application_id type {id_dtype}"
            ) from exc
    dates = _to_date(perf, "snapshot_month", PERFORMANCE)
    if not perf.schema["days_past_due"].is_numeric():
        raise OutcomeError(
            f"{PERFORMANCE}.days_past_due: expected integers, got type "
            f"{perf.schema['days_past_due']}"
        )
    perf = perf.with_columns(
        snap_m=_month_index(dates),
        snap_day=dates.dt.day(),
        dpd=pl.col("days_past_due").cast(pl.Int32),
    )
    neg = perf.filter(pl.col("dpd") < 0)
    if neg.height:
        raise OutcomeError(
            f"{PERFORMANCE}.days_past_due: {neg.height} negative value(s) "
            f"(loan_ids {_examples(neg.get_column('loan_id'))})"
        )
    status = perf.get_column("status")
    if status.dtype != pl.String and not isinstance(status.dtype, (pl.Categorical, pl.Enum)):
        raise OutcomeError(f"{PERFORMANCE}.status: expected text, got type {status.dtype}")
    perf = perf.with_columns(
        sev=pl.col("status")
        .cast(pl.String)
        .cast(_STATUS_ENUM, strict=False)
        .to_physical()
        .cast(pl.Int8)
    )
    unknown = perf.filter(pl.col("sev").is_null())
    if unknown.height:
        vals = sorted(set(unknown.get_column("status").cast(pl.String).head(10_000).to_list()))[:5]
        raise OutcomeError(
            f"{PERFORMANCE}.status: {unknown.height} row(s) with values {vals} outside "
            f"{', '.join(STATUSES)} (loan_ids {_examples(unknown.get_column('loan_id'))})"
        )
    return perf.select("loan_id", "snap_m", "snap_day", "dpd", "sev", *extra).sort("loan_id")


def _resolve_as_of(as_of: Any, perf: pl.DataFrame) -> int:
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


def _approved_rows(apps: pl.DataFrame, perf: pl.DataFrame) -> pl.DataFrame:
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
            f"{_examples(before.get_column('loan_id'))})"
        )
    return rows


def _loan_month_key(perf: pl.DataFrame) -> pl.DataFrame:
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


def _dedupe(perf: pl.DataFrame, extra: Sequence[str] = ()) -> pl.LazyFrame:
    """One row per (loan, month), the worst: highest DPD, then worst status (``extra``
    columns: their maximum). Sorted by ``key`` (see :func:`_loan_month_key`)."""
    return (
        _loan_month_key(perf)
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


def _bad_row(bd: BadDefinition) -> pl.Expr:
    expr = pl.col("dpd") >= bd.dpd_threshold
    if bd.bad_statuses:
        expr = expr | pl.col("sev").is_in(bd._bad_codes)
    return expr


def _to_pandas(df: pl.DataFrame, nullable_ints: Mapping[str, str] = {}) -> pd.DataFrame:
    """To pandas; integer columns with nulls become pandas nullable integers."""
    out = df.to_pandas()
    for col, dtype in nullable_ints.items():
        if col in out.columns:
            s = df.get_column(col)
            values = s.fill_null(0).to_numpy().astype(dtype.lower())
            out[col] = pd.arrays.IntegerArray(values, s.is_null().to_numpy())
    return out


def _prepare(applications: Any, performance: Any, extra: Sequence[str] = ()):
    apps = _prepare_applications(applications)
    perf = _prepare_performance(performance, apps.schema["application_id"], extra)
    return apps, perf


# --------------------------------------------------------------------------- outcomes
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
    bd = _check_bd(bad_definition)
    apps, perf = _prepare(applications, performance)
    as_of_m = _resolve_as_of(as_of, perf)
    out = _outcomes_pl(apps, perf, bd, as_of_m)
    return _to_pandas(
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


def _check_bd(bad_definition: Any) -> BadDefinition:
    if isinstance(bad_definition, BadDefinition):
        return bad_definition
    if isinstance(bad_definition, Mapping):
        return BadDefinition.from_mapping(bad_definition)
    raise ConfigError(
        f"bad definition: expected a BadDefinition or a mapping, got "
        f"{type(bad_definition).__name__}"
    )


def _outcomes_pl(
    apps: pl.DataFrame, perf: pl.DataFrame, bd: BadDefinition, as_of_m: int
) -> pl.DataFrame:
    W = bd.performance_window
    rows = _approved_rows(apps, perf)
    window = rows.lazy().filter(
        (pl.col("mob") >= 1) & (pl.col("mob") <= W) & (pl.col("snap_m") <= as_of_m)
    )
    terminal_mob = pl.col("mob").filter(pl.col("sev").is_in(_TERMINAL)).min()
    expected_last = pl.min_horizontal(
        pl.lit(W), pl.lit(as_of_m) - pl.col("app_m").first(), terminal_mob
    )
    stats = (
        window.group_by("loan_id")
        .agg(
            worst_dpd_in_window=pl.col("dpd").max(),
            first_bad_mob=pl.col("mob").filter(_bad_row(bd)).min(),
            paid_off_mob=pl.col("mob").filter(pl.col("sev") == _PAID).min(),
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
    lo, hi = bd.indeterminate_dpd if bd.indeterminate_dpd else (None, None)
    in_band = (
        pl.col("worst_dpd_in_window").is_between(lo, hi, closed="both")
        if lo is not None
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
        _STATUS_OF, default=None, return_dtype=pl.String
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


# --------------------------------------------------------------------------- problems
_PROBLEM_KINDS: dict[str, tuple[str, str]] = {
    # kind: (column, description)
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
        "rows dated in a month before the application month (derive_outcomes raises)",
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


def history_problems(
    applications: Any, performance: Any, as_of: dt.date | str | None = None
) -> pd.DataFrame:
    """Problems of the repayment history, one row per kind (all kinds, count 0 too).

    Columns: kind, table, column, rows, loans, example_loan_ids (up to 5,
    comma-separated), description. Never raises on the problems it lists.
    """
    apps = _prepare_applications(applications)
    perf_in = performance
    has_mob = "months_on_book" in (
        perf_in.columns if hasattr(perf_in, "columns") else ()
    )
    extra = ("months_on_book",) if has_mob else ()
    perf = _prepare_performance(perf_in, apps.schema["application_id"], extra)
    as_of_m = _resolve_as_of(as_of, perf) if (as_of is not None or perf.height) else None

    found: dict[str, tuple[int, int, str]] = {}

    def record(kind: str, frame: pl.DataFrame, rows: int | None = None) -> None:
        ids = frame.get_column("loan_id")
        found[kind] = (
            int(frame.height if rows is None else rows),
            int(ids.n_unique()),
            _examples(ids) if frame.height else "",
        )

    joined = perf.join(
        apps.select(pl.col("application_id").alias("loan_id"), "app_m", "decision").sort(
            "loan_id"
        ),
        on="loan_id",
        how="left",
        maintain_order="left",
    )
    record("unknown_loan", joined.filter(pl.col("decision").is_null()))
    record("rejected_loan", joined.filter(pl.col("decision") == "rejected"))
    record("not_first_of_month", joined.filter(pl.col("snap_day") != 1))

    keyed = _loan_month_key(perf)
    record("duplicate_snapshot", keyed.filter(pl.col("key") == pl.col("key").shift(1)))

    appr = joined.filter(pl.col("decision") == "approved").with_columns(
        mob=pl.col("snap_m") - pl.col("app_m")
    )
    record("before_application", appr.filter(pl.col("mob") < 0))
    record("in_application_month", appr.filter(pl.col("mob") == 0))
    if has_mob:
        record(
            "mob_mismatch",
            appr.filter(pl.col("months_on_book").cast(pl.Int64) != pl.col("mob")),
        )

    observed = appr.filter(pl.col("mob") >= 1)
    if as_of_m is not None:
        observed = observed.filter(pl.col("snap_m") <= as_of_m)
    per_loan = observed.group_by("loan_id").agg(
        last_mob=pl.col("mob").max(),
        n=pl.col("mob").n_unique(),
        last_snap=pl.col("snap_m").max(),
        last_sev=(pl.col("mob") * 4 + pl.col("sev")).max().mod(4),
    )
    gaps = per_loan.filter(pl.col("last_mob") > pl.col("n"))
    record("gap", gaps, rows=int((gaps["last_mob"] - gaps["n"]).sum() or 0))
    if as_of_m is not None:
        record(
            "stopped_reporting",
            per_loan.filter(
                ~pl.col("last_sev").is_in(_TERMINAL) & (pl.col("last_snap") < as_of_m)
            ),
        )
        never = (
            apps.filter(
                (pl.col("decision") == "approved") & (pl.col("app_m") < as_of_m)
            )
            .select(pl.col("application_id").alias("loan_id"))
            .join(per_loan.select("loan_id"), on="loan_id", how="anti")
        )
        record("no_performance", never)

    records = []
    for kind, (column, description) in _PROBLEM_KINDS.items():
        rows, loans, examples = found.get(kind, (0, 0, ""))
        table = APPLICATIONS if kind == "no_performance" else PERFORMANCE
        records.append(
            {
                "kind": kind,
                "table": table,
                "column": column,
                "rows": rows,
                "loans": loans,
                "example_loan_ids": examples,
                "description": description,
            }
        )
    return pd.DataFrame.from_records(records)


# --------------------------------------------------------------------------- vintages
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
    bd = _check_bd(bad_definition)
    if max_mob is not None and (isinstance(max_mob, bool) or not isinstance(max_mob, int) or max_mob < 1):
        raise ConfigError(f"vintage_curves: max_mob must be a positive integer, got {max_mob!r}")
    apps, perf = _prepare(applications, performance)
    as_of_m = _resolve_as_of(as_of, perf)
    rows = _approved_rows(apps, perf)
    per_loan = (
        rows.lazy()
        .filter((pl.col("mob") >= 1) & (pl.col("snap_m") <= as_of_m))
        .group_by("loan_id")
        .agg(
            vintage_m=pl.col("app_m").first(),
            first_obs=pl.col("mob").min(),
            first_bad=pl.col("mob").filter(_bad_row(bd)).min(),
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
    return _to_pandas(out).astype({"mob": "int64"})


def outcome_counts_by_vintage(outcomes: Any) -> pd.DataFrame:
    """Per application month: applications, approved, rejected, one count per outcome,
    bad_rate = bad / (bad + good) (NaN without bads or goods) and, when the outcomes
    carry it, mob_as_of (months on book the vintage has reached). In a vintage younger
    than the window bad_rate counts early bads and early payoffs only: filter on
    mob_as_of >= performance_window for matured rates."""
    cols = ["application_month", "decision", "outcome"]
    has_mob = "mob_as_of" in getattr(outcomes, "columns", ())
    df = _as_polars(outcomes, "outcomes", cols + (["mob_as_of"] if has_mob else []))
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
    return _to_pandas(out, {"mob_as_of": "Int64"} if has_mob else {})


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
        pl.when(pl.col("sev") == _CHARGED)
        .then(pl.lit(n, dtype=pl.Int8))
        .when(pl.col("sev") == _PAID)
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
    perf = _prepare_performance(performance, None)
    idx, labels = _bucket_expr(buckets)
    n_from = len(buckets)
    # Deduplicate (worst DPD, then worst status), then pair consecutive months.
    rows = (
        _dedupe(perf)
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
    return _to_pandas(out)


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
    bd = _check_bd(bad_definition)
    buckets = _check_buckets(buckets)
    perf = _prepare_performance(performance, None, ("months_on_book",))
    as_of_m = _resolve_as_of(as_of, perf)
    W = bd.performance_window
    idx, labels = _bucket_expr(buckets)
    labels = labels[:-1]  # paid_off: nothing can follow
    rows = (
        _dedupe(perf, ("months_on_book",))
        .with_columns(mob=pl.col("months_on_book").cast(pl.Int32))
        .filter((pl.col("mob") >= 1) & (pl.col("mob") <= W) & (pl.col("snap_m") <= as_of_m))
        .with_columns(b=idx, is_bad=_bad_row(bd))
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
    return _to_pandas(out)
