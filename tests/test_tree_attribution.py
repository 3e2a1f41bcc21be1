"""models.tree_attribution: XGBoost's own path attribution (approx_contribs), bit for bit, from the leaves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from features.errors import ModelError
from models.tree_attribution import PathAttribution


def frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 6)), columns=[f"x{i}" for i in range(6)])
    X = X.mask(rng.random(X.shape) < 0.1)  # missing values: the learned default directions
    X["many"] = pd.Categorical(rng.choice(list("abcdefgh"), n))  # more than max_cat_to_onehot: partition splits
    X["few"] = pd.Categorical(rng.choice(["u", "v"], n))  # one-hot splits
    risk = X["x0"].fillna(0) - X["x1"].fillna(1) ** 2 + X["many"].isin(["a", "c", "f"]) + (X["few"] == "u")
    return X, (risk + rng.normal(size=n) > 0.5).to_numpy().astype(int)


@pytest.mark.parametrize("params", [
    {"max_depth": 3, "learning_rate": 0.3},
    {"max_depth": 6, "learning_rate": 0.1, "subsample": 0.8, "colsample_bytree": 0.7, "gamma": 1.0},
])
def test_equals_xgboost_approx_contribs_bit_for_bit(params):
    X, y = frame(3_000, seed=1)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_cat_to_onehot": 4, "seed": 3,
                         "nthread": 2, **params}, xgb.DMatrix(X, label=y, enable_categorical=True), num_boost_round=60)
    fresh, _ = frame(2_000, seed=2)  # rows the booster never saw, scored in blocks smaller than the batch
    data = xgb.DMatrix(fresh, enable_categorical=True, missing=np.nan)
    want = booster.predict(data, pred_contribs=True, approx_contribs=True)[:, :-1]
    attribution = PathAttribution(booster)
    for threads in (1, 2):
        got = attribution.contributions(booster, data, threads=threads, block_rows=700)
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert np.abs(want).sum() > 0


def test_a_tree_that_is_a_single_leaf_credits_nothing():
    X, y = frame(500, seed=4)
    booster = xgb.train({"objective": "binary:logistic", "gamma": 1e9, "nthread": 1},
                        xgb.DMatrix(X, label=y, enable_categorical=True), num_boost_round=3)  # no split pays
    data = xgb.DMatrix(X, enable_categorical=True)
    got = PathAttribution(booster).contributions(booster, data)
    np.testing.assert_array_equal(got, booster.predict(data, pred_contribs=True, approx_contribs=True)[:, :-1])
    assert not got.any()


def test_other_boosters_and_a_changed_booster_are_refused():
    X, y = frame(500, seed=5)
    numeric = X.drop(columns=["many", "few"])
    linear = xgb.train({"booster": "gblinear", "objective": "binary:logistic"}, xgb.DMatrix(numeric, label=y), 2)
    with pytest.raises(ModelError, match="gbtree"):
        PathAttribution(linear)
    trees = xgb.train({"objective": "binary:logistic", "nthread": 1}, xgb.DMatrix(numeric, label=y), 4)
    with pytest.raises(ModelError, match="4 trees"):
        PathAttribution(trees).contributions(trees[:2], xgb.DMatrix(numeric))
