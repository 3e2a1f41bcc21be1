"""The asset store: run-scoped columns (PII digests) reach the run's later steps but are never written."""

from __future__ import annotations

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
