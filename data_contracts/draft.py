"""Drafting a data contract from a lender's table: profile the columns, write the YAML.

:func:`draft_contract` profiles one table (already in our roles, see
:mod:`features.roles`) and returns a :class:`Draft`: the contract as a mapping in the
format of ``data_contracts/*.yaml``, one :class:`ColumnProfile` per column (what was
inferred) and the points a person should review before the contract is committed.

What is inferred, per column:

* **type**: integer, float, string, date or boolean, from the column's type (text
  holding ISO dates is a date; numbers held as objects, e.g. SQL decimals, are floats);
* **nullable**: whether any value is null;
* **range** (numbers): the observed ``quantile`` and ``1 - quantile`` quantiles widened
  on each side by ``margin`` x their distance; a bound never leaves the sign of the data
  (a column with no negative value gets ``min: 0`` at the lowest). Where observed values
  fall outside the widened range the check is drafted as ``warn`` and listed for review;
* **categories** (text with at most ``max_categories`` distinct values);
* **dates**: ``not_future`` and a ``min_date`` at the 1st of January ``date_years`` years
  before the earliest observed date;
* **PII**: by name (``features.flat_table.is_pii_name``) or content (e-mail addresses,
  phone numbers, national-id-like codes, near-unique free text): ``pii: true``, no range,
  no categories, no drift, and the values never enter the contract;
* **keys** and the loan-history roles: fixed domain checks (days past due 0..3650, months
  on book 1..600, decision and status vocabularies) and the performance relations.

Library code: no I/O; :func:`contract_yaml` renders the mapping as text.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import yaml

from features.errors import ConfigError
from features.flat_table import is_pii_name
from features.loan_book import APPLICATIONS, CATEGORIES, PERFORMANCE

from .contract import parse_contract

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{9,20}$")
_ID_CODE = re.compile(r"^[A-Za-z]{0,3}[\d-]{6,}[A-Za-z]?$")
_SAMPLE = 2000  # values looked at for PII content and date text

# role -> fixed checks; a role's domain is known, a quantile of one extract is not
_ROLE_SPECS: dict[str, dict[str, dict[str, Any]]] = {
    APPLICATIONS: {
        "application_id": {"nullable": False, "unique": True, "drift": False},
        "customer_id": {"nullable": False, "drift": False},
        "application_date": {"type": "date", "nullable": False, "not_future": True, "drift": False},
        "decision": {"type": "string", "nullable": False, "categories": list(CATEGORIES["decision"])},
    },
    PERFORMANCE: {
        "loan_id": {"nullable": False, "drift": False},
        "snapshot_month": {"type": "date", "nullable": False, "not_future": True, "drift": False},
        "days_past_due": {"type": "integer", "nullable": False, "min": 0, "max": 3650},
        "months_on_book": {"type": "integer", "nullable": False, "min": 1, "max": 600},
        "status": {"type": "string", "nullable": False, "categories": list(CATEGORIES["status"])},
    },
}
_KEYS = {APPLICATIONS: ["application_id"], PERFORMANCE: ["loan_id", "snapshot_month"]}
_REQUIRED = {APPLICATIONS: ("application_id", "application_date", "decision"),
             PERFORMANCE: ("loan_id", "snapshot_month", "days_past_due")}


@dataclass
class ColumnProfile:
    """What was observed and inferred for one column."""

    column: str
    source: str  # the lender's name of the column
    type: str
    nulls: int
    distinct: int
    pii: str = ""  # why it is PII ("name", "content: e-mail addresses", ...), or ""
    observed: str = ""  # range or categories as observed (never for PII)
    drafted: str = ""  # the checks drafted


@dataclass
class Draft:
    table: str
    contract: dict[str, Any]
    profiles: list[ColumnProfile]
    review: list[str] = field(default_factory=list)

    def profile_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(p) for p in self.profiles])


def _check_params(margin: float, quantile: float, max_categories: int, date_years: int) -> None:
    if not (isinstance(margin, (int, float)) and 0 <= margin <= 10):
        raise ConfigError(f"draft_contract: margin must be a number in [0, 10], got {margin!r}")
    if not (isinstance(quantile, float) and 0 <= quantile < 0.5):
        raise ConfigError(f"draft_contract: quantile must be in [0, 0.5), got {quantile!r}")
    if not (isinstance(max_categories, int) and max_categories >= 1):
        raise ConfigError(f"draft_contract: max_categories must be a positive integer, got {max_categories!r}")
    if not (isinstance(date_years, int) and date_years >= 0):
        raise ConfigError(f"draft_contract: date_years must be a non-negative integer, got {date_years!r}")


def _infer_type(s: pd.Series) -> tuple[str, pd.Series]:
    """The contract type of a column and the values as that type."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean", s
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date", s
    if pd.api.types.is_integer_dtype(s.dtype):
        return "integer", s
    if pd.api.types.is_float_dtype(s.dtype):
        # float even when this extract's values happen to be whole (amounts rounded to 50): the
        # next batch may hold cents, and a type is the lender's schema, not one extract's values
        return "float", s
    values = s.dropna()
    if values.empty:
        return "string", s
    head = values.head(_SAMPLE)
    if all(isinstance(v, (dt.date, dt.datetime, pd.Timestamp)) for v in head):
        return "date", pd.to_datetime(s, errors="coerce")
    if all(isinstance(v, str) for v in head) and head.str.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?").all():
        parsed = pd.to_datetime(s, errors="coerce", format="mixed")
        if parsed.notna().sum() == s.notna().sum():
            return "date", parsed
    if all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in head):
        num = pd.to_numeric(s, errors="coerce")  # e.g. Decimal from a SQL NUMERIC
        if num.notna().sum() == s.notna().sum():
            return "float", num.astype("float64")
    return "string", s


def _distinct(s: pd.Series, typ: str, max_categories: int) -> tuple[np.ndarray | None, int]:
    """Text: its distinct values when few (else None) and their number; numbers: (None, number).

    A text column with more distinct values than categories in an even sample of
    ``_SAMPLE * 10`` rows is not listed in full: its count is estimated from the sample's
    share of distinct values (hashing a million free-text values is the slowest step of a draft).
    """
    if typ != "string":
        return None, int(s.nunique(dropna=True))
    values = s.dropna()
    step = max(1, len(values) // (_SAMPLE * 10))
    sample = pd.unique(values.iloc[::step])
    if len(sample) > max_categories and step > 1:
        return None, int(round(len(sample) / len(values.iloc[::step]) * len(values)))
    uniq = pd.unique(values)
    return uniq, len(uniq)


def _pii_reason(name: str, s: pd.Series, typ: str, n: int, distinct: int) -> str:
    if is_pii_name(name):
        return "name"
    if typ != "string":
        return ""
    text = s.dropna().astype(str).head(_SAMPLE)
    if text.empty:
        return ""
    share = lambda rx: float(text.map(lambda v: bool(rx.match(v.strip()))).mean())  # noqa: E731
    if share(_EMAIL) > 0.5:
        return "content: e-mail addresses"
    near_unique = distinct > 0.9 * (n - int(s.isna().sum()))
    if share(_ID_CODE) > 0.8 and near_unique:
        return "content: unique id-like codes (national id, account or card numbers)"
    digits = text.str.count(r"\d")
    if share(_PHONE) > 0.8 and (digits >= 9).mean() > 0.8:
        return "content: phone numbers"
    if n >= 100 and near_unique and (text.str.contains(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}")).mean() > 0.5:
        return "content: near-unique free text (names, addresses)"
    return ""


def _nice(x: float, integer: bool, up: bool) -> float | int:
    """A bound rounded outward to 2 significant digits (to integers for an integer column)."""
    if x == 0 or not math.isfinite(x):
        return 0 if integer else 0.0
    step = 10 ** (math.floor(math.log10(abs(x))) - 1)
    out = (math.ceil(x / step) if up else math.floor(x / step)) * step
    out = float(f"{out:.12g}")
    return int(math.ceil(out) if up else math.floor(out)) if integer else out


def _range(v: np.ndarray, lo_q: float, hi_q: float, integer: bool, margin: float) -> tuple[float, float, bool, bool]:
    """(min, max, observed below min, observed above max): the quantiles widened by margin x their span."""
    span = hi_q - lo_q
    if span == 0:
        span = abs(hi_q) or 1.0
    lo, hi = lo_q - margin * span, hi_q + margin * span
    if v.min() >= 0:
        lo = max(lo, 0.0)  # no negative value observed: a negative one is wrong, not rare
    if v.max() <= 0:
        hi = min(hi, 0.0)
    lo, hi = _nice(lo, integer, up=False), _nice(hi, integer, up=True)
    return lo, hi, bool(v.min() < lo), bool(v.max() > hi)


def draft_contract(frame: pd.DataFrame, table: str, *, source: str = "", margin: float = 0.5,
                   quantile: float = 0.001, max_categories: int = 20, date_years: int = 5,
                   source_names: dict[str, str] | None = None, today: dt.date | None = None) -> Draft:
    """Profile ``frame`` (``applications`` or ``performance`` in our roles) into a draft contract.

    ``source_names`` maps our role names to the lender's (for the review notes);
    ``source`` is where the table came from (written into the description).
    """
    if table not in _ROLE_SPECS:
        raise ConfigError(f"draft_contract: table must be {APPLICATIONS!r} or {PERFORMANCE!r}, got {table!r}")
    _check_params(margin, quantile, max_categories, date_years)
    names = source_names or {}
    shown = lambda c: f"{c} (your {names[c]})" if names.get(c, c) != c else c  # noqa: E731
    roles = _ROLE_SPECS[table]
    n = len(frame)
    today = today or dt.date.today()
    columns: dict[str, dict[str, Any]] = {}
    profiles: list[ColumnProfile] = []
    review: list[str] = []
    for col in frame.columns:
        col = str(col)
        s = frame[col]
        typ, typed = _infer_type(s)
        role = roles.get(col, {})
        typ = role.get("type", typ)
        if typ == "integer" and col in ("application_id", "loan_id", "customer_id") and typed.dtype == object:
            typ = "string"
        nulls = int(s.isna().sum())
        uniq, distinct = _distinct(s, typ, max_categories)
        prof = ColumnProfile(col, names.get(col, col), typ, nulls, distinct)
        spec: dict[str, Any] = {"type": typ, "nullable": nulls > 0}
        pii = "" if role else _pii_reason(col, s, typ, n, distinct)
        if pii:
            prof.pii = pii
            # checked for presence, type and nulls only; validated after masking, when values are text digests
            spec.update(type="string", pii=True, drift=False)
            review.append(f"{col}: marked PII ({pii}); it is masked on read and never a feature — remove `pii: true` "
                          "if it is not personal data")
        elif role:
            spec.update({k: v for k, v in role.items() if k != "type"})
            if "nullable" in role and role["nullable"] is False and nulls:
                review.append(f"{shown(col)}: {nulls} null value(s) in a role that may not be null; the contract "
                              "will stop the run until they are fixed")
            if "categories" in role:
                seen = sorted(map(str, uniq if uniq is not None else pd.unique(s.dropna().head(100_000))))[:50]
                prof.observed = "values " + ", ".join(seen[:10])
                unknown = sorted(set(seen) - set(role["categories"]))
                if unknown:
                    review.append(f"{shown(col)}: values {unknown[:5]} are not among {role['categories']}: map them in "
                                  f"source.values.{col} of the config")
            if typ in ("integer", "float") and not pd.api.types.is_numeric_dtype(typed.dtype):
                review.append(f"{shown(col)}: expected numbers, found {typed.dtype} values")
            elif typ in ("integer", "float") and s.notna().any():
                prof.observed = f"{_fmt(typed.min())} .. {_fmt(typed.max())}"
        if not pii and typ in ("integer", "float") and "min" not in spec and pd.api.types.is_numeric_dtype(typed.dtype) \
                and col not in _KEYS[table] and col != "customer_id":
            v = typed.to_numpy(dtype="float64", na_value=np.nan)
            v = v[np.isfinite(v)]
            if len(v):
                lo_q, hi_q = np.quantile(v, [quantile, 1 - quantile])
                lo, hi, below, above = _range(v, lo_q, hi_q, typ == "integer", margin)
                spec.update(min=lo, max=hi)
                prof.observed = f"{_fmt(v.min())} .. {_fmt(v.max())} (q{quantile:g} {_fmt(lo_q)}, q{1 - quantile:g} {_fmt(hi_q)})"
                sev = {}
                if below:
                    sev["min"] = "warn"
                if above:
                    sev["max"] = "warn"
                if sev:
                    spec["severity"] = sev
                    review.append(f"{shown(col)}: observed values outside the drafted range [{lo}, {hi}] "
                                  f"(observed {_fmt(v.min())} .. {_fmt(v.max())}): the check is a warning; "
                                  "confirm the range or make it an error")
        if not pii and typ == "string" and "categories" not in spec and col not in _KEYS[table] and col != "customer_id":
            if uniq is not None and 0 < distinct <= max_categories:
                cats = sorted(map(str, uniq))
                spec["categories"] = cats
                prof.observed = f"{distinct} categories"
            else:
                prof.observed = f"{distinct} distinct values"
                spec["drift"] = False
                review.append(f"{col}: text with {distinct} distinct values (no categories drafted): an identifier "
                              "or free text? exclude it (source.exclude) or mark it PII if it is not a feature")
        if not pii and typ == "date" and "min_date" not in spec:
            d = pd.to_datetime(typed, errors="coerce").dropna()
            if len(d):
                spec["not_future"] = True
                spec["min_date"] = dt.date(d.min().year - date_years, 1, 1).isoformat()
                prof.observed = f"{d.min().date()} .. {d.max().date()}"
                spec.setdefault("drift", False)
        if not pii and nulls == n and n:
            spec["allow_all_null"] = True
            review.append(f"{col}: every value is null; drafted with allow_all_null — drop the column or fix the extract")
        if col in _KEYS[table] and len(_KEYS[table]) == 1:
            spec["unique"] = True
        prof.drafted = ", ".join(f"{k}={v}" for k, v in spec.items() if k not in ("type",))
        columns[col] = spec
        profiles.append(prof)

    missing_roles = [r for r in _REQUIRED[table] if r not in columns]
    for r in missing_roles:
        review.append(f"{r}: required role not found; map it in source.columns.{table}.{r}")
    contract: dict[str, Any] = {
        "kind": "table",
        "table": table,
        "version": "0.1.0",
        "description": f"Drafted by `creditpipe contract init` from {source or table} on {today.isoformat()} "
                       f"({n} rows); reviewed by: <name, date>",
        "default_severity": "error",
        "key": [k for k in _KEYS[table] if k in columns],
        "row_count": {"min": 1, "severity": "error"},
        "missing_columns": "error",
        "extra_columns": "warn",
        "columns": columns,
    }
    if table == PERFORMANCE:
        rel = {"approved_application": {"severity": "error"}, "snapshot_after_application_month": {"severity": "error"}}
        if "months_on_book" in columns:
            rel["months_on_book_consistent"] = {"severity": "error"}
        rel["contiguous_history"] = {"severity": "warn"}
        contract["relations"] = rel
        if "snapshot_month" in frame.columns:
            d = pd.to_datetime(frame["snapshot_month"], errors="coerce").dropna()
            if len(d) and bool((d.dt.day == 1).all()):
                contract["rules"] = [{"name": "snapshot_month_is_first_day", "column": "snapshot_month",
                                      "sql": "snapshot_month = date_trunc('month', snapshot_month)",
                                      "needs": ["snapshot_month"], "description": "snapshot_month is the first day of a month",
                                      "severity": "error"}]
    contract["distribution"] = {"severity": "warn", "null_rate_tolerance": 0.05, "mean_tolerance": 0.5,
                                "share_tolerance": 0.10, "min_rows": 100}
    parse_contract(contract, f"draft {table} contract")  # a draft is a valid contract, or a bug here
    return Draft(table, contract, profiles, review)


def _fmt(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.6g}"


def contract_yaml(draft: Draft, notes: Sequence[str] = ()) -> str:
    """The draft as YAML in the layout of ``data_contracts/*.yaml`` (a column per line)."""
    c = draft.contract
    lines = [f"# Data contract (DRAFT): the `{c['table']}` table, drafted by `creditpipe contract init`.",
             "# Review every line before committing it: ranges come from one extract, PII from names and content.",
             *[f"# {n}" for n in notes]]
    head = {k: c[k] for k in ("kind", "table", "version", "description", "default_severity", "key", "row_count",
                              "missing_columns", "extra_columns")}
    lines.append(yaml.safe_dump(head, sort_keys=False, default_flow_style=None, width=120).rstrip())
    lines.append("")
    lines.append("columns:")
    for name, spec in c["columns"].items():
        one = yaml.safe_dump({name: spec}, sort_keys=False, default_flow_style=True, width=10_000).strip()
        lines.append("  " + one[1:-1])
    for key in ("rules", "relations", "distribution"):
        if key in c:
            lines.append("")
            lines.append(yaml.safe_dump({key: c[key]}, sort_keys=False, default_flow_style=False, width=120).rstrip())
    return "\n".join(lines) + "\n"
