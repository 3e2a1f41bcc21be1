"""The asset store: run-scoped columns (PII digests) reach the run's later steps but are never written."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from pipelines.storage import RUN_SCOPED, AssetStore, read_value, restore, run_scoped, withhold

DIGESTS = ["a3f1c2d4e5b6a7f8", "0011223344556677", None, "ffeeddccbbaa9988"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"application_id": [1, 2, 3, 4], "national_id": DIGESTS, "age": [30.0, 41.0, np.nan, 55.0],
                         "email": ["e1e1e1e1e1e1e1e1", None, "e3e3e3e3e3e3e3e3", "e4e4e4e4e4e4e4e4"]},
                        index=pd.RangeIndex(10, 14))


def test_withhold_and_restore_round_trip():
    frame = run_scoped(_frame(), ["national_id", "email", "not_a_column"])
    assert frame.attrs[RUN_SCOPED] == ["national_id", "email"]
    stored, held = withhold(frame)
    assert list(stored.columns) == ["application_id", "age"] and RUN_SCOPED not in stored.attrs
    assert list(held) == [""] and list(held[""].columns) == ["national_id", "email"]
    back = restore(stored.copy(), held)
    pd.testing.assert_frame_equal(back, _frame())  # same columns, same places, same values and nulls
    assert back.attrs[RUN_SCOPED] == ["national_id", "email"]  # stored again downstream: withheld again
    # a dict of tables (a month's applications and performance): per table
    stored, held = withhold({"applications": run_scoped(_frame(), ["email"]), "performance": _frame()})
    assert list(held) == ["applications"] and "email" not in stored["applications"] and "email" in stored["performance"]
    # an unmarked frame is stored whole
    stored, held = withhold(_frame())
    assert held == {} and list(stored.columns) == list(_frame().columns)


@pytest.mark.parametrize("keep", [False, True])
def test_run_scoped_columns_reach_later_steps_but_never_the_store(tmp_path, keep):
    seen = {}

    @dg.asset
    def applications() -> pd.DataFrame:
        frame = _frame()
        return frame if keep else run_scoped(frame, ["national_id", "email"])

    @dg.asset
    def contract(applications: pd.DataFrame) -> pd.DataFrame:
        seen["columns"] = list(applications.columns)
        seen["national_id"] = applications["national_id"]
        return applications[applications["age"].notna()]  # a derived table carries the mark, and is withheld too

    result = dg.materialize([applications, contract], resources={"io_manager": AssetStore(base_dir=str(tmp_path))})
    assert result.success
    assert seen["columns"] == list(_frame().columns)  # in the run: every column, in place
    pd.testing.assert_series_equal(seen["national_id"], _frame()["national_id"])
    stored = read_value(tmp_path / "applications")
    derived = read_value(tmp_path / "contract")
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    if keep:
        assert "national_id" in stored and "national_id" in derived
        assert b"a3f1c2d4e5b6a7f8" in files
    else:
        assert list(stored.columns) == ["application_id", "age"] and list(derived.columns) == ["application_id", "age"]
        for needle in (b"a3f1c2d4e5b6a7f8", b"e3e3e3e3e3e3e3e3", b"national_id", b"email"):
            assert needle not in files, needle
        pd.testing.assert_frame_equal(stored, _frame()[["application_id", "age"]])


def test_tables_are_written_in_row_groups_and_read_back_the_same(tmp_path, monkeypatch):
    """A table goes to Parquet a row group at a time (a 10M-row table is never converted to Arrow whole); every
    dtype, null and index comes back as one whole-table write gives it."""
    import pyarrow.parquet as pq

    from pipelines import storage
    from pipelines.storage import write_value

    rng = np.random.default_rng(0)
    n = 1_003
    frame = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64), "x": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "text": np.where(rng.random(n) < 0.2, None, rng.choice(["a", "bb", "ccc"], n)).astype(object),
        "late_text": np.array([None] * 600 + ["z"] * (n - 600), dtype=object),  # the first groups hold no value
        "cat": pd.Categorical(rng.choice(["low", "high"], n), categories=["low", "high"]),
        "month": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        "flag": rng.random(n) < 0.5}, index=pd.Index(np.arange(n) * 3 + 7, name="row"))
    write_value(frame, tmp_path / "whole")
    monkeypatch.setattr(storage, "ROW_GROUP", 100)
    write_value(frame, tmp_path / "grouped")
    assert pq.ParquetFile(tmp_path / "grouped" / "table.parquet").num_row_groups == 11
    pd.testing.assert_frame_equal(read_value(tmp_path / "grouped"), read_value(tmp_path / "whole"))
    back = read_value(tmp_path / "grouped")
    pd.testing.assert_frame_equal(back[["id", "x", "cat", "month", "flag"]], frame[["id", "x", "cat", "month", "flag"]])
    assert back["late_text"].iloc[600:].eq("z").all() and back["late_text"].iloc[:600].isna().all()
    empty = frame.iloc[:0]
    write_value(empty, tmp_path / "empty")
    assert read_value(tmp_path / "empty").shape == (0, frame.shape[1])


# --------------------------------------------------------------------------- the run's tables kept in memory

@dataclass
class Sample:
    """A dataclass asset holding a table and a list (as ``ModelingSample`` does)."""

    sample: pd.DataFrame
    features: list


def _typed() -> pd.DataFrame:
    """A table of every dtype the pipeline's tables hold: ints, nullable ints, floats with NaN, Arrow-backed text
    with nulls, categories, dates, booleans, a named non-default index."""
    n = 50
    rng = np.random.default_rng(1)
    return pd.DataFrame({
        "loan_id": np.arange(n, dtype=np.int64), "term": pd.array(rng.integers(0, 3, n), dtype="Int64"),
        "balance": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "status": pd.array(np.where(rng.random(n) < 0.2, None, rng.choice(["current", "charged_off"], n)), dtype="str"),
        "grade": pd.Categorical(rng.choice(["A", "B"], n), categories=["B", "A"]),
        "month": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
        "bad": rng.random(n) < 0.3}, index=pd.Index(np.arange(n) * 2 + 5, name="row"))


def test_later_steps_get_the_tables_the_run_wrote_as_the_file_holds_them_and_may_change_their_copy(tmp_path, monkeypatch):
    """A typed table is handed to later steps from memory: equal, dtype for dtype, to what the file gives back, and
    a step that changes its input (a new column, new values) changes its own copy, never the next step's."""
    from pipelines import storage

    reads, seen = [], {}
    real_read = storage.read_value
    monkeypatch.setattr(storage, "read_value", lambda path: reads.append(path.name) or real_read(path))

    @dg.asset
    def book() -> pd.DataFrame:
        return _typed()

    @dg.asset
    def outcomes() -> dict:
        return {"outcomes": _typed(), "vintages": _typed().iloc[:5]}

    @dg.asset
    def sample() -> Sample:
        return Sample(_typed(), ["balance", "grade"])

    @dg.asset
    def careless(book: pd.DataFrame, outcomes: dict, sample: Sample) -> int:
        book["balance"] = 0.0
        book["new"] = 1
        outcomes["outcomes"].loc[:, "term"] = 99
        sample.features.append("new")
        sample.sample.drop(columns="grade", inplace=True)
        return 1

    @dg.asset(deps=["careless"])
    def reader(book: pd.DataFrame, outcomes: dict, sample: Sample) -> int:
        seen.update(book=book, outcomes=outcomes, sample=sample)
        return 1

    result = dg.materialize([book, outcomes, sample, careless, reader],
                            resources={"io_manager": AssetStore(base_dir=str(tmp_path))})
    assert result.success
    assert reads == []  # every load came from memory
    pd.testing.assert_frame_equal(seen["book"], real_read(tmp_path / "book"))
    pd.testing.assert_frame_equal(seen["book"], _typed())
    for key, frame in real_read(tmp_path / "outcomes").items():
        pd.testing.assert_frame_equal(seen["outcomes"][key], frame)
    stored = real_read(tmp_path / "sample")
    pd.testing.assert_frame_equal(seen["sample"].sample, stored.sample)
    assert seen["sample"].features == stored.features == ["balance", "grade"]


def test_untyped_and_oversized_tables_are_read_back_from_the_file(tmp_path, monkeypatch):
    """An ``object`` column (whose values Parquet may return as another dtype) or a table over the budget is not
    kept: the next step reads the file. The least recently used table goes first when the budget is full."""
    from pipelines import storage

    reads = []
    real_read = storage.read_value
    monkeypatch.setattr(storage, "read_value", lambda path: reads.append(path.name) or real_read(path))

    @dg.asset
    def mixed() -> pd.DataFrame:
        return _typed().assign(note=pd.Series(["a", None] * 25, index=_typed().index, dtype=object))

    @dg.asset
    def big() -> pd.DataFrame:
        return pd.DataFrame({"x": np.zeros(300_000)})  # 2.4 MB, over a 2 MB budget

    @dg.asset
    def small() -> pd.DataFrame:
        return _typed()

    @dg.asset
    def reader(mixed: pd.DataFrame, big: pd.DataFrame, small: pd.DataFrame) -> int:
        return len(mixed) + len(big) + len(small)

    store = AssetStore(base_dir=str(tmp_path), memory_mb=2)
    assert dg.materialize([mixed, big, small, reader], resources={"io_manager": store}).success
    assert sorted(reads) == ["big", "mixed"]

    memory = storage._RunMemory(budget=2 * _typed().memory_usage(index=True).sum())
    for key in ("a", "b", "c"):
        memory.keep(key, _typed())
    assert memory.recall("a") is None and memory.recall("b") is not None  # "a" made room for "c"
    memory.keep("d", _typed())  # "b" was just used: "c" goes
    assert memory.recall("c") is None and memory.recall("b") is not None and memory.recall("d") is not None
