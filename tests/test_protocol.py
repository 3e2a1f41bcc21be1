"""The development protocol on constructed data: roles never overlap, customers stay together,
and test / out-of-time rows never reach fitting, early stopping, calibration or the choice (spies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.binning import WoeBinner
from features.errors import ModelError
from features.sample import SampleDesign, split_development, split_sample
from models.backtest import walk_forward
from models.candidate import CreditModel
from models.challenger import XGBoostChallenger
from models.protocol import REFIT_STEPS, STEPS, DevelopmentProtocol, rows_table
from models.scorecard import ScoreScaling, WoeLogisticScorecard
from pipelines.config import PortfolioConfig
from pipelines.estimators import refit_function


def _book(n_customers=3000, months=24, seed=0) -> pd.DataFrame:
    """Customers with 1-4 applications each over ``months`` months; risk from two features."""
    rng = np.random.default_rng(seed)
    per = rng.integers(1, 5, n_customers)
    customer = np.repeat(np.arange(n_customers), per)
    n = len(customer)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    target = (rng.random(n) < 1 / (1 + np.exp(-(-2.2 + 1.2 * x1 + 0.6 * x2)))).astype(int)
    month = pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, months, n) * 31, "D")
    return pd.DataFrame({"application_id": np.arange(n), "customer_id": customer,
                         "application_month": month.to_period("M").to_timestamp(), "target": target,
                         "x1": x1, "x2": x2, "noise": rng.normal(size=n)})


@pytest.fixture(scope="module")
def sample():
    return split_sample(_book(), SampleDesign(oot_months=3, test_fraction=0.3, validation_fraction=0.25, seed=3))


def test_every_row_has_one_role_and_customers_stay_together(sample):
    assert sample["split"].isin(["dev", "validation", "test", "oot"]).all()
    assert sample["application_id"].is_unique  # one row, one role
    random_roles = sample[sample["split"] != "oot"]
    roles_per_customer = random_roles.groupby("customer_id")["split"].nunique()
    assert roles_per_customer.max() == 1  # a repeat applicant never sits on both sides
    assert random_roles["customer_id"].duplicated().any()  # there are repeat applicants to keep together
    # out of time is by date: its months are the newest three, none of them in the other roles
    oot_months = set(sample.loc[sample["split"] == "oot", "application_month"])
    assert len(oot_months) == 3 and max(random_roles["application_month"]) < min(oot_months)
    # shares close to the design (whole customers are drawn, so not exact) and stratified
    share = random_roles["split"].value_counts(normalize=True)
    assert share["test"] == pytest.approx(0.3, abs=0.02)
    assert share["validation"] == pytest.approx(0.7 * 0.25, abs=0.02)
    rates = random_roles.groupby("split")["target"].mean()
    assert rates.max() - rates.min() < 0.03


def test_without_customer_column_rows_are_drawn_one_by_one():
    frame = _book().drop(columns="customer_id")
    out = split_sample(frame, SampleDesign(oot_months=3, seed=3))
    random_roles = out[out["split"] != "oot"]
    counts = random_roles["split"].value_counts()
    bads = random_roles.groupby("split")["target"].sum()
    n, b = len(random_roles), int(random_roles["target"].sum())
    # row-level stratified draw: exact counts per class up to rounding
    assert bads["test"] == round(0.3 * b) and counts["test"] == round(0.3 * b) + round(0.3 * (n - b))


def test_split_development_groups_and_is_seeded():
    frame = _book()
    a = split_development(frame, 0.25, seed=1, customer_column="customer_id")
    b = split_development(frame, 0.25, seed=1, customer_column="customer_id")
    assert (a["split"] == b["split"]).all()
    assert a.groupby("customer_id")["split"].nunique().max() == 1


class SpyCandidate:
    """A candidate implementing the interface that records every row it is shown."""

    def __init__(self, column: str, log: list):
        self.column, self.log = column, log
        self.scaling = ScoreScaling()

    def fit(self, X, y, X_valid=None, y_valid=None):
        self.log.append(("fit", set(X.index)))
        if X_valid is not None:
            self.log.append(("eval set", set(X_valid.index)))
        self.features_, self.notes_ = [self.column], {}
        return self

    def frozen(self, rounds_scale=1.0):
        self.log.append(("frozen", rounds_scale))
        return SpyCandidate(self.column, self.log)

    def predict_proba(self, X):
        self.log.append(("predict", set(X.index)))
        return 1 / (1 + np.exp(-(-2.0 + X[self.column].to_numpy())))

    def score(self, X, pd_raw=None):
        p = self.predict_proba(X) if pd_raw is None else pd_raw
        return np.rint(self.scaling.pd_to_score(p)).astype(int)

    def attributions(self, X, exact=False):
        return None

    def report_tables(self):
        return {}


def _protocol(choose_by="validation_auc", max_auc_gap=0.1, **kwargs):
    return DevelopmentProtocol(wrap=lambda name, est: CreditModel(name, est, {"method": "platt"}, 5), choose_by=choose_by,
                               max_auc_gap=max_auc_gap, **kwargs)


def test_test_and_oot_rows_never_reach_fit_early_stopping_calibration_or_choice(sample, monkeypatch):
    from models import calibration

    seen_by_calibrator = []
    fit_calibrator = calibration.Calibrator.fit
    monkeypatch.setattr(calibration.Calibrator, "fit",
                        lambda self, p, y: seen_by_calibrator.append(len(p)) or fit_calibrator(self, p, y))
    log: list = []
    protocol = _protocol()
    models = protocol.fit({"scorecard": SpyCandidate("noise", log), "xgboost": SpyCandidate("x1", log)},
                          sample, ["x1", "x2", "noise"])
    chosen = protocol.choose(models)
    role = {s: set(sample.index[sample["split"] == s]) for s in ("dev", "validation", "test", "oot")}
    assert [kind for kind, _ in log if kind != "predict"] == ["fit", "eval set"] * 2
    for kind, rows in log:
        if kind == "predict":  # calibration and choice: validation; the overfitting check: the fit rows
            assert rows in (role["validation"], role["dev"])
        else:  # fit: the development rows; the evaluation set (early stopping, search): validation
            assert rows == (role["dev"] if kind == "fit" else role["validation"]), kind
        assert not rows & (role["test"] | role["oot"])
    assert seen_by_calibrator == [len(role["validation"])] * 2
    assert chosen == "xgboost"  # x1 drives the risk; noise does not
    for model in models.values():  # the master scale was cut on validation PDs
        assert model.master_scale_.dev_counts_.sum() == len(role["validation"])


def test_choice_is_the_best_validation_auc_ties_to_the_scorecard(sample):
    log: list = []
    protocol = _protocol()
    models = protocol.fit({"xgboost": SpyCandidate("x1", log), "scorecard": SpyCandidate("x1", log)}, sample, ["x1"])
    assert protocol.choose(models) == "scorecard"
    valid = sample[sample["split"] == "validation"]
    aucs = protocol.auc(models)
    assert aucs["xgboost"] == pytest.approx(roc_auc_score(valid["target"], valid["x1"]), abs=1e-12)
    assert _protocol("scorecard").choose(models) == "scorecard"
    with pytest.raises(ModelError, match="choose_by"):
        _protocol("test_auc")


def test_an_overfitted_candidate_is_passed_over_while_another_stays_within_the_gap(sample):
    """xgboost reads x1 plus the outcome itself on the fit rows (a leak): near perfect there, x1 plus noise elsewhere."""
    data = sample.assign(leak=np.where(sample["split"] == "dev", 4.0 * sample["target"], sample["noise"]) + sample["x1"])
    log: list = []
    models = _protocol().fit({"xgboost": SpyCandidate("leak", log), "scorecard": SpyCandidate("x2", log)}, data, ["leak", "x2"])
    aucs = _protocol().auc(models)
    assert aucs["xgboost"] > aucs["scorecard"]  # better on validation, but it overfits the fit rows
    assert _protocol().auc(models, role="dev")["xgboost"] - aucs["xgboost"] > 0.1
    assert _protocol().choose(models) == "scorecard"
    assert _protocol(max_auc_gap=None).choose(models) == "xgboost"
    with pytest.raises(ModelError, match="not 'test'"):
        _protocol().auc(models, role="test")


def test_final_fit_reads_development_only_and_calibrates_on_out_of_fold_pds(sample, monkeypatch):
    """final_fit='development': after the choice, K fold fits and one final fit, all on dev + validation rows; the
    calibrator and the master scale see each development row once, scored by a model that did not learn from it."""
    from models import calibration

    seen_by_calibrator = []
    fit_calibrator = calibration.Calibrator.fit
    monkeypatch.setattr(calibration.Calibrator, "fit",
                        lambda self, p, y: seen_by_calibrator.append(np.asarray(p).copy()) or fit_calibrator(self, p, y))
    log: list = []
    protocol = _protocol(final_fit="development", cross_fit_folds=3, seed=7, group_column="customer_id")
    models = protocol.fit({"scorecard": SpyCandidate("noise", log), "xgboost": SpyCandidate("x1", log)},
                          sample, ["x1", "x2", "noise"])
    role = {s: set(sample.index[sample["split"] == s]) for s in ("dev", "validation", "test", "oot")}
    development = role["dev"] | role["validation"]
    fits = [rows for kind, rows in log if kind == "fit"]
    # per candidate: the settling fit on dev, three fold fits on two thirds of development, the final fit on all of it
    assert len(fits) == 2 * 5
    for first in (0, 5):
        assert fits[first] == role["dev"] and fits[first + 4] == development
        folds = fits[first + 1: first + 4]
        assert all(f < development for f in folds)
        held = [development - f for f in folds]
        assert set().union(*held) == development and sum(map(len, held)) == len(development)  # a partition
        for h in held:  # repeat applicants stay in one fold
            assert sample.loc[sorted(h), "customer_id"].isin(sample.loc[sorted(development - h), "customer_id"]).sum() == 0
    scales = [v for kind, v in log if kind == "frozen"]
    assert scales[3] == pytest.approx(len(development) / len(role["dev"]))  # rounds scaled to the final fit's rows
    for kind, rows in log:
        if kind in ("fit", "eval set", "predict"):
            assert not rows & (role["test"] | role["oot"]), kind
    # calibration: first on validation (to settle and choose), then on the out-of-fold PDs of all development rows
    assert [len(p) for p in seen_by_calibrator] == [len(role["validation"]), len(development)] * 2
    dev_rows = sample[sample["split"].isin(["dev", "validation"])]
    oof = seen_by_calibrator[1]  # the scorecard spy's PD is a function of `noise`, so out of fold = the same formula
    assert oof == pytest.approx(1 / (1 + np.exp(-(-2.0 + dev_rows["noise"].to_numpy()))))
    for model in models.values():
        assert model.master_scale_.dev_counts_.sum() == len(development)
        assert model.development["final_fit"] == "development" and model.development["folds"] == 3
        valid = sample[sample["split"] == "validation"]
        # the choice reads the validation AUC recorded before the refit
        assert model.choice_auc["validation"] == pytest.approx(
            roc_auc_score(valid["target"], valid[model.estimator.column]), abs=1e-12)
    assert protocol.choose(models) == "xgboost"
    # determinism: the same seed draws the same folds
    dev_frame = sample[sample["split"].isin(["dev", "validation"])]
    np.testing.assert_array_equal(protocol.folds(dev_frame), protocol.folds(dev_frame))
    with pytest.raises(ModelError, match="cross_fit_folds"):
        _protocol(final_fit="development", cross_fit_folds=1)
    with pytest.raises(ModelError, match="final_fit"):
        _protocol(final_fit="everything")


def test_final_fit_auto_refits_below_the_bad_count_and_records_why(sample):
    """final_fit='auto': the fit rows' bad count against refit_below_bads decides between the refit on development
    and the fit-rows model; the model says which was used and why (the report and metrics.json read it)."""
    features = ["x1", "x2", "noise"]
    bads = int(sample.loc[sample["split"] == "dev", "target"].sum())
    few = _protocol(final_fit="auto", refit_below_bads=bads + 1)  # one bad short of the threshold: refit
    log: list = []
    model = few.fit({"scorecard": SpyCandidate("noise", log)}, sample, features)["scorecard"]
    assert len([kind for kind, _ in log if kind == "fit"]) == 1 + 3 + 1  # settle, three folds, final
    assert model.development["final_fit"] == "development" and model.development["setting"] == "auto"
    assert model.development["reason"] == (
        f"models.final_fit is 'auto' and the fit rows hold {bads:,} bads, fewer than models.refit_below_bads "
        f"({bads + 1:,}): a quarter more rows still moves the model, so it is refitted on all development rows")
    plenty = _protocol(final_fit="auto", refit_below_bads=bads)  # exactly at the threshold: keep the fit-rows model
    log = []
    model = plenty.fit({"scorecard": SpyCandidate("noise", log)}, sample, features)["scorecard"]
    assert [kind for kind, _ in log].count("fit") == 1
    assert model.development["final_fit"] == "fit_rows" and model.development["calibrated_on"] == "the validation rows"
    assert model.development["reason"].startswith(f"models.final_fit is 'auto' and the fit rows hold {bads:,} bads, "
                                                  f"at least models.refit_below_bads ({bads:,})")
    assert model.master_scale_.dev_counts_.sum() == (sample["split"] == "validation").sum()  # calibrated on validation
    # a fixed setting is used as set, whatever the count, and says so
    fixed = _protocol(final_fit="fit_rows").fit({"scorecard": SpyCandidate("noise", [])}, sample, features)["scorecard"]
    assert fixed.development["reason"] == "models.final_fit is 'fit_rows'"
    # the report's table of rows used follows the final fit in use
    assert "final fit (configuration fixed above)" not in set(rows_table(sample, final_fit=model.development["final_fit"])["step"])
    with pytest.raises(ModelError, match="final_fit 'auto' needs refit_below_bads"):
        _protocol(final_fit="auto")
    for bad in (-1, 2.5, True):
        with pytest.raises(ModelError, match=f"refit_below_bads must be an integer >= 0, got {bad!r}"):
            _protocol(final_fit="auto", refit_below_bads=bad)


def test_frozen_xgboost_fixes_the_winner_and_scales_the_rounds(sample):
    features = ["x1", "x2", "noise"]
    dev, valid = sample[sample["split"] == "dev"], sample[sample["split"] == "validation"]
    est = XGBoostChallenger(n_search=2, search_seconds=60, seed=1).fit(dev[features], dev["target"],
                                                                      valid[features], valid["target"])
    frozen = est.frozen(rounds_scale=4 / 3)
    assert frozen.fixed_rounds == round((est.best_iteration_ + 1) * 4 / 3)
    development = pd.concat([dev, valid])
    refit = frozen.fit(development[features], development["target"])  # no evaluation set needed
    assert refit.booster_.num_boosted_rounds() == frozen.fixed_rounds
    assert refit.best_params_ == {k: v for k, v in est.best_params_.items()}
    with pytest.raises(ModelError, match="frozen"):
        XGBoostChallenger().frozen()


def test_xgboost_stops_early_on_the_validation_rows_only(sample, monkeypatch):
    import xgboost as xgb

    eval_rows, train_rows = [], []
    train = xgb.train

    def spy(params, dtrain, *args, callbacks=(), **kwargs):  # early stopping's callback holds the evaluation set
        train_rows.append(dtrain.num_row())
        eval_rows.extend(cb.dvalid.num_row() for cb in callbacks)
        return train(params, dtrain, *args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(xgb, "train", spy)
    est = XGBoostChallenger(n_search=2, search_seconds=60, params={"n_estimators": 50})
    _protocol().fit({"xgboost": est}, sample, ["x1", "x2", "noise"])
    n = sample["split"].value_counts()
    assert train_rows == [n["dev"]] * 2 and eval_rows == [n["validation"]] * 2


def test_xgboost_search_subsample_is_of_fit_rows_and_stops_on_validation(sample, monkeypatch):
    """With search_rows the candidates see a subsample of the fit rows, the winner's refit every fit row; early
    stopping reads the validation rows each time, and no test or out-of-time row is read."""
    import xgboost as xgb

    seen = []
    train = xgb.train

    def spy(params, dtrain, *args, callbacks=(), **kwargs):  # early stopping's callback holds the evaluation set
        seen.append((dtrain.get_label().copy(), [cb.dvalid.num_row() for cb in callbacks]))
        return train(params, dtrain, *args, callbacks=callbacks, **kwargs)

    monkeypatch.setattr(xgb, "train", spy)
    n = sample["split"].value_counts()
    est = XGBoostChallenger(n_search=2, search_seconds=60, params={"n_estimators": 50}, search_rows=n["dev"] // 2)
    _protocol().fit({"xgboost": est}, sample, ["x1", "x2", "noise"])
    dev_target = sample.loc[sample["split"] == "dev", "target"].to_numpy()
    take = est.search_subsample(dev_target)
    assert [len(labels) for labels, _ in seen] == [len(take), len(take), n["dev"]]
    for labels, _ in seen[:2]:
        np.testing.assert_array_equal(labels, dev_target[take])  # rows of the fit role, in the subsample's order
    np.testing.assert_array_equal(seen[2][0], dev_target)
    assert all(evals == [n["validation"]] for _, evals in seen)


def test_rows_table_names_the_rows_of_every_step(sample):
    table = rows_table(sample).set_index("step")
    n = sample["split"].value_counts()
    assert set(table.index) == set(STEPS)
    assert table.loc["fit", "rows"] == n["dev"] and table.loc["calibration", "rows"] == n["validation"]
    assert table.loc["reported discrimination and calibration", "rows"] == n["test"] + n["oot"]
    assert "test" not in " ".join(table.loc[[s for s in STEPS if "report" not in s and "backtest" not in s], "rows used"])


def test_rows_table_with_the_final_fit_says_what_the_registered_model_read(sample):
    table = rows_table(sample, final_fit="development").set_index("step")
    n = sample["split"].value_counts()
    assert table.loc["fit (to settle the configuration)", "rows"] == n["dev"]
    assert table.loc["choice of candidate (validation AUC before the final fit)", "rows used"] == "validation"
    for step in REFIT_STEPS:
        assert table.loc[step, "rows"] == n["dev"] + n["validation"]
        assert table.loc[step, "rows used"] == "development (fit) + validation"
    assert list(table.index)[-2:] == ["reported discrimination and calibration", "month-by-month backtest"]


def test_frozen_scorecard_rebins_with_the_same_settings_on_the_new_rows(german):
    X = german.drop(columns="GoodCredit").iloc[:, :8]
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    binner = WoeBinner().fit(X.iloc[:600], y[:600])
    card = WoeLogisticScorecard(binner, list(binner.variables_)[:5]).fit(X.iloc[:600], y[:600])
    refit = card.frozen().fit(X, y)
    assert refit.binner is not card.binner and refit.binner.spec == card.binner.spec
    assert refit.features_ == card.features_ or set(refit.features_) < set(card.features_)  # wrong-sign drops only
    assert refit.points_table_.groupby("variable")["count"].sum().eq(len(X)).all()  # bins counted on all rows
    assert card.points_table_.groupby("variable")["count"].sum().eq(600).all()  # the original is untouched


def test_walk_forward_develops_each_origin_on_earlier_rows_only(german, monkeypatch):
    """Binning, selection, fitting and calibration at each origin see no row dated at or after it."""
    X = german.drop(columns="GoodCredit")
    frame = X.assign(target=(german["GoodCredit"] == 2).astype(int).to_numpy(), application_id=np.arange(len(X)),
                     application_month=(pd.to_datetime("2024-01-01") + pd.to_timedelta(
                         (np.arange(len(X)) // 100) * 31, "D")).to_period("M").to_timestamp())
    features = list(X.columns)
    cfg = PortfolioConfig(source={"kind": "warehouse"}, models={"xgboost": {"enabled": False}},
                          binning={"max_n_bins": 4, "special_codes": {}}, selection={"max_features": 6})
    seen: list[tuple[str, pd.Index]] = []
    for cls, method in ((WoeBinner, "fit"), (WoeLogisticScorecard, "fit"), (WoeLogisticScorecard, "predict_proba")):
        original = getattr(cls, method)

        def spy(self, X, *args, _original=original, _name=f"{cls.__name__}.{method}", **kwargs):
            seen.append((_name, X.index))
            return _original(self, X, *args, **kwargs)

        monkeypatch.setattr(cls, method, spy)
    walk = walk_forward(refit_function(cfg, "scorecard", features), frame, features, origins=3)
    assert len(walk) == 3
    # per origin: binning, fitting, the raw PDs calibration reads, then the walk-forward scoring the months after it
    per_origin = [seen[i:i + 4] for i in range(0, len(seen), 4)]
    assert len(per_origin) == 3
    for origin, calls in zip(walk["origin"], per_origin):
        assert [name for name, _ in calls] == ["WoeBinner.fit", "WoeLogisticScorecard.fit",
                                               "WoeLogisticScorecard.predict_proba", "WoeLogisticScorecard.predict_proba"]
        used = calls[0][1].union(calls[1][1]).union(calls[2][1])
        assert frame.loc[used, "application_month"].max() < origin  # no future row
        assert not calls[0][1].intersection(calls[2][1]).size  # calibration rows are held out from fitting
        assert frame.loc[calls[3][1], "application_month"].min() >= origin  # scored: the months from the origin on


def test_the_configs_binning_threads_and_search_rows_reach_the_estimators(sample):
    """binning.n_jobs and models.xgboost.search_rows are passed on (a config key that changes nothing is a defect)."""
    from pipelines.estimators import build_estimators, fit_binner

    features = ["x1", "x2", "noise"]
    fit_rows = sample[sample["split"] == "dev"]
    cfg = PortfolioConfig(source={"kind": "warehouse"}, binning={"n_jobs": 1, "special_codes": {}},
                          models={"xgboost": {"search_rows": 5000}})
    binner = fit_binner(cfg, fit_rows, features)
    assert binner.n_jobs == 1
    two = fit_binner(cfg.model_copy(update={"binning": cfg.binning.model_copy(update={"n_jobs": 2})}), fit_rows, features)
    assert two.n_jobs == 2
    pd.testing.assert_frame_equal(binner.summary(), two.summary())  # threads never change the bins
    assert build_estimators(cfg, binner, features)["xgboost"].search_rows == 5000
    default = PortfolioConfig(source={"kind": "warehouse"})
    assert fit_binner(default, fit_rows, features).n_jobs >= 1
    assert build_estimators(default, binner, features)["xgboost"].search_rows == default.models.xgboost.search_rows


def test_cross_fit_folds_keep_customers_together_stratified_and_seeded():
    """The final fit's folds: a partition, whole customers, each fold an equal share of bad and of good customers."""
    from features.sample import stratified_folds

    book = _book(n_customers=20_000)
    y, groups = book["target"].to_numpy(), book["customer_id"].to_numpy()
    fold = stratified_folds(y, 3, np.random.default_rng(5), groups)
    assert set(fold) == {0, 1, 2}
    assert book.assign(fold=fold).groupby("customer_id")["fold"].nunique().max() == 1  # customers stay together
    bad_customer = book.groupby("customer_id")["target"].max()
    per_fold = book.assign(fold=fold).groupby("customer_id")["fold"].first()
    for cls in (0, 1):  # customers of each class dealt evenly: counts differ by at most one
        counts = per_fold[bad_customer == cls].value_counts()
        assert counts.max() - counts.min() <= 1
    rates = pd.Series(y).groupby(fold).mean()
    assert rates.max() - rates.min() < 0.01
    np.testing.assert_array_equal(fold, stratified_folds(y, 3, np.random.default_rng(5), groups))  # seeded
    assert not np.array_equal(fold, stratified_folds(y, 3, np.random.default_rng(6), groups))
    rows = stratified_folds(y, 4, np.random.default_rng(5))  # no groups: rows one by one, exact class counts per fold
    assert np.ptp(pd.Series(y).groupby(rows).sum()) <= 1 and np.ptp(np.bincount(rows)) <= 2


def test_a_protocol_that_chooses_nothing_scores_no_rows_for_a_choice(sample):
    """Walk-forward origins develop one candidate: no AUC is computed for a choice, and none can be made from them."""
    est = XGBoostChallenger(n_search=1, params={"n_estimators": 20})
    models = _protocol(record_choice=False).fit({"xgboost": est}, sample, ["x1", "x2", "noise"])
    assert models["xgboost"].choice_auc == {}
    with pytest.raises(ModelError, match="no recorded AUC"):
        _protocol().choose(models)
