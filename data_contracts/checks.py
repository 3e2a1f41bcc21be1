"""The check model of a contract run: one :class:`Check` per expectation, its :class:`Outcome`,
and the prose of values and bounds (every value taken from the data is HTML-escaped)."""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .coerce import fmt_value


@dataclass
class Outcome:
    success: bool
    observed: str
    unexpected_count: int = 0
    mask: np.ndarray | None = None  # failing rows (positional), for keys and quarantine
    element_count: int | None = None
    examples: list[str] = field(default_factory=list)  # escaped display values, for the docs


@dataclass
class Check:
    column: str | None
    expectation: str
    severity: str
    expected: str
    gx: Any = None  # a GX expectation, run by GX
    mask_fn: Callable[[], np.ndarray] | None = None  # failing rows of a GX row-level check
    own: Callable[[], Outcome] | None = None  # a check evaluated here
    engine: str = "gx"
    pii: bool = False
    null_check: bool = False
    show_values: bool = True  # quote unexpected values in `observed` (never for PII)
    cols: tuple[str, ...] | None = None  # the columns a GX check reads (None: table-level)


def esc(text: Any) -> str:
    return html.escape(str(text), quote=False)


def fmt_num(x: float) -> str:
    if x is None:
        return "None"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.6g}"



def key_str(v: Any) -> str:
    if isinstance(v, pd.Timestamp):
        return str(v.date()) if v == v.normalize() else str(v)
    if isinstance(v, np.generic):
        return str(v.item())
    return str(v)


def fmt_bound(v: Any) -> str:
    if isinstance(v, (pd.Timestamp, dt.date)):
        return str(pd.Timestamp(v).date())
    return fmt_num(v)


def is_finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def outcome_from_gx(c: Check, r: Any, n: int) -> Outcome:
    if r is None:  # pragma: no cover - GX returns a result per expectation
        return Outcome(False, "not evaluated by GX", 0, None, n)
    info = r.exception_info or {}
    if info.get("raised_exception"):
        msg = str(info.get("exception_message") or "error").splitlines()[0][:300]
        return Outcome(False, f"could not be evaluated: {esc(msg)}", 0, None, n)
    res = r.result or {}
    t = c.expectation
    if t == "expect_column_to_exist":
        return Outcome(bool(r.success), "column present" if r.success else "column missing", 0, None, n)
    if t == "expect_table_columns_to_match_set":
        extra = ((res.get("details") or {}).get("mismatched") or {}).get("unexpected") or []
        if r.success:
            return Outcome(True, "no unexpected columns", 0, None, n)
        return Outcome(False, "unexpected column(s): " + ", ".join(esc(repr(x)) for x in sorted(map(str, extra))), len(extra), None, n)
    if "unexpected_count" in res and res.get("unexpected_count") is not None:
        uc = int(res["unexpected_count"])
        ec = int(res.get("element_count") or n)
        if r.success and uc == 0:
            return Outcome(True, f"0 of {ec} rows unexpected", 0, None, ec)
        pct = 100.0 * uc / ec if ec else 0.0
        what = "null" if c.null_check else "unexpected"
        obs = f"{uc} of {ec} rows {what} ({pct:.2f}%)"
        examples: list[str] = []
        if not c.pii and not c.null_check and c.show_values:
            examples = []
            for v in res.get("partial_unexpected_list") or []:
                f = fmt_value(v)
                if f not in examples:
                    examples.append(f)
            if examples:
                obs += ", e.g. " + ", ".join(examples)
        return Outcome(bool(r.success), obs, uc, None, ec, examples)
    ov = res.get("observed_value")
    if t == "expect_table_row_count_to_be_between" and ov is not None:
        return Outcome(bool(r.success), f"{int(ov)} rows", 0, None, n)
    if t == "expect_column_proportion_of_non_null_values_to_be_between" and ov is not None:
        return Outcome(bool(r.success), f"non-null share {float(ov):.4f} (null rate {1 - float(ov):.4f})", 0, None, n)
    if isinstance(ov, (float, np.floating)):
        obs = f"{float(ov):.6g}"
    elif ov is None:
        obs = "no value (empty or all-null column)"
    else:
        obs = esc(ov)
    return Outcome(bool(r.success), obs, 0, None, n)

