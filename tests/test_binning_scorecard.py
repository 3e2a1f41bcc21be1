"""WOE binning, feature selection and the points scorecard on real data (German credit, UCI)."""

import math

import numpy as np
import pandas as pd
import pytest
from optbinning import OptimalBinning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from features.binning import BinningSpec, WoeBinner, split_feature_types
from features.errors import ConfigError, ModelError, SampleError
from features.selection import SelectionRules, select_features
from models.scorecard import ScoreScaling, WoeLogisticScorecard


@pytest.fixture(scope="module")
def german_xy(german):
    X = german.drop(columns="GoodCredit")
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def binner(german_xy):
    X, y = german_xy
    return WoeBinner(BinningSpec(max_n_bins=6)).fit(X, y)


def test_feature_types_are_inferred(german_xy):
    X, _ = german_xy
    numeric, categorical = split_feature_types(X, list(X.columns))
    assert {"duration2", "amount5", "age13"} <= set(numeric)
    assert {"checkingstatus1", "history3", "purpose4"} <= set(categorical)


def test_woe_matches_a_hand_computed_table(binner, german_xy):
    X, y = german_xy
    table = binner.binning_table("duration2")
    bins = binner.transform(X, metric="indices", variables=["duration2"])["duration2"].to_numpy()
    total_bad, total_good = y.sum(), (1 - y).sum()
    iv = 0.0
    for i, row in table.iterrows():
        bad, good = y[bins == i].sum(), (1 - y[bins == i]).sum()
        assert (row["bads"], row["goods"]) == (bad, good)
        if bad and good:
            woe = math.log((good / total_good) / (bad / total_bad))  # ln(%good / %bad)
            assert row["woe"] == pytest.approx(woe, abs=1e-12)
            iv += (good / total_good - bad / total_bad) * woe
    assert binner.summary().set_index("name").loc["duration2", "iv"] == pytest.approx(iv, abs=1e-12)


def test_binning_matches_plain_optbinning(binner, german_xy):
    X, y = german_xy
    plain = OptimalBinning(name="amount5", dtype="numerical", max_n_bins=6, min_bin_size=0.05,
                           monotonic_trend="auto_asc_desc").fit(X["amount5"].to_numpy(dtype=float), y)
    ours = binner.binning_table("amount5")["woe"].to_numpy(dtype=float)
    theirs = plain.binning_table.build().drop(index="Totals")["WoE"].to_numpy(dtype=float)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_transform_is_woe_of_each_row(binner, german_xy):
    X, _ = german_xy
    woe = binner.transform(X.head(50))
    table = binner.binning_table("checkingstatus1")
    assert set(np.round(woe["checkingstatus1"], 10)) <= set(np.round(table["woe"].astype(float), 10))


def test_special_codes_get_their_own_bin():
    rng = np.random.default_rng(3)
    score = rng.integers(300, 850, 4000).astype(float)
    score[:400] = -1
    y = (rng.random(4000) < np.where(score < 0, 0.3, 0.05 + (850 - score) / 3000)).astype(int)
    b = WoeBinner(BinningSpec(special_codes={"score": [-1]})).fit(pd.DataFrame({"score": score}), y)
    table = b.binning_table("score").set_index("bin")
    assert table.loc["Special", "count"] == 400
    assert table.loc["Special", "bad_rate"] == pytest.approx(y[:400].mean())


def test_fixed_splits_and_bad_settings():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=3000)})
    y = (rng.random(3000) < 1 / (1 + np.exp(-X["x"] * 2))).astype(int)
    b = WoeBinner(BinningSpec(fixed_splits={"x": [0.0]})).fit(X, y)
    assert b.binnings_["x"].splits.tolist() == [0.0]
    with pytest.raises(ConfigError, match="unknown features"):
        WoeBinner(BinningSpec(fixed_splits={"nope": [1]})).fit(X, y)
    with pytest.raises(SampleError, match="both goods and bads"):
        WoeBinner().fit(X, np.zeros(3000))


def test_selection_by_iv_and_correlation(binner, german_xy):
    X, _ = german_xy
    iv = binner.summary().set_index("name")["iv"]
    woe = binner.transform(X)
    woe["duration_copy"] = woe["duration2"]
    iv["duration_copy"] = iv["duration2"] - 1e-9
    table = select_features(iv, woe, SelectionRules(min_iv=0.02, max_iv=0.5, warn_iv=0.25, max_correlation=0.7, max_features=8))
    t = table.set_index("variable")
    assert not t.loc["duration_copy", "selected"] and "correlation" in t.loc["duration_copy", "reason"]
    assert not t.loc["checkingstatus1", "selected"] and "above" in t.loc["checkingstatus1", "reason"]  # IV 0.67 > 0.5
    assert "leakage" in t.loc["history3", "flag"] and t.loc["history3", "selected"]  # IV 0.29: flagged, kept
    assert t.loc["duration2", "flag"] == "" or t.loc["duration2", "iv"] > 0.25
    assert SelectionRules().max_iv is None
    low = t[t["iv"] < 0.02]
    assert len(low) and not low["selected"].any()
    assert t["selected"].sum() <= 8


def test_scorecard_points_sum_to_the_score_and_scale(binner, german_xy):
    X, y = german_xy
    variables = binner.summary()["name"].head(8).tolist()
    sc = WoeLogisticScorecard(binner, variables).fit(X, y)
    # Logistic regression on WOE, same as fitting sklearn directly on the transformed matrix.
    ref = LogisticRegression(C=1.0, max_iter=1000).fit(binner.transform(X, variables=variables), y)
    np.testing.assert_allclose(sc.predict_proba(X), ref.predict_proba(binner.transform(X, variables=variables))[:, 1], atol=1e-10)
    score = sc.score(X)
    assert (score == sc.points(X).sum(axis=1).to_numpy()).all()
    # Unrounded points give exactly the scaled log-odds; rounding costs at most 0.5 point per variable.
    assert np.abs(sc.scaling.pd_to_score(sc.predict_proba(X)) - score).max() <= 0.5 * len(variables) + 1e-9
    assert roc_auc_score(y, -score) > 0.75
    pts = sc.points_table_
    assert set(pts.columns) >= {"variable", "bin", "woe", "coefficient", "points"}
    assert pts["points"].dtype.kind == "i"


def test_a_rows_pd_does_not_depend_on_the_rows_scored_with_it(binner, german_xy):
    """Each row's PD is the same to the bit alone, in any chunk and at any position (BLAS's product was not), and
    equals scikit-learn's predict_proba to 1e-15; explain() gives the same PDs."""
    X, y = german_xy
    variables = binner.summary()["name"].head(10).tolist()
    sc = WoeLogisticScorecard(binner, variables).fit(X, y)
    whole = sc.predict_proba(X)
    alone = np.array([sc.predict_proba(X.iloc[[i]])[0] for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(alone, whole[::7])
    for size in (3, 25, 64, 101):
        chunks = np.concatenate([sc.predict_proba(X.iloc[i:i + size]) for i in range(0, len(X), size)])
        np.testing.assert_array_equal(chunks, whole)
    np.testing.assert_array_equal(sc.explain(X.iloc[::-1])[0][::-1], whole)
    reference = sc.estimator_.predict_proba(binner.transform(X, variables=variables).to_numpy())[:, 1]
    np.testing.assert_allclose(whole, reference, rtol=0, atol=1e-15)


def test_scaling_pdo_and_base_odds():
    s = ScoreScaling(base_points=600, base_odds=50, pdo=20)
    assert s.pd_to_score(1 / 51) == pytest.approx(600)  # 50:1 good:bad
    assert s.pd_to_score(1 / 101) == pytest.approx(620)  # odds doubled: +PDO
    assert s.score_to_pd(600) == pytest.approx(1 / 51)
    with pytest.raises(ModelError):
        ScoreScaling(pdo=0)


def test_scorecard_needs_variables(binner):
    with pytest.raises(ModelError, match="no variable"):
        WoeLogisticScorecard(binner, [])
    with pytest.raises(ModelError, match="not binned"):
        WoeLogisticScorecard(binner, ["nope"])


def test_wrong_sign_variables_are_dropped_and_every_coefficient_is_negative(binner, german_xy):
    X, y = german_xy
    everything = list(binner.variables_)
    sc = WoeLogisticScorecard(binner, everything).fit(X, y)
    assert (sc.estimator_.coef_[0] <= 0).all()
    assert set(sc.variables) | set(sc.dropped_) == set(everything)
    assert not set(sc.variables) & set(sc.dropped_)
    for why in sc.dropped_.values():
        assert "wrong sign" in why
    # the refit without them is the logistic regression on the kept variables
    ref = LogisticRegression(C=1.0, max_iter=1000).fit(binner.transform(X, variables=sc.variables), y)
    np.testing.assert_allclose(sc.estimator_.coef_, ref.coef_, atol=1e-10)


def test_category_bins_are_labelled_by_their_categories(binner):
    labels = binner.binning_table("purpose4")["bin"].tolist()
    assert all("Array" not in label for label in labels)
    assert any(label.startswith("A4") for label in labels)
