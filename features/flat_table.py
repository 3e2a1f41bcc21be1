"""Flat application tables with a ready target: any lender's extract, any public dataset.

Library code (no Dagster, no MLflow). The I/O is explicit: :func:`read_flat_table` reads
a file and nothing else does. Three steps, each callable on its own:

1. :func:`read_flat_table` -- CSV or Parquet into a DataFrame, or a :class:`SourceError`
   that names the file and the problem.
2. :func:`infer_types` -- numeric vs categorical per column, with the rule that decided
   it, overridable per column.
3. :func:`flat_table_outcomes` -- the outcome table (one row per application) in the
   shape :func:`features.outcomes.derive_outcomes` returns for a warehouse.

Reading (the choices a validator should know about)
---------------------------------------------------
* **Format by suffix**: ``.csv``, ``.tsv``, ``.txt`` are delimited text; ``.parquet``,
  ``.pq`` are Parquet. Anything else (including compressed files) is a SourceError.
* **Encoding: UTF-8 only** (a UTF-8 byte-order mark is skipped). A byte sequence that is
  not UTF-8 is a SourceError naming the file, the byte offset, the line and the bytes, and
  asking for a UTF-8 export. There is deliberately **no silent cp1252/latin-1 fallback**:
  those code pages decode *any* byte, so a file written in another code page (cp1250,
  latin-9, ...) would be read without error but with wrong characters, and a category
  spelled two ways becomes two categories. Callers who know the encoding can pass
  ``encoding=`` explicitly.
* **Delimiter** sniffed among ``,`` ``;`` and tab (the one giving every sampled line the
  header's field count, then the most fields). A file that splits into one column is an
  error (unsupported delimiter).
* **CSV values are returned as text** (``str`` dtype): nothing is guessed at read time, so
  ``00123`` stays ``00123``; :func:`infer_types` decides the types. Missing values are
  empty fields and the tokens in :data:`NA_TOKENS`. Header names are stripped of
  surrounding blanks; an empty or duplicated header name is an error.
* **Structure** is checked before parsing: every row must have the header's field count
  (a ragged or truncated file names the line), a quote left open at the end of the file
  is an error, blank lines are skipped, a file with a header and no rows is an error.
* The raw file is only ever opened for reading.

Type inference (``infer_types``)
--------------------------------
Per column, in this order (the ``rule`` column of the types table says which applied):

* a numeric dtype stays **numeric** -- also with few distinct integer values (``EDUCATION``
  1..6 stays numeric; the rule says how many distinct values, override to categorical if
  they are codes). Booleans become 0/1. A datetime column is reported as ``datetime`` and
  passed through (use it as the date column or exclude it).
* text is **numeric** when every non-missing value is a number as a person would write it:
  - plain numbers (``12``, ``-0.5``, ``1e3``);
  - **thousands separators** ``,`` ``.`` space, no-break space or ``'`` in groups of three
    (``1,234,567``, ``1 234``, ``1'234``);
  - **percent**: ``12.5%`` reads as the **fraction 0.125** (the loan-book convention:
    ``interest_rate`` 0.12 = 12%). Either every value of the column carries ``%`` or none
    does; a mix is ambiguous and stays categorical;
  - **a unit or a currency**: a suffix word (``12 months``, ``1200 EUR``), a currency
    symbol before or after (``$1,200``, ``1.200 €``) or a three-letter upper-case currency
    code before the number (``EUR 1,200``). A word is a unit only when a blank separates it
    from the number, so ``A11`` is a code. All values must share one unit (``month`` and
    ``months`` are the same; values without a unit are fine); ``12 months`` next to
    ``2 years`` stays categorical;
  - **decimal comma**, only when unambiguous: the column's decimal mark is the comma if
    some value can only be read that way (``12,5``, ``0,125``, ``1234,5``, ``1.234,50``,
    ``1.234.567``) and no value can only be read with a decimal point; it is the point
    otherwise. So ``1,234`` alone is one thousand two hundred thirty-four, and a column
    with both ``12,5`` and ``1,234.5`` stays categorical (mixed conventions).
* an integer written with a leading zero (``007``, ``01234``) is a **code**: categorical.
* everything else is **categorical** (values stripped of surrounding blanks).

Numeric results are ``int64`` when every value is a whole number and none is missing
(also ``5.00E+05``, which ``pandas.read_csv`` would make a float), ``float64`` otherwise.
Examples of values in a rule are the first distinct values in sorted order, so the types
table does not depend on the row order. Categorical
results are text (``str``), a number overridden to categorical is written without a
trailing ``.0``. An override to numeric reads the values it cannot parse as missing and
says how many in the rule (none parsing at all is a ConfigError). The types table holds
no raw values for columns named like PII (name, email, phone, national id, ...) nor for
a column whose values look like e-mail addresses.

Outcomes (``flat_table_outcomes``)
----------------------------------
A flat table carries its target: every row is an approved application, ``bad`` when the
target is one of ``bad_values`` and ``good`` when it is the (single) other value.
Target values are matched as numbers when both sides are numbers (``2``, ``"2"`` and
``2.0`` match ``bad_values: [2]``), else as text after stripping blanks.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ConfigError, SourceError
from features.loan_book import PII_COLUMNS

__all__ = [
    "CSV_SUFFIXES",
    "NA_TOKENS",
    "OUTCOME_COLUMNS",
    "PARQUET_SUFFIXES",
    "TYPES_TABLE_COLUMNS",
    "flat_table_outcomes",
    "infer_types",
    "is_pii_name",
    "parse_number_text",
    "read_flat_table",
]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t")
# Text read as missing in a CSV (besides an empty field).
NA_TOKENS = ("NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A")
TYPES_TABLE_COLUMNS = ("column", "inferred", "source_dtype", "rule", "example")
OUTCOME_COLUMNS = ("application_id", "application_month", "decision", "outcome", "target", "mob_as_of")
FEW_DISTINCT = 10  # a numeric column with at most this many distinct integers gets a hint in its rule

_SNIFF_BYTES = 256 * 1024
_CHUNK = 1 << 20


# --------------------------------------------------------------------------- reading


def read_flat_table(path: str | Path, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a flat application table (CSV or Parquet by suffix); see the module docstring.

    Raises :class:`SourceError` naming the file and the problem for a missing, empty,
    header-only, ragged, truncated, non-UTF-8 or unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"flat table {path} does not exist")
    if not path.is_file():
        raise SourceError(f"flat table {path} is not a file")
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, encoding)
    raise SourceError(
        f"flat table {path}: unsupported file type '{path.suffix or '(none)'}'; "
        f"use CSV ({', '.join(CSV_SUFFIXES)}) or Parquet ({', '.join(PARQUET_SUFFIXES)})"
    )


def _read_parquet(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise SourceError(f"flat table {path} is empty (0 bytes)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise SourceError(f"flat table {path} is not a readable Parquet file: {exc}") from None
    if frame.columns.empty:
        raise SourceError(f"flat table {path} has no columns")
    if len(frame) == 0:
        raise SourceError(f"flat table {path} has columns but no rows")
    frame.columns = _check_header(path, [str(c) for c in frame.columns])
    return frame.reset_index(drop=True)


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise SourceError(f"flat table {path} is empty (0 bytes)")
    enc = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    _check_encoding(path, enc)
    with open(path, encoding=enc, newline="") as fh:
        sample = fh.read(_SNIFF_BYTES)
        at_eof = not fh.read(1)
    if not sample.strip():
        raise SourceError(f"flat table {path} is empty (only blank lines)")
    delimiter = _sniff_delimiter(path, sample, at_eof)
    header, n_rows = _check_structure(path, enc, delimiter)
    columns = _check_header(path, header)
    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            encoding=enc,
            dtype=str,
            keep_default_na=False,
            na_values=["", *NA_TOKENS],
            skip_blank_lines=True,
            engine="c",
        )
    except (pd.errors.ParserError, ValueError) as exc:  # structure was checked; belt and braces
        raise SourceError(f"flat table {path} cannot be parsed as CSV: {exc}") from None
    frame.columns = columns
    if len(frame) != n_rows:
        raise SourceError(
            f"flat table {path}: {n_rows} data rows found by the CSV reader but {len(frame)} parsed;"
            " check for unbalanced quotes"
        )
    return frame


def _check_encoding(path: Path, encoding: str) -> None:
    """Decode the whole file in chunks; a bad byte is an error with its exact offset."""
    name = "utf-8" if encoding == "utf-8-sig" else encoding
    decoder = codecs.getincrementaldecoder(name)(errors="strict")
    offset = 0  # bytes fed so far
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(_CHUNK)
            final = not chunk
            pending = len(decoder.getstate()[0]) if hasattr(decoder, "getstate") else 0
            try:
                decoder.decode(chunk, final)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                with open(path, "rb") as again:
                    head = again.read(at)
                    bad = again.read(max(1, exc.end - exc.start))
                line = head.count(b"\n") + 1
                raise SourceError(
                    f"flat table {path} is not valid {name.upper()}: byte offset {at}"
                    f" (line {line}) holds {bad!r} ({exc.reason}); re-export the file as UTF-8"
                ) from None
            offset += len(chunk)
            if final:
                return


def _split_lines(sample: str, at_eof: bool) -> list[list[str]]:
    """Records of a text sample, per candidate delimiter later; drops a cut last line."""
    lines = sample.splitlines()
    if not at_eof and lines:
        lines = lines[:-1]
    return [ln for ln in lines if ln.strip()]


def _sniff_delimiter(path: Path, sample: str, at_eof: bool) -> str:
    lines = _split_lines(sample, at_eof)[:200]
    text = "\n".join(lines)
    best: tuple[float, int, int] | None = None
    choice = None
    for rank, delim in enumerate(DELIMITERS):
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=delim))
        except csv.Error:
            continue
        rows = [r for r in rows if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        share = sum(len(r) == width for r in rows) / len(rows)
        score = (share, width, -rank)
        if best is None or score > best:
            best, choice = score, delim
    if choice is None:
        first = lines[0] if lines else ""
        raise SourceError(
            f"flat table {path}: the header {first[:80]!r} splits into a single column; "
            "expected columns separated by ',' ';' or a tab"
        )
    return choice


def _check_structure(path: Path, encoding: str, delimiter: str) -> tuple[list[str], int]:
    """Header and data-row count; every row must have the header's field count."""
    header: list[str] | None = None
    n_rows = 0
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter, strict=True)
        try:
            for record in reader:
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue  # blank line
                if header is None:
                    header = record
                    continue
                if len(record) != len(header):
                    what = "fewer" if len(record) < len(header) else "more"
                    why = ("the file looks truncated (its last row is incomplete)"
                           if what == "fewer" and _is_last_record(fh) else "the rows are ragged")
                    raise SourceError(
                        f"flat table {path}: line {reader.line_num} has {len(record)} fields, {what} than the "
                        f"header's {len(header)}; {why}"
                    )
                n_rows += 1
        except csv.Error as exc:
            raise SourceError(
                f"flat table {path}: malformed CSV at line {reader.line_num}: {exc}"
                " (a quote is not closed, or text follows a closing quote)"
            ) from None
    if header is None:
        raise SourceError(f"flat table {path} is empty (only blank lines)")
    if n_rows == 0:
        raise SourceError(f"flat table {path} has a header ({len(header)} columns) but no data rows")
    return header, n_rows


def _is_last_record(fh) -> bool:
    rest = fh.read()
    return not rest.strip()


def _check_header(path: Path, names: Sequence[str]) -> list[str]:
    cleaned = [str(n).strip() for n in names]
    empty = [i + 1 for i, n in enumerate(cleaned) if not n]
    if empty:
        raise SourceError(f"flat table {path}: column(s) at position {empty} have an empty header name")
    seen: dict[str, int] = {}
    for n in cleaned:
        seen[n] = seen.get(n, 0) + 1
    dupes = sorted(n for n, k in seen.items() if k > 1)
    if dupes:
        raise SourceError(f"flat table {path}: duplicated column name(s) {dupes}")
    return cleaned


# --------------------------------------------------------------------------- PII names

_PII_SUBSTRINGS = (
    "name", "email", "e_mail", "phone", "mobile", "national_id", "nationalid", "passport",
    "social_security", "socialsecurity", "address", "birth", "iban",
)
_PII_TOKENS = {"ssn", "sin", "nin", "tin", "nid", "tel", "dob", "mail", "dni", "nif", "cpf", "pesel", "zip", "postcode"}


def is_pii_name(column: str) -> bool:
    """True for a column named like personal data (name, email, phone, national id, ...)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(column)).lower()
    snake = re.sub(r"[^a-z0-9]+", "_", snake)
    if str(column) in PII_COLUMNS or any(s in snake for s in _PII_SUBSTRINGS):
        return True
    tokens = {t for t in re.split(r"[_0-9]+", snake) if t}
    return bool(tokens & _PII_TOKENS)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def _looks_personal(series: pd.Series, sample: int = 1000) -> bool:
    """Values that look like e-mail addresses, whatever the column is called."""
    head = series.dropna().head(sample)
    return bool(len(head)) and any(isinstance(v, str) and _EMAIL.search(v) for v in head)


# --------------------------------------------------------------------------- number text

_CURRENCY_SYMBOLS = "$€£¥₹₽₩₺₪฿"
_SEP_CHARS = ".,' \u00a0\u202f"
_VALUE = re.compile(
    r"""^
    (?P<s1>[+-])?\s*
    (?:(?P<pre>[""" + _CURRENCY_SYMBOLS + r"""]|[A-Z]{3}(?=\s))\s*)?
    (?P<s2>[+-])?\s*
    (?P<num>\d(?:[\d.,'\u00a0\u202f ]*\d)?|[.,]\d+)
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


class _Parsed:
    __slots__ = ("num", "sign", "unit", "pct")

    def __init__(self, num: str, sign: str, unit: str | None, pct: bool):
        self.num, self.sign, self.unit, self.pct = num, sign, unit, pct


def _tokenise(text: str) -> _Parsed | None:
    m = _VALUE.match(text)
    if m is None or (m["s1"] and m["s2"]):
        return None
    unit = m["pre"] or m["post"] or m["word"]
    return _Parsed(m["num"], m["s1"] or m["s2"] or "", _unit_key(unit) if unit else None, bool(m["pct"]))


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

    @property
    def numbers(self) -> dict[str, float]:
        return {v: x for v, x in zip(self.values, self.array.tolist()) if not math.isnan(x)}

    @property
    def numeric(self) -> bool:
        return not self.not_numbers and self.problem is None and not self.leading_zeros

    def rule(self) -> str:
        return "text: numbers" + (" with " + "; ".join(self.notes) if self.notes else " (plain)")


def _read_numbers(values: Sequence[str]) -> _Reading:
    r = _Reading()
    r.values = list(values)
    series = pd.Series(r.values, dtype="str")
    r.leading_zeros = series[series.str.match(r"^[+-]?0\d+$")].tolist()
    plain = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
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
    return r


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


# --------------------------------------------------------------------------- inference


def _is_text(series: pd.Series) -> bool:
    return (
        pd.api.types.is_object_dtype(series.dtype)
        or pd.api.types.is_string_dtype(series.dtype)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _stripped_text(series: pd.Series) -> pd.Series:
    """Text values, stripped, with blanks as missing; non-text objects become their str()."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        out = series.str.strip()
        return out.mask(out == "").astype(object)
    s = series.astype(object)
    mask = s.notna()
    out = pd.Series(np.nan, index=s.index, dtype=object)
    out[mask] = [(_fmt_number(v) if isinstance(v, (float, np.floating, int, np.integer)) and not isinstance(v, bool)
                  else str(v)).strip() for v in s[mask]]
    out[out == ""] = np.nan
    return out


def _fmt_number(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f) and f.is_integer() and abs(f) < 2**53:
            return str(int(f))
        return repr(f)
    return str(v)


def _as_numeric(values: pd.Series) -> pd.Series:
    """float64, or int64 when all whole and none missing."""
    arr = values.to_numpy(dtype=float, na_value=np.nan)
    if len(arr) and not np.isnan(arr).any() and np.isfinite(arr).all() and (arr == np.round(arr)).all() and (np.abs(arr) < 2**53).all():
        return pd.Series(arr.astype(np.int64), index=values.index)
    return pd.Series(arr, index=values.index)


def _as_categorical(text: pd.Series) -> pd.Series:
    return text.astype("str")


def _example(column: str, raw: Any, typed: Any = None) -> str | None:
    if raw is None:
        return None
    raw_s = _fmt_number(raw) if isinstance(raw, (float, np.floating, int, np.integer)) and not isinstance(raw, bool) else str(raw)
    if is_pii_name(column) or _EMAIL.search(raw_s):
        return None
    if typed is not None and not (isinstance(typed, float) and math.isnan(typed)):
        typed_s = _fmt_number(typed)
        if typed_s != raw_s.strip():
            return f"{raw_s} -> {typed_s}"
    return raw_s


def _first_valid(series: pd.Series) -> Any:
    idx = series.first_valid_index()
    return None if idx is None else series.loc[idx]


def _check_columns(frame: pd.DataFrame, names: Iterable[str], what: str) -> None:
    for name in names:
        if name not in frame.columns:
            close = difflib.get_close_matches(str(name), [str(c) for c in frame.columns], n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise ConfigError(f"{what}: column '{name}' is not in the table{hint}")


def infer_types(
    frame: pd.DataFrame,
    overrides: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type every column numeric or categorical; see the module docstring for the rules.

    ``overrides`` maps a column to ``"numeric"`` or ``"categorical"`` (the config's
    ``source.types``); ``exclude`` columns pass through untouched and are listed as
    ``excluded`` (pass the target, id and date columns there to keep them as read). An
    override or exclusion naming a column the table lacks is a :class:`ConfigError`.

    Returns ``(typed_frame, types_table)``: a new frame (the input is not modified) with
    the columns in their order, and one row per column with ``column``, ``inferred``
    (numeric, categorical, datetime or excluded), ``source_dtype``, ``rule`` and
    ``example`` (a raw value, ``raw -> typed`` when it was converted; empty for PII names).
    """
    overrides = dict(overrides or {})
    exclude = list(exclude)
    _check_columns(frame, overrides, "source.types")
    _check_columns(frame, exclude, "source.exclude")
    for col, kind in overrides.items():
        if kind not in ("numeric", "categorical"):
            raise ConfigError(f"source.types: column '{col}' has type {kind!r}; use 'numeric' or 'categorical'")
        if col in exclude:
            raise ConfigError(f"source.types: column '{col}' is also in source.exclude; keep it in one of them")
    if frame.columns.duplicated().any():
        raise SourceError(f"flat table: duplicated column name(s) {sorted(set(frame.columns[frame.columns.duplicated()]))}")

    typed: dict[str, pd.Series] = {}
    rows: list[dict[str, Any]] = []
    for col in frame.columns:
        series = frame[col]
        row = {"column": str(col), "source_dtype": str(series.dtype)}
        if col in exclude:
            typed[col] = series.copy()
            ex = _first_valid(series)
            rows.append(row | {"inferred": "excluded", "rule": "excluded by config: passed through as read",
                               "example": _example(col, ex)})
            continue
        out, inferred, rule, example = _infer_column(str(col), series, overrides.get(col))
        typed[col] = out
        rows.append(row | {"inferred": inferred, "rule": rule, "example": example})

    typed_frame = pd.DataFrame(typed, index=frame.index)
    typed_frame.columns = frame.columns
    table = pd.DataFrame(rows, columns=list(TYPES_TABLE_COLUMNS))
    for c in TYPES_TABLE_COLUMNS:
        table[c] = table[c].astype("str")
    return typed_frame, table


def _infer_column(col: str, series: pd.Series, override: str | None):
    """(typed series, inferred, rule, example) for one column."""
    raw = _first_valid(series)
    pii = is_pii_name(col) or _looks_personal(series)
    prefix = f"override {override}; " if override else ""

    if pd.api.types.is_bool_dtype(series.dtype):
        if override == "categorical":
            return _as_categorical(_stripped_text(series)), "categorical", "override categorical: booleans as text", \
                _example(col, raw)
        num = _as_numeric(series.astype(float))
        return num, "numeric", prefix + "boolean dtype: True/False read as 1/0", _example(col, raw, _first_valid(num))

    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if override == "numeric":
            raise ConfigError(f"source.types: column '{col}' holds dates and cannot be numeric")
        if override == "categorical":
            return _as_categorical(_stripped_text(series)), "categorical", "override categorical: dates as text", \
                _example(col, raw)
        return series.copy(), "datetime", "datetime dtype: not a feature type; use it as the date column or exclude it", \
            _example(col, raw)

    if isinstance(series.dtype, pd.CategoricalDtype) and override != "numeric":
        return _as_categorical(_stripped_text(series)), "categorical", prefix + "categorical dtype", _example(col, raw)

    if pd.api.types.is_numeric_dtype(series.dtype) and not _is_text(series):
        if override == "categorical":
            text = _stripped_text(series)
            return _as_categorical(text), "categorical", "override categorical: numbers read as codes", \
                _example(col, raw, _first_valid(text))
        num = _as_numeric(series)
        return num, "numeric", prefix + "numeric dtype" + _few_distinct_hint(num), _example(col, raw)

    # text (or objects of mixed types)
    text = _stripped_text(series)
    codes, uniques = pd.factorize(text)
    distinct = [str(u) for u in uniques]
    if not distinct:
        if override == "categorical":
            return _as_categorical(text), "categorical", "override categorical; all values missing", None
        return _as_numeric(pd.Series(np.nan, index=series.index)), "numeric", prefix + "all values missing", None
    reading = _read_numbers(distinct)
    if override == "categorical":
        note = f" (would read as numbers: {reading.rule()})" if reading.numeric else ""
        return _as_categorical(text), "categorical", "override categorical" + note, _example(col, raw)
    if reading.numeric or (override == "numeric" and reading.problem is None and not np.isnan(reading.array).all()):
        lookup = np.append(reading.array, np.nan)  # code -1 (missing) -> NaN
        num = _as_numeric(pd.Series(lookup[codes], index=text.index))
        rule = reading.rule()
        if reading.not_numbers:
            n_bad = int(text.isin(reading.not_numbers).sum())
            shown = "" if pii else " (e.g. " + ", ".join(repr(v) for v in sorted(reading.not_numbers)[:3]) + ")"
            rule += f"; {n_bad} value(s) that are not numbers read as missing{shown}"
        if reading.leading_zeros:
            rule += "; leading zeros dropped"
        return num, "numeric", prefix + rule + _few_distinct_hint(num), _example(col, raw, _first_valid(num))
    if override == "numeric":
        why = reading.problem or "none of its values is a number"
        raise ConfigError(f"source.types: column '{col}' is declared numeric but cannot be read as numbers: {why}")
    if reading.problem:
        reason = reading.problem
    elif reading.leading_zeros:
        reason = "integers written with leading zeros are codes" + ("" if pii else f" (e.g. {min(reading.leading_zeros)!r})")
    else:
        reason = f"{len(reading.not_numbers)} of {len(distinct)} distinct values are not numbers"
        if len(reading.not_numbers) < len(distinct):
            reason += "; override to numeric to read them as missing"
        if not pii:
            reason += " (e.g. " + ", ".join(repr(v) for v in sorted(reading.not_numbers)[:3]) + ")"
    return _as_categorical(text), "categorical", "text: " + reason, _example(col, raw)


def _few_distinct_hint(num: pd.Series) -> str:
    vals = num.dropna()
    if vals.empty:
        return ""
    uniq = pd.unique(vals)
    if len(uniq) <= FEW_DISTINCT and np.all(np.asarray(uniq, dtype=float) == np.round(np.asarray(uniq, dtype=float))):
        return f"; few distinct integers ({len(uniq)}): kept numeric, override to categorical if they are codes"
    return ""


# --------------------------------------------------------------------------- outcomes


def _require(frame: pd.DataFrame, column: str, role: str) -> None:
    if column not in frame.columns:
        close = difflib.get_close_matches(str(column), [str(c) for c in frame.columns], n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise SourceError(f"flat table: {role} column '{column}' is missing{hint}")


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
        key = {v: _fmt_number(v).strip() if not isinstance(v, str) else v.strip() for v in distinct}
        bads = {_fmt_number(b).strip() if not isinstance(b, str) else b.strip() for b in bad_values}
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
    vals = [_fmt_number(v) if not isinstance(v, str) else repr(v) for v in values]
    return "[" + ", ".join(vals[:k]) + (", ..." if len(vals) > k else "") + "]"


_INT_TEXT = re.compile(r"^[+-]?(0|[1-9]\d*)$")


def _application_ids(frame: pd.DataFrame, id: str | None) -> pd.Series:
    if id is None:
        return pd.Series(np.arange(len(frame), dtype=np.int64))
    _require(frame, id, "id")
    ids = frame[id].reset_index(drop=True)
    missing = int(ids.isna().sum())
    if missing:
        raise SourceError(f"flat table: id column '{id}' has {missing} missing value(s)")
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
    _require(frame, date, "date")
    raw = frame[date].reset_index(drop=True)
    missing = int(raw.isna().sum())
    if missing:
        raise SourceError(f"flat table: date column '{date}' has {missing} missing value(s)")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = raw.dt.tz_localize(None) if getattr(raw.dt, "tz", None) is not None else raw
    else:
        stamps = _parse_dates(raw, date)
    months = stamps.dt.to_period("M").dt.to_timestamp()
    return months.astype("datetime64[ms]")


def _parse_dates(raw: pd.Series, date: str) -> pd.Series:
    if pd.api.types.is_object_dtype(raw.dtype) and raw.map(lambda v: hasattr(v, "year") and hasattr(v, "month")).all():
        return pd.to_datetime(raw)
    text = _stripped_text(raw)
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
    _require(frame, target, "target")
    values = frame[target].reset_index(drop=True)
    if _is_text(values):
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
