"""The one guard of fitted table readers (features.fitted_columns) as the WOE binner and the input reader
meet it: not fitted, a column never fitted, a column the table lacks; each error names the columns."""

from __future__ import annotations

import pandas as pd
import pytest

from features.binning import WoeBinner
from features.errors import SampleError, SourceError
from features.input_reader import InputReader


@pytest.fixture(scope="module")
def frame(german):
    return german[["duration2", "amount5", "checkingstatus1"]].head(400)


@pytest.fixture(scope="module")
def binner(german, frame):
    return WoeBinner().fit(frame[["duration2", "amount5"]], (german["GoodCredit"].head(400) == 2).astype(int))


def test_binner_transform_guard(binner, frame):
    with pytest.raises(SampleError, match=r"binner: not fitted"):
        WoeBinner().transform(frame)
    with pytest.raises(SampleError, match=r"binning transform: the binner was not fitted on column\(s\) \['checkingstatus1'\]"):
        binner.transform(frame, variables=["duration2", "checkingstatus1"])
    with pytest.raises(SampleError, match=r"binning transform: required column\(s\) missing: \['amount5'\]"):
        binner.transform(frame.drop(columns="amount5"))
    woe = binner.transform(frame.drop(columns="checkingstatus1"))  # every fitted variable, extra columns not needed
    assert list(woe.columns) == ["duration2", "amount5"] and len(woe) == len(frame)
    assert list(binner.transform(frame, variables=["amount5"]).columns) == ["amount5"]


def test_input_reader_guard(frame):
    raw = frame.astype(str)
    with pytest.raises(SourceError, match=r"input reader: not fitted"):
        InputReader().read(raw)
    reader = InputReader().fit(raw[["duration2", "amount5"]])
    with pytest.raises(SourceError, match=r"apps\.csv: the input reader was not fitted on column\(s\) \['checkingstatus1'\]"):
        reader.read(raw, ["checkingstatus1"], table="apps.csv")
    with pytest.raises(SourceError, match=r"apps\.csv: required column\(s\) missing: \['amount5'\]"):
        reader.read(raw.drop(columns="amount5"), table="apps.csv")
    typed, _ = reader.read(raw)
    assert list(typed.columns) == ["duration2", "amount5"]
    pd.testing.assert_series_equal(typed["duration2"], frame["duration2"].astype(float), check_dtype=False)
