"""Backtest, walk-forward and the registered-model wrapper on real data (German credit, UCI); monitoring: test_monitoring.py."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.binning import BinningSpec, WoeBinner
from features.errors import ModelError
from models.backtest import run_backtest, stability_summary, walk_forward
from models.candidate import CreditModel
from models.scorecard import WoeLogisticScorecard


@pytest.fixture(scope="module")
def dated_sample(german):
    """German credit with 10 synthetic application months (rows in file order) and a dev/test/oot split."""
    X = german.drop(columns="GoodCredit")
    sample = X.assign(target=(german["GoodCredit"] == 2).astype(int).to_numpy(),
                      application_id=np.arange(len(X)),
                      application_month=pd.to_datetime("2024-01-01") + pd.to_timedelta((np.arange(len(X)) // 100) * 31, "D"))
    sample["application_month"] = sample["application_month"].dt.to_period("M").dt.to_timestamp()
    split = np.where(np.arange(len(X)) >= 800, "oot", np.where(np.arange(len(X)) % 3 == 0, "test", "dev"))
    return sample.assign(split=split), list(X.columns)


def _fit(X, y):
    binner = WoeBinner(BinningSpec(max_n_bins=5)).fit(X, y)
    sc = WoeLogisticScorecard(binner, binner.summary()["name"].head(6).tolist()).fit(X, y)
    return CreditModel("scorecard", sc).fit_calibration(X, y)


def test_backtest_metrics_match_sklearn_per_split_and_month(dated_sample):
    sample, features = dated_sample
    dev = sample[sample.split == "dev"]
    model = _fit(dev[features], dev["target"].to_numpy())
    bt = run_backtest({"scorecard": model}, sample, features)
    for split, part in sample.groupby("split"):
        row = bt.by_split.set_index("split").loc[split]
        assert row["rows"] == len(part) and row["bads"] == part["target"].sum()
        assert row["auc"] == pytest.approx(roc_auc_score(part["target"], model.predict_proba(part[features])), abs=1e-12)
    assert bt.by_split.set_index("split").loc["dev", "psi"] == pytest.approx(0.0, abs=1e-12)
    oot_months = sorted(sample.loc[sample.split == "oot", "application_month"].unique())
    assert list(bt.by_month["application_month"]) == oot_months
    assert bt.by_month["rows"].sum() == (sample.split == "oot").sum()


def test_walk_forward_refits_at_earlier_origins(dated_sample):
    sample, features = dated_sample
    calls = []

    def fit(train):  # walk_forward hands over the rows before the origin; this refit uses all of them
        calls.append(len(train))
        return _fit(train[features], train["target"].to_numpy())

    walk = walk_forward(fit, sample, features, origins=3)
    assert len(walk) == 3 and calls == list(walk["train_rows"])
    assert (walk["origin"].diff().dropna() > pd.Timedelta(0)).all()
    assert list(walk["train_rows"]) == sorted(walk["train_rows"])  # each origin trains on more history
    for _, row in walk.iterrows():
        assert row["train_rows"] == (sample["application_month"] < row["origin"]).sum()
    summary = stability_summary(walk).set_index("metric")
    assert summary.loc["auc", "min"] <= summary.loc["auc", "mean"] <= summary.loc["auc", "max"]
    assert walk_forward(fit, sample.drop(columns="application_month"), features).empty


def test_walk_forward_caps_an_origins_rows_with_a_stratified_seeded_subsample(dated_sample):
    """max_train_rows: an origin with more rows before it develops on that many of them, drawn per class (bad rate
    kept), seeded, from those rows only; an origin with fewer keeps them all; the scored rows are never cut."""
    sample, features = dated_sample
    shown: list[pd.DataFrame] = []

    def fit(train):
        shown.append(train)
        return _fit(train[features], train["target"].to_numpy())

    walk = walk_forward(fit, sample, features, origins=3, max_train_rows=550, seed=5)
    full = walk_forward(lambda train: _fit(train[features], train["target"].to_numpy()), sample, features, origins=3)
    assert list(walk["available_rows"]) == list(full["train_rows"]) == list(full["available_rows"]) == [500, 600, 800]
    assert list(walk["rows"]) == list(full["rows"]) and list(walk["bads"]) == list(full["bads"])
    assert list(walk["train_rows"]) == [len(t) for t in shown]
    assert walk["train_rows"].iloc[0] == 500 and all(abs(n - 550) <= 1 for n in walk["train_rows"].iloc[1:])  # rounding per class
    for row, train in zip(walk.itertuples(), shown):
        before = sample[sample["application_month"] < row.origin]
        assert train.index.isin(before.index).all()  # rows before the origin only
        assert train["target"].sum() == round(550 / len(before) * before["target"].sum()) or len(train) == len(before)
    assert walk["auc"].iloc[0] == full["auc"].iloc[0]  # uncapped origin: the same development
    again = []
    walk_forward(lambda t: again.append(t.index) or _fit(t[features], t["target"].to_numpy()), sample, features,
                 origins=3, max_train_rows=550, seed=5)
    assert all(a.equals(t.index) for a, t in zip(again, shown))  # seeded
    for bad in (99, 2.5, True):
        with pytest.raises(ModelError, match=f"max_train_rows must be an integer of at least 100 or None, got {bad!r}"):
            walk_forward(fit, sample, features, max_train_rows=bad)


def test_pd_and_score_are_predict_proba_and_score(dated_sample):
    sample, features = dated_sample
    dev = sample[sample.split == "dev"]
    model = _fit(dev[features], dev["target"].to_numpy())
    pd_, score = model.pd_and_score(sample[features])
    np.testing.assert_array_equal(pd_, model.predict_proba(sample[features]))
    np.testing.assert_array_equal(score, model.score(sample[features]))


def test_credit_model_decides_with_calibrated_pd_grade_and_reasons(dated_sample):
    sample, features = dated_sample
    dev = sample[sample.split == "dev"]
    model = _fit(dev[features], dev["target"].to_numpy())
    assert model.predict_proba(dev[features]).mean() == pytest.approx(dev["target"].mean(), abs=1e-6)
    out = model.decide(sample[features].head(50))
    assert list(out.columns[:3]) == ["pd", "score", "grade"] and out.filter(like="reason_").shape[1] == 4
    assert (out["score"].to_numpy() == model.score(sample[features].head(50))).all()
    assert out["grade"].between(1, 10).all()

