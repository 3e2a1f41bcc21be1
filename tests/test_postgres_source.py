"""The loan book in a real PostgreSQL server, read back through the warehouse resource.

A small demo book is written with pandas ``to_sql`` (SQLAlchemy + psycopg) twice: under
our table and column names, and as a lender would hold it (other table names, other
column names, in a schema of its own), read back with ``WarehouseResource.read_table``
and the column mapping of a portfolio config.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from features.demo_book import generate_loan_book
from features.errors import SourceError, TransientIOError
from features.outcomes import BadDefinition, derive_outcomes
from pipelines.config import parse_config
from pipelines.resources import WarehouseResource
from tests.pg import pg_url, postgres_server  # noqa: F401  (pg_url is a fixture)

pytestmark = pytest.mark.integration

# A lender's names for our columns (ours -> theirs), as source.columns of a config maps them.
APP_COLUMNS = {"application_id": "app_no", "application_date": "app_dt", "decision": "dec_status",
               "customer_id": "cust_ref", "requested_amount": "amt_requested"}
PERF_COLUMNS = {"loan_id": "acct_no", "snapshot_month": "stmt_month", "days_past_due": "dpd", "status": "acct_status"}
LENDER_SCHEMA = "lender"
LENDER_TABLES = {"applications": f"{LENDER_SCHEMA}.app_extract", "performance": f"{LENDER_SCHEMA}.perf_monthly"}


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_loan_book(n_applications=2_000, months=18, seed=3)


@pytest.fixture(scope="module")
def loaded(pg_url, book):  # noqa: F811
    apps, perf = book
    engine = _engine(pg_url)
    dates = {"application_date": sa.Date()}
    months = {"snapshot_month": sa.Date()}
    try:
        with engine.begin() as con:
            apps.to_sql("applications", con, index=False, dtype=dates, chunksize=1_000)
            perf.to_sql("performance", con, index=False, dtype=months, chunksize=1_000)
            con.execute(sa.text(f"CREATE SCHEMA {LENDER_SCHEMA}"))
            apps.rename(columns=APP_COLUMNS).to_sql(
                "app_extract", con, schema=LENDER_SCHEMA, index=False, dtype={APP_COLUMNS["application_date"]: sa.Date()})
            perf.rename(columns=PERF_COLUMNS).to_sql(
                "perf_monthly", con, schema=LENDER_SCHEMA, index=False, dtype={PERF_COLUMNS["snapshot_month"]: sa.Date()})
    finally:
        engine.dispose()
    return pg_url


def _same_values(read: pd.DataFrame, original: pd.DataFrame, key: list[str]) -> None:
    assert list(read.columns) == list(original.columns)
    a = read.sort_values(key).reset_index(drop=True)
    b = original.sort_values(key).reset_index(drop=True)
    for col in original.columns:
        if pd.api.types.is_datetime64_any_dtype(b[col].dtype):
            assert pd.api.types.is_datetime64_any_dtype(a[col].dtype), f"{col} came back as {a[col].dtype}"
            pd.testing.assert_series_equal(a[col].astype("datetime64[ns]"), b[col].astype("datetime64[ns]"), check_names=False)
        elif pd.api.types.is_numeric_dtype(b[col].dtype):
            assert pd.api.types.is_numeric_dtype(a[col].dtype), f"{col} came back as {a[col].dtype}"
            pd.testing.assert_series_equal(a[col].astype("float64"), b[col].astype("float64"), check_names=False)
        else:
            assert a[col].astype(object).where(a[col].notna(), None).tolist() == \
                b[col].astype(object).where(b[col].notna(), None).tolist(), col


def test_tables_read_back_with_our_names(loaded, book):
    apps, perf = book
    warehouse = WarehouseResource(url=loaded)
    got_apps = warehouse.read_table("applications")
    got_perf = warehouse.read_table("performance")
    assert len(got_apps) == len(apps) and len(got_perf) == len(perf)
    assert pd.api.types.is_datetime64_any_dtype(got_apps["application_date"].dtype)
    assert pd.api.types.is_datetime64_any_dtype(got_perf["snapshot_month"].dtype)
    assert pd.api.types.is_integer_dtype(got_apps["application_id"].dtype)
    _same_values(got_apps, apps, ["application_id"])
    _same_values(got_perf, perf, ["loan_id", "snapshot_month"])


def test_lender_names_mapped_by_the_config(loaded, book):
    apps, perf = book
    cfg = parse_config({"source": {"kind": "warehouse", "url": loaded, "tables": LENDER_TABLES,
                                   "columns": {"applications": APP_COLUMNS, "performance": PERF_COLUMNS}}})
    assert cfg.source.url == loaded  # the helper's URL is one a portfolio config accepts
    warehouse = WarehouseResource(url=cfg.source.url)
    rename = {t: {theirs: ours for ours, theirs in cfg.source.columns[t].items()} for t in ("applications", "performance")}
    got_apps = warehouse.read_table(cfg.source.tables["applications"], rename=rename["applications"])
    got_perf = warehouse.read_table(cfg.source.tables["performance"], rename=rename["performance"])
    _same_values(got_apps, apps, ["application_id"])
    _same_values(got_perf, perf, ["loan_id", "snapshot_month"])
    # Sane dtypes all the way: the outcomes from the database equal those from memory.
    bd = BadDefinition()
    pd.testing.assert_frame_equal(derive_outcomes(got_apps, got_perf, bd), derive_outcomes(apps, perf, bd))


@pytest.mark.parametrize("table", ["no_such_table", "lender.no_such_table", "no_schema.app_extract"])
def test_missing_table_is_a_source_error_naming_it(loaded, table):
    with pytest.raises(SourceError, match=table.replace(".", r"\.")):
        WarehouseResource(url=loaded).read_table(table)


def test_unreachable_server_is_a_transient_error():
    # retried by the orchestration (pipelines.resources.retry_transient), then reported naming the warehouse
    with pytest.raises(TransientIOError, match=r"warehouse postgresql\+psycopg://postgres@127.0.0.1:1/creditpipe is unreachable"):
        WarehouseResource(url="postgresql://postgres@127.0.0.1:1/creditpipe").read_table("applications")


@pytest.mark.parametrize("backend", ["pgserver", "binaries"])
def test_helper_starts_and_stops_a_server(tmp_path, backend):
    with postgres_server(tmp_path, backend=backend) as url:
        engine = _engine(url)
        with engine.connect() as con:
            assert con.execute(sa.text("select current_database()")).scalar() == "creditpipe"
        engine.dispose()
    engine = sa.create_engine(_engine(url).url.set(query={**_engine(url).url.query, "connect_timeout": "3"}))
    with pytest.raises(sa.exc.OperationalError):
        with engine.connect():
            pass
    engine.dispose()
