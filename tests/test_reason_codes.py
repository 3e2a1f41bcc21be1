"""Reason codes on real data (UCI German credit): scorecard points lost and XGBoost
contributions, checked against a brute-force per-row computation."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from features.binning import BinningSpec, WoeBinner
from features.errors import ModelError
from models.challenger import XGBoostChallenger
from models.reason_codes import rank_reasons, scorecard_reasons, xgboost_reasons
from models.scorecard import ScoreScaling, WoeLogisticScorecard

LABELS = {"checkingstatus1": "Checking account status", "duration2": "Loan duration",
          "savings6": "Savings", "history3": "Credit history"}


@pytest.fixture(scope="module")
def german_xy(german):
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    X = german.drop(columns=["GoodCredit", "age13", "status9"])  # no age, no personal status/sex
    return train_test_split(X, y, test_size=0.3, random_state=42, stratify=y)


@pytest.fixture(scope="module")
def scorecard(german_xy):
    Xd, _, yd, _ = german_xy
    binner = WoeBinner(BinningSpec(max_n_bins=6)).fit(Xd, yd)
    return WoeLogisticScorecard(binner, list(Xd.columns), ScoreScaling()).fit(Xd, yd)


@pytest.fixture(scope="module")
def challenger(german_xy):
    Xd, Xt, yd, yt = german_xy
    return XGBoostChallenger(ScoreScaling(), n_search=2).fit(Xd, yd, Xt, yt)


def brute_force(costs: dict[str, float], top_n: int, labels: dict[str, str]) -> list:
    """One row: names with cost > 0, costliest first, ties by name; padded with None."""
    ranked = sorted((-c, name) for name, c in costs.items() if c > 0)
    out = [labels.get(name, name) for _, name in ranked[:top_n]]
    return out + [None] * (top_n - len(out))


def test_scorecard_reasons_equal_a_brute_force_per_row_computation(scorecard, german_xy):
    _, Xt, _, _ = german_xy
    X = Xt.head(50)
    got = scorecard_reasons(scorecard, X, top_n=4, labels=LABELS)
    assert list(got.columns) == ["reason_1", "reason_2", "reason_3", "reason_4"] and got.index.equals(X.index)
    table = scorecard.points_table_
    for i in range(len(X)):
        row = X.iloc[[i]]
        points = scorecard.points(row).iloc[0]
        costs = {}
        for var in scorecard.variables:
            bins = table[(table["variable"] == var) & (table["count"] > 0)]
            costs[var] = bins["points"].max() - points[var]
        assert got.iloc[i].tolist() == brute_force(costs, 4, LABELS), i


def test_xgboost_reasons_equal_a_brute_force_per_row_computation(challenger, german_xy):
    _, Xt, _, _ = german_xy
    X = Xt.head(50)
    got = xgboost_reasons(challenger, X, top_n=4, labels=LABELS)
    contrib = challenger.contributions(X).drop(columns="bias")
    pd.testing.assert_frame_equal(challenger.contributions(X.iloc[[7]]).drop(columns="bias"), contrib.iloc[[7]])
    for i in range(len(X)):
        assert got.iloc[i].tolist() == brute_force(contrib.iloc[i].to_dict(), 4, LABELS), i


def test_ties_are_broken_by_name_and_non_reasons_skipped():
    values = np.array([[3.0, 3.0, 0.0, -1.0],
                       [0.0, 0.0, 0.0, 0.0],
                       [1.0, np.nan, 2.0, 1.0]])
    got = rank_reasons(values, ["b", "a", "d", "c"], top_n=3, labels={"a": "Alpha"}, with_values=True)
    assert got[["reason_1", "reason_2", "reason_3"]].values.tolist() == [
        ["Alpha", "b", None], [None, None, None], ["d", "b", "c"]]
    assert got.loc[0, "value_1"] == 3.0 and np.isnan(got.loc[0, "value_3"])


def test_a_row_with_the_best_points_everywhere_has_no_reason(scorecard, german_xy):
    _, Xt, _, _ = german_xy
    X = Xt.head(200)
    got = scorecard_reasons(scorecard, X, top_n=30, with_values=True)
    assert list(got.columns)[:2] == ["reason_1", "reason_2"] and got.shape[1] == 60
    # points lost on the listed reasons add up to the gap to the best attainable score
    table = scorecard.points_table_
    best = table[table["count"] > 0].groupby("variable")["points"].max().sum()
    lost = got[[f"value_{k}" for k in range(1, 31)]].sum(axis=1).to_numpy()
    np.testing.assert_array_equal(lost, best - scorecard.score(X))
    # more reasons than variables: the extra columns are empty
    assert got[f"reason_{len(scorecard.variables) + 1}"].isna().all()


def test_labels_default_to_the_feature_name(challenger, german_xy):
    _, Xt, _, _ = german_xy
    plain = xgboost_reasons(challenger, Xt.head(100))
    worded = xgboost_reasons(challenger, Xt.head(100), labels=LABELS)
    back = {v: k for k, v in LABELS.items()}
    assert [[back.get(s, s) for s in row] for row in worded.values.tolist()] == plain.values.tolist()
    assert set(worded.values.ravel()) & set(LABELS.values())
    assert set(plain.values.ravel()) - {None} <= set(challenger.features_)


def test_vectorised_ranking_equals_brute_force_on_many_ties_and_missing_values():
    rng = np.random.default_rng(0)
    values = rng.integers(-3, 6, size=(3000, 12)).astype(float)  # small integers: ties in most rows
    values[rng.random(values.shape) < 0.1] = np.nan
    names = [f"x{i:02d}" for i in range(12)][::-1]  # columns not in name order
    got = rank_reasons(values, names, top_n=5).values.tolist()
    for i in range(len(values)):
        costs = {n: c for n, c in zip(names, values[i]) if not np.isnan(c)}
        assert got[i] == brute_force(costs, 5, {}), i
    whole = rng.integers(-3, 6, size=(3000, 12))  # integer points lost are ranked without a float copy
    got = rank_reasons(whole, names, top_n=5, with_values=True)
    assert got.filter(like="value_").dtypes.eq(float).all()
    for i in range(len(whole)):
        assert got.iloc[i, :5].tolist() == brute_force(dict(zip(names, whole[i])), 5, {}), i


def test_explain_is_predict_proba_score_and_attributions_in_one_pass(scorecard, challenger, german_xy):
    """What CreditModel.decide reads (one pass) equals each method on its own, to the bit."""
    _, Xt, _, _ = german_xy
    X = Xt.head(300).copy()
    X.iloc[::7, 0] = None  # missing values in a categorical and a numeric column
    X.iloc[::5, 1] = np.nan
    for model in (scorecard, challenger):
        raw, score, values = model.explain(X)
        np.testing.assert_array_equal(raw, model.predict_proba(X))
        np.testing.assert_array_equal(score, model.score(X))
        pd.testing.assert_frame_equal(values, model.attributions(X))
    raw, _, values = challenger.explain(X, exact=True)
    pd.testing.assert_frame_equal(values, challenger.attributions(X, exact=True))


def test_decide_is_the_calibrated_pd_score_grade_and_reasons_of_the_parts(scorecard, challenger, german_xy):
    from models.candidate import CreditModel

    _, Xt, _, yt = german_xy
    for name, est in (("scorecard", scorecard), ("xgboost", challenger)):
        model = CreditModel(name, est, {"method": "platt"}, n_grades=5, labels=LABELS).fit_calibration(Xt, yt)
        out = model.decide(Xt)
        np.testing.assert_array_equal(out["pd"].to_numpy(), model.predict_proba(Xt))
        np.testing.assert_array_equal(out["score"].to_numpy(), model.score(Xt))
        np.testing.assert_array_equal(out["grade"].to_numpy(), model.grade(Xt))
        pd.testing.assert_frame_equal(out.filter(like="reason_"), model.reasons(Xt))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ModelError, match="top_n"):
        rank_reasons(np.zeros((2, 2)), ["a", "b"], top_n=0)
    with pytest.raises(ModelError, match="shape"):
        rank_reasons(np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ModelError, match="unique"):
        rank_reasons(np.zeros((2, 2)), ["a", "a"])
    assert isinstance(rank_reasons(np.zeros((0, 2)), ["a", "b"]), pd.DataFrame)
