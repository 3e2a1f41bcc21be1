"""Where assets keep their values between steps and runs, and the metadata a scheduler reads off them.

Tables are stored as Parquet (Arrow), not pickles: a DataFrame is one file; a dict of
DataFrames or a dataclass is a directory holding one Parquet file per table and a small
JSON manifest for the rest. Objects that are not tables (a fitted binner, models), and the
rare table Arrow cannot type, are pickled. Every materialization gets the metadata the UI shows next to it: rows, bad rate,
AUC/KS, the report path, the model version and a link to the MLflow run.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

MANIFEST = "manifest.json"

#: ``DataFrame.attrs`` key naming columns that live for the run only (PII digests): the IO manager keeps them in
#: memory for the run's later steps and never writes them, so they do not outlive the run in the asset store.
RUN_SCOPED = "creditpipe_run_scoped_columns"


def run_scoped(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """``frame`` with those of ``columns`` it has marked run-scoped (see :data:`RUN_SCOPED`); returns ``frame``."""
    frame.attrs[RUN_SCOPED] = [c for c in columns if c in frame.columns]
    return frame


def withhold(obj: Any) -> tuple[Any, dict[str, pd.DataFrame]]:
    """``obj`` without its run-scoped columns, and those columns per table (``""``: a lone frame, else the dict key).

    No table is copied: the stored frame drops columns (copy-on-write views of the rest).
    """
    def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        cols = [c for c in frame.attrs.get(RUN_SCOPED, ()) if c in frame.columns]
        if not cols:
            return frame, None
        kept = frame.drop(columns=cols)
        kept.attrs = {k: v for k, v in frame.attrs.items() if k != RUN_SCOPED}
        # Arrow-backed text: a digest column of Python strings would cost ~70 bytes a row for the rest of the run
        held = frame[cols].astype({c: "str" for c in cols if frame[c].dtype == object})
        held.attrs = {"positions": [frame.columns.get_loc(c) for c in cols]}
        return kept, held

    held: dict[str, pd.DataFrame] = {}
    if isinstance(obj, pd.DataFrame):
        obj, part = split(obj)
        if part is not None:
            held[""] = part
    elif isinstance(obj, dict) and obj and all(isinstance(v, pd.DataFrame) for v in obj.values()):
        out = {}
        for key, frame in obj.items():
            out[key], part = split(frame)
            if part is not None:
                held[key] = part
        obj = out
    return obj, held


def restore(obj: Any, held: dict[str, pd.DataFrame]) -> Any:
    """:func:`withhold` undone: each table gets its run-scoped columns back, at their places, marked again."""
    def put(frame: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
        for col, pos in sorted(zip(part.columns, part.attrs["positions"]), key=lambda cp: cp[1]):
            values = part[col] if frame.index.equals(part.index) else part[col].reindex(frame.index)
            frame.insert(pos, col, values.array)  # the held array itself, not a converted copy
        return run_scoped(frame, part.columns)

    if "" in held:
        return put(obj, held[""])
    for key, part in held.items():
        obj[key] = put(obj[key], part)
    return obj


# --------------------------------------------------------------------------- values <-> files

def write_value(obj: Any, path: Path) -> None:
    """Write ``obj`` into the directory ``path`` (replaced whole, so no stale table survives)."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if isinstance(obj, pd.DataFrame):
        manifest = {"kind": "frame"}
        _write_frame(obj, tmp / "table.parquet")
    elif isinstance(obj, dict) and obj and all(isinstance(v, pd.DataFrame) for v in obj.values()) \
            and all(isinstance(k, str) for k in obj):
        manifest = {"kind": "frames", "keys": list(obj)}
        for i, frame in enumerate(obj.values()):
            _write_frame(frame, tmp / f"{i}.parquet")
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type) and \
            any(isinstance(getattr(obj, f.name), pd.DataFrame) for f in dataclasses.fields(obj)):
        cls = type(obj)
        tables, rest = [], {}
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, pd.DataFrame):
                _write_frame(value, tmp / f"{f.name}.parquet")
                tables.append(f.name)
            else:
                rest[f.name] = value
        with open(tmp / "fields.pickle", "wb") as out:  # lists, dicts, nested objects: small
            pickle.dump(rest, out, pickle.HIGHEST_PROTOCOL)
        manifest = {"kind": "dataclass", "class": f"{cls.__module__}:{cls.__qualname__}", "tables": tables}
    else:
        manifest = {"kind": "pickle"}
        with open(tmp / "value.pickle", "wb") as out:
            pickle.dump(obj, out, pickle.HIGHEST_PROTOCOL)
    (tmp / MANIFEST).write_text(json.dumps(manifest))
    shutil.rmtree(path, ignore_errors=True)
    if path.is_file():
        path.unlink()
    tmp.rename(path)


def read_value(path: Path) -> Any:
    manifest = json.loads((path / MANIFEST).read_text())
    kind = manifest["kind"]
    if kind == "frame":
        return _read_frame(path / "table.parquet")
    if kind == "frames":
        return {key: _read_frame(path / f"{i}.parquet") for i, key in enumerate(manifest["keys"])}
    if kind == "dataclass":
        module, name = manifest["class"].split(":")
        cls = getattr(importlib.import_module(module), name)
        with open(path / "fields.pickle", "rb") as f:
            values = pickle.load(f)
        values.update({t: _read_frame(path / f"{t}.parquet") for t in manifest["tables"]})
        return cls(**values)
    with open(path / "value.pickle", "rb") as f:
        return pickle.load(f)


#: Rows converted to Arrow and written at a time: a whole 10M-row table converted at once is a second copy of it.
ROW_GROUP = 500_000


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    """Parquet, ``ROW_GROUP`` rows at a time; a table Arrow cannot type (mixed objects in a column, e.g. bins as
    intervals) is pickled beside it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pa.Schema.from_pandas(frame, preserve_index=True)  # one schema for every row group
        with pq.ParquetWriter(path, schema) as writer:
            for start in range(0, max(len(frame), 1), ROW_GROUP):
                writer.write_table(pa.Table.from_pandas(frame.iloc[start:start + ROW_GROUP], schema=schema,
                                                        preserve_index=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        path.unlink(missing_ok=True)
        with open(path.with_suffix(".pickle"), "wb") as out:
            pickle.dump(frame, out, pickle.HIGHEST_PROTOCOL)


def _read_frame(path: Path) -> pd.DataFrame:
    if not path.is_file():
        with open(path.with_suffix(".pickle"), "rb") as f:
            return pickle.load(f)
    # Arrow buffers are freed column by column as pandas takes them: no moment holds the table twice
    return pd.read_parquet(path, engine="pyarrow", to_pandas_kwargs={"self_destruct": True, "split_blocks": True})


# --------------------------------------------------------------------------- metadata

def _bad_rate(frame: pd.DataFrame) -> float | None:
    return float(frame["target"].mean()) if "target" in frame.columns and len(frame) else None


def value_metadata(obj: Any) -> dict[str, Any]:
    """What a scheduler looks for on a materialization, by the type of the value."""
    from features.sample import ModelingSample
    from models.backtest import BacktestResult
    from models.candidate_fitting import FittedCandidates
    from models.validation_report import ReportResult

    meta: dict[str, Any] = {}
    if isinstance(obj, pd.DataFrame):
        meta["rows"] = len(obj)
        if (rate := _bad_rate(obj)) is not None:
            meta["bad_rate"] = rate
    elif isinstance(obj, FittedCandidates):
        meta["candidates"] = ", ".join(obj)
        meta["dropped"] = "; ".join(f"{name}: {why}" for name, why in obj.dropped.items()) or "none"
    elif isinstance(obj, ModelingSample):
        meta["rows"] = len(obj.sample)
        meta["bad_rate"] = _bad_rate(obj.sample)
        for split, part in obj.sample.groupby("split"):
            meta[f"{split}_rows"] = len(part)
            meta[f"{split}_bad_rate"] = _bad_rate(part)
    elif isinstance(obj, BacktestResult):
        meta["chosen"] = obj.chosen
        table = obj.backtest.by_split
        for _, row in table.iterrows():
            for name in ("auc", "ks"):
                meta[f"{row['candidate']}_{row['split']}_{name}"] = float(row[name])
    elif isinstance(obj, ReportResult):
        meta["report"] = dg.MetadataValue.path(str(obj.report_path))
        meta["candidate"] = obj.candidate
        for split in ("test", "oot"):
            for name in ("auc", "ks", "bad_rate", "rows"):
                if name in obj.metrics.get(split, {}):
                    meta[f"{split}_{name}"] = obj.metrics[split][name]
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type) and \
            "mlflow_run_id" in {f.name for f in dataclasses.fields(obj)}:  # the registry's record of this run
        if obj.mlflow_run_id:
            meta["mlflow_run"] = mlflow_run_link(str(obj.mlflow_run_id))
    elif isinstance(obj, dict):
        if isinstance(obj.get("outcomes"), pd.DataFrame):
            meta["rows"] = len(obj["outcomes"])
        if "model_version" in obj:
            meta["model_version"] = str(obj["model_version"])
        if obj.get("mlflow_run_id"):
            meta["mlflow_run"] = mlflow_run_link(str(obj["mlflow_run_id"]))
    return {k: v for k, v in meta.items() if v is not None}


def mlflow_run_link(run_id: str) -> dg.MetadataValue:
    """A link to the run's page when the tracking URI is a server, else its ``runs:/`` URI."""
    from pipelines.resources import default_tracking_uri

    uri = default_tracking_uri()
    if uri.startswith(("http://", "https://")):
        return dg.MetadataValue.url(f"{uri.rstrip('/')}/#/runs/{run_id}?workflowType=machine_learning")
    return dg.MetadataValue.text(f"runs:/{run_id}")


# --------------------------------------------------------------------------- the IO manager

#: Resident memory above which a full garbage collection (0.3 s in this process) runs before a step's input loads.
FULL_COLLECTION_ABOVE_BYTES = 2 * 1024**3


def return_freed_memory() -> None:
    """Give the memory of freed objects back to the operating system.

    glibc's malloc and Arrow's allocator keep freed pages for reuse; the steps of a run share
    one process, so at 10M applications each step started gigabytes above what it held alive.
    A full ``gc.collect()`` (objects in reference cycles) runs only in a large process: it costs
    0.3 s here, which every input of a small run paid for nothing.
    """
    import ctypes
    import gc

    import pyarrow as pa

    if _resident_bytes() > FULL_COLLECTION_ABOVE_BYTES:
        gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (e.g. macOS, musl): nothing to trim
        pass


def _resident_bytes() -> int:
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):  # no /proc (not Linux): never collect
        return 0


def _tables(obj: Any) -> list[pd.DataFrame] | None:
    """The tables of a value the run may keep in memory (a frame, a dict of frames, a dataclass with frames), or None."""
    if isinstance(obj, pd.DataFrame):
        return [obj]
    if isinstance(obj, dict) and obj and all(isinstance(v, pd.DataFrame) for v in obj.values()):
        return list(obj.values())
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        frames = [v for f in dataclasses.fields(obj) if isinstance(v := getattr(obj, f.name), pd.DataFrame)]
        return frames or None
    return None


def _fresh(obj: Any) -> Any:
    """A copy of a kept value that its step may change freely: frames are copied shallowly (copy-on-write: a change
    to the copy never reaches the kept frame), everything else deeply (small: lists, dicts, settings)."""
    if isinstance(obj, pd.DataFrame):
        return obj.copy(deep=False)
    if isinstance(obj, dict):
        return {k: v.copy(deep=False) for k, v in obj.items()}
    return dataclasses.replace(obj, **{f.name: (v.copy(deep=False) if isinstance(v := getattr(obj, f.name), pd.DataFrame)
                                                else copy.deepcopy(v)) for f in dataclasses.fields(obj) if f.init})


class _RunMemory:
    """Tables the run wrote, kept for its later steps within ``budget`` bytes, least recently used dropped first.

    A run's steps share one process, and the ingested tables are read by four to six of them: on the 1M-application
    book, reading them back from Parquet cost 13 s of a two-minute run. A table whose columns are all typed (no
    ``object`` column, whose values Parquet may hand back as another dtype) is kept as written, so a step gets the
    same table whether it comes from memory or from the file; a larger book's tables exceed the budget and are read
    back as before, so memory still goes back to the system between steps.
    """

    def __init__(self, budget: int):
        self.budget = budget
        self._values: dict[str, tuple[Any, int]] = {}  # insertion order = least recently used first

    def keep(self, key: str, obj: Any) -> None:
        self.forget(key)
        tables = _tables(obj)
        if tables is None or any((t.dtypes == object).any() for t in tables):
            return
        size = int(sum(t.memory_usage(index=True, deep=False).sum() for t in tables))
        if size > self.budget:
            return
        while self._values and sum(n for _, n in self._values.values()) + size > self.budget:
            del self._values[next(iter(self._values))]
        self._values[key] = (obj, size)

    def recall(self, key: str) -> Any | None:
        if key not in self._values:
            return None
        self._values[key] = self._values.pop(key)  # most recently used now
        return _fresh(self._values[key][0])

    def forget(self, key: str) -> None:
        self._values.pop(key, None)


class _AssetFiles(dg.UPathIOManager):
    """One per run (the jobs execute in one process): run-scoped columns stay in ``_held`` and die with the run, and
    the tables the run wrote are kept in ``_memory`` for its later steps (see :class:`_RunMemory`)."""

    extension = ""

    def __init__(self, memory_budget: int = 0, **kwargs):
        super().__init__(**kwargs)
        self._held: dict[str, dict[str, pd.DataFrame]] = {}
        self._memory = _RunMemory(memory_budget)

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path) -> None:
        stored, held = withhold(obj)
        self._held.pop(str(path), None)
        if held:
            self._held[str(path)] = held
        self._memory.forget(str(path))
        write_value(stored, Path(str(path)))
        self._memory.keep(str(path), stored)
        if context.has_asset_key:
            meta = value_metadata(obj)
            if meta:
                context.add_output_metadata(meta)

    def load_from_path(self, context: dg.InputContext, path) -> Any:
        value = self._memory.recall(str(path))
        if value is None:
            return_freed_memory()  # the steps run in one process: what the last one freed should not stay ours
            path = Path(str(path))
            if not (path / MANIFEST).is_file():
                what = context.upstream_output.asset_key.to_user_string() if context.has_asset_key else str(path)
                raise FileNotFoundError(f"asset '{what}' has not been materialized yet ({path}); "
                                        "run the job that produces it first (e.g. nightly_retrain)")
            value = read_value(path)
        held = self._held.get(str(path))
        return restore(value, held) if held else value


class AssetStore(dg.ConfigurableIOManagerFactory):
    """Asset values under ``base_dir`` (default: the Dagster instance's storage directory); up to ``memory_mb`` of the
    tables a run writes stay in memory for its later steps (0: every load reads the file)."""

    base_dir: str = ""
    memory_mb: int = 1024

    def create_io_manager(self, context) -> _AssetFiles:
        from upath import UPath

        base = self.base_dir or (context.instance.storage_directory() if context.instance else ".data/dagster/storage")
        return _AssetFiles(base_path=UPath(base), memory_budget=self.memory_mb * 1024**2)


def _is_run_id(name: str) -> bool:
    return len(name) == 36 and name.count("-") == 4  # Dagster run ids are UUIDs


def clean_old_runs(keep_days: float, *roots: str | Path, now: float | None = None) -> list[Path]:
    """Delete per-run directories (named by run id: a run's report, contract results and quarantine under
    the work directory; its compute logs under the asset store) not touched for ``keep_days``.

    Asset values themselves are overwritten by the next materialization and the champion's report
    lives on in MLflow, so what grows without bound is this per-run residue. Returns what was removed.
    """
    import time

    if keep_days < 0:
        raise ValueError(f"keep_days must be >= 0, got {keep_days}")
    cutoff = (time.time() if now is None else now) - keep_days * 86400
    removed = []
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        for child in root.iterdir():
            if child.is_dir() and _is_run_id(child.name) and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)
                removed.append(child)
    return removed
