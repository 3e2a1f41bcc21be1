"""An uninformative candidate is dropped with its reason and the run goes on; no candidate left, or a
bad input, still stops it. German credit (UCI, 1,000 applications) with candidates made uninformative
the way a small book makes them: boosted trees that never split (every raw PD equal), a scorecard on a
variable with one value."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.binning import WoeBinner
from features.errors import ModelError, UninformativeModelError
from features.sample import SampleDesign, sample_summary, split_development, split_sample
from features.selection import SelectionRules, select_features
from models.backtest import run_backtest, walk_forward
from models.candidate import CreditModel
from models.candidate_fitting import FittedCandidates, fit_candidates
from models.challenger import XGBoostChallenger
from models.hist_gradient_boosting import HistGradientBoostingCandidate
from models.protocol import DevelopmentProtocol
from models.scorecard import WoeLogisticScorecard
from models.validation_report import ReportInputs, write_validation_report
from pipelines.storage import read_value, value_metadata, write_value

CONSTANT_TREES = "calibration: raw PDs are all equal, Platt scaling cannot be fitted"


@pytest.fixture(scope="module")
def book(german):
    """German credit split as the nightly sample is (no dates: a second random holdout stands in for
    out of time), with ``flat``, a column holding one value (a field the lender stopped filling)."""
    X = german.drop(columns="GoodCredit")
    frame = X.assign(target=(german["GoodCredit"] == 2).astype(int).to_numpy(), application_id=np.arange(len(X)),
                     flat=1.0)
    sample = split_sample(frame, SampleDesign(oot_months=0, seed=3))
    features = [*X.columns, "flat"]
    fit_rows = sample[sample["split"] == "dev"]
    binner = WoeBinner().fit(fit_rows[features], fit_rows["target"])
    selection = select_features(binner.summary().set_index("name")["iv"], binner.transform(fit_rows), SelectionRules())
    return sample, features, binner, selection


def _protocol(**kwargs) -> DevelopmentProtocol:
    return DevelopmentProtocol(wrap=lambda name, estimator: CreditModel(name, estimator), **kwargs)


def _scorecard(binner, selection) -> WoeLogisticScorecard:
    return WoeLogisticScorecard(binner, selection.loc[selection["selected"], "variable"].tolist())


def _constant_xgboost() -> XGBoostChallenger:
    # no leaf can hold 10^6 rows' weight: every tree is a single leaf and every applicant gets the same PD
    # (a short patience: a flat validation AUC stops it at once)
    return XGBoostChallenger(params={"min_child_weight": 1e6, "early_stopping_rounds": 5}, n_search=1, search_seconds=0)


def _constant_hist() -> HistGradientBoostingCandidate:
    return HistGradientBoostingCandidate(params={"min_samples_leaf": 10_000})


@pytest.fixture(scope="module")
def fitted(book):
    """The nightly protocol (final fit on all development rows, cross-fitted calibration)."""
    sample, features, binner, selection = book
    estimators = {"scorecard": _scorecard(binner, selection), "xgboost": _constant_xgboost()}
    return fit_candidates(_protocol(final_fit="development"), estimators, sample, features)


def test_the_uninformative_candidate_is_dropped_with_its_reason_and_the_others_go_on(book, fitted):
    sample, features, binner, selection = book
    assert list(fitted) == ["scorecard"] and len(fitted) == 1
    assert fitted.dropped == {"xgboost": CONSTANT_TREES}
    # the kept candidate is exactly what the protocol fits on its own: dropping another costs it nothing
    alone = _protocol(final_fit="development").fit({"scorecard": _scorecard(binner, selection)}, sample, features)
    X = sample[features]
    np.testing.assert_array_equal(fitted["scorecard"].predict_proba(X), alone["scorecard"].predict_proba(X))
    assert fitted["scorecard"].choice_auc == alone["scorecard"].choice_auc
    assert fitted["scorecard"].development["final_fit"] == "development"
    # the choice and the backtest read it as they read a dict of models
    assert _protocol().choose(fitted) == "scorecard"
    assert set(run_backtest(fitted, sample, features).by_split["candidate"]) == {"scorecard"}


def test_the_dropped_reason_is_the_calibrators_error(book):
    """The reason recorded is the typed error calibration raised on the validation rows' raw PDs."""
    sample, features, _, _ = book
    fit_rows, valid = (sample[sample["split"] == s] for s in ("dev", "validation"))
    trees = _constant_xgboost().fit(fit_rows[features], fit_rows["target"], valid[features], valid["target"])
    raw = trees.predict_proba(valid[features])
    assert np.ptp(raw) == 0  # the engineered degeneracy is real: one PD for everyone
    with pytest.raises(UninformativeModelError, match="all equal") as caught:
        CreditModel("xgboost", trees).fit_calibration(valid[features], valid["target"].to_numpy())
    assert str(caught.value) == CONSTANT_TREES


def test_fitted_candidates_survive_the_asset_store(fitted, tmp_path):
    """The candidates asset goes through the IO manager between steps: the drops travel with the models."""
    write_value(fitted, tmp_path / "candidates")
    back = read_value(tmp_path / "candidates")
    assert isinstance(back, FittedCandidates) and list(back) == ["scorecard"] and back.dropped == fitted.dropped
    # what the Dagster UI shows on the materialization
    assert value_metadata(back) == {"candidates": "scorecard", "dropped": f"xgboost: {CONSTANT_TREES}"}


def test_with_every_candidate_uninformative_the_run_stops_naming_each_reason(book):
    sample, features, binner, _ = book
    estimators = {"scorecard": WoeLogisticScorecard(binner, ["flat"]), "xgboost": _constant_xgboost(),
                  "hist_gradient_boosting": _constant_hist()}
    with pytest.raises(ModelError, match="every candidate came out uninformative") as caught:
        fit_candidates(_protocol(final_fit="fit_rows"), estimators, sample, features)
    assert not isinstance(caught.value, UninformativeModelError)  # the run's error, not one candidate's
    message = str(caught.value)
    for name in estimators:
        assert f"{name}: {CONSTANT_TREES}" in message


def test_choose_by_scorecard_stops_when_the_scorecard_is_dropped(book):
    sample, features, binner, selection = book
    estimators = {"scorecard": WoeLogisticScorecard(binner, ["flat"]), "xgboost": _constant_xgboost()}
    with pytest.raises(ModelError, match="choose_by is 'scorecard' but the scorecard came out uninformative"):
        fit_candidates(_protocol(choose_by="scorecard"), {"scorecard": estimators["scorecard"],
                                                          "backup": _scorecard(binner, selection)}, sample, features)


def test_bad_input_still_stops_the_run(book):
    """A data problem is no candidate's weakness: it is raised as it was, nothing is dropped."""
    sample, features, binner, selection = book
    only_goods = sample[~((sample["split"] == "validation") & (sample["target"] == 1))]
    with pytest.raises(ModelError, match="validation rows .* need goods and bads") as caught:
        fit_candidates(_protocol(), {"scorecard": _scorecard(binner, selection), "xgboost": _constant_xgboost()},
                       only_goods, features)
    assert not isinstance(caught.value, UninformativeModelError)
    miscoded = sample.copy()
    miscoded.loc[miscoded.index[(miscoded["split"] == "validation").to_numpy()][:5], "target"] = 2  # an unmapped outcome
    with pytest.raises(ModelError, match=r"must be 0 \(good\) / 1 \(bad\)") as caught:
        fit_candidates(_protocol(), {"scorecard": _scorecard(binner, selection), "xgboost": _constant_xgboost()},
                       miscoded, features)
    assert not isinstance(caught.value, UninformativeModelError)


def test_the_report_and_metrics_json_name_the_dropped_candidate(book, fitted, walk, tmp_path):
    sample, features, binner, selection = book
    inputs = ReportInputs(portfolio="german", run_label="test", bad_definition={}, sample=sample,
                          sample_summary=sample_summary(sample, None), features=features, outcome_tables={},
                          binner=binner, selection=selection, candidates=fitted,
                          backtest=run_backtest(fitted, sample, features), chosen="scorecard", has_dates=False,
                          dropped_candidates=fitted.dropped, max_auc_gap=0.001,  # flags the scorecard's gap
                          walk_forward=walk)
    report, metrics_path, res = write_validation_report(inputs, tmp_path)
    # walk-forward origins where the candidate was not developed are limitations, with the reason
    for origin, rows in zip(walk["origin"].iloc[:2], walk["train_rows"].iloc[:2]):
        assert (f"Walk-forward origin {origin:%Y-%m}: 'scorecard' not developed: {CONSTANT_TREES} (trained on {rows} "
                "rows before it).") in res["warnings"]
    # the overfitting warning shows the AUCs its gap is made of (before the final refit), not the refitted model's
    o = res["overfitting"]["scorecard"]
    assert f"Overfitting: 'scorecard' has AUC {o['fit_auc']:.4f} on the fit rows against {o['validation_auc']:.4f} " \
           f"on validation, a gap of {o['gap']:.4f} above the configured 0.001." in res["warnings"]
    assert o["fit_auc"] != res["metrics"]["dev"]["auc"]  # the refit's in-sample AUC is another number
    assert json.loads(metrics_path.read_text())["metrics"]["dropped_candidates"] == {"xgboost": CONSTANT_TREES}
    assert f"Candidate 'xgboost' was dropped as uninformative and not validated: {CONSTANT_TREES}." in res["warnings"]
    table = pd.read_csv(next((tmp_path / "tables").glob("*candidates_dropped_as_uninformative*.csv")))
    assert table.to_dict("records") == [{"candidate": "xgboost", "reason": CONSTANT_TREES}]
    assert "Candidates dropped as uninformative" in report.read_text()


@pytest.fixture(scope="module")
def walk(german):
    """Walk-forward on German dated 100 applications a month; the two earliest origins' trees never split."""
    X = german.drop(columns="GoodCredit")
    frame = X.assign(target=(german["GoodCredit"] == 2).astype(int).to_numpy(), application_id=np.arange(len(X)),
                     application_month=(pd.to_datetime("2024-01-01") + pd.to_timedelta(
                         (np.arange(len(X)) // 100) * 31, "D")).to_period("M").to_timestamp())
    features = list(X.columns)
    developed = []

    def develop(train):  # constant trees at the two earliest origins; later ones get a real scorecard
        roles = split_development(train, 0.25, seed=1)
        if len(developed) < 2:
            developed.append("constant trees")
            return _protocol().fit({"xgboost": _constant_xgboost()}, roles, features)["xgboost"]
        fit_rows = roles[roles["split"] == "dev"]
        chosen = ["checkingstatus1", "duration2", "history3"]
        card = WoeLogisticScorecard(WoeBinner().fit(fit_rows[chosen], fit_rows["target"]), chosen)
        return _protocol().fit({"scorecard": card}, roles, features)["scorecard"]

    return walk_forward(develop, frame, features, origins=3)


def test_walk_forward_notes_an_origin_where_the_candidate_is_uninformative_and_goes_on(walk):
    """Early origins have the fewest rows; a candidate that cannot be built there is a finding, not a stop."""
    assert len(walk) == 3
    assert (walk["note"].iloc[:2] == f"not developed: {CONSTANT_TREES}").all() and walk["auc"].iloc[:2].isna().all()
    assert walk["note"].iloc[2] == "" and 0.5 < walk["auc"].iloc[2] < 1
    assert (walk["rows"] > 0).all() and walk["train_rows"].is_monotonic_increasing
