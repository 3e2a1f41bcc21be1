"""PD calibration and the master scale on real data (UCI Taiwan credit-card default).

The raw PD comes from an XGBoost challenger trained with bads weighted 3:1 (a common
answer to class imbalance), so it overstates risk and calibration has work to do."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from features.errors import ModelError, UninformativeModelError
from models.calibration import Calibrator, MasterScale, calibration_table
from models.calibration_tests import brier
from models.challenger import XGBoostChallenger
from models.discrimination import auc


@pytest.fixture(scope="module")
def raw(taiwan):
    y = taiwan["default_next_month"].to_numpy()
    X = taiwan.drop(columns=["ID", "SEX", "MARRIAGE", "AGE", "default_next_month"]).astype(float)
    Xd, Xt, yd, yt = train_test_split(X, y, test_size=0.3, random_state=42, stratify=y)
    model = XGBoostChallenger(params={"scale_pos_weight": 3.0}, n_search=1).fit(Xd, yd, Xt, yt)
    return model.predict_proba(Xd), yd, model.predict_proba(Xt), yt


@pytest.fixture(scope="module")
def platt(raw):
    pd_dev, yd, _, _ = raw
    return Calibrator("platt").fit(pd_dev, yd)


@pytest.fixture(scope="module")
def scale(raw, platt):
    return MasterScale(10).fit(platt.transform(raw[0]))


def test_raw_pd_is_miscalibrated(raw):
    pd_dev, yd, _, _ = raw
    assert pd_dev.mean() - yd.mean() > 0.1  # the weighted model overstates the bad rate


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_mean_calibrated_pd_equals_the_development_bad_rate(raw, method):
    pd_dev, yd, _, _ = raw
    cal = Calibrator(method).fit(pd_dev, yd).transform(pd_dev)
    assert cal.mean() == pytest.approx(yd.mean(), abs=1e-3)
    assert ((cal >= 0) & (cal <= 1)).all()


def test_platt_mean_is_exact_at_convergence(raw, platt):
    pd_dev, yd, _, _ = raw
    assert platt.transform(pd_dev).mean() == pytest.approx(yd.mean(), abs=1e-9)


def test_platt_matches_an_unpenalised_logistic_regression_on_the_logit(raw, platt):
    pd_dev, yd, _, _ = raw
    z = np.log(pd_dev / (1 - pd_dev)).reshape(-1, 1)
    lr = LogisticRegression(C=1e12, tol=1e-12, max_iter=10_000).fit(z, yd)
    assert platt.slope_ == pytest.approx(lr.coef_[0, 0], rel=1e-4)
    assert platt.intercept_ == pytest.approx(lr.intercept_[0], rel=1e-4)


def test_platt_preserves_ranking(raw, platt):
    _, _, pd_test, yt = raw
    cal = platt.transform(pd_test)
    order = np.argsort(pd_test, kind="stable")
    assert np.all(np.diff(cal[order]) >= 0)
    assert auc(yt, cal) == pytest.approx(auc(yt, pd_test), abs=1e-12)


def test_isotonic_is_non_decreasing_in_the_raw_pd(raw):
    pd_dev, yd, pd_test, _ = raw
    cal = Calibrator("isotonic").fit(pd_dev, yd).transform(pd_test)
    assert np.all(np.diff(cal[np.argsort(pd_test, kind="stable")]) >= 0)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_carries_to_the_test_split(raw, method):
    pd_dev, yd, pd_test, yt = raw
    cal = Calibrator(method).fit(pd_dev, yd).transform(pd_test)
    assert abs(cal.mean() - yt.mean()) < 0.01 < abs(pd_test.mean() - yt.mean())
    assert brier(yt, cal) < brier(yt, pd_test)


def test_calibrator_refuses_bad_inputs(raw):
    pd_dev, yd, _, _ = raw
    with pytest.raises(ModelError, match="method"):
        Calibrator("beta")
    # an uninformative raw PD: the run drops that candidate (models.candidate_fitting) instead of stopping
    with pytest.raises(UninformativeModelError, match="slope"):
        Calibrator("platt").fit(1 - pd_dev, yd)  # a PD that ranks goods as risky
    with pytest.raises(UninformativeModelError, match="all equal"):
        Calibrator("platt").fit(np.full(len(yd), 0.2), yd)
    # bad input or misuse is not a candidate's weakness: plain ModelError, the run stops
    for bad, match in (((pd_dev * 10, yd), r"\[0, 1\]"), ((pd_dev, np.zeros(len(yd))), "both goods and bads"),
                       ((np.where(np.arange(len(yd)) == 0, np.nan, pd_dev), yd), "missing")):
        with pytest.raises(ModelError, match=match) as caught:
            Calibrator("platt").fit(*bad)
        assert not isinstance(caught.value, UninformativeModelError)
    with pytest.raises(ModelError, match="not fitted"):
        Calibrator("platt").transform(pd_dev)


# --------------------------------------------------------------------------- master scale


def test_master_scale_partitions_zero_to_one_in_pd_order(scale):
    t = scale.table()
    assert list(t["grade"]) == list(range(1, 11))
    assert t["pd_min"].iloc[0] == 0.0 and t["pd_max"].iloc[-1] == 1.0
    np.testing.assert_array_equal(t["pd_max"].to_numpy()[:-1], t["pd_min"].to_numpy()[1:])
    assert (t["pd_max"] > t["pd_min"]).all()
    assert ((t["pd_mid"] >= t["pd_min"]) & (t["pd_mid"] <= t["pd_max"])).all() and t["pd_mid"].is_monotonic_increasing
    # each PD falls in the grade whose [pd_min, pd_max) holds it
    grid = np.concatenate([np.linspace(0, 1, 10_001), t["pd_min"], t["pd_max"]])
    g = scale.grade(grid)
    assert g.min() == 1 and g.max() == 10 and scale.grade([0.0, 1.0]).tolist() == [1, 10]
    assert np.all(np.diff(g[np.argsort(grid, kind="stable")]) >= 0)
    lo, hi = t["pd_min"].to_numpy()[g - 1], t["pd_max"].to_numpy()[g - 1]
    assert np.all((grid >= lo) & ((grid < hi) | (g == 10)))


def test_master_scale_is_log_spaced_between_quantiles(raw, platt, scale):
    cal = platt.transform(raw[0])
    cuts = scale.table()["pd_min"].to_numpy()[1:]
    assert cuts[0] == pytest.approx(np.quantile(cal, 0.1)) and cuts[-1] == pytest.approx(np.quantile(cal, 0.9))
    np.testing.assert_allclose(np.diff(np.log(cuts)), np.log(cuts[1] / cuts[0]), rtol=1e-9)
    counts = scale.table()["dev_count"].to_numpy()
    assert counts.sum() == len(cal) and (counts > 0).all()
    assert counts[0] == pytest.approx(0.1 * len(cal), rel=0.05)


def test_grades_rank_observed_default_rates_on_the_test_split(raw, platt, scale):
    _, _, pd_test, yt = raw
    cal = platt.transform(pd_test)
    table = calibration_table(yt, cal, scale.grade(cal))
    assert list(table["grade"]) == sorted(table["grade"]) and table["n"].sum() == len(yt)
    assert table["observed_dr"].is_monotonic_increasing
    bounds = scale.table().set_index("grade").loc[table["grade"]]
    assert ((table["mean_pd"].to_numpy() >= bounds["pd_min"].to_numpy())
            & (table["mean_pd"].to_numpy() < bounds["pd_max"].to_numpy())).all()
    assert {"binomial_p_value", "jeffreys_p_value"} <= set(table.columns)


def test_master_scale_refuses_degenerate_input():
    with pytest.raises(ModelError, match="n_grades"):
        MasterScale(1)
    with pytest.raises(UninformativeModelError, match="too concentrated"):
        MasterScale(10).fit(np.full(1000, 0.05))
    with pytest.raises(UninformativeModelError, match="every development PD is 0"):
        MasterScale(10).fit(np.zeros(100))
    with pytest.raises(ModelError, match="not fitted"):
        MasterScale().grade([0.1])
    two = MasterScale(2).fit(np.linspace(0.01, 0.5, 101))
    assert two.grade([0.0, 0.01, 0.5, 1.0]).tolist() == [1, 1, 2, 2]


# --------------------------------------------------------------------------- anchoring, floor, none


def test_anchoring_sets_the_mean_pd_to_the_long_run_rate_and_keeps_the_ranking(raw):
    pd_dev, yd, pd_test, yt = raw
    plain = Calibrator("platt").fit(pd_dev, yd)
    anchored = Calibrator("platt", long_run_rate=0.30).fit(pd_dev, yd)
    assert anchored.transform(pd_dev).mean() == pytest.approx(0.30, abs=1e-9)
    # one shift in log-odds: the difference of the logits is the same constant for every applicant
    lp, la = (np.log(p / (1 - p)) for p in (plain.transform(pd_test), anchored.transform(pd_test)))
    np.testing.assert_allclose(la - lp, anchored.shift_, atol=1e-9)
    assert anchored.shift_ > 0  # the development bad rate (~22%) is below the long-run 30%
    assert auc(yt, anchored.transform(pd_test)) == pytest.approx(auc(yt, pd_test), abs=1e-12)


def test_pd_floor_and_method_none(raw):
    pd_dev, yd, pd_test, _ = raw
    floored = Calibrator("platt", pd_floor=0.05).fit(pd_dev, yd).transform(pd_test)
    plain = Calibrator("platt").fit(pd_dev, yd).transform(pd_test)
    assert floored.min() == 0.05 and plain.min() < 0.05
    np.testing.assert_array_equal(floored, np.maximum(plain, 0.05))
    none = Calibrator("none", pd_floor=0.0003).fit(pd_dev, yd)
    np.testing.assert_array_equal(none.transform(pd_test), np.maximum(pd_test, 0.0003))
    with pytest.raises(ModelError, match="long_run_rate"):
        Calibrator("platt", long_run_rate=1.5)
    with pytest.raises(ModelError, match="pd_floor"):
        Calibrator("platt", pd_floor=-0.1)


def test_calibration_fitted_on_held_out_rows_holds_on_test(raw):
    """Calibrated on the held-out half of the test split, the PD passes Hosmer-Lemeshow on the other half;
    calibrated on the rows the model was fitted on, it does not (in-sample PDs are overconfident)."""
    from models.calibration_tests import hosmer_lemeshow

    pd_dev, yd, pd_test, yt = raw
    half = np.arange(len(yt)) % 2 == 0
    held_out = Calibrator("platt").fit(pd_test[half], yt[half]).transform(pd_test[~half])
    in_sample = Calibrator("platt").fit(pd_dev, yd).transform(pd_test[~half])
    assert hosmer_lemeshow(yt[~half], held_out).p_value > 0.01
    assert hosmer_lemeshow(yt[~half], in_sample).p_value < hosmer_lemeshow(yt[~half], held_out).p_value
