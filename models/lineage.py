"""Lineage: content fingerprints of the input tables, the config and the code of a run.

Two runs with the same fingerprint read the same rows, under the same config, with the
same code: retraining cannot give anything new, so nothing new is registered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

#: What "the code" is: every source file of the packages that shape a model.
CODE_PACKAGES = ("features", "models", "pipelines", "data_contracts")
CODE_SUFFIXES = (".py", ".yaml", ".yml", ".j2")


def table_fingerprint(frame: pd.DataFrame, ignore: tuple[str, ...] = ()) -> dict:
    """SHA-256 of a table's content (column names, dtypes and every value, row order included) and its shape.

    ``ignore``: columns left out (PII digests, salted per process, would change every run
    although the loans are the same; PII never reaches a model).
    """
    cols = [c for c in frame.columns if c not in set(ignore)]
    h = hashlib.sha256()
    h.update(json.dumps([[str(c), str(frame[c].dtype)] for c in cols]).encode())
    if cols and len(frame):
        # per-row hash of every kept column, index excluded: the same rows give the same digest
        rows = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy(dtype=np.uint64)
        h.update(rows.tobytes())
    return {"sha256": h.hexdigest(), "rows": len(frame), "columns": len(cols)}


def code_fingerprint(root: str | Path) -> str:
    """SHA-256 over the source files of :data:`CODE_PACKAGES` under ``root`` (path and content)."""
    root = Path(root)
    h = hashlib.sha256()
    for package in CODE_PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.is_file() and path.suffix in CODE_SUFFIXES and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(root)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


@dataclass(frozen=True)
class RunFingerprint:
    """The run's identity for "nothing new": tables, resolved config and code."""

    tables: dict[str, dict]
    config_sha256: str
    code_sha256: str

    @property
    def sha256(self) -> str:
        payload = json.dumps({"tables": {k: v["sha256"] for k, v in sorted(self.tables.items())},
                              "config": self.config_sha256, "code": self.code_sha256}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


def config_fingerprint(resolved_config: dict) -> str:
    return hashlib.sha256(json.dumps(resolved_config, sort_keys=True, default=str).encode()).hexdigest()
