"""Dagster resources: where the loan history is read from, MLflow, and the run's work directory."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from features.errors import SourceError
from pipelines.config import PortfolioConfig, load_config


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


class WarehouseResource(dg.ConfigurableResource):
    """A SQL warehouse holding ``applications`` and ``performance`` (DuckDB file or PostgreSQL)."""

    url: str

    def read_table(self, table: str, rename: dict[str, str] | None = None) -> pd.DataFrame:
        """Read a whole table; ``rename`` maps source column names to ours."""
        if not _IDENT.match(table):
            raise SourceError(f"table name {table!r} is not a plain SQL identifier")
        if self.url.startswith("duckdb:///"):
            frame = self._read_duckdb(table)
        else:
            frame = self._read_sql(table)
        return frame.rename(columns=rename or {})

    def _read_duckdb(self, table: str) -> pd.DataFrame:
        import duckdb

        path = duckdb_path(self.url)
        if not path.is_file():
            raise SourceError(
                f"warehouse {path} does not exist; create a demo book with "
                f"`creditpipe demo-data --warehouse {path}` or point source.url at your DuckDB file"
            )
        with duckdb.connect(str(path), read_only=True) as con:
            tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
            if table.split(".")[-1] not in tables:
                raise SourceError(f"warehouse {path} has no table '{table}' (tables: {sorted(tables)})")
            return con.execute(f"select * from {table}").df()

    def _read_sql(self, table: str) -> pd.DataFrame:
        import sqlalchemy as sa

        url = self.url.replace("postgresql://", "postgresql+psycopg://", 1).replace("postgres://", "postgresql+psycopg://", 1)
        try:
            engine = sa.create_engine(url)
            with engine.connect() as con:
                if not sa.inspect(con).has_table(table.split(".")[-1], schema=table.split(".")[0] if "." in table else None):
                    raise SourceError(f"warehouse {engine.url.render_as_string(hide_password=True)} has no table '{table}'")
                return pd.read_sql_table(table.split(".")[-1], con, schema=table.split(".")[0] if "." in table else None)
        except sa.exc.SQLAlchemyError as exc:
            raise SourceError(f"cannot read table '{table}' from the warehouse: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from None


class MlflowResource(dg.ConfigurableResource):
    """MLflow tracking and model registry; the tracking URI defaults to a SQLite store under ``.data/``."""

    tracking_uri: str = ""

    def resolved_uri(self) -> str:
        return self.tracking_uri or default_tracking_uri()

    def client(self):
        import mlflow

        mlflow.set_tracking_uri(self.resolved_uri())
        return mlflow.MlflowClient(self.resolved_uri())

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


def default_tracking_uri() -> str:
    import os

    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('.data/mlflow.db').resolve()}"


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
    return {
        "portfolio": PortfolioResource(config_path=config_path or ""),
        "warehouse": WarehouseResource(url=warehouse_url),
        "mlflow": MlflowResource(tracking_uri=tracking_uri),
        "workdir": WorkdirResource(path=workdir),
    }
