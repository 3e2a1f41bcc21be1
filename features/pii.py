"""PII handling: PII values never leave ingestion in the clear."""

from __future__ import annotations

import hashlib

import pandas as pd


def mask_pii(frame: pd.DataFrame, columns, salt: str) -> pd.DataFrame:
    """A copy where each present PII column holds a salted SHA-256 digest (16 hex chars) instead of the value.

    The column stays (the contract checks its presence and nullability, and a digest can
    still join records), its values are not recoverable without the salt. Nulls stay null.
    """
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            values = out[col]
            present = values.notna()
            digests = [hashlib.sha256(f"{salt}|{v}".encode()).hexdigest()[:16] for v in values[present].astype(str)]
            masked = pd.Series(pd.NA, index=out.index, dtype="object")
            masked[present] = digests
            out[col] = masked
    return out
