"""PII handling: PII values never leave ingestion in the clear."""

from __future__ import annotations

import pandas as pd


def mask_pii(frame: pd.DataFrame, columns, salt: str) -> pd.DataFrame:
    """``frame`` with each present PII column replaced by salted SHA-256 digests (16 hex chars, text).

    The column stays (the contract checks its presence and nullability, and a digest can
    still join records), its values are not recoverable without the salt. Nulls stay null.
    The other columns are shared with ``frame``, not copied (pandas copy-on-write); ``frame``
    itself is left as it was.
    """
    out = frame.copy(deep=False)
    for col in columns:
        if col in out.columns:
            out[col] = salted_digests(out[col], salt)
    return out


def salted_digests(values: pd.Series, salt: str) -> pd.Series:
    """The first 16 hex characters of SHA-256 of ``f"{salt}|{value}"`` per non-null value (nulls stay null).

    Hashed by DuckDB in one vectorised pass: 10M national ids in seconds, where a Python loop
    over ``hashlib`` took a minute per column. The digests are the same as ``hashlib``'s.
    """
    import duckdb
    import pyarrow as pa

    text = values if values.dtype == "str" else values.astype("str").where(values.notna())
    with duckdb.connect() as con:
        con.register("pii", pa.table({"value": pa.array(text.array)}))
        # SQL's || of a null is null: nulls stay null without a mask
        digests = con.sql("select left(sha256($prefix || value), 16) as digest from pii",
                          params={"prefix": f"{salt}|"}).to_arrow_table()
    return pd.Series(digests.column("digest").to_pandas().array, index=values.index, name=values.name)

