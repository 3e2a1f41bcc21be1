"""Compiling the generic flat-table contract (``kind: flat``): target, id, date, declared
types, mixed or non-scalar values, numbers held as text, and drift."""

from __future__ import annotations

import datetime as dt
from numbers import Number
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .checks import Check, Outcome, esc
from .coerce import fmt_value, numeric_text_share
from .contract import FlatContract
from .drift import add_drift, baseline_columns, column_stats
from .table_run import TableRun


def compile_flat(
    run: TableRun, contract: FlatContract, *, target: str, bad_values: Sequence, allowed_values: Sequence | None,
    id: str | None, date: str | None, types: Mapping[str, str], pii: Sequence[str], as_of: pd.Timestamp, baseline: Mapping,
) -> None:
    chk = contract.checks
    cols = list(run.work.columns)
    run.pii = [c for c in cols if c in set(contract.pii_columns) | set(pii)]
    run.key_columns = [id] if id and id not in run.pii else []
    special = {target, id, date}

    run.add_unique_names(chk.unique_column_names)
    run.add_row_count(chk.row_count, 1, None)

    # target
    run.add_exists(target, chk.target_present, "target column present")
    if target in cols and run.n:
        run.add_not_null(target, chk.target_not_null, name_override="a target value on every row")
        t = run.work[target]
        bad = list(bad_values)
        if allowed_values is not None:
            allowed = list(allowed_values)
            what = "target values in {" + ", ".join(esc(repr(v)) for v in allowed) + "}"
        else:
            goods = t[t.notna() & ~t.isin(bad)]
            good = goods.mode().iloc[0] if len(goods) else None
            allowed = bad + ([good.item() if isinstance(good, np.generic) else good] if good is not None else [])
            what = ("target values: the bad value(s) " + ", ".join(esc(repr(v)) for v in bad)
                    + " and one good value" + (f" ({esc(repr(allowed[-1]))}, the most frequent)" if good is not None else ""))
        run.add_in_set(target, chk.target_values, allowed, what)

        def both() -> Outcome:
            n_bad = int(t.isin(bad).sum())
            n_good = int((t.notna() & ~t.isin(bad)).sum())
            return Outcome(n_bad > 0 and n_good > 0, f"{n_bad} bad rows (values {', '.join(esc(repr(v)) for v in bad)}), {n_good} other rows", 0, None, run.n)

        run.checks.append(Check(target, "expect_target_to_have_both_classes", chk.target_both_classes,
                                "at least one bad and one good row", own=both, engine="pandas"))

    # id
    if id:
        run.add_exists(id, chk.id_present, "id column present")
        if id in cols and run.n:
            run.add_not_null(id, chk.id_not_null)
            run.add_unique(id, chk.id_unique)
    # date
    if date:
        run.add_exists(date, chk.date_present, "date column present")
        if date in cols:
            run.type_check(date, "date", chk.date_parseable, date in run.pii, name="expect_column_values_to_be_dateutil_parseable")
            if run.has(date) and run.n:
                run.add_not_null(date, chk.date_not_null)
                run.add_between(date, chk.date_not_future, None, as_of,
                                what=f"no date after the as-of date {as_of.date()} (no future dates)")

    # declared types
    for col, kind in (types or {}).items():
        if col in cols and kind == "numeric" and col not in special:
            run.type_check(col, "float", chk.declared_numeric, col in run.pii)

    # object columns: numbers held as Python objects (e.g. Decimal from a SQL NUMERIC) are
    # numeric; values that are not scalars (dicts, lists) are an error, not a traceback
    for col in cols:
        if col in run.pii or col in run.bad_columns or col in special or run.work[col].dtype != object:
            continue
        s = run.work[col]
        notna = s.notna().to_numpy()
        vals = s.to_numpy()
        nonscalar = notna & np.fromiter((not isinstance(v, _SCALARS) for v in vals), bool, len(vals))
        if nonscalar.any():
            run.bad_columns.add(col)
            run.checks.append(_nonscalar_check(run, col, nonscalar, chk.mixed_types))
            continue
        numeric = notna & np.fromiter((isinstance(v, Number) and not isinstance(v, (bool, np.bool_)) for v in vals), bool, len(vals))
        if notna.any() and (numeric == notna).all():
            run.work[col] = pd.to_numeric(s, errors="coerce").astype("float64")

    kinds: dict[str, str] = {}
    for col in cols:
        if col in run.pii or col in run.bad_columns:
            continue
        s = run.work[col]
        if run.n:
            run.add_not_all_null(col, chk.column_not_all_null)
        if pd.api.types.is_float_dtype(s.dtype) and run.n:
            run.add_finite(col, chk.no_infinities)
        if s.dtype == object and run.n and col not in special:
            run.checks.append(_mixed_check(run, col, chk.mixed_types))
        is_text = (pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype))
        if is_text and run.n and col not in special and (types or {}).get(col) != "categorical":
            run.checks.append(_numbers_as_text_check(run, col, chk.numbers_as_text))
        if col in (id, date):
            continue
        declared = (types or {}).get(col)
        numeric = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
        if col == target or declared == "categorical" or (is_text and declared != "numeric"):
            if col == target or s.nunique(dropna=True) <= contract.max_categories:
                kinds[col] = "categorical"  # category shares
        elif numeric:
            kinds[col] = "numeric"  # null rate and mean
    run.stats = {
        "contract_version": contract.version,
        "rows": run.n,
        "columns": {c: column_stats(run, c, k, contract.max_categories) for c, k in kinds.items()},
    }
    base = baseline_columns(baseline, contract.table)
    if base:
        add_drift(run, contract.distribution, base, kinds, {})


_SCALARS = (str, bytes, Number, np.number, np.bool_, dt.date, dt.datetime, dt.time, pd.Timestamp, pd.Timedelta, np.datetime64)


def _nonscalar_check(run: TableRun, col: str, bad: np.ndarray, severity: str) -> Check:
    s = run.work[col]

    def f() -> Outcome:
        kinds = sorted({type(v).__name__ for v in s[bad].head(1000)})
        return Outcome(False, f"{int(bad.sum())} of {run.n} values are not scalars ({esc(', '.join(kinds))}); "
                              "the column's other checks were skipped", int(bad.sum()), bad, run.n)

    return Check(col, "expect_column_values_to_be_scalars", severity, "scalar values (numbers, text, dates)",
                 own=f, engine="pandas")


def _mixed_check(run: TableRun, col: str, severity: str) -> Check:
    s = run.work[col]

    def f() -> Outcome:
        vals = s.to_numpy()
        notna = s.notna().to_numpy()
        is_num = np.fromiter((isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in vals), bool, len(vals)) & notna
        is_str = np.fromiter((isinstance(v, str) for v in vals), bool, len(vals)) & notna
        if not (is_num.any() and is_str.any()):
            return Outcome(True, "one type of value", 0, None, run.n)
        minority = is_str if is_str.sum() <= is_num.sum() else is_num
        ex = [fmt_value(v) for v in pd.unique(s[minority])[:5]]
        return Outcome(False, f"{int(is_num.sum())} numbers and {int(is_str.sum())} text values mixed, e.g. {', '.join(ex)}",
                       int(minority.sum()), minority, run.n, ex)

    return Check(col, "expect_column_values_to_be_of_one_type", severity, "numbers or text, not both", own=f, engine="pandas")


def _numbers_as_text_check(run: TableRun, col: str, severity: str) -> Check:
    s = run.work[col]

    def f() -> Outcome:
        share, hint = numeric_text_share(s)
        if share < 0.9:
            return Outcome(True, f"{share:.0%} of the values look numeric", 0, None, run.n)
        ex = [fmt_value(v) for v in s.dropna().head(5)]
        return Outcome(False, f"{share:.0%} of the text values are numbers ({hint}), e.g. {', '.join(ex)}",
                       int(s.notna().sum()), None, run.n, ex)

    return Check(col, "expect_text_column_not_to_hold_numbers", severity,
                 "text values that are not numbers (a numeric column is read as numbers)", own=f, engine="pandas")

