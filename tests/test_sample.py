import numpy as np
import pandas as pd
import pytest

from features.errors import SampleError
from features.sample import SampleDesign, build_modeling_sample, newest_applications, sample_summary, split_sample


def _labelled(n_months=12, per_month=200, seed=0):
    rng = np.random.default_rng(seed)
    months = np.repeat(pd.date_range("2024-01-01", periods=n_months, freq="MS"), per_month)
    return pd.DataFrame({"application_id": np.arange(len(months)), "application_month": months,
                         "target": (rng.random(len(months)) < 0.1).astype(int)})


def test_oot_is_the_last_months_and_test_is_stratified():
    out = split_sample(_labelled(), SampleDesign(oot_months=3, test_fraction=0.3, seed=1))
    oot_months = sorted(out.loc[out.split == "oot", "application_month"].unique())
    assert [str(m)[:7] for m in oot_months] == ["2024-10", "2024-11", "2024-12"]
    dev_or_test = out[out.split != "oot"]
    assert dev_or_test["application_month"].max() < pd.Timestamp("2024-10-01")
    share = (dev_or_test.split == "test").mean()
    assert share == pytest.approx(0.3, abs=0.01)
    # stratified: same bad rate in test and dev up to rounding of one loan per class
    rates = dev_or_test.groupby("split")["target"].mean()
    assert abs(rates["test"] - rates["dev"]) < 0.01


def test_split_is_deterministic_and_seed_dependent():
    a = split_sample(_labelled(), SampleDesign(seed=5))
    b = split_sample(_labelled(), SampleDesign(seed=5))
    c = split_sample(_labelled(), SampleDesign(seed=6))
    assert (a.split == b.split).all()
    assert not (a.split == c.split).all()


def test_without_dates_a_second_random_holdout_replaces_oot():
    frame = _labelled().drop(columns="application_month")
    out = split_sample(frame, SampleDesign(test_fraction=0.3))
    assert set(out.split) == {"dev", "validation", "test", "oot"}
    assert (out.split == "oot").mean() == pytest.approx(0.15, abs=0.01)


def test_errors_name_the_problem():
    with pytest.raises(SampleError, match="no labelled loans"):
        split_sample(_labelled().iloc[:0], SampleDesign())
    frame = _labelled(n_months=2)
    with pytest.raises(SampleError, match="every labelled month"):
        split_sample(frame, SampleDesign(oot_months=3))
    with pytest.raises(SampleError, match="test_fraction"):
        SampleDesign(test_fraction=1.2)


def test_modeling_sample_drops_non_features_and_young_vintages():
    labelled = _labelled(n_months=6, per_month=300)
    outcomes = labelled.assign(mob_as_of=np.repeat([17, 16, 15, 14, 13, 2], 300))
    outcomes.loc[outcomes.index[-5:], "target"] = 1  # early bads of the young vintage
    apps = labelled[["application_id"]].assign(full_name="x", income=np.arange(len(labelled)) % 7, region="north")
    sample, features = build_modeling_sample(apps, outcomes, SampleDesign(oot_months=1),
                                             never_features=("full_name",), performance_window=12)
    assert features == ["income", "region"]
    assert "full_name" not in sample.columns
    assert sample["application_month"].max() == pd.Timestamp("2024-05-01")  # the 2-MOB vintage left out
    summary = sample_summary(sample)
    overall = summary[summary["application_month"].isna()].set_index("split")
    assert overall["rows"].sum() == len(sample)
    assert overall.loc["oot", "bad_rate"] == pytest.approx(sample.loc[sample.split == "oot", "target"].mean())


def test_newest_applications_keeps_the_last_months():
    apps = pd.DataFrame({"application_date": pd.to_datetime(["2024-01-05", "2024-02-10", "2024-03-01", "2024-03-31"])})
    assert len(newest_applications(apps, 2)) == 3
