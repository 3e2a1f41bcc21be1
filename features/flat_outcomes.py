"""Outcomes of a flat application table with a ready target (one row per application).

A flat table carries its target: every row is an approved application, ``bad`` when the
target is one of ``bad_values`` and ``good`` when it is the (single) other value.
Target values are matched as numbers when both sides are numbers (``2``, ``"2"`` and
``2.0`` match ``bad_values: [2]``), else as text after stripping blanks. The outcome
table has the shape :func:`features.outcomes.derive_outcomes` returns for a warehouse.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ConfigError, SourceError
from features.number_text import format_number, is_text, stripped_text
from features.pii_names import is_pii_name

__all__ = ["OUTCOME_COLUMNS", "flat_table_outcomes"]

OUTCOME_COLUMNS = ("application_id", "application_month", "decision", "outcome", "target", "mob_as_of")


def _column(frame: pd.DataFrame, column: str, role: str, complete: bool = False) -> pd.Series:
    """The ``role`` column (fresh index): it must exist (near names are suggested) and, with ``complete``,
    have no missing value."""
    if column not in frame.columns:
        close = difflib.get_close_matches(str(column), [str(c) for c in frame.columns], n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise SourceError(f"flat table: {role} column '{column}' is missing{hint}")
    values = frame[column].reset_index(drop=True)
    missing = int(values.isna().sum()) if complete else 0
    if missing:
        raise SourceError(f"flat table: {role} column '{column}' has {missing} missing value(s)")
    return values


def _number_or_none(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, str):
        try:
            x = float(v.strip())
        except ValueError:
            return None
        return x if math.isfinite(x) else None
    return None


def _target_flags(values: pd.Series, target: str, bad_values: Sequence[Any]) -> np.ndarray:
    """Boolean array: the row's target is a bad value (numbers compared as numbers)."""
    distinct = pd.unique(values)
    nums = {v: _number_or_none(v) for v in distinct}
    bad_nums = [_number_or_none(b) for b in bad_values]
    if all(x is not None for x in nums.values()) and all(b is not None for b in bad_nums):
        key = {v: nums[v] for v in distinct}
        bads = set(bad_nums)
    else:
        key = {v: format_number(v).strip() if not isinstance(v, str) else v.strip() for v in distinct}
        bads = {format_number(b).strip() if not isinstance(b, str) else b.strip() for b in bad_values}
    is_bad = {v: key[v] in bads for v in distinct}
    found = {key[v] for v in distinct}
    if not bads & found:
        raise SourceError(
            f"flat table: target column '{target}': none of the bad values {list(bad_values)} occurs; "
            f"its values are {_shown(sorted(found, key=str))}"
        )
    goods = sorted({key[v] for v in distinct if not is_bad[v]}, key=str)
    if not goods:
        raise SourceError(f"flat table: target column '{target}': every row is bad ({list(bad_values)}); no good rows")
    if len(goods) > 1:
        raise SourceError(
            f"flat table: target column '{target}' has {len(goods)} values besides the bad values "
            f"{list(bad_values)}: {_shown(goods)}; a ready target needs exactly one good value "
            "(list every bad value in source.bad_values)"
        )
    return values.map(is_bad).to_numpy(dtype=bool)


def _shown(values: Sequence[Any], k: int = 10) -> str:
    vals = [format_number(v) if not isinstance(v, str) else repr(v) for v in values]
    return "[" + ", ".join(vals[:k]) + (", ..." if len(vals) > k else "") + "]"


_INT_TEXT = re.compile(r"^[+-]?(0|[1-9]\d*)$")


def _application_ids(frame: pd.DataFrame, id: str | None) -> pd.Series:
    if id is None:
        return pd.Series(np.arange(len(frame), dtype=np.int64))
    ids = _column(frame, id, "id", complete=True)
    if pd.api.types.is_integer_dtype(ids.dtype):
        ids = ids.astype(np.int64)
    elif pd.api.types.is_float_dtype(ids.dtype) and (ids == np.round(ids)).all():
        ids = ids.astype(np.int64)
    else:
        text = ids.astype(str).str.strip()
        ids = text.astype(np.int64) if text.str.match(_INT_TEXT).all() else text.astype("str")
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        shown = "" if is_pii_name(id) else f" (e.g. {_shown(pd.unique(dup)[:3].tolist())})"
        raise SourceError(f"flat table: id column '{id}' has {int(ids.duplicated().sum())} duplicated value(s){shown}")
    return ids


_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m", "%Y/%m/%d", "%Y%m%d", "%Y%m", "%d.%m.%Y", "%d-%m-%Y")
_DAY_MONTH = ("%d/%m/%Y", "%m/%d/%Y")


def _application_months(frame: pd.DataFrame, date: str | None) -> pd.Series:
    n = len(frame)
    if date is None:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ms]")
    raw = _column(frame, date, "date", complete=True)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) is not None else raw
    else:
        stamps = _parse_dates(raw, date)
    months = stamps.dt.to_period("M").dt.to_timestamp()
    return months.astype("datetime64[ms]")


def _parse_dates(raw: pd.Series, date: str) -> pd.Series:
    if pd.api.types.is_object_dtype(raw.dtype) and raw.map(lambda v: hasattr(v, "year") and hasattr(v, "month")).all():
        return pd.to_datetime(raw)
    text = stripped_text(raw)
    if text.isna().any():
        raise SourceError(f"flat table: date column '{date}' has {int(text.isna().sum())} blank value(s)")
    distinct = pd.Series(pd.unique(text))
    # ISO 8601 with a time part first, then the fixed formats.
    candidates: list[tuple[str, pd.Series]] = []
    try:
        iso = pd.to_datetime(distinct, format="ISO8601", errors="coerce")
    except ValueError:  # e.g. mixed time zones
        iso = pd.Series(pd.NaT, index=distinct.index)
    if iso.notna().all() and distinct.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        if getattr(iso.dt, "tz", None) is not None:
            iso = iso.dt.tz_localize(None)  # local wall time decides the month
        candidates.append(("ISO8601", iso))
    else:
        for fmt in _DATE_FORMATS:
            parsed = pd.to_datetime(distinct, format=fmt, errors="coerce")
            if parsed.notna().all():
                candidates.append((fmt, parsed))
                break
        if not candidates:
            both = [(fmt, pd.to_datetime(distinct, format=fmt, errors="coerce")) for fmt in _DAY_MONTH]
            ok = [(f, p) for f, p in both if p.notna().all()]
            if len(ok) == 2 and not (ok[0][1].dt.to_period("M") == ok[1][1].dt.to_period("M")).all():
                raise SourceError(
                    f"flat table: date column '{date}' is ambiguous: every value reads as day/month/year and as "
                    "month/day/year; write dates as YYYY-MM-DD"
                )
            candidates.extend(ok[:1])
    if not candidates:
        best = max((pd.to_datetime(distinct, format=f, errors="coerce") for f in (*_DATE_FORMATS, *_DAY_MONTH)),
                   key=lambda p: int(p.notna().sum()))
        bad = distinct[best.isna()].tolist()
        raise SourceError(
            f"flat table: date column '{date}': {len(bad)} distinct value(s) are not dates in one format "
            f"(e.g. {_shown(bad[:3])}); write dates as YYYY-MM-DD"
        )
    lookup = dict(zip(distinct, candidates[0][1]))
    return pd.to_datetime(text.map(lookup))


def flat_table_outcomes(
    frame: pd.DataFrame,
    target: str,
    bad_values: Sequence[Any],
    id: str | None = None,
    date: str | None = None,
) -> pd.DataFrame:
    """One row per application (in the frame's order) with its outcome from a ready target.

    Columns and dtypes as :func:`features.outcomes.derive_outcomes` for a warehouse:
    ``application_id`` (int64 -- the ``id`` column, text when it is not integers, or the
    row number 0..n-1 without ``id``), ``application_month`` (datetime64, first of the
    month of ``date``; NaT without it), ``decision`` ("approved": the table holds booked
    loans), ``outcome`` ("bad"/"good"), ``target`` (Int8, 1 = bad), ``mob_as_of``
    (Int64, missing: no repayment history).

    Raises :class:`SourceError` for a missing target/id/date column, missing target
    values, bad values that never occur, more than one non-bad value, a missing or
    duplicated id, and missing or unparseable dates.
    """
    if isinstance(bad_values, (str, bytes)) or not isinstance(bad_values, Iterable):
        bad_values = [bad_values]
    bad_values = list(bad_values)
    if not bad_values:
        raise ConfigError("source.bad_values: give at least one value of the target that means bad")
    values = _column(frame, target, "target")  # blanks and missing values are named below, with their rows
    if is_text(values):
        values = values.map(lambda v: v.strip() if isinstance(v, str) else v)
        values = values.mask(values.map(lambda v: isinstance(v, str) and v == ""))
    missing = values.isna()
    if missing.any():
        rows = np.flatnonzero(missing.to_numpy())[:5].tolist()
        raise SourceError(
            f"flat table: target column '{target}' has {int(missing.sum())} missing value(s) (rows {rows}"
            f"{', ...' if missing.sum() > 5 else ''}); a ready target must be set on every row"
        )
    is_bad = _target_flags(values, target, bad_values)
    ids = _application_ids(frame, id)
    months = _application_months(frame, date)
    n = len(frame)
    index = pd.RangeIndex(n)
    return pd.DataFrame(
        {
            "application_id": pd.Series(ids.to_numpy(), index=index, dtype=ids.dtype),
            "application_month": pd.Series(months.to_numpy(), index=index, dtype="datetime64[ms]"),
            "decision": pd.Series(["approved"] * n, index=index, dtype="str"),
            "outcome": pd.Series(np.where(is_bad, "bad", "good"), index=index, dtype="str"),
            "target": pd.Series(is_bad.astype(np.int8), index=index, dtype="Int8"),
            "mob_as_of": pd.Series([pd.NA] * n, index=index, dtype="Int64"),
        },
        columns=list(OUTCOME_COLUMNS),
    )
