"""Quarantine files: the failing rows of a table as read (PII columns dropped), with the
expectations each row failed, one Parquet file per table under the run's directory."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .table_run import TableRun


def write_quarantine(tr: TableRun, directory: Path, drop: Iterable[str]) -> Path | None:
    if not tr.failing:
        return None
    rows = np.unique(np.concatenate([np.flatnonzero(m) for _, m in tr.failing]))
    labels = pd.concat([pd.DataFrame({"row": np.flatnonzero(m), "label": lab}) for lab, m in tr.failing])
    joined = labels.groupby("row")["label"].agg(";".join)
    drop = set(drop)
    keep_pos = [(name, pos) for name, pos in zip(tr.work.columns, tr.positions)
                if name not in drop and (tr.keep_columns is None or name in tr.keep_columns)]
    out = tr.input.iloc[rows, [pos for _, pos in keep_pos]].copy()
    out.columns = [name for name, _ in keep_pos]
    for c in out.columns:
        if out[c].dtype == object:
            s = out[c]
            out[c] = s.map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)).astype(object)
    out = out.reset_index(drop=True)
    out.insert(0, "_row", rows)
    out["_failed_expectations"] = joined.reindex(rows).to_numpy()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{tr.table}.parquet"
    out.to_parquet(path, index=False)
    return path



def safe_name(run_id: str) -> str:
    """A run id usable as one directory name (no separators, no '..')."""
    name = re.sub(r"[^A-Za-z0-9._=-]+", "_", str(run_id)).strip(".")
    return name or "run"

