"""Batch scoring of an application file with a registered model, in chunks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.errors import ModelError, SourceError


def _chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if path.suffix.lower() in (".parquet", ".pq"):
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()
    elif path.suffix.lower() in (".csv", ".txt"):
        reader = pd.read_csv(path, chunksize=chunk_rows, low_memory=False)
        yield from reader
    else:
        raise SourceError(f"scoring input {path}: unsupported file type '{path.suffix}' (use .csv or .parquet)")


def count_rows(path: Path) -> int | None:
    if path.suffix.lower() in (".parquet", ".pq"):
        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def conform_to_schema(chunk: pd.DataFrame, schema, source: str) -> pd.DataFrame:
    """Cast a chunk to the model's input schema: numbers to float64, text to str; wrong types are an error."""
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


def score_file(model, input_path: str, output_path: str, model_version: str, chunk_rows: int = 200_000,
               progress=None) -> int:
    """Score ``input_path`` with a pyfunc ``model`` into ``output_path`` (CSV or Parquet); returns rows scored.

    Columns and types are checked on the first chunk before anything is written; row order is kept.
    """
    src, dst = Path(input_path), Path(output_path)
    if not src.is_file():
        raise SourceError(f"scoring input {src} does not exist")
    required = model.metadata.get_input_schema().input_names()
    id_column = (model.metadata.metadata or {}).get("id_column")
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".partial")
    writer, total = None, 0
    try:
        for i, chunk in enumerate(_chunks(src, chunk_rows)):
            if i == 0:
                missing = [c for c in required if c not in chunk.columns]
                if missing:
                    raise ModelError(f"scoring input {src}: required columns missing: {missing}")
            features = conform_to_schema(chunk[required], model.metadata.get_input_schema(), str(src))
            try:
                out = model.predict(features)
            except ModelError:
                raise
            except Exception as exc:  # MLflow schema enforcement: wrong types
                raise ModelError(f"scoring input {src}: rows {total}..{total + len(chunk) - 1} do not match the model's "
                                 f"input schema: {str(exc).splitlines()[0][:400]}") from None
            out["model_version"] = model_version
            if id_column and id_column in chunk.columns:
                out.insert(0, id_column, chunk[id_column].to_numpy())
            total += len(out)
            if dst.suffix.lower() in (".parquet", ".pq"):
                table = pa.Table.from_pandas(out, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
            else:
                out.to_csv(tmp, mode="a" if i else "w", header=i == 0, index=False)
            if progress is not None:
                progress.update(len(out))
        if writer is not None:
            writer.close()
            writer = None
        if total == 0:
            raise SourceError(f"scoring input {src} has no rows")
        tmp.replace(dst)
    finally:
        if writer is not None:
            writer.close()
        if tmp.exists():
            tmp.unlink()
    return total
