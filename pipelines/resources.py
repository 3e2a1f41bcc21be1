"""Dagster resources: where the loan history is read from, MLflow, and the run's work directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from features.errors import SourceError, TransientIOError
from pipelines.config import PortfolioConfig, load_config


def retry_transient(error: TransientIOError, max_retries: int, delay_seconds: float):
    """Inside a Dagster step, ask for another attempt after an exponential backoff; elsewhere (e.g.
    ``creditpipe validate``) or with retries exhausted, raise the error itself.

    This is the only retry the pipeline makes: a broken contract, config or model is not transient,
    so no RetryPolicy is attached to the jobs (it would retry every failure alike).
    """
    from dagster._core.execution.context.compute import current_execution_context

    context = current_execution_context.get()
    if context is None or max_retries == 0:
        raise error
    attempt = context.op_execution_context.retry_number + 1
    if attempt > max_retries:
        raise error
    wait = dg.RetryPolicy(max_retries=max_retries, delay=delay_seconds, backoff=dg.Backoff.EXPONENTIAL).calculate_delay(attempt)
    context.op_execution_context.log.warning(f"{error} — retry {attempt} of {max_retries} in {wait:.0f} s")
    raise dg.RetryRequested(max_retries=max_retries, seconds_to_wait=wait) from error


class PortfolioResource(dg.ConfigurableResource):
    """The portfolio config file (YAML); empty path = the embedded demo config."""

    config_path: str = ""

    def load(self) -> PortfolioConfig:
        return load_config(self.config_path or None)


def duckdb_path(url: str) -> Path:
    """``duckdb:///rel/path`` → ``rel/path``; ``duckdb:////abs/path`` → ``/abs/path``."""
    if not url.startswith("duckdb:///"):
        raise SourceError(f"source.url {url!r} is not a DuckDB URL")
    return Path(url[len("duckdb:///"):])


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def frame_from_arrow(table) -> pd.DataFrame:
    """A DataFrame with the dtypes DuckDB's ``.df()`` gives, converted column by column from Arrow.

    ``.df()`` materialises the result several times over: 16 GB peak for the 3.9 GB frame of
    10M demo applications, against 6.9 GB this way (and 2.3x faster). Integers and booleans with nulls become
    pandas' nullable integers, dates ``datetime64[us]``, decimals floats, as with ``.df()``.
    """
    import pyarrow as pa

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
                pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype()}
    names, columns = table.column_names, table.columns
    del table  # each Arrow column is freed once converted
    frame = {}
    for name in names:
        column = columns.pop(0)
        if pa.types.is_decimal(column.type):
            column = column.cast(pa.float64())
        if pa.types.is_date(column.type):
            frame[name] = column.to_pandas(date_as_object=False).astype("datetime64[us]")
        elif column.type in nullable and column.null_count:
            frame[name] = column.to_pandas(types_mapper=nullable.get)
        else:
            frame[name] = column.to_pandas()
        del column
    return pd.DataFrame(frame, copy=False)


class WarehouseResource(dg.ConfigurableResource):
    """A SQL warehouse holding ``applications`` and ``performance`` (DuckDB file or PostgreSQL)."""

    url: str
    max_retries: int = 3
    retry_delay_seconds: float = 2.0

    def read_table(self, table: str, rename: dict[str, str] | None = None) -> pd.DataFrame:
        """Read a whole table; ``rename`` maps source column names to ours."""
        if not _IDENT.match(table):
            raise SourceError(f"table name {table!r} is not a plain SQL identifier")
        try:
            frame = self._read_duckdb(table) if self.url.startswith("duckdb:///") else self._read_sql(table)
        except TransientIOError as exc:
            retry_transient(exc, self.max_retries, self.retry_delay_seconds)
        return frame.rename(columns=rename or {})

    def _read_duckdb(self, table: str) -> pd.DataFrame:
        import duckdb

        path = duckdb_path(self.url)
        if not path.is_file():
            raise SourceError(
                f"warehouse {path} does not exist; create a demo book with "
                f"`creditpipe demo-data --warehouse {path}` or point source.url at your DuckDB file"
            )
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as exc:  # e.g. a loader holds the file's write lock: try again later
            raise TransientIOError(f"warehouse {path} cannot be opened now: {str(exc).splitlines()[0]}") from None
        with con:
            tables = dict(con.execute("select table_name, table_type from information_schema.tables").fetchall())
            if table.split(".")[-1] not in tables:
                raise SourceError(f"warehouse {path} has no table '{table}' (tables: {sorted(tables)})")
            if tables[table.split(".")[-1]] != "BASE TABLE":  # a view's rows need not come in the same order twice
                return frame_from_arrow(con.sql(f"select * from {table}").to_arrow_table())
            # Column by column: DuckDB's allocator keeps what a query's Arrow result used, so reading a table in
            # one query left 2.5 GB of 10M applications' memory behind. One column at a time bounds that by the
            # largest column. The read-only connection holds the file's shared lock (no writer in between) and a
            # table scan keeps insertion order (DuckDB's preserve_insertion_order), so the columns' rows line up.
            names = [d[0] for d in con.sql(f"select * from {table} limit 0").description]
            columns = {name: frame_from_arrow(con.sql(f"select {_quoted(name)} from {table}").to_arrow_table())[name]
                       for name in names}
        if len({len(c) for c in columns.values()}) > 1:
            raise SourceError(f"warehouse {path}: table '{table}' changed while it was read; run again")
        return pd.DataFrame(columns, copy=False)

    def _read_sql(self, table: str) -> pd.DataFrame:
        import sqlalchemy as sa

        url = self.url.replace("postgresql://", "postgresql+psycopg://", 1).replace("postgres://", "postgresql+psycopg://", 1)
        try:
            engine = sa.create_engine(url)
            with engine.connect() as con:
                if not sa.inspect(con).has_table(table.split(".")[-1], schema=table.split(".")[0] if "." in table else None):
                    raise SourceError(f"warehouse {engine.url.render_as_string(hide_password=True)} has no table '{table}'")
                return pd.read_sql_table(table.split(".")[-1], con, schema=table.split(".")[0] if "." in table else None)
        except sa.exc.OperationalError as exc:  # refused connection, timeout, server restarting
            raise TransientIOError(f"warehouse {engine.url.render_as_string(hide_password=True)} is unreachable: "
                                   f"{str(exc.orig).splitlines()[0] if exc.orig else exc}") from None
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"cannot read table '{table}' from the warehouse: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and model registry; the tracking URI defaults to a SQLite store under ``.data/``."""

    tracking_uri: str = ""
    max_retries: int = 3
    retry_delay_seconds: float = 2.0

    def resolved_uri(self) -> str:
        return self.tracking_uri or default_tracking_uri()

    def client(self):
        import mlflow

        uri = self.resolved_uri()
        if uri.startswith(("http://", "https://")):
            self._probe(uri)
        mlflow.set_tracking_uri(uri)
        return mlflow.MlflowClient(uri)

    def _probe(self, uri: str) -> None:
        """A tracking server that does not answer is transient: the step is retried, not failed."""
        import requests

        try:
            requests.get(uri.rstrip("/") + "/health", timeout=10)
        except requests.RequestException as exc:
            retry_transient(TransientIOError(f"MLflow tracking server {uri} is unreachable: {type(exc).__name__}"),
                            self.max_retries, self.retry_delay_seconds)

    def run_url(self, experiment_id: str, run_id: str) -> str | None:
        """The run's page in the MLflow UI, when the tracking URI is a server."""
        uri = self.resolved_uri()
        if not uri.startswith(("http://", "https://")):
            return None
        # MLflow 3 opens a run in its GenAI view unless the link names the model-training workflow
        return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"

    def experiment_id(self, name: str) -> str:
        """The experiment's id, created with artifacts next to a local SQLite store."""
        client = self.client()
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        uri = self.resolved_uri()
        location = None
        if uri.startswith("sqlite:///"):
            location = (Path(uri[len("sqlite:///"):]).resolve().parent / "mlartifacts").as_uri()
        return client.create_experiment(name, artifact_location=location)


from pipelines.tracking import default_tracking_uri


class WorkdirResource(dg.ConfigurableResource):
    """Where a run writes its report, tables and plots; one sub-directory per Dagster run."""

    path: str = ".data/work"

    def baseline_path(self, portfolio: str) -> Path:
        """The statistics of the portfolio's last accepted batch (for distribution checks)."""
        return Path(self.path).resolve() / "baselines" / f"{portfolio}.json"

    def run_dir(self, run_id: str) -> Path:
        out = Path(self.path).resolve() / run_id
        out.mkdir(parents=True, exist_ok=True)
        return out


def resources_for(config_path: str | None, workdir: str, tracking_uri: str = "") -> dict[str, Any]:
    """The resources of the code location for one portfolio config."""
    cfg = load_config(config_path or None)
    warehouse_url = cfg.source.url if cfg.source.kind == "warehouse" else "duckdb:///.data/warehouse.duckdb"
    retries = {"max_retries": cfg.orchestration.max_retries, "retry_delay_seconds": cfg.orchestration.retry_delay_seconds}
    return {
        "portfolio": PortfolioResource(config_path=config_path or ""),
        "warehouse": WarehouseResource(url=warehouse_url, **retries),
        "mlflow": MlflowResource(tracking_uri=tracking_uri, **retries),
        "workdir": WorkdirResource(path=workdir),
    }
