"""Numbers written as text, the way people write them, and values as text.

:func:`parse_number_text` is the rule engine of type inference: given a column's distinct
texts it decides whether they are numbers and under which conventions (a
:class:`NumberFormat`); :func:`read_numbers` reads new texts under a fitted format, so a
scoring file is read with the conventions of training, never re-guessed. The rules:

* plain numbers (``12``, ``-0.5``, ``1e3``);
* **thousands separators** ``,`` ``.`` space, no-break space or ``'`` in groups of three
  (``1,234,567``, ``1 234``, ``1'234``);
* **percent**: ``12.5%`` reads as the **fraction 0.125** (the loan-book convention:
  ``interest_rate`` 0.12 = 12%). Either every value of the column carries ``%`` or none
  does; a mix is ambiguous and stays text;
* **a unit or a currency**: a suffix word (``12 months``, ``1200 EUR``), a currency symbol
  before or after (``$1,200``, ``1.200 €``) or a three-letter upper-case currency code
  before the number (``EUR 1,200``). A word is a unit only when a blank separates it from
  the number, so ``A11`` is a code. All values must share one unit (``month`` and
  ``months`` are the same; values without a unit are fine); ``12 months`` next to
  ``2 years`` stays text;
* an **open-ended top class** ``10+ years`` reads as its bound, 10 (the rule says so);
* **decimal comma**, only when unambiguous: the column's decimal mark is the comma if some
  value can only be read that way (``12,5``, ``0,125``, ``1234,5``, ``1.234,50``,
  ``1.234.567``) and no value can only be read with a decimal point; it is the point
  otherwise. So ``1,234`` alone is one thousand two hundred thirty-four, and a column with
  both ``12,5`` and ``1,234.5`` stays text (mixed conventions);
* an integer written with a leading zero (``007``, ``01234``) is a **code**, not a number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["NumberFormat", "format_number", "is_text", "parse_number_text", "read_numbers", "stripped_text"]

_CURRENCY_SYMBOLS = "$€£¥₹₽₩₺₪฿"
_VALUE = re.compile(
    r"""^
    (?P<s1>[+-])?\s*
    (?:(?P<pre>[""" + _CURRENCY_SYMBOLS + r"""]|[A-Z]{3}(?=\s))\s*)?
    (?P<s2>[+-])?\s*
    (?P<num>\d(?:[\d.,'\u00a0\u202f ]*\d)?|[.,]\d+)
    (?P<plus>\+)?
    (?:\s*(?P<pct>%))?
    (?:\s*(?P<post>[""" + _CURRENCY_SYMBOLS + r"""])|\s+(?P<word>[^\W\d_]{2,}\.?))?
    $""",
    re.VERBOSE,
)
# Readings that only a decimal comma allows, and those only a decimal point allows.
_ONLY_COMMA = re.compile(
    r"^(\d+,\d{1,2}|\d+,\d{4,}|\d{4,},\d+|0,\d+|,\d+|\d{1,3}(\.\d{3})+,\d+|\d{1,3}(\.\d{3}){2,}|\d{1,3}([ \u00a0\u202f']\d{3})+,\d+)$"
)
_ONLY_POINT = re.compile(
    r"^(\d+\.\d{1,2}|\d+\.\d{4,}|\d{4,}\.\d+|0\.\d+|\.\d+|\d{1,3}(,\d{3})+\.\d+|\d{1,3}(,\d{3}){2,}|\d{1,3}([ \u00a0\u202f']\d{3})+\.\d+)$"
)


def _number_regex(decimal: str) -> re.Pattern[str]:
    thousands = "," if decimal == "." else "."
    d = re.escape(decimal)
    groups = "|".join(rf"\d{{1,3}}(?:{re.escape(t)}\d{{3}})+" for t in (thousands, " ", "\u00a0", "\u202f", "'"))
    return re.compile(rf"^(?:(?P<int>\d+|{groups})(?:{d}(?P<frac>\d+))?|{d}(?P<frac2>\d+))$")


_NUMBER = {".": _number_regex("."), ",": _number_regex(",")}


def _unit_key(token: str) -> str:
    t = token.lower().rstrip(".")
    return t[:-1] if len(t) > 3 and t.endswith("s") else t


@dataclass(frozen=True)
class NumberFormat:
    """The conventions a column's numbers were written in, fitted by :func:`parse_number_text`.

    ``plain``: every value was a plain number (read as :func:`pandas.to_numeric` reads
    it); otherwise ``decimal`` (``.`` or ``,``), ``percent`` (every value carried ``%``,
    read as a fraction) and ``unit`` (the one unit or currency dropped, ``None``: none).
    """

    plain: bool = True
    decimal: str = "."
    percent: bool = False
    unit: str | None = None


class _Parsed:
    __slots__ = ("num", "sign", "unit", "pct", "plus")

    def __init__(self, num: str, sign: str, unit: str | None, pct: bool, plus: bool):
        self.num, self.sign, self.unit, self.pct, self.plus = num, sign, unit, pct, plus


def _tokenise(text: str) -> _Parsed | None:
    m = _VALUE.match(text)
    if m is None or (m["s1"] and m["s2"]):
        return None
    unit = m["pre"] or m["post"] or m["word"]
    return _Parsed(m["num"], m["s1"] or m["s2"] or "", _unit_key(unit) if unit else None, bool(m["pct"]), bool(m["plus"]))


def _to_float(p: _Parsed, decimal: str) -> float | None:
    m = _NUMBER[decimal].match(p.num)
    if m is None:
        return None
    integer = re.sub(r"\D", "", m["int"] or "0")
    frac = m["frac"] or m["frac2"] or ""
    value = float(f"{integer}.{frac}" if frac else integer)
    if p.pct:
        value /= 100.0
    return -value if p.sign == "-" else value


class _Reading:
    """How the distinct text values of one column read as numbers."""

    def __init__(self) -> None:
        self.values: list[str] = []
        self.array = np.empty(0)  # number per value (NaN: not a number), aligned with values
        self.not_numbers: list[str] = []
        self.problem: str | None = None  # a column-level ambiguity: no consistent reading
        self.leading_zeros: list[str] = []
        self.notes: list[str] = []
        self.format = NumberFormat()

    @property
    def numbers(self) -> dict[str, float]:
        return {v: x for v, x in zip(self.values, self.array.tolist()) if not math.isnan(x)}

    @property
    def numeric(self) -> bool:
        return not self.not_numbers and self.problem is None and not self.leading_zeros

    def rule(self) -> str:
        return "text: numbers" + (" with " + "; ".join(self.notes) if self.notes else " (plain)")


def _plain(values: Sequence[str]) -> np.ndarray:
    """Plain numbers; NaN for anything else (and for inf).

    Which texts are plain numbers is :func:`pandas.to_numeric`'s rule; their values come
    from Arrow's correctly rounded parser (Python's ``float`` where Arrow declines), the
    parser :func:`plain_numbers` uses on whole columns, so training and scoring agree to
    the last bit whichever path a value takes.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = pd.Series(list(values), dtype="str")
    accepted = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(accepted)
    out = np.full(len(texts), np.nan)
    if ok.any():
        chosen = texts[ok]
        try:
            out[ok] = pc.cast(pa.array(chosen.tolist(), type=pa.string()), pa.float64()).to_numpy(zero_copy_only=False)
        except pa.ArrowInvalid:
            out[ok] = [float(v) for v in chosen]
    return np.where(np.isfinite(out), out, np.nan)


def plain_numbers(texts: pd.Series) -> np.ndarray | None:
    """A whole column of stripped texts (missing allowed) as plain numbers in one vectorised pass.

    ``None`` when some text is not a plain number as :func:`_plain` reads it (the caller
    then reads value by value and can say which); values equal :func:`_plain`'s.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(texts.to_numpy(dtype=object, na_value=None) if not isinstance(texts.dtype, pd.StringDtype) else texts,
                   type=pa.string(), from_pandas=True)
    try:
        out = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        return None
    out = np.asarray(out, dtype=float)
    present = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if not np.isfinite(out[present]).all():
        return None
    return out


def _read_numbers(values: Sequence[str]) -> _Reading:
    r = _Reading()
    r.values = list(values)
    series = pd.Series(r.values, dtype="str")
    r.leading_zeros = series[series.str.match(r"^[+-]?0\d+$")].tolist()
    plain = _plain(r.values)
    if np.isfinite(plain).all():
        r.array = plain
        return r
    r.array = np.full(len(r.values), np.nan)
    position = {v: i for i, v in enumerate(r.values)}
    tokens: dict[str, _Parsed] = {}
    for v in values:
        t = _tokenise(v)
        if t is None:
            r.not_numbers.append(v)
        else:
            tokens[v] = t
    units = sorted({t.unit for t in tokens.values() if t.unit})
    pct = {t.pct for t in tokens.values()}
    comma = any(_ONLY_COMMA.match(t.num) for t in tokens.values())
    point = any(_ONLY_POINT.match(t.num) for t in tokens.values())
    if len(units) > 1:
        r.problem = f"mixed units ({', '.join(units)})"
    elif len(pct) > 1:
        r.problem = "some values carry '%' and others do not (ambiguous scale)"
    elif comma and point:
        r.problem = "mixed decimal marks (some values need a decimal comma, others a decimal point)"
    if r.problem:
        return r
    decimal = "," if comma else "."
    r.format = NumberFormat(plain=False, decimal=decimal, percent=True in pct, unit=units[0] if units else None)
    separators: set[str] = set()
    for v, t in tokens.items():
        x = _to_float(t, decimal)
        if x is None:
            r.not_numbers.append(v)
        else:
            r.array[position[v]] = x
            separators |= set(re.sub(r"\d", "", _NUMBER[decimal].match(t.num)["int"] or ""))
    names = {",": "','", ".": "'.'", " ": "space", "\u00a0": "no-break space", "\u202f": "narrow no-break space", "'": "apostrophe"}
    if decimal == ",":
        r.notes.append("decimal comma")
    if separators:
        r.notes.append("thousands separator " + ", ".join(names[c] for c in sorted(separators)))
    if True in pct:
        r.notes.append("percent read as a fraction (12.5% -> 0.125)")
    if units:
        r.notes.append(f"unit '{units[0]}' dropped")
    if any(t.plus for t in tokens.values()):
        r.notes.append("open-ended 'N+' read as N")
    return r


def read_numbers(values: Sequence[str], fmt: NumberFormat) -> np.ndarray:
    """Distinct stripped texts read as numbers under a fitted format; NaN where a text does not follow it.

    The format is never re-guessed: a value in another unit, without the column's ``%``
    (or with it when the column had none) or with the other decimal mark is not a number
    of this column.
    """
    if fmt.plain:
        return _plain(values)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        t = _tokenise(v)
        if t is None or t.pct != fmt.percent or (t.unit is not None and t.unit != fmt.unit):
            continue
        x = _to_float(t, fmt.decimal)
        if x is not None:
            out[i] = x
    return out


def parse_number_text(values: Iterable[str]) -> tuple[dict[str, float] | None, str]:
    """Read distinct text values as numbers under the rules of the module docstring.

    ``values`` are stripped, non-missing texts. Returns ``(mapping text -> number, rule)``
    when every value is a number (the rule says which conventions applied), else
    ``(None, reason)``.
    """
    values = list(dict.fromkeys(values))
    if not values:
        return {}, "all values missing"
    r = _read_numbers(values)
    if r.leading_zeros:
        return None, f"integers written with leading zeros are codes (e.g. {min(r.leading_zeros)!r})"
    if r.problem:
        return None, r.problem
    if r.not_numbers:
        return None, f"{len(r.not_numbers)} of {len(values)} distinct values are not numbers"
    return r.numbers, r.rule()


# --------------------------------------------------------------------------- values as text


def is_text(series: pd.Series) -> bool:
    """Text, objects or pandas categories (values that are not numbers by dtype)."""
    return (
        pd.api.types.is_object_dtype(series.dtype)
        or pd.api.types.is_string_dtype(series.dtype)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def stripped_text(series: pd.Series) -> pd.Series:
    """Text values, stripped, with blanks as missing; non-text objects become their str()."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        out = series.str.strip()
        return out.mask(out == "").astype(object)
    s = series.astype(object)
    mask = s.notna()
    out = pd.Series(np.nan, index=s.index, dtype=object)
    out[mask] = [(format_number(v) if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool)
                  else str(v)).strip() for v in s[mask]]
    out[out == ""] = np.nan
    return out


def format_number(v: Any) -> str:
    """A number as text without a trailing ``.0`` for whole floats (``2.0`` -> ``2``)."""
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f) and f.is_integer() and abs(f) < 2**53:
            return str(int(f))
        return repr(f)
    return str(v)
