"""The ECB section 2.5 PD tests against independent computations (SciPy, scikit-learn, hand tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from features.errors import ModelError
from models import supervisory as sv
from tests.taiwan_pd import held_out_pd


@pytest.fixture(scope="module")
def taiwan_pd(taiwan):
    """A simple PD model on Taiwan: fitted on one half, the other half scored (target, pd, grade 1..8)."""
    _, y, p = held_out_pd(taiwan)
    cuts = np.quantile(p, np.linspace(0, 1, 9)[1:-1])
    grade = np.searchsorted(cuts, p, side="right") + 1
    return pd.DataFrame({"target": y, "pd": p, "grade": grade})


def test_jeffreys_matches_scipy_beta_per_grade_and_portfolio(taiwan_pd):
    table = sv.jeffreys_test(taiwan_pd["target"], taiwan_pd["pd"], taiwan_pd["grade"])
    ref = taiwan_pd.groupby("grade").agg(n=("target", "size"), d=("target", "sum"), pd=("pd", "mean"))
    ref["p"] = stats.beta.cdf(ref["pd"], ref["d"] + 0.5, ref["n"] - ref["d"] + 0.5)
    grades = table.iloc[:-1].set_index("grade")
    assert list(grades.index) == list(ref.index)
    np.testing.assert_array_equal(grades["n"].to_numpy(), ref["n"].to_numpy())
    np.testing.assert_array_equal(grades["defaults"].to_numpy(), ref["d"].to_numpy())
    np.testing.assert_allclose(grades["mean_pd"].to_numpy(dtype=float), ref["pd"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(grades["observed_dr"].to_numpy(dtype=float), (ref["d"] / ref["n"]).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(grades["jeffreys_p_value"].to_numpy(dtype=float), ref["p"].to_numpy(), rtol=1e-10)
    port = table.iloc[-1]
    n, d, m = len(taiwan_pd), int(taiwan_pd["target"].sum()), taiwan_pd["pd"].mean()
    assert port["grade"] == "portfolio" and port["n"] == n and port["defaults"] == d
    assert port["jeffreys_p_value"] == pytest.approx(stats.beta.cdf(m, d + 0.5, n - d + 0.5), rel=1e-10)


def test_jeffreys_flags_an_underestimated_pd(taiwan_pd):
    halved = taiwan_pd["pd"] / 2  # every PD far too low: the portfolio test must reject
    table = sv.jeffreys_test(taiwan_pd["target"], halved, taiwan_pd["grade"])
    assert table.iloc[-1]["jeffreys_p_value"] < 1e-6
    doubled = np.minimum(taiwan_pd["pd"] * 2, 1)
    assert sv.jeffreys_test(taiwan_pd["target"], doubled, taiwan_pd["grade"]).iloc[-1]["jeffreys_p_value"] > 0.999


def _delong_se(y: np.ndarray, s: np.ndarray) -> float:
    """DeLong's standard error from placement values (an independent, O(n log n) hand computation)."""
    pos, neg = s[y == 1], s[y == 0]
    m, n = len(pos), len(neg)
    allr = stats.rankdata(np.concatenate([pos, neg]))
    v10 = (allr[:m] - stats.rankdata(pos)) / n  # share of negatives below each positive (ties half)
    v01 = 1 - (allr[m:] - stats.rankdata(neg)) / m
    return float(np.sqrt(np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n))


def test_auc_vs_initial_matches_scipy_normal(taiwan_pd):
    y, p = taiwan_pd["target"].to_numpy(), taiwan_pd["pd"].to_numpy()
    auc_now = roc_auc_score(y, p)
    se = _delong_se(y, p)
    for auc_init in (auc_now + 0.03, auc_now, auc_now - 0.02):
        res = sv.auc_vs_initial(y, p, auc_init)
        assert res.auc_current == pytest.approx(auc_now, abs=1e-12)
        assert res.se_current == pytest.approx(se, rel=1e-6)
        s = (auc_init - auc_now) / se
        assert res.statistic == pytest.approx(s, rel=1e-6)
        assert res.p_value == pytest.approx(stats.norm.sf(s), rel=1e-6)
    assert sv.auc_vs_initial(y, p, auc_now + 0.05).p_value < 0.001  # a fall of 5 points is significant here
    with pytest.raises(ModelError, match="auc_initial"):
        sv.auc_vs_initial(y, p, 1.5)


def test_herfindahl_hand_computed():
    c = sv.concentration([50, 30, 20])
    assert c.hhi == pytest.approx(0.5**2 + 0.3**2 + 0.2**2)  # 0.38
    cv = np.sqrt(3 * ((0.5 - 1 / 3) ** 2 + (0.3 - 1 / 3) ** 2 + (0.2 - 1 / 3) ** 2))
    assert c.cv == pytest.approx(cv)
    assert c.hi == pytest.approx(1 + np.log((cv**2 + 1) / 3) / np.log(3))
    assert c.hi == pytest.approx(1 + np.log(0.38) / np.log(3))  # the same index written with the HHI
    assert sv.concentration([10, 10, 10, 10]).hi == pytest.approx(0.0, abs=1e-12)  # even: no concentration
    assert sv.concentration([0, 40, 0, 0]).hi == pytest.approx(1.0)  # all in one grade
    with pytest.raises(ModelError, match="counts"):
        sv.concentration([0, 0, 0])


def test_herfindahl_test_hand_computed():
    init, now = [25, 25, 25, 25], [10, 20, 30, 40]
    res = sv.concentration_vs_initial(init, now)
    cv0 = 0.0
    r = np.array(now) / 100
    cv1 = np.sqrt(4 * np.sum((r - 0.25) ** 2))
    z = np.sqrt(3) * (cv1 - cv0) / np.sqrt(cv1**2 * (0.5 + cv1**2))
    assert res.statistic == pytest.approx(z)
    assert res.p_value == pytest.approx(stats.norm.sf(z))
    assert sv.concentration_vs_initial(now, now).p_value == pytest.approx(0.5)  # no change: S = 0
    assert sv.concentration_vs_initial(now, init).p_value == 1.0  # now perfectly even


def test_migration_matrix_hand_computed():
    frm = [1, 1, 2, 2, 2, 3, 3, 1]
    to = [1, 2, 2, 3, 1, 3, 1, 3]
    m = sv.migration_matrix(frm, to, 3)
    expected = np.array([[1, 1, 1],   # from 1: to 1, 2, 3
                         [1, 1, 1],   # from 2: to 1, 2, 3
                         [1, 0, 1]])  # from 3: to 1, 3
    np.testing.assert_array_equal(m.to_numpy(), expected)
    # MWB by hand: upper = (1*1 + 2*1 + 1*1) / (max(2,0)*2 + max(1,1)*1) = 4/5;
    # lower = (1*1 + 2*1) / (max(1,1)*1 + max(0,2)*1) = 3/3
    bw = sv.matrix_weighted_bandwidth(m.to_numpy())
    assert bw.upper == pytest.approx(4 / 5)
    assert bw.lower == pytest.approx(1.0)
    assert sv.matrix_weighted_bandwidth(np.eye(4) * 7) == sv.Bandwidth(0.0, 0.0)  # nobody moved


def test_matrix_weighted_bandwidth_published_example():
    """MathWorks' risk.validation.matrixWeightedBandwidth documents lower 0.3306, upper 0.6066 for this matrix."""
    counts = np.array([[10, 8, 15, 9, 10], [11, 9, 13, 9, 8], [0, 10, 10, 11, 10], [0, 0, 9, 11, 11], [0, 0, 0, 11, 10]])
    bw = sv.matrix_weighted_bandwidth(counts)
    assert bw.lower == pytest.approx(0.3306, abs=5e-5)
    assert bw.upper == pytest.approx(0.6066, abs=5e-5)


def test_repeat_pairs_consecutive_ratings_within_the_horizon():
    month = pd.to_datetime(["2023-03-01", "2023-01-01", "2023-02-01", "2023-01-01", "2024-09-01", "2023-05-01",
                            "2023-01-01", "2023-06-15", "2023-06-01"])
    frame = pd.DataFrame({"customer_id": [7, 7, 7, 8, 9, 9, None, 10, 10], "month": month,
                          "grade": [4, 1, 9, 2, 3, 6, 5, 8, 7]})
    pairs = sv.repeat_pairs(frame, "customer_id", "month", horizon_months=12)
    # customer 7: Jan 1 -> Feb 9 -> Mar 4; customer 9 is 16 months apart; customer 10 twice in one month
    assert pairs.to_dict("list") == {"grade_from": [1, 9], "grade_to": [9, 4], "months_apart": [1, 1]}
    assert sv.repeat_pairs(frame, "customer_id", "month", horizon_months=None)["months_apart"].tolist() == [1, 1, 16]


def test_traffic_lights():
    tl = sv.TrafficLights(p_amber=0.1, p_red=0.05, psi_amber=0.1, psi_red=0.25)
    assert tl.from_p(0.2) == "green" and tl.from_p(0.07) == "amber" and tl.from_p(0.01) == "red"
    assert tl.from_p(0.05) == "amber" and tl.from_p(0.1) == "green" and tl.from_p(float("nan")) == "not run"
    assert tl.from_level(0.05, 0.1, 0.25) == "green" and tl.from_level(0.1, 0.1, 0.25) == "amber"
    assert tl.from_level(0.3, 0.1, 0.25) == "red"
    with pytest.raises(ModelError, match="p_red"):
        sv.TrafficLights(p_amber=0.01, p_red=0.05)


def test_pack_on_taiwan(taiwan_pd):
    y, p, g = taiwan_pd["target"], taiwan_pd["pd"], taiwan_pd["grade"].to_numpy()
    first = taiwan_pd.iloc[: len(taiwan_pd) // 2]
    ref = sv.initial_reference(first["target"], first["pd"], first["grade"].to_numpy(), 8, "first half")
    assert ref["auc"] == pytest.approx(roc_auc_score(first["target"], first["pd"]))
    assert ref["grade_counts"] == np.bincount(first["grade"] - 1, minlength=8).tolist()
    migrations = pd.DataFrame({"grade_from": g[:500], "grade_to": g[500:1000]})
    res = sv.run_supervisory_tests(y, p, g, 8, ref, sample="whole half", score_psi=0.3,
                                   csi=pd.DataFrame({"feature": ["a", "b"], "csi": [0.01, 0.12]}),
                                   migrations=migrations, migration_source="test pairs")
    summary = res.summary.set_index("test")
    assert summary.loc[sv.TEST_PSI, "light"] == "red"
    assert summary.loc[sv.TEST_CSI, "light"] == "amber" and "b" in summary.loc[sv.TEST_CSI, "detail"]
    assert summary.loc[sv.TEST_AUC, "p_value"] == pytest.approx(
        sv.auc_vs_initial(y, p, ref["auc"]).p_value)
    mig = sv.migration_matrix(g[:500], g[500:1000], 8)
    bw = sv.matrix_weighted_bandwidth(mig.to_numpy())
    assert summary.loc[sv.TEST_MWB, "value"] == pytest.approx(max(bw.upper, bw.lower))
    assert summary.loc[sv.TEST_MWB, "light"] == "red"  # random pairs move far
    assert sv.overall_light(res.summary) == "red"
    for name, frame in res.tables().items():
        assert "test" in frame.columns, name
    with pytest.raises(ModelError, match="grades"):
        sv.run_supervisory_tests(y, p, g, 8, {**ref, "grade_counts": [1, 2]}, sample="x", score_psi=0.0)


def test_hanley_mcneil_hand_computed_and_close_to_delong(taiwan_pd):
    a, nb, ng = 0.8, 40, 60
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    expected = np.sqrt((a * (1 - a) + (nb - 1) * (q1 - a * a) + (ng - 1) * (q2 - a * a)) / (nb * ng))
    assert sv.hanley_mcneil_se(a, nb, ng) == pytest.approx(expected)
    y, p = taiwan_pd["target"].to_numpy(), taiwan_pd["pd"].to_numpy()
    auc = roc_auc_score(y, p)
    assert sv.hanley_mcneil_se(auc, int(y.sum()), int((1 - y).sum())) == pytest.approx(_delong_se(y, p), rel=0.25)
    row = sv.champion_auc_row({"auc": auc + 0.05, "sample": "v1 test", "version": "1"}, auc, len(y), int(y.sum()),
                              "out of time", sv.TrafficLights())
    assert row["light"] == "red" and row["p_value"] < 0.05 and "version 1" in row["test"]
