"""Reading a flat table file (CSV or Parquet) exactly the same way at training and at scoring.

Library code: the file is only ever opened for reading. :func:`read_flat_table` reads a
whole extract for training; :func:`table_columns` and :func:`iter_table_chunks` read a
file of the same format for scoring, chunk by chunk and only the columns asked for, with
the same rules (CSV values as text, the same missing-value tokens, header names stripped),
so a value reaches :class:`features.input_reader.InputReader` as the same text both times.

The choices a validator should know about:

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
  ``00123`` stays ``00123``; the input reader decides the types. Missing values are
  empty fields and the tokens in :data:`NA_TOKENS`. Header names are stripped of
  surrounding blanks; an empty or duplicated header name is an error.
* **Structure** is checked before parsing: every row must have the header's field count
  (a ragged or truncated file names the line), a quote left open at the end of the file
  is an error, blank lines are skipped, a file with a header and no rows is an error.
* The raw file is only ever opened for reading.
* **Scoring** reads the same way without the whole-file structure pass (a scoring file
  can be large): a ragged row or a bad byte stops the read with the file named, and only
  the columns the model needs are parsed.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from features.errors import SourceError

__all__ = ["CSV_SUFFIXES", "NA_TOKENS", "PARQUET_SUFFIXES", "iter_table_chunks", "read_flat_table", "table_columns"]

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = (",", ";", "\t")
# Text read as missing in a CSV (besides an empty field).
NA_TOKENS = ("NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "None", "#N/A")

_SNIFF_BYTES = 256 * 1024
_CHUNK = 1 << 20


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


def _split_lines(sample: str, at_eof: bool) -> list[str]:
    """Non-blank lines of a text sample; drops a last line the sample cut."""
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


# --------------------------------------------------------------------------- scoring: chunks of a file


def _csv_head(path: Path, encoding: str) -> tuple[str, list[str]]:
    """Delimiter and raw header names of a CSV, from its first bytes only."""
    if path.stat().st_size == 0:
        raise SourceError(f"flat table {path} is empty (0 bytes)")
    enc = "utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding
    try:
        with open(path, encoding=enc, newline="") as fh:
            sample = fh.read(_SNIFF_BYTES)
            at_eof = not fh.read(1)
    except UnicodeDecodeError as exc:
        raise SourceError(f"flat table {path} is not valid UTF-8 near byte {exc.start}; re-export the file as UTF-8") from None
    if not sample.strip():
        raise SourceError(f"flat table {path} is empty (only blank lines)")
    delimiter = _sniff_delimiter(path, sample, at_eof)
    header = next(r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r and any(f.strip() for f in r))
    return delimiter, header


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return "parquet"
    if suffix in CSV_SUFFIXES:
        return "csv"
    raise SourceError(
        f"flat table {path}: unsupported file type '{path.suffix or '(none)'}'; "
        f"use CSV ({', '.join(CSV_SUFFIXES)}) or Parquet ({', '.join(PARQUET_SUFFIXES)})"
    )


def _raw_names(path: Path, encoding: str) -> list[str]:
    if not path.is_file():
        raise SourceError(f"flat table {path} does not exist")
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise SourceError(f"flat table {path} is not a readable Parquet file: {exc}") from None
    return _csv_head(path, encoding)[1]


def table_columns(path: str | Path, *, encoding: str = "utf-8") -> list[str]:
    """The column names of a CSV or Parquet file (stripped, checked as at training), reading only its head."""
    path = Path(path)
    return _check_header(path, _raw_names(path, encoding))


def iter_table_chunks(path: str | Path, columns: Sequence[str], chunk_rows: int = 200_000, *,
                      encoding: str = "utf-8") -> Iterator[pd.DataFrame]:
    """The file's ``columns`` (stripped header names) in chunks of at most ``chunk_rows`` rows, in file order.

    CSV values come as text with the :data:`NA_TOKENS` and empty fields missing, as
    :func:`read_flat_table` reads them; Parquet columns keep their types. Columns not
    asked for are never parsed. A ragged row, a bad byte or an unreadable file is a
    :class:`SourceError` naming the file.
    """
    import pyarrow as pa

    path = Path(path)
    if chunk_rows < 1:
        raise SourceError(f"scoring: chunk_rows must be at least 1, got {chunk_rows}")
    raw = _raw_names(path, encoding)
    stripped = _check_header(path, raw)
    by_name = dict(zip(stripped, raw))
    missing = [c for c in columns if c not in by_name]
    if missing:
        raise SourceError(f"flat table {path}: required column(s) missing: {missing}")
    wanted = [by_name[c] for c in columns]
    if _kind(path) == "parquet":
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows, columns=wanted)
    else:
        batches = _csv_batches(path, encoding, wanted)
    pending: list[pa.RecordBatch] = []
    held = 0
    try:
        for batch in batches:
            pending.append(batch)
            held += batch.num_rows
            while held >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield _to_frame(table.slice(0, chunk_rows), columns)
                rest = table.slice(chunk_rows)
                pending, held = rest.to_batches(), rest.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceError(f"flat table {path} cannot be read: {str(exc).splitlines()[0][:300]}") from None
    if held:
        yield _to_frame(pa.Table.from_batches(pending), columns)


def _csv_batches(path: Path, encoding: str, wanted: list[str]):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter, _ = _csv_head(path, encoding)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(encoding=encoding, block_size=16 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=True),
        convert_options=pacsv.ConvertOptions(include_columns=wanted, column_types={c: pa.string() for c in wanted},
                                             null_values=["", *NA_TOKENS], strings_can_be_null=True,
                                             quoted_strings_can_be_null=True),
    )
    yield from reader


def _to_frame(table, columns: Sequence[str]) -> pd.DataFrame:
    frame = table.to_pandas()
    frame.columns = list(columns)
    return frame
