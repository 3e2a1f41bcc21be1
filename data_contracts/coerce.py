"""Column type checks against pandas dtypes, and coercion to the contract type.

A type problem never raises: it becomes a :class:`TypeOutcome` that the validator turns
into a result row naming the column, with examples of the offending values (escaped,
and never for PII columns).
"""

from __future__ import annotations

import html
import re
import warnings
from dataclasses import dataclass
from numbers import Number

import numpy as np
import pandas as pd

DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d{1,3}(?:[.\s']?\d{3})*,\d+\s*$")
NUMERIC_TEXT = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


@dataclass
class TypeOutcome:
    ok: bool
    coerced: pd.Series | None  # the column as the contract type (None when not ok)
    bad: np.ndarray | None  # rows whose value is not of the type
    observed: str
    examples: list[str]


def fmt_value(v: object, limit: int = 60) -> str:
    """A data value for display: repr-like, truncated, HTML-escaped."""
    if isinstance(v, str):
        text = repr(v if len(v) <= limit else v[:limit] + "...")
    elif isinstance(v, (pd.Timestamp, np.datetime64)):
        text = str(pd.Timestamp(v).date()) if pd.Timestamp(v) == pd.Timestamp(v).normalize() else str(pd.Timestamp(v))
    elif isinstance(v, (float, np.floating)):
        text = repr(float(v))
    elif isinstance(v, (np.integer,)):
        text = str(int(v))
    else:
        text = repr(v)
        text = text if len(text) <= limit + 2 else text[:limit] + "..."
    return html.escape(text, quote=False)


def _is_number(v: object) -> bool:
    return isinstance(v, (Number, np.number)) and not isinstance(v, (bool, np.bool_))


def _examples(values: pd.Series, k: int = 5) -> list[str]:
    out: list[str] = []
    for v in values:
        f = fmt_value(v)
        if f not in out:
            out.append(f)
        if len(out) >= k:
            break
    return out


def _hint(values: pd.Series) -> str:
    strs = [v for v in values.head(1000) if isinstance(v, str)]
    if not strs:
        return ""
    if sum(bool(DECIMAL_COMMA.match(s)) for s in strs) >= max(1, len(strs) // 2):
        return " (numbers written with a decimal comma?)"
    if all(NUMERIC_TEXT.match(s) for s in strs):
        return " (numbers stored as text)"
    return ""


def _fail(s: pd.Series, bad: np.ndarray, what: str, expected: str, pii: bool, extra: str = "") -> TypeOutcome:
    n_bad = int(bad.sum())
    vals = s[bad]
    examples = [] if pii else _examples(vals)
    observed = f"dtype {s.dtype}: {n_bad} of {int(s.notna().sum())} non-null values are {what}"
    if examples:
        observed += ", e.g. " + ", ".join(examples)
    if not pii:
        observed += _hint(vals)
    observed += extra
    return TypeOutcome(False, None, bad, observed, examples)


def _numeric_from_object(s: pd.Series, pii: bool, expected: str) -> tuple[pd.Series | None, TypeOutcome | None]:
    notna = s.notna().to_numpy()
    is_num = np.fromiter((_is_number(v) for v in s.to_numpy()), dtype=bool, count=len(s))
    bad = notna & ~is_num
    if bad.any():
        return None, _fail(s, bad, "not numbers", expected, pii)
    return pd.to_numeric(s, errors="coerce"), None


def check_type(s: pd.Series, typ: str, pii: bool = False) -> TypeOutcome:
    """Check a column against a contract type ("integer", "float", "string", "date",
    "boolean") and coerce it.  Never raises on bad data."""
    dtype = s.dtype
    n = len(s)
    notna = s.notna().to_numpy()
    expected = {"integer": "integers", "float": "numbers", "string": "text", "date": "dates", "boolean": "booleans"}[typ]

    if typ in ("integer", "float"):
        if pd.api.types.is_bool_dtype(dtype):
            return _fail(s, notna, "booleans", expected, pii)
        if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
            return _fail(s, notna, "dates", expected, pii)
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
            num = s
        elif dtype == object:
            num, failed = _numeric_from_object(s, pii, expected)
            if failed is not None:
                return failed
        else:  # str / string / categorical / anything else: text in a numeric column
            return _fail(s, notna, "text, not numbers", expected, pii)
        if typ == "integer" and not pd.api.types.is_integer_dtype(num.dtype):
            vals = num.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                frac = np.isfinite(vals) & (np.floor(vals) != vals)
            nonfinite = np.isinf(vals)
            bad = frac | nonfinite
            if bad.any():
                return _fail(num, bad, "not whole numbers", expected, pii)
        return TypeOutcome(True, num, None, f"dtype {dtype}", [])

    if typ == "string":
        if isinstance(dtype, pd.CategoricalDtype):
            s = s.astype(object).where(s.notna(), None)
            dtype = s.dtype
        if pd.api.types.is_string_dtype(dtype) and dtype != object:
            return TypeOutcome(True, s, None, f"dtype {dtype}", [])
        if dtype == object:
            is_str = np.fromiter((isinstance(v, str) for v in s.to_numpy()), dtype=bool, count=n)
            bad = notna & ~is_str
            if bad.any():
                return _fail(s, bad, "not text", expected, pii)
            return TypeOutcome(True, s, None, f"dtype {dtype}", [])
        return _fail(s, notna, f"{dtype} values, not text", expected, pii)

    if typ == "date":
        if pd.api.types.is_datetime64_any_dtype(dtype):
            out = s
            if getattr(dtype, "tz", None) is not None:
                out = s.dt.tz_convert(None)
            return TypeOutcome(True, out, None, f"dtype {dtype}", [])
        if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            return _fail(s, notna, f"{dtype} values, not dates", expected, pii)
        if isinstance(dtype, pd.PeriodDtype):
            return TypeOutcome(True, s.dt.to_timestamp(), None, f"dtype {dtype}", [])
        obj = s.astype(object) if not dtype == object else s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                parsed = pd.to_datetime(obj, errors="coerce", format="mixed")
            except (TypeError, ValueError, OverflowError):
                parsed = pd.Series(pd.NaT, index=s.index)
        if getattr(parsed.dtype, "tz", None) is not None:
            parsed = parsed.dt.tz_convert(None)
        bad = notna & parsed.isna().to_numpy()
        if bad.any():
            return _fail(s, bad, "not parseable as dates", expected, pii)
        return TypeOutcome(True, parsed, None, f"dtype {dtype} (parsed as dates)", [])

    if typ == "boolean":
        if pd.api.types.is_bool_dtype(dtype):
            return TypeOutcome(True, s, None, f"dtype {dtype}", [])
        if dtype == object:
            is_b = np.fromiter((isinstance(v, (bool, np.bool_)) for v in s.to_numpy()), dtype=bool, count=n)
            bad = notna & ~is_b
            if not bad.any():
                return TypeOutcome(True, s, None, f"dtype {dtype}", [])
            return _fail(s, bad, "not booleans", expected, pii)
        return _fail(s, notna, f"{dtype} values, not booleans", expected, pii)

    raise ValueError(f"unknown contract type {typ!r}")  # programming error: contracts are validated


def numeric_text_share(s: pd.Series) -> tuple[float, str]:
    """Share of the non-null text values of ``s`` that are numbers written as text (plain or
    with a decimal comma), and a hint naming which."""
    vals = s.dropna()
    if len(vals) == 0:
        return 0.0, ""
    sample = vals.head(20000).astype(str)
    plain = sample.str.match(NUMERIC_TEXT.pattern).to_numpy(dtype=bool, na_value=False)
    comma = sample.str.match(DECIMAL_COMMA.pattern).to_numpy(dtype=bool, na_value=False)
    share = float((plain | comma).mean())
    hint = "decimal comma" if comma.sum() > plain.sum() else "numbers stored as text"
    return share, hint
