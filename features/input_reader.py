"""How a table's raw columns are read: the fitted types and conversions of training.

:class:`InputReader` is fitted on the raw training extract (``fit``) and reads any table
in the same format the same way (``transform``), so the registered model reads a raw
scoring file exactly as training read the extract. It is part of the registered model
(:class:`models.serving.ScoringPipeline`); :func:`infer_types` is its fit + transform
with the types table, used to read the training extract.

Type inference (``fit``)
------------------------
Per column, in this order (the ``rule`` column of ``types_table_`` says which applied):

* a numeric dtype stays **numeric** -- also with few distinct integer values (``EDUCATION``
  1..6 stays numeric; the rule says how many distinct values, override to categorical if
  they are codes). Booleans become 0/1. A datetime column is reported as ``datetime`` and
  passed through (use it as the date column or exclude it).
* text is **numeric** when every non-missing value is a number as a person would write it
  (plain, thousands separators, percent, a unit or currency, ``10+``, decimal comma: the
  rules of :mod:`features.number_text`). The column's conventions are fitted
  (:class:`~features.number_text.NumberFormat`) and never re-guessed at transform.
* an integer written with a leading zero (``007``, ``01234``) is a **code**: categorical.
* everything else is **categorical** (values stripped of surrounding blanks).

With ``parse_text=False`` (a warehouse, whose schema already types the columns) text is
categorical without looking for numbers, and values are kept as the source holds them.

Numeric results are ``int64`` when every value is a whole number and none is missing
(also ``5.00E+05``, which ``pandas.read_csv`` would make a float), ``float64`` otherwise.
Examples of values in a rule are the first distinct values in sorted order, so the types
table does not depend on the row order. Categorical results are text (``str``), a number
overridden to categorical is written without a trailing ``.0``. An override to numeric
reads the values it cannot parse as missing and says how many in the rule (none parsing
at all is a ConfigError). The types table holds no raw values for columns named like PII
(name, email, phone, national id, ...) nor for a column whose values look like e-mail
addresses.

Reading new rows (``transform``)
--------------------------------
* **Numbers** are read under the column's fitted conventions (``36 months`` -> 36,
  ``83.7%`` -> 0.837, ``1.234,50`` -> 1234.5 in a decimal-comma column). A value that does
  not follow them (another unit, a missing ``%``, the other decimal mark, a word) is an
  error naming the table, column, how many rows and examples -- the file is not in the
  format the model was trained on. A column overridden to numeric in config reads such
  values as missing instead (as at training) and counts them (``unreadable``). Numbers
  stored as numbers (a Parquet file, rows already read) are taken as the values they are
  (in a percent column: the fraction, as training read ``12.5%``).
* **Categories**: a value known from training is kept; otherwise it is stripped of blanks;
  still unknown, it is matched ignoring case and runs of blanks (``" salaried "``,
  ``"SALARIED"`` -> ``"Salaried"``) when exactly one training category matches
  (``normalised``); otherwise it is passed on as a category the training extract never
  held (``new_category``), and the model applies its treatment of an unknown category.
* **Columns**: the columns asked for must all be present (a :class:`SourceError` naming
  the table and every missing column); any other column is ignored.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ConfigError, SourceError
from features.fitted_columns import check_fitted_columns
from features.number_text import (
    NumberFormat,
    _read_numbers,
    format_number,
    is_text,
    plain_numbers,
    read_numbers,
    stripped_text,
)
from features.pii_names import is_pii_name, looks_personal, shows_personal

__all__ = ["ColumnReading", "InputReader", "ReadReport", "TYPES_TABLE_COLUMNS", "infer_types"]

TYPES_TABLE_COLUMNS = ("column", "inferred", "source_dtype", "rule", "example")
FEW_DISTINCT = 10  # a numeric column with at most this many distinct integers gets a hint in its rule
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0"})


@dataclass(frozen=True)
class ColumnReading:
    """How one column is read: its type, where its values come from and the fitted conventions.

    ``source``: ``number`` (a numeric dtype), ``bool``, ``text`` (numbers written as text,
    read under ``number_format``), ``category`` or ``as_read`` (datetime and excluded
    columns, passed through). ``lenient``: unreadable numbers become missing (an override
    to numeric). ``categories``: the training values of a categorical column.
    """

    column: str
    kind: str
    source: str
    number_format: NumberFormat | None = None
    lenient: bool = False
    categories: tuple[str, ...] = ()


@dataclass
class ReadReport:
    """What reading a table found, per column: counts of rows, and a few example values."""

    rows: int = 0
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, column: str, what: str, n: int, examples: Sequence[str] = ()) -> None:
        if n:
            col = self.counts.setdefault(column, {})
            col[what] = col.get(what, 0) + int(n)
        if examples:
            shown = self.examples.setdefault(f"{column}.{what}", [])
            shown.extend(e for e in examples if e not in shown and len(shown) < 3)


class InputReader:
    """The fitted reader of a table's raw columns (see the module docstring).

    Parameters
    ----------
    types : mapping column -> "numeric" | "categorical", optional
        Overrides of the inferred type (the config's ``source.types``).
    exclude : columns passed through as read and listed as ``excluded`` (e.g. the date).
    parse_text : bool
        Look for numbers written as text (a flat extract); ``False`` for a typed source
        (a warehouse): text is categorical and kept as the source holds it.

    Fitted attributes: ``columns_`` (column -> :class:`ColumnReading`, in table order),
    ``types_table_`` (one row per column: column, inferred, source_dtype, rule, example).
    """

    def __init__(self, types: Mapping[str, str] | None = None, exclude: Iterable[str] = (), parse_text: bool = True):
        self.types = dict(types or {})
        self.exclude = list(exclude)
        self.parse_text = bool(parse_text)
        for col, kind in self.types.items():
            if kind not in ("numeric", "categorical"):
                raise ConfigError(f"source.types: column '{col}' has type {kind!r}; use 'numeric' or 'categorical'")
            if col in self.exclude:
                raise ConfigError(f"source.types: column '{col}' is also in source.exclude; keep it in one of them")

    # ------------------------------------------------------------------ fit
    def fit(self, frame: pd.DataFrame) -> InputReader:
        self._fit(frame)
        return self

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self._fit(frame)

    def _fit(self, frame: pd.DataFrame) -> pd.DataFrame:
        _check_columns(frame, self.types, "source.types")
        _check_columns(frame, self.exclude, "source.exclude")
        if frame.columns.duplicated().any():
            raise SourceError(f"flat table: duplicated column name(s) {sorted(set(frame.columns[frame.columns.duplicated()]))}")
        typed: dict[str, pd.Series] = {}
        rows: list[dict[str, Any]] = []
        readings: dict[str, ColumnReading] = {}
        for col in frame.columns:
            series = frame[col]
            row = {"column": str(col), "source_dtype": str(series.dtype)}
            if col in self.exclude:
                typed[col] = series.copy()
                readings[col] = ColumnReading(str(col), "excluded", "as_read")
                rows.append(row | {"inferred": "excluded", "rule": "excluded by config: passed through as read",
                                   "example": _example(col, _first_valid(series))})
                continue
            out, reading, rule, example = self._infer_column(str(col), series, self.types.get(col))
            typed[col] = out
            readings[col] = reading
            rows.append(row | {"inferred": reading.kind, "rule": rule, "example": example})
        self.columns_ = readings
        table = pd.DataFrame(rows, columns=list(TYPES_TABLE_COLUMNS))
        for c in TYPES_TABLE_COLUMNS:
            table[c] = table[c].astype("str")
        self.types_table_ = table
        typed_frame = pd.DataFrame(typed, index=frame.index)
        typed_frame.columns = frame.columns
        return typed_frame

    def _infer_column(self, col: str, series: pd.Series, override: str | None):
        """(typed series, reading, rule, example) for one column."""
        raw = _first_valid(series)
        pii = is_pii_name(col) or looks_personal(series)
        prefix = f"override {override}; " if override else ""

        def categorical(text: pd.Series, rule: str, example):
            cats = tuple(sorted({str(v) for v in pd.unique(text.dropna())}))
            return _as_categorical(text), ColumnReading(col, "categorical", "category", categories=cats), rule, example

        def numeric(num: pd.Series, source: str, rule: str, example, fmt=None, lenient=False):
            return num, ColumnReading(col, "numeric", source, number_format=fmt, lenient=lenient), rule, example

        if pd.api.types.is_bool_dtype(series.dtype):
            if override == "categorical":
                return categorical(stripped_text(series), "override categorical: booleans as text", _example(col, raw))
            num = _as_numeric(series.astype(float))
            return numeric(num, "bool", prefix + "boolean dtype: True/False read as 1/0", _example(col, raw, _first_valid(num)))

        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            if override == "numeric":
                raise ConfigError(f"source.types: column '{col}' holds dates and cannot be numeric")
            if override == "categorical":
                return categorical(stripped_text(series), "override categorical: dates as text", _example(col, raw))
            return (series.copy(), ColumnReading(col, "datetime", "as_read"),
                    "datetime dtype: not a feature type; use it as the date column or exclude it", _example(col, raw))

        if not self.parse_text and is_text(series) and override != "numeric":
            values = _raw_text(series)
            return categorical(values, prefix + "text in a typed source: categorical, values as the source holds them",
                               _example(col, raw))

        if isinstance(series.dtype, pd.CategoricalDtype) and override != "numeric":
            return categorical(stripped_text(series), prefix + "categorical dtype", _example(col, raw))

        if pd.api.types.is_numeric_dtype(series.dtype) and not is_text(series):
            if override == "categorical":
                text = stripped_text(series)
                return categorical(text, "override categorical: numbers read as codes", _example(col, raw, _first_valid(text)))
            num = _as_numeric(series)
            return numeric(num, "number", prefix + "numeric dtype" + _few_distinct_hint(num), _example(col, raw))

        # text (or objects of mixed types)
        text = stripped_text(series)
        codes, uniques = pd.factorize(text)
        distinct = [str(u) for u in uniques]
        if not distinct:
            if override == "categorical":
                return categorical(text, "override categorical; all values missing", None)
            return numeric(_as_numeric(pd.Series(np.nan, index=series.index)), "text", prefix + "all values missing", None,
                           fmt=NumberFormat())
        reading = _read_numbers(distinct)
        if override == "categorical":
            note = f" (would read as numbers: {reading.rule()})" if reading.numeric else ""
            return categorical(text, "override categorical" + note, _example(col, raw))
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
            return numeric(num, "text", prefix + rule + _few_distinct_hint(num), _example(col, raw, _first_valid(num)),
                           fmt=reading.format, lenient=override == "numeric")
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
        return categorical(text, "text: " + reason, _example(col, raw))

    # ------------------------------------------------------------------ transform
    def transform(self, frame: pd.DataFrame, columns: Sequence[str] | None = None, *, table: str = "input") -> pd.DataFrame:
        """The ``columns`` (default: every fitted column) of ``frame`` read as at training."""
        return self.read(frame, columns, table=table)[0]

    def read(self, frame: pd.DataFrame, columns: Sequence[str] | None = None, *, table: str = "input",
             category_dtype: bool = False) -> tuple[pd.DataFrame, ReadReport]:
        """:meth:`transform` and a :class:`ReadReport` of what reading found.

        ``category_dtype`` returns categorical columns as pandas ``category`` (same values;
        cheaper for a model that codes categories) instead of text.
        """
        # fitted = has columns_ (registered models' pickled readers carry that attribute and no newer flag)
        columns = check_fitted_columns("input reader", getattr(self, "columns_", None), columns, frame.columns,
                                       table=table, error=SourceError)
        report = ReadReport(rows=len(frame))
        out = {}
        for col in columns:
            reading = self.columns_[col]
            series = frame[col]
            if reading.kind == "numeric":
                out[col] = _read_numeric(reading, series, table, report)
            elif reading.kind == "categorical":
                out[col] = _read_category(reading, series, report, category_dtype)
            else:
                out[col] = series.copy()
        return pd.DataFrame(out, index=frame.index, columns=columns), report


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
    reader = InputReader(overrides, exclude)
    typed = reader.fit_transform(frame)
    return typed, reader.types_table_


# --------------------------------------------------------------------------- reading values


def _read_numeric(reading: ColumnReading, series: pd.Series, table: str, report: ReadReport) -> pd.Series:
    col, fmt = reading.column, reading.number_format
    if pd.api.types.is_bool_dtype(series.dtype):
        return _as_numeric(series.astype(float))
    if pd.api.types.is_numeric_dtype(series.dtype) and not is_text(series):
        return _as_numeric(series)  # numbers stored as numbers are values already (a percent column: the fraction)
    plain = reading.source == "number" or (reading.source == "text" and (fmt is None or fmt.plain))
    if plain and pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        stripped = series.str.strip()
        values = plain_numbers(stripped.mask(stripped == ""))  # one vectorised pass; None: some text is not a number
        if values is not None:
            return _as_numeric(pd.Series(values, index=series.index))
    codes, distinct = _distinct_text(series)
    present = [d for d in distinct if d is not None]
    if reading.source == "bool":
        read = np.array([1.0 if d.casefold() in _TRUE else 0.0 if d.casefold() in _FALSE else np.nan for d in present])
    else:
        read = read_numbers(present, fmt if reading.source == "text" and fmt is not None else NumberFormat())
    values = np.full(len(distinct), np.nan)
    is_present = np.array([d is not None for d in distinct], dtype=bool)
    values[is_present] = read
    bad = np.isnan(values) & is_present
    if bad.any():
        rows = np.bincount(codes[codes >= 0], minlength=len(distinct))[bad]
        shown = [] if is_pii_name(col) else [d for d, b in zip(distinct, bad) if b and not shows_personal(d)][:3]
        if not reading.lenient:
            what = {"bool": "True/False", "number": "plain numbers"}.get(reading.source, "numbers written as at training")
            raise SourceError(f"{table}: column '{col}' is numeric and must hold {what}; {int(rows.sum())} row(s) hold "
                              f"text that is not (e.g. {shown})" + _format_hint(fmt))
        report.add(col, "unreadable", int(rows.sum()), shown)
    lookup = np.append(values, np.nan)
    return _as_numeric(pd.Series(lookup[codes], index=series.index))


def _format_hint(fmt: NumberFormat | None) -> str:
    if fmt is None or fmt.plain:
        return ""
    parts = [f"decimal mark '{fmt.decimal}'"]
    if fmt.percent:
        parts.append("every value with '%'")
    if fmt.unit:
        parts.append(f"unit '{fmt.unit}'")
    return "; training read it with " + ", ".join(parts)


def _normal_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _read_category(reading: ColumnReading, series: pd.Series, report: ReadReport, category_dtype: bool) -> pd.Series:
    col = reading.column
    known = set(reading.categories)
    codes, uniques = pd.factorize(series)
    keys: dict[str, str | None] = {}
    for c in reading.categories:
        k = _normal_key(c)
        keys[k] = None if k in keys else c  # None: two training categories share the key (ambiguous)
    mapped: list[Any] = []
    normalised = np.zeros(len(uniques), dtype=bool)
    new = np.zeros(len(uniques), dtype=bool)
    for i, u in enumerate(uniques):
        text = _as_text(u)
        if text in known:
            mapped.append(text)
            continue
        stripped = text.strip()
        if not stripped:
            mapped.append(np.nan)
        elif stripped in known:
            mapped.append(stripped)
        elif keys.get(_normal_key(stripped)):
            mapped.append(keys[_normal_key(stripped)])
            normalised[i] = True
        else:
            mapped.append(stripped)
            new[i] = True
    if normalised.any() or new.any():
        rows = np.bincount(codes[codes >= 0], minlength=len(uniques))
        report.add(col, "normalised", int(rows[normalised].sum()))
        shown = [] if is_pii_name(col) else [m for m, b in zip(mapped, new) if b and not shows_personal(m)][:3]
        report.add(col, "new_category", int(rows[new].sum()), shown)
    if category_dtype:
        cats = sorted({m for m in mapped if isinstance(m, str)})
        position = {c: i for i, c in enumerate(cats)}
        lookup = np.array([position[m] if isinstance(m, str) else -1 for m in mapped] + [-1], dtype=np.int64)
        return pd.Series(pd.Categorical.from_codes(lookup[codes], categories=pd.Index(cats, dtype=object)),
                         index=series.index)
    lookup = np.array(mapped + [np.nan], dtype=object)
    return _as_categorical(pd.Series(lookup[codes], index=series.index, dtype=object))


# --------------------------------------------------------------------------- helpers


def _as_text(value: Any) -> str:
    if isinstance(value, (float, np.floating, int, np.integer)) and not isinstance(value, bool):
        return format_number(value)
    return str(value)


def _distinct_text(series: pd.Series) -> tuple[np.ndarray, list[str | None]]:
    """Codes per row (-1: missing) and each distinct value as stripped text (None: blank).

    The same text :func:`features.number_text.stripped_text` gives, computed once per
    distinct value instead of once per row.
    """
    codes, uniques = pd.factorize(series)
    return codes, [(_as_text(u).strip() or None) for u in uniques]


def _raw_text(series: pd.Series) -> pd.Series:
    """Values as text as the source holds them (no stripping); numbers without a trailing .0."""
    codes, uniques = pd.factorize(series)
    lookup = np.array([_as_text(u) for u in uniques] + [np.nan], dtype=object)
    return pd.Series(lookup[codes], index=series.index, dtype=object)


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
    raw_s = _as_text(raw)
    if is_pii_name(column) or shows_personal(raw_s):
        return None
    if typed is not None and not (isinstance(typed, float) and math.isnan(typed)):
        typed_s = format_number(typed)
        if typed_s != raw_s.strip():
            return f"{raw_s} -> {typed_s}"
    return raw_s


def _first_valid(series: pd.Series) -> Any:
    idx = series.first_valid_index()
    return None if idx is None else series.loc[idx]


def _few_distinct_hint(num: pd.Series) -> str:
    vals = num.dropna()
    if vals.empty:
        return ""
    uniq = pd.unique(vals)
    if len(uniq) <= FEW_DISTINCT and np.all(np.asarray(uniq, dtype=float) == np.round(np.asarray(uniq, dtype=float))):
        return f"; few distinct integers ({len(uniq)}): kept numeric, override to categorical if they are codes"
    return ""


def _check_columns(frame: pd.DataFrame, names: Iterable[str], what: str) -> None:
    for name in names:
        if name not in frame.columns:
            close = difflib.get_close_matches(str(name), [str(c) for c in frame.columns], n=3)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise ConfigError(f"{what}: column '{name}' is not in the table{hint}")
