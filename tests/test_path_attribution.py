"""The compiled walk of :mod:`models.path_attribution` against XGBoost itself, to the bit: the PD against
``Booster.predict``, the attributions against ``predict(pred_contribs=True, approx_contribs=True)``, on real
data (UCI German credit with its text attributes as categories and missing values injected, UCI Taiwan),
with trees of several shapes."""

import numba
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from features.errors import ModelError
from models.challenger import XGBoostChallenger
from models.path_attribution import PathAttribution
from models.scorecard import ScoreScaling
from models.tree_inputs import RawFeatureFrame


def xgboost_own(booster, data):
    return booster.predict(data), booster.predict(data, pred_contribs=True, approx_contribs=True)[:, :-1]


@pytest.fixture(scope="module")
def german_frame(german):
    """German's attributes as the challenger reads them, 10% of six columns (numeric and text) missing."""
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    X = german.drop(columns=["GoodCredit", "age13", "status9"]).astype(object)
    rng = np.random.default_rng(7)
    for col in ["checkingstatus1", "duration2", "history3", "amount5", "savings6", "installment8"]:
        X.loc[rng.random(len(X)) < 0.1, col] = None
    X = X.infer_objects()
    return RawFeatureFrame().fit(X), X, y


@pytest.mark.parametrize("params", [
    {"max_depth": 3},  # the search's usual shape
    {"max_depth": 6, "max_cat_to_onehot": 1},  # partition splits: sets of categories
    {"max_depth": 4, "max_cat_to_onehot": 10},  # one-hot splits: one category against the rest
    {"max_depth": 0, "grow_policy": "lossguide", "max_leaves": 31},  # unbalanced trees of unequal depth
    {"max_depth": 2, "base_score": 0.3, "monotone_constraints": "(1)"},  # a base score given, a constraint
])
def test_pd_and_attributions_equal_xgboost_to_the_bit_on_german(german_frame, params):
    reader, X, y = german_frame
    data = xgb.DMatrix(reader.transform(X), label=y, enable_categorical=True, missing=np.nan)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "learning_rate": 0.1, "seed": 1,
                         **params}, data, 150)
    matrix = reader.booster_matrix(X)
    pd_, values = PathAttribution().fit(booster).explain(matrix)
    own_pd, own = xgboost_own(booster, data)
    assert pd_.dtype == own_pd.dtype == np.float32
    np.testing.assert_array_equal(pd_, own_pd)
    np.testing.assert_array_equal(values, own)
    assert np.isnan(matrix).any()  # the missing values took their default directions


def test_pd_and_attributions_equal_xgboost_on_taiwan_with_several_threads(taiwan):
    X = taiwan.drop(columns=["ID", "SEX", "MARRIAGE", "AGE", "default_next_month"]).astype(float)
    y = taiwan["default_next_month"].to_numpy()
    data = xgb.DMatrix(X, label=y, nthread=2)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 5, "eta": 0.1,
                         "subsample": 0.8, "seed": 3}, data, 120)
    walk = PathAttribution().fit(booster)
    matrix = RawFeatureFrame().fit(X).booster_matrix(X)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = walk.explain(matrix)
    finally:
        numba.set_num_threads(threads)
    pd_, values = walk.explain(matrix)
    own_pd, own = xgboost_own(booster, data)
    np.testing.assert_array_equal(pd_, own_pd)
    np.testing.assert_array_equal(values, own)
    np.testing.assert_array_equal(one[0], pd_)  # each row summed by one thread in tree order: any thread count
    np.testing.assert_array_equal(one[1], values)
    assert PathAttribution.agrees(booster, data, pd_, values)
    assert not PathAttribution.agrees(booster, data, pd_, values + np.float32(1e-3))


def test_challenger_explain_is_xgboost_own_path_attribution(german_frame, german):
    _, _, y = german_frame
    X = german.drop(columns=["GoodCredit", "age13", "status9"]).head(600)
    ch = XGBoostChallenger(ScoreScaling(), n_search=2, seed=5).fit(X.iloc[:400], y[:400], X.iloc[400:], y[400:600])
    scoring = X.iloc[[0, 1, 2, 3]].copy()
    scoring.loc[scoring.index[0], "purpose4"] = "a purpose never seen"  # unseen category: missing, as XGBoost reads it
    raw, points, values = ch.explain(scoring)
    data = ch._dmatrix(scoring)
    np.testing.assert_array_equal(raw, ch.predict_proba(scoring))
    np.testing.assert_array_equal(values.to_numpy(), ch.contributions(scoring, approx=True).drop(columns="bias"))
    np.testing.assert_array_equal(points, ch.score(scoring))
    assert list(values.columns) == ch.features_ and values.index.equals(scoring.index)
    np.testing.assert_array_equal(values.to_numpy(), xgboost_own(ch.booster_, data)[1])


def test_a_batch_the_walk_gets_wrong_is_scored_by_xgboost_with_a_warning(german_frame, german, monkeypatch):
    _, _, y = german_frame
    X = german.drop(columns=["GoodCredit", "age13", "status9"]).head(600)
    ch = XGBoostChallenger(ScoreScaling(), n_search=1, seed=5).fit(X.iloc[:400], y[:400], X.iloc[400:], y[400:600])
    right = ch.explain(X)
    wrong = PathAttribution.explain

    def off_by_a_little(self, matrix):
        pd_, values = wrong(self, matrix)
        return pd_ + np.float32(1e-6), values

    monkeypatch.setattr(PathAttribution, "explain", off_by_a_little)
    with pytest.warns(RuntimeWarning, match="differs from XGBoost's own"):
        fallback = ch.explain(X)
    np.testing.assert_array_equal(fallback[0], right[0])
    pd.testing.assert_frame_equal(fallback[2], right[2])


def test_the_compiled_walk_is_not_pickled_with_the_model(german):
    import pickle

    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    X = german.drop(columns=["GoodCredit", "age13", "status9"])
    ch = XGBoostChallenger(ScoreScaling(), n_search=1).fit(X.iloc[:700], y[:700], X.iloc[700:], y[700:])
    before = ch.explain(X.iloc[700:])
    assert ch._path_attribution is not None
    back = pickle.loads(pickle.dumps(ch))
    assert "_path_attribution" not in back.__dict__
    after = back.explain(X.iloc[700:])
    np.testing.assert_array_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[2], before[2])


def test_refused_boosters_and_inputs_are_named():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    data = xgb.DMatrix(X, label=y)
    with pytest.raises(ModelError, match="binary:logistic.*'reg:squarederror'"):
        PathAttribution().fit(xgb.train({"objective": "reg:squarederror"}, data, 3))
    with pytest.raises(ModelError, match="gbtree.*'dart'"):
        PathAttribution().fit(xgb.train({"objective": "binary:logistic", "booster": "dart"}, data, 3))
    with pytest.raises(ModelError, match="must be an xgboost.Booster"):
        PathAttribution().fit("model")
    walk = PathAttribution().fit(xgb.train({"objective": "binary:logistic"}, data, 3))
    with pytest.raises(ModelError, match=r"shape \(200, 2\), the booster reads 3 features"):
        walk.explain(X[:, :2])
    with pytest.raises(ModelError, match="not fitted"):
        PathAttribution().explain(X)
    frame = pd.DataFrame(X.astype(float), columns=["a", "b", "c"])
    frame.loc[3, "b"] = np.inf
    frame.loc[4, "b"] = 1e300  # beyond float32: XGBoost reads it as inf and refuses it
    with pytest.raises(ModelError, match="'b' holds 2 infinite value"):
        RawFeatureFrame().fit(frame).booster_matrix(frame)


def test_pd_and_attributions_equal_xgboost_on_the_demo_book():
    """The demo applications: eight text attributes as categories (one-hot and partition splits), nullable
    integers, missing bureau data; the outcome a synthetic bad flag from the bureau score (the walk does not care
    what the label means, only that the trees split on every kind of column)."""
    from features.demo_book import generate_loan_book

    apps, _ = generate_loan_book(n_applications=6000, months=3, seed=11)
    X = apps.drop(columns=["application_id", "customer_id", "application_date", "full_name", "national_id", "phone",
                           "email"])
    rng = np.random.default_rng(11)
    y = (rng.random(len(X)) < 1 / (1 + np.exp((X["bureau_score"].to_numpy(float) - 560) / 40))).astype(int)
    reader = RawFeatureFrame().fit(X)
    assert reader.categories_  # text columns are categorical
    data = xgb.DMatrix(reader.transform(X), label=y, enable_categorical=True, missing=np.nan)
    booster = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 5, "eta": 0.1,
                         "max_cat_to_onehot": 4, "seed": 2}, data, 200)
    matrix = reader.booster_matrix(X)
    assert np.isnan(matrix).any()
    walk = PathAttribution().fit(booster)
    assert (walk.category_words_ > 0).any()  # the trees do split on categories
    pd_, values = walk.explain(matrix)
    own_pd, own = xgboost_own(booster, data)
    np.testing.assert_array_equal(pd_, own_pd)
    np.testing.assert_array_equal(values, own)
