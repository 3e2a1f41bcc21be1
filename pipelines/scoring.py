"""Batch scoring of a raw application file with a registered model, in chunks; and the reader it registers.

``creditpipe score`` reads the file with the rules of training (:mod:`features.table_files`:
CSV values as text, the same missing tokens) and hands each chunk to the registered
:class:`models.serving.ScoringPipeline`, whose fitted reader converts it exactly as the
training extract was converted. Before any row is scored the file's header is checked: a
missing column stops it naming the file and every missing column; extra columns are
listed and never read. Rows are written to ``<output>.partial`` and renamed at the end,
so a failure leaves no output. A summary (rows; per feature: missing values, values read
as missing, categories normalised or new, values outside the development range) is
printed and written to ``<output>.summary.json``.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features.errors import ModelError, SourceError
from features.input_reader import InputReader
from features.table_files import iter_table_chunks, read_flat_table, table_columns
from models.serving import COUNT_KINDS, ScoringCounts, ScoringPipeline

__all__ = ["ScoringSummary", "conform_to_schema", "count_rows", "fitted_reader", "score_file", "scoring_names"]


def count_rows(path: Path) -> int | None:
    """Rows of a CSV (lines - header, an upper bound with quoted newlines) or Parquet file, for the progress bar."""
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as fh:
        return max(sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 24), b"")) - 1, 0)


def conform_to_schema(chunk: pd.DataFrame, schema, source: str) -> pd.DataFrame:
    """Cast already-read rows to a model's MLflow input schema: numbers to float64, text to str."""
    out = chunk.copy()
    for spec in schema.inputs:
        col, kind = spec.name, str(spec.type)
        if col not in out.columns:
            raise ModelError(f"scoring input {source}: required column '{col}' is missing")
        values = out[col]
        if "double" in kind or "float" in kind or "long" in kind or "integer" in kind:
            if not (pd.api.types.is_numeric_dtype(values) or values.isna().all()):
                bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
                raise ModelError(f"scoring input {source}: column '{col}' must be numeric; found text such as "
                                 f"{[str(v)[:20] for v in bad.head(3)]}")
            out[col] = values.astype("float64")
        else:
            text = values.astype(str).to_numpy(dtype=object)
            text[values.isna().to_numpy()] = None
            out[col] = text
    return out


@dataclass
class ScoringSummary:
    """What a scoring run did: the files, the model, rows and the per-feature counts."""

    input: str
    output: str
    model_version: str
    counts: ScoringCounts
    extra_columns: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # the process's CPU time over the same span, all threads (the cost, whatever the machine's load)

    @property
    def rows(self) -> int:
        return self.counts.rows

    def as_dict(self) -> dict:
        return {"input": self.input, "output": self.output, "model_version": self.model_version, "rows": self.rows,
                "seconds": round(self.seconds, 2), "cpu_seconds": round(self.cpu_seconds, 2),
                "extra_columns_ignored": self.extra_columns,
                "totals": self.counts.totals(), "features": self.counts.features, "examples": self.counts.examples,
                "meaning": {
                    "missing": "no value (the model's missing treatment)",
                    "unreadable": "text that is not a number in a column declared numeric: read as missing",
                    "normalised": "category matched to a training category ignoring case and blanks",
                    "new_category": "category the training extract never held",
                    "unseen_category": "category development never saw: the model's unknown treatment "
                                       "(scorecard: the binning's 'others' bin if rare categories were grouped, "
                                       "else its Missing bin; trees: missing)",
                    "below_range": "number below the development minimum: scored as in the lowest bin / leaf",
                    "above_range": "number above the development maximum: scored as in the highest bin / leaf"}}

    def text(self) -> str:
        lines = [f"scoring summary: {self.rows:,} rows; extra columns ignored: "
                 + (", ".join(self.extra_columns) if self.extra_columns else "none")]
        rows = [(col, counts) for col, counts in sorted(self.counts.features.items())
                if any(counts.get(k) for k in COUNT_KINDS if k != "missing")]
        if rows:
            kinds = [k for k in COUNT_KINDS if k != "missing" and any(c.get(k) for _, c in rows)]
            width = max(len(c) for c, _ in rows)
            lines.append(f"  {'feature':<{width}}  " + "  ".join(f"{k:>15}" for k in kinds))
            for col, counts in rows:
                lines.append(f"  {col:<{width}}  " + "  ".join(f"{counts.get(k, 0):>15,}" for k in kinds))
        else:
            lines.append("  every value was read as at training and lies within the development domain")
        return "\n".join(lines)


def score_file(model, input_path: str, output_path: str, model_version: str, chunk_rows: int = 200_000,
               progress=None) -> ScoringSummary:
    """Score the raw file ``input_path`` with a registered pyfunc ``model`` into ``output_path`` (CSV or Parquet).

    Columns are checked on the file's header before any row is read; rows keep their
    order; ``<output>.summary.json`` holds the :class:`ScoringSummary`.
    """
    import time

    import pyarrow as pa

    start, cpu_start = time.perf_counter(), time.process_time()
    src, dst = Path(input_path), Path(output_path)
    if not src.is_file():
        raise SourceError(f"scoring input {src} does not exist")
    if dst.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise SourceError(f"scoring output {dst}: unsupported file type '{dst.suffix}' (use .csv or .parquet)")
    pipeline: ScoringPipeline = model.unwrap_python_model().pipeline
    header = table_columns(src)
    label = f"scoring input {src}"
    pipeline.check_columns(header, label)
    wanted = list(pipeline.input_columns)
    if pipeline.id_column and pipeline.id_column in header and pipeline.id_column not in wanted:
        wanted.append(pipeline.id_column)
    extra = [c for c in header if c not in wanted]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".partial")
    writer, schema, counts = None, None, ScoringCounts()
    # the next chunk is read and the last one written in threads while this one is scored (pyarrow reads,
    # converts and writes without holding the GIL); rows keep their order: one reader, one writer
    io = ThreadPoolExecutor(max_workers=2, thread_name_prefix="scoring-io")
    written = None
    try:
        for chunk in _read_ahead(io, iter_table_chunks(src, wanted, chunk_rows)):
            out, found = pipeline.score(chunk, label)
            out["model_version"] = model_version
            counts.merge(found)
            table = pa.Table.from_pandas(out, preserve_index=False)
            if writer is None:  # a column that is all missing in the first chunk (a reason) is text
                schema = pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema])
                writer = _writer(tmp, schema)
            if written is not None:
                written.result()  # the previous chunk is on disk (or its error raised) before the next is queued
            written = io.submit(writer.write_table, table.cast(schema))
            if progress is not None:
                progress.update(len(out))
        if written is not None:
            written.result()
        if counts.rows == 0:
            raise SourceError(f"scoring input {src} has no rows")
        if writer is not None:
            writer.close()
            writer = None
        tmp.replace(dst)
    finally:
        io.shutdown(wait=True, cancel_futures=True)
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    summary = ScoringSummary(str(src), str(dst), model_version, counts, extra, time.perf_counter() - start,
                             time.process_time() - cpu_start)
    dst.with_name(dst.name + ".summary.json").write_text(json.dumps(summary.as_dict(), indent=2), encoding="utf-8")
    return summary


def _read_ahead(pool: ThreadPoolExecutor, chunks):
    """The chunks of ``chunks`` in order, each next one read in ``pool`` while the caller works on the current."""
    chunks = iter(chunks)
    pending = pool.submit(next, chunks, None)
    while (chunk := pending.result()) is not None:
        pending = pool.submit(next, chunks, None)
        yield chunk


def _writer(path: Path, schema):
    if path.name.lower().endswith((".parquet.partial", ".pq.partial")):
        import pyarrow.parquet as pq

        return pq.ParquetWriter(path, schema)
    import pyarrow.csv as pacsv

    return pacsv.CSVWriter(path, schema, write_options=pacsv.WriteOptions(quoting_style="needed"))


def scoring_names(cfg) -> tuple[str | None, dict[str, str]]:
    """The id column of a raw scoring file and the lender's names of features our roles renamed."""
    from pipelines.config import TableSource

    if isinstance(cfg.source, TableSource):
        return cfg.source.id, {}
    theirs = dict(cfg.source.columns.get("applications", {}))  # ours -> theirs
    return theirs.pop("application_id", "application_id"), theirs


def fitted_reader(cfg, applications: pd.DataFrame, features: list[str]) -> InputReader:
    """The input reader the registered model carries: how training read the portfolio's raw columns.

    A flat table: the reader fitted on the raw extract (re-read), checked to reproduce the
    ingested features exactly (else the file changed during the run). A warehouse: a
    reader of the typed table (its schema types the columns; text is categorical as held).
    """
    from pipelines.config import TableSource

    if isinstance(cfg.source, TableSource):
        src = cfg.source
        raw = read_flat_table(src.path)
        # as pipelines.sources.read_flat_applications reads it (infer_types is this reader's fit_transform)
        reader = InputReader(src.types, exclude=[src.date] if src.date else []).fit(raw)
        again = reader.transform(raw, features)
        if len(again) != len(applications) or not all(_same_values(again[c], applications[c]) for c in features):
            raise SourceError(f"flat table {cfg.source.path} changed during the run: reading it again does not give the "
                              "features the model was trained on; re-run the job")
        return reader
    return InputReader(parse_text=False).fit(applications[features])


def _same_values(a: pd.Series, b: pd.Series) -> bool:
    """Equal values in order (missing equal to missing), whatever the storage dtype."""
    import numpy as np

    if pd.api.types.is_numeric_dtype(a.dtype) and pd.api.types.is_numeric_dtype(b.dtype):
        return np.array_equal(a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan),
                              equal_nan=True)
    left = a.astype(object).where(a.notna(), None).tolist()
    right = b.astype(object).where(b.notna(), None).tolist()
    return left == right
