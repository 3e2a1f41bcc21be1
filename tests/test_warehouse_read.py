"""Reading a DuckDB warehouse: the frame is what DuckDB's own pandas conversion gives, at a fraction of its memory."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from features.errors import SourceError
from pipelines.resources import WarehouseResource, frame_from_arrow

TYPED_TABLE = """
create table t as select * from (values
    (1::bigint, 10::integer, 1.5::double, 12.34::decimal(10, 2), date '2024-01-31', timestamp '2024-01-31 12:00:00', true, 'a'),
    (2, null, null, null, null, null, null, null),
    (3, 30, 3.5, 0.01, date '2023-12-01', timestamp '2023-12-01 00:00:01', false, 'é ünïcode')
) as v(id, n, x, amount, day, stamp, flag, text)
"""


def test_arrow_read_gives_the_same_frame_and_dtypes_as_duckdb_df():
    con = duckdb.connect()
    con.execute(TYPED_TABLE)
    expected = con.execute("select * from t").df()
    got = frame_from_arrow(con.sql("select * from t").to_arrow_table())
    assert list(got.dtypes.astype(str)) == list(expected.dtypes.astype(str))
    pd.testing.assert_frame_equal(got, expected)
    # a nullable integer column stays integer (not float), a column without nulls stays numpy
    assert str(got["n"].dtype) == "Int32" and str(got["id"].dtype) == "int64"


def test_warehouse_reads_the_demo_book_as_duckdb_df_does(tmp_path):
    from tests.conftest import demo_warehouse

    path = demo_warehouse(tmp_path / "w.duckdb", n_applications=800, months=12)
    warehouse = WarehouseResource(url=f"duckdb:///{path}")
    with duckdb.connect(str(path), read_only=True) as con:
        for table in ("applications", "performance"):
            pd.testing.assert_frame_equal(warehouse.read_table(table), con.execute(f"select * from {table}").df())


def test_missing_table_is_named(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table other as select 1 as x")
    with pytest.raises(SourceError, match="has no table 'applications'"):
        WarehouseResource(url=f"duckdb:///{path}").read_table("applications")


def test_columns_read_one_by_one_line_up_and_views_are_read_whole(tmp_path):
    """The table is read a column at a time (memory); rows must line up, odd column names must work, and a view
    (whose row order is not stable between queries) is read in one query."""
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute('create table applications as select i as application_id, i * 2 as "odd ""name""", '
                    "'t' || i::varchar as label from range(300000) r(i)")
        con.execute("create view recent as select * from applications where application_id % 7 = 0 order by label")
    warehouse = WarehouseResource(url=f"duckdb:///{path}")
    frame = warehouse.read_table("applications")
    assert list(frame.columns) == ["application_id", 'odd "name"', "label"]
    assert (frame['odd "name"'] == frame["application_id"] * 2).all()
    assert (frame["label"] == "t" + frame["application_id"].astype(str)).all()
    with duckdb.connect(str(path), read_only=True) as con:
        pd.testing.assert_frame_equal(warehouse.read_table("recent"), con.execute("select * from recent").df())
