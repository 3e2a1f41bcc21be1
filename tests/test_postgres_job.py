"""The nightly job against a real PostgreSQL server (started by the test on a local socket)."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient

from tests.conftest import isolated_env, read_summary, run_creditpipe

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def pg_book(pg_url, small_book):
    """The small demo book copied into PostgreSQL, under the lender's own table and column names."""
    with duckdb.connect(str(small_book), read_only=True) as con:
        apps = con.execute("select * from applications").df()
        perf = con.execute("select * from performance").df()
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as con:
        apps.to_sql("loan_applications", con, if_exists="replace", index=False, chunksize=5000)
        perf.rename(columns={"days_past_due": "dpd", "snapshot_month": "month"}).to_sql(
            "loan_performance", con, if_exists="replace", index=False, chunksize=20000)
    engine.dispose()
    return pg_url


def test_job_runs_on_postgres_with_table_and_column_mapping(pg_book, tmp_path):
    config = tmp_path / "pg.yaml"
    config.write_text(
        "portfolio: pg_demo\n"
        "source:\n"
        f"  kind: warehouse\n  url: \"{pg_book}\"\n"
        "  tables: {applications: loan_applications, performance: loan_performance}\n"
        "  columns: {performance: {days_past_due: dpd, snapshot_month: month}}\n"
        "models:\n  xgboost: {enabled: false}\n"
    )
    env = isolated_env(tmp_path)
    proc = run_creditpipe(["run", "--config", str(config), "--workdir", str(tmp_path / "work")], env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = read_summary(tmp_path / "work")
    assert summary["model_name"] == "credit-pipeline-pg_demo" and summary["champion_version"] == "1"
    assert 0.65 <= summary["metrics"]["test"]["auc"] <= 0.92
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    assert str(client.get_model_version_by_alias("credit-pipeline-pg_demo", "champion").version) == "1"
    params = client.get_run(summary["mlflow_run_id"]).data.params
    assert "source.url" in params and "password" not in params["source.url"]


def test_missing_postgres_table_is_a_clear_error(pg_book, tmp_path):
    config = tmp_path / "pg.yaml"
    config.write_text(f"source:\n  kind: warehouse\n  url: \"{pg_book}\"\n  tables: {{applications: no_such_table}}\n")
    proc = run_creditpipe(["run", "--config", str(config), "--workdir", str(tmp_path / "w")], isolated_env(tmp_path), cwd=tmp_path)
    assert proc.returncode != 0
    assert "no_such_table" in proc.stderr and "Traceback" not in proc.stderr
