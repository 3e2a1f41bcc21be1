"""XGBoost / HistGradientBoosting challengers on real data (UCI German credit, UCI Taiwan
credit-card default), against the WOE scorecard. SEX, MARRIAGE and AGE (and German's age
and personal-status/sex attributes) are never features."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from features.binning import BinningSpec, WoeBinner
from features.errors import ModelError
from models.challenger import XGBoostChallenger
from models.discrimination import auc
from models.hist_gradient_boosting import HistGradientBoostingCandidate
from models.scorecard import ScoreScaling, WoeLogisticScorecard
from models.serving import ScoringPipeline
from models.tree_inputs import monotone_from_binning

pytestmark = pytest.mark.slow  # a module of full runs / big fits: handed out first under xdist

SCALING = ScoreScaling(600, 50, 20)


def split(X, y):
    return train_test_split(X, y, test_size=0.3, random_state=42, stratify=y)


@pytest.fixture(scope="module")
def taiwan_xy(taiwan):
    y = taiwan["default_next_month"].to_numpy()
    X = taiwan.drop(columns=["ID", "SEX", "MARRIAGE", "AGE", "default_next_month"]).astype(float)
    X["EDUCATION"] = X["EDUCATION"].astype(int).astype(str)  # a coded category, not a number
    return split(X, y)


@pytest.fixture(scope="module")
def german_xy(german):
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    X = german.drop(columns=["GoodCredit", "age13", "status9"])  # age; personal status and sex
    return split(X, y)


@pytest.fixture(scope="module")
def taiwan_binner(taiwan_xy):
    Xd, _, yd, _ = taiwan_xy
    return WoeBinner().fit(Xd, yd)


@pytest.fixture(scope="module")
def taiwan_scorecard(taiwan_xy, taiwan_binner):
    Xd, _, yd, _ = taiwan_xy
    s = taiwan_binner.summary()
    return WoeLogisticScorecard(taiwan_binner, list(s.loc[s["iv"] >= 0.02, "name"]), SCALING).fit(Xd, yd)


@pytest.fixture(scope="module")
def taiwan_challenger(taiwan_xy):
    Xd, Xt, yd, yt = taiwan_xy
    return XGBoostChallenger(SCALING, search_seconds=300, n_search=4).fit(Xd, yd, Xt, yt)


@pytest.fixture(scope="module")
def taiwan_monotone(taiwan_xy, taiwan_binner):
    Xd, Xt, yd, yt = taiwan_xy
    mono = monotone_from_binning(taiwan_binner)
    return XGBoostChallenger(SCALING, monotone=mono, search_seconds=300, n_search=2).fit(Xd, yd, Xt, yt)


@pytest.fixture(scope="module")
def german_challenger(german_xy):
    Xd, Xt, yd, yt = german_xy
    return XGBoostChallenger(SCALING, search_seconds=300, n_search=4).fit(Xd, yd, Xt, yt)


# --------------------------------------------------------------------------- discrimination


def test_challenger_matches_or_beats_the_scorecard_on_taiwan(taiwan_xy, taiwan_scorecard, taiwan_challenger):
    _, Xt, _, yt = taiwan_xy
    card, gbm = auc(yt, taiwan_scorecard.predict_proba(Xt)), auc(yt, taiwan_challenger.predict_proba(Xt))
    print(f"taiwan test AUC: scorecard {card:.4f}, xgboost {gbm:.4f}")
    assert gbm >= card - 0.005
    assert taiwan_challenger.valid_auc_ == pytest.approx(gbm, abs=1e-12)


def test_challenger_is_competitive_on_german(german_xy, german_challenger):
    Xd, Xt, yd, yt = german_xy
    binner = WoeBinner(BinningSpec(max_n_bins=6)).fit(Xd, yd)
    card = WoeLogisticScorecard(binner, list(Xd.columns), SCALING).fit(Xd, yd)
    a_card, a_gbm = auc(yt, card.predict_proba(Xt)), auc(yt, german_challenger.predict_proba(Xt))
    print(f"german test AUC: scorecard {a_card:.4f}, xgboost {a_gbm:.4f}")
    assert a_gbm >= a_card - 0.03  # 700 development rows: a GBM has little room over a WOE scorecard


# --------------------------------------------------------------------------- search, determinism


def test_same_data_and_seed_give_identical_predictions(german_xy, german_challenger):
    Xd, Xt, yd, yt = german_xy
    again = XGBoostChallenger(SCALING, search_seconds=300, n_search=4).fit(Xd, yd, Xt, yt)
    assert np.array_equal(again.predict_proba(Xt), german_challenger.predict_proba(Xt))
    assert np.array_equal(again.score(Xt), german_challenger.score(Xt))
    assert again.best_params_ == german_challenger.best_params_
    cols = ["candidate", "best_iteration", "valid_auc", "chosen"]
    pd.testing.assert_frame_equal(again.search_log_[cols], german_challenger.search_log_[cols])
    other = XGBoostChallenger(SCALING, search_seconds=300, n_search=4, seed=7).fit(Xd, yd, Xt, yt)
    assert not np.array_equal(other.predict_proba(Xt), german_challenger.predict_proba(Xt))


def test_search_is_seeded_logged_and_picks_the_best_validation_auc(german_challenger):
    ch = german_challenger
    log = ch.search_log_
    assert list(log["candidate"]) == [0, 1, 2, 3] and (log["status"] == "fitted").all()
    assert ch.candidates() == XGBoostChallenger(SCALING, n_search=4).candidates()
    assert ch.candidates() != XGBoostChallenger(SCALING, n_search=4, seed=1).candidates()
    chosen = log.loc[log["chosen"]]
    assert len(chosen) == 1
    assert chosen["valid_auc"].iloc[0] == log["valid_auc"].max() == ch.valid_auc_
    # ties go to the earlier candidate
    assert chosen["candidate"].iloc[0] == log.loc[log["valid_auc"] == log["valid_auc"].max(), "candidate"].min()
    assert {k: ch.best_params_[k] for k in ("max_depth", "learning_rate")} == \
        {k: chosen[k].iloc[0] for k in ("max_depth", "learning_rate")}


def test_simplest_within_one_se_picks_the_cheapest_candidate_the_validation_rows_cannot_tell_from_the_best(taiwan_xy):
    """The one-standard-error rule, checked from scratch: each candidate is refitted as a plain booster with its
    logged parameters and rounds, its validation AUC and the paired DeLong standard error of its difference to the
    best are recomputed (scikit-learn's AUC; the DeLong covariance from the O(bads x goods) pairwise kernel, not the
    midrank algorithm), and the winner must be the cheapest (rounds x max_depth) of those within one standard error."""
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    from models.challenger import FIXED_PARAMS

    Xd, Xt, yd, yt = taiwan_xy
    Xd, yd = Xd.iloc[:8000], yd[:8000]  # the pairwise kernel below is bads x goods per candidate
    Xt, yt = Xt.iloc[:3000], yt[:3000]
    ch = XGBoostChallenger(SCALING, n_search=6, eval_every=5, choose="simplest_within_one_se").fit(Xd, yd, Xt, yt)
    log = ch.search_log_.set_index("candidate")
    assert (log["status"] == "fitted").all()
    frame, params = ch.frame_, ch.candidates()
    dtrain = xgb.DMatrix(frame.transform(Xd), label=yd, enable_categorical=True)
    dvalid = xgb.DMatrix(frame.transform(Xt), enable_categorical=True)
    pds = {}
    for i, row in log.iterrows():
        rounds = int(row["best_iteration"]) + 1
        booster = xgb.train({**params[i], **FIXED_PARAMS, "seed": 42, "verbosity": 0}, dtrain, num_boost_round=rounds)
        pds[i] = booster.predict(dvalid)
        assert row["valid_auc"] == pytest.approx(roc_auc_score(yt, pds[i]), abs=1e-12)
        assert row["cost"] == rounds * params[i]["max_depth"]
    best = int(log["valid_auc"].idxmax())

    def kernel(pd_):  # psi(bad, good) = 1 if the bad has the higher PD, 1/2 on a tie
        bad, good = pd_[yt == 1][:, None], pd_[yt == 0][None, :]
        return (bad > good) + 0.5 * (bad == good)

    kb = kernel(pds[best])
    m, n = kb.shape
    for i in log.index:
        ki = kernel(pds[i])
        diff = kb - ki  # the difference's structural components: per bad (mean over goods), per good (over bads)
        var = np.var(diff.mean(axis=1), ddof=1) / m + np.var(diff.mean(axis=0), ddof=1) / n
        assert log.loc[i, "auc_below_best"] == pytest.approx(diff.mean(), abs=1e-12)
        assert log.loc[i, "se_of_difference"] == pytest.approx(np.sqrt(var), rel=1e-9, abs=1e-15)
        assert log.loc[i, "within_one_se"] == (diff.mean() <= np.sqrt(var))
    within = log[log["within_one_se"]]
    winner = int(log.index[log["chosen"]][0])
    assert winner == min(within.index, key=lambda i: (within.loc[i, "cost"], i))
    assert ch.valid_auc_ == log.loc[winner, "valid_auc"] and ch.best_iteration_ == log.loc[winner, "best_iteration"]
    # "best_auc" on the same search: the highest validation AUC, and the rule never picks a costlier model than it
    plain = XGBoostChallenger(SCALING, n_search=6, eval_every=5, choose="best_auc").fit(Xd, yd, Xt, yt)
    assert plain.search_log_.set_index("candidate").loc[:, "valid_auc"].equals(log["valid_auc"])
    assert plain.valid_auc_ == log.loc[best, "valid_auc"]
    assert log.loc[winner, "cost"] <= log.loc[best, "cost"]
    # the report's search table says which rule chose, also for the copy the protocol refits
    for model, words in ((ch, "cheapest candidate"), (ch.frozen().fit(Xd, yd), "cheapest candidate"),
                         (plain, "highest validation")):
        assert words in next(t for t in model.report_tables() if t.startswith("Parameter search"))
    with pytest.raises(ModelError, match="choose must be one of \\['best_auc', 'simplest_within_one_se'\\], got 'auc'"):
        XGBoostChallenger(SCALING, choose="auc")


def test_candidates_fitted_side_by_side_equal_those_fitted_one_after_the_other(taiwan_xy, monkeypatch):
    """The search fits two candidates at once (one thread each); each candidate's booster is the one it gets alone."""
    from models import challenger

    Xd, Xt, yd, yt = taiwan_xy
    Xd, yd = Xd.iloc[:6000], yd[:6000]
    both = XGBoostChallenger(SCALING, n_search=4, eval_every=5).fit(Xd, yd, Xt, yt)
    monkeypatch.setattr(challenger, "SEARCH_WORKERS", 1)
    alone = XGBoostChallenger(SCALING, n_search=4, eval_every=5).fit(Xd, yd, Xt, yt)
    cols = ["candidate", "best_iteration", "valid_auc", "fit_auc", "chosen"]
    pd.testing.assert_frame_equal(both.search_log_[cols], alone.search_log_[cols])
    assert np.array_equal(both.predict_proba(Xt), alone.predict_proba(Xt))


def test_user_params_override_every_candidate(german_xy):
    ch = XGBoostChallenger(SCALING, params={"max_depth": 2, "n_estimators": 30}, n_search=3)
    assert all(c["max_depth"] == 2 for c in ch.candidates())
    Xd, Xt, yd, yt = german_xy
    ch.fit(Xd, yd, Xt, yt)
    assert ch.n_rounds_ == 30 and ch.booster_.num_boosted_rounds() <= 30


def test_time_box_stops_the_search_after_the_first_candidate(german_xy):
    Xd, Xt, yd, yt = german_xy
    ch = XGBoostChallenger(SCALING, search_seconds=0, n_search=5).fit(Xd, yd, Xt, yt)
    assert list(ch.search_log_["status"]) == ["fitted"] + ["skipped: time box"] * 4
    assert ch.search_log_["chosen"].tolist() == [True, False, False, False, False]


def test_early_stopping_cuts_the_booster_at_the_best_validation_round(taiwan_xy, taiwan_challenger):
    ch = taiwan_challenger
    curve = ch.evals_result_
    assert ch.best_iteration_ + 1 < ch.n_rounds_  # stopped well before the 2000-round cap
    assert list(curve) == list(range(ch.best_iteration_ + 1 + ch.early_stopping_rounds_))  # eval_every=1: each round
    assert curve[ch.best_iteration_] == max(curve.values())
    assert ch.booster_.num_boosted_rounds() == ch.best_iteration_ + 1
    _, Xt, _, yt = taiwan_xy
    assert auc(yt, ch.predict_proba(Xt)) == pytest.approx(curve[ch.best_iteration_], abs=1e-5)


def test_eval_every_reads_every_kth_round_and_cuts_at_the_best_of_those(german_xy):
    """eval_every=5: the validation AUC is read at rounds 5, 10, ... only; the booster is cut at the best reading
    and training stops 50 rounds after it. Each reading equals scikit-learn's AUC of a plain booster cut there."""
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    from models.challenger import FIXED_PARAMS

    Xd, Xt, yd, yt = german_xy
    ch = XGBoostChallenger(SCALING, n_search=1, eval_every=5).fit(Xd, yd, Xt, yt)
    curve, best = ch.evals_result_, ch.best_iteration_
    assert list(curve) == list(range(4, best + 51, 5))  # 0-based rounds 4, 9, ...; stopped 50 rounds past the best
    assert (best + 1) % 5 == 0 and curve[best] == max(curve.values())
    assert ch.booster_.num_boosted_rounds() == best + 1
    frame = ch.frame_
    plain = xgb.train({**ch.best_params_, **FIXED_PARAMS, "seed": 42, "verbosity": 0},
                      xgb.DMatrix(frame.transform(Xd), label=yd, enable_categorical=True), num_boost_round=max(curve) + 1)
    dvalid = xgb.DMatrix(frame.transform(Xt), enable_categorical=True)
    for r in list(curve)[::4]:
        assert curve[r] == pytest.approx(roc_auc_score(yt, plain[: r + 1].predict(dvalid, output_margin=True)), abs=1e-12)
    assert ch.valid_auc_ == pytest.approx(curve[best], abs=1e-6)  # the PD ranks as the margin (float32 ties aside)
    for bad in (0, 2.5, True):
        with pytest.raises(ModelError, match=f"eval_every must be an integer of at least 1, got {bad!r}"):
            XGBoostChallenger(SCALING, eval_every=bad)


# --------------------------------------------------------------------------- monotone constraints


def test_monotone_from_binning_reads_the_woe_trend(taiwan_binner):
    mono = monotone_from_binning(taiwan_binner)
    assert mono["PAY_0"] == 1  # later payment → riskier
    assert mono["LIMIT_BAL"] == -1  # higher limit → safer
    assert "EDUCATION" not in mono  # categorical
    for name in taiwan_binner.numeric_:
        t = taiwan_binner.binning_table(name)
        woe = t.loc[~t["bin"].isin(["Special", "Missing"]) & (t["count"] > 0), "woe"].to_numpy(float)
        if name in mono:
            assert np.all(np.sign(np.diff(woe)) * -mono[name] >= 0)
    assert monotone_from_binning(taiwan_binner, ["PAY_0", "EDUCATION"]) == {"PAY_0": 1}


def test_monotone_from_binning_omits_non_monotone_variables(german_xy):
    Xd, _, yd, _ = german_xy
    binner = WoeBinner(BinningSpec(monotonic_trend=None, max_n_bins=6)).fit(Xd, yd)
    mono = monotone_from_binning(binner)
    for name in binner.numeric_:
        t = binner.binning_table(name)
        step = np.diff(t.loc[~t["bin"].isin(["Special", "Missing"]) & (t["count"] > 0), "woe"].to_numpy(float))
        expected = 1 if (step <= 0).all() and (step < 0).any() else -1 if (step >= 0).all() and (step > 0).any() else None
        assert mono.get(name) == expected, name


def _grid_pd(model, X, feature, grid):
    rows = X.iloc[np.repeat(np.arange(len(X)), len(grid))].copy()
    rows[feature] = np.tile(grid, len(X))
    return model.predict_proba(rows).reshape(len(X), len(grid))


def test_monotone_constraints_hold_along_a_grid(taiwan_xy, taiwan_monotone, taiwan_challenger):
    _, Xt, _, _ = taiwan_xy
    sample = Xt.sample(40, random_state=1)
    worst_free = 0.0
    for feature, sign in taiwan_monotone.monotone.items():
        grid = np.unique(np.quantile(Xt[feature], np.linspace(0, 1, 41)))
        steps = np.diff(_grid_pd(taiwan_monotone, sample, feature, grid), axis=1) * sign
        assert steps.min() >= -1e-6, feature
        worst_free = min(worst_free, (np.diff(_grid_pd(taiwan_challenger, sample, feature, grid), axis=1) * sign).min())
    assert worst_free < -1e-3  # without constraints the same grids are not monotone: the test can fail


def test_monotone_constraints_on_categories_or_unknown_features_are_refused(german_xy):
    Xd, Xt, yd, yt = german_xy
    with pytest.raises(ModelError, match="categorical feature 'purpose4'"):
        XGBoostChallenger(SCALING, monotone={"purpose4": 1}, n_search=1).fit(Xd, yd, Xt, yt)
    with pytest.raises(ModelError, match="unknown feature"):
        XGBoostChallenger(SCALING, monotone={"nope": 1}, n_search=1).fit(Xd, yd, Xt, yt)


# --------------------------------------------------------------------------- raw inputs


def test_unseen_category_is_treated_as_missing(german_xy, german_challenger):
    _, Xt, _, _ = german_xy
    unseen, missing = Xt.copy(), Xt.copy()
    unseen["purpose4"] = "A499"  # not a development category
    missing["purpose4"] = None
    assert "A499" not in german_challenger.frame_.categories_["purpose4"]
    np.testing.assert_array_equal(german_challenger.predict_proba(unseen), german_challenger.predict_proba(missing))
    assert not np.array_equal(german_challenger.predict_proba(unseen), german_challenger.predict_proba(Xt))


def test_missing_numbers_use_native_missing_handling(taiwan_xy, taiwan_challenger):
    _, Xt, _, _ = taiwan_xy
    X = Xt.head(200).copy()
    X.loc[X.index[:100], "LIMIT_BAL"] = np.nan
    pd_ = taiwan_challenger.predict_proba(X)
    assert np.isfinite(pd_).all() and ((pd_ > 0) & (pd_ < 1)).all()


def test_scoring_pipeline_serves_the_challenger_from_raw_rows(german, german_xy, german_challenger):
    from models.candidate import CreditModel

    _, Xt, _, yt = german_xy
    model = CreditModel("xgboost", german_challenger, {"method": "none"}).fit_calibration(Xt, yt)
    pipe = ScoringPipeline(model, list(Xt.columns), "challenger")
    out = pipe.predict(german.loc[Xt.index])
    np.testing.assert_allclose(out["pd"], german_challenger.predict_proba(Xt))
    np.testing.assert_array_equal(out["score"], german_challenger.score(Xt))


def test_missing_feature_column_and_unfitted_model_are_clear_errors(german_xy, german_challenger):
    _, Xt, _, _ = german_xy
    with pytest.raises(ModelError, match="duration2"):
        german_challenger.predict_proba(Xt.drop(columns="duration2"))
    with pytest.raises(ModelError, match="not fitted"):
        XGBoostChallenger(SCALING).predict_proba(Xt)


# --------------------------------------------------------------------------- outputs


def test_score_is_the_scaled_pd_and_higher_is_safer(taiwan_xy, taiwan_challenger):
    _, Xt, _, yt = taiwan_xy
    p, s = taiwan_challenger.predict_proba(Xt), taiwan_challenger.score(Xt)
    assert s.dtype.kind == "i"
    np.testing.assert_array_equal(s, np.rint(SCALING.pd_to_score(p)).astype(int))
    assert auc(yt, -s) > 0.75
    assert np.all(np.diff(s[np.argsort(p)]) <= 0)


def test_contributions_sum_to_the_log_odds(taiwan_xy, taiwan_challenger):
    _, Xt, _, _ = taiwan_xy
    X = Xt.head(500)
    c = taiwan_challenger.contributions(X)
    assert list(c.columns) == [*X.columns, "bias"] and c.index.equals(X.index)
    p = taiwan_challenger.predict_proba(X)
    np.testing.assert_allclose(c.sum(axis=1).to_numpy(), np.log(p / (1 - p)), atol=1e-4)
    assert (c["PAY_0"].abs().mean() > c.drop(columns=["PAY_0", "bias"]).abs().mean()).all()
    # the fast path attribution used for batch reason codes is additive too, and agrees on the strongest driver
    a = taiwan_challenger.contributions(X, approx=True)
    np.testing.assert_allclose(a.sum(axis=1).to_numpy(), np.log(p / (1 - p)), atol=1e-4)
    assert not np.allclose(a.to_numpy(), c.to_numpy())
    assert (a["PAY_0"].abs().mean() > a.drop(columns=["PAY_0", "bias"]).abs().mean()).all()


def test_feature_importance_is_sorted_and_complete(taiwan_challenger):
    fi = taiwan_challenger.feature_importance()
    assert list(fi.columns) == ["feature", "gain", "total_gain", "weight", "cover"]
    assert sorted(fi["feature"]) == sorted(taiwan_challenger.features_)
    assert fi["gain"].is_monotonic_decreasing
    assert fi["feature"].iloc[0] == "PAY_0"


# --------------------------------------------------------------------------- HistGradientBoosting


def test_hist_gradient_boosting_candidate(taiwan_xy, taiwan_scorecard, taiwan_binner):
    Xd, Xt, yd, yt = taiwan_xy
    mono = {"PAY_0": 1, "LIMIT_BAL": -1}
    h = HistGradientBoostingCandidate(SCALING, monotone=mono).fit(Xd, yd, Xt, yt)
    a = auc(yt, h.predict_proba(Xt))
    print(f"taiwan test AUC: hist gradient boosting {a:.4f}")
    assert a >= auc(yt, taiwan_scorecard.predict_proba(Xt)) - 0.01
    assert h.best_iteration_ + 1 < 1000  # early stopping on the validation split
    again = HistGradientBoostingCandidate(SCALING, monotone=mono).fit(Xd, yd, Xt, yt)
    np.testing.assert_array_equal(again.predict_proba(Xt), h.predict_proba(Xt))
    sample = Xt.sample(30, random_state=2)
    for feature, sign in mono.items():
        grid = np.unique(np.quantile(Xt[feature], np.linspace(0, 1, 31)))
        assert (np.diff(_grid_pd(h, sample, feature, grid), axis=1) * sign).min() >= -1e-9
    unseen, missing = Xt.head(300).copy(), Xt.head(300).copy()
    unseen["EDUCATION"], missing["EDUCATION"] = "99", None
    np.testing.assert_array_equal(h.predict_proba(unseen), h.predict_proba(missing))
    np.testing.assert_array_equal(h.score(Xt), np.rint(SCALING.pd_to_score(h.predict_proba(Xt))).astype(int))


def test_challenger_survives_pickling(german_xy, german_challenger):
    import pickle

    _, Xt, _, _ = german_xy
    back = pickle.loads(pickle.dumps(german_challenger))
    np.testing.assert_array_equal(back.predict_proba(Xt), german_challenger.predict_proba(Xt))
    pd.testing.assert_frame_equal(back.contributions(Xt.head(20)), german_challenger.contributions(Xt.head(20)))


def test_search_on_a_subsample_then_the_winner_refitted_on_all_fit_rows(german_xy):
    """search_rows: candidates fit on a stratified, seeded subsample; the winner, chosen by validation AUC, is
    refitted on every fit row and early-stopped on validation, as one plain XGBoost fit with its parameters is."""
    import xgboost as xgb

    from models.challenger import FIXED_PARAMS

    Xd, Xt, yd, yt = german_xy
    ch = XGBoostChallenger(SCALING, n_search=2, search_rows=350, seed=5, params={"n_estimators": 300}).fit(Xd, yd, Xt, yt)
    log = ch.search_log_
    assert list(log["status"]) == ["fitted"] * 2 + ["winner refitted on all fit rows"]
    take = ch.search_subsample(np.asarray(yd))
    assert len(take) == log["rows"].iloc[0] == pytest.approx(350, abs=2) and log["rows"].iloc[2] == len(yd)
    assert yd[take].mean() == pytest.approx(yd.mean(), abs=0.005)  # stratified
    np.testing.assert_array_equal(take, ch.search_subsample(np.asarray(yd)))  # seeded
    searched = log.iloc[:2]
    winner = int(searched.loc[searched["valid_auc"].idxmax(), "candidate"])  # best validation AUC (no max_auc_gap)
    assert log.loc[log["chosen"], "candidate"].unique().tolist() == [winner]
    assert ch.best_params_ == ch.candidates()[winner]
    # the reference: plain xgboost.train with the winner's parameters on all fit rows, early-stopped on validation
    frame = ch.frame_
    dtrain = xgb.DMatrix(frame.transform(Xd), label=yd, enable_categorical=True)
    dvalid = xgb.DMatrix(frame.transform(Xt), label=yt, enable_categorical=True)
    ref = xgb.train({**ch.best_params_, **FIXED_PARAMS, "seed": 5, "verbosity": 0}, dtrain, num_boost_round=300,
                    evals=[(dvalid, "valid")], early_stopping_rounds=50, verbose_eval=False)
    assert ch.best_iteration_ == ref.best_iteration == log["best_iteration"].iloc[2]
    np.testing.assert_allclose(ch.predict_proba(Xt), ref[: ref.best_iteration + 1].predict(dvalid), rtol=1e-6)
    assert ch.valid_auc_ == pytest.approx(auc(yt, ch.predict_proba(Xt)), abs=1e-12) == log["valid_auc"].iloc[2]
    # fewer fit rows than search_rows, or one candidate: no subsample, no second fit
    assert XGBoostChallenger(SCALING, n_search=3, search_rows=10_000).search_subsample(np.asarray(yd)) is None
    assert XGBoostChallenger(SCALING, n_search=1, search_rows=350).search_subsample(np.asarray(yd)) is None
    for bad in (0, 99, 2.5, True):
        with pytest.raises(ModelError, match="search_rows"):
            XGBoostChallenger(search_rows=bad)
