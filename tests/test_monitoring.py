"""Monitoring library on real data (German credit, UCI): PSI/CSI against hand computation, tiers, approval
cut-off, early delinquency and its one-sided binomial test against an exact sum."""

from math import comb

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from features.errors import ModelError
from models.monitoring import (
    Bands,
    ChampionMonitor,
    MonitoringPolicy,
    early_delinquency,
    render_html,
    tier,
    worst,
)

NUMERIC = ["duration2", "amount5", "installment8", "age13", "residence11", "cards16"]


@pytest.fixture(scope="module")
def scored(german):
    """German credit scored by a logistic model: pd, points (higher = safer), grade 1..10 by PD decile."""
    X = german[NUMERIC].astype(float)
    y = (german["GoodCredit"] == 2).astype(int)
    model = LogisticRegression(max_iter=1000).fit(X, y)
    pd_ = model.predict_proba(X)[:, 1]
    score = np.round(600 - 20 / np.log(2) * np.log(pd_ / (1 - pd_)))
    grade = pd.qcut(pd_, 10, labels=False) + 1
    decisions = pd.DataFrame({"pd": pd_, "score": score, "grade": grade})
    return decisions, german[NUMERIC + ["purpose4"]].reset_index(drop=True), y.to_numpy()


def _psi_by_hand(expected, actual, bins=10):
    """PSI on the deciles of `expected`, right-closed bins, empty shares floored at 1e-4."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="left"), minlength=len(edges) + 1) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="left"), minlength=len(edges) + 1) / len(actual)
    e, a = np.maximum(e, 1e-4), np.maximum(a, 1e-4)
    return float(((a - e) * np.log(a / e)).sum())


def test_tiers_follow_the_bands():
    assert [tier(v, 0.1, 0.25) for v in (0.0, 0.0999, 0.1, 0.2, 0.25, 3.0, float("nan"))] == \
        ["green", "green", "amber", "amber", "red", "red", "green"]
    assert worst(["green", "red", "amber"]) == "red" and worst([]) == "green"
    with pytest.raises(ModelError, match="amber"):
        Bands(0.3, 0.2)
    with pytest.raises(ModelError, match="significance"):
        MonitoringPolicy(significance=0.7)


def test_like_for_like_halves_are_green_and_psi_matches_hand_computation(scored):
    decisions, features, _ = scored
    rng = np.random.default_rng(1)
    half = rng.random(len(decisions)) < 0.5
    approved = decisions["pd"].to_numpy() < 0.5
    monitor = ChampionMonitor().fit(decisions[half], features[half], approved[half], np.full(half.sum(), np.nan))
    result = monitor.evaluate(decisions[~half], features[~half], approved[~half])
    assert result.score_psi == pytest.approx(_psi_by_hand(decisions["score"][half].to_numpy(),
                                                          decisions["score"][~half].to_numpy()), abs=1e-12)
    assert result.approved_score_psi == pytest.approx(_psi_by_hand(
        decisions["score"][half & approved].to_numpy(), decisions["score"][~half & approved].to_numpy()), abs=1e-12)
    assert result.score_tier == "green" and result.status == "green"
    # CSI of a categorical feature: shares per category, by hand
    ref, cur = features["purpose4"][half], features["purpose4"][~half]
    cats = sorted(set(ref) | set(cur))
    e = np.maximum(ref.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy(), 1e-4)
    a = np.maximum(cur.value_counts(normalize=True).reindex(cats, fill_value=0).to_numpy(), 1e-4)
    assert result.csi.set_index("feature").loc["purpose4", "csi"] == pytest.approx(float(((a - e) * np.log(a / e)).sum()), abs=1e-9)
    # grade shares sum to one on both sides; the approval cut-off reproduces the reference approval rate
    assert result.grades[["reference_share", "current_share"]].sum().to_numpy() == pytest.approx([1, 1])
    assert result.approval["reference_rate"] == pytest.approx(approved[half].mean(), abs=0.01)
    assert "early-delinquency" in " ".join(result.notes)


def test_shifted_scores_and_features_are_red_with_the_worst_tier_overall(scored):
    decisions, features, _ = scored
    approved = np.ones(len(decisions), bool)
    monitor = ChampionMonitor().fit(decisions, features, approved, np.full(len(decisions), np.nan))
    shifted = decisions.assign(score=decisions["score"] - 60)
    moved = features.assign(duration2=features["duration2"] * 3)
    result = monitor.evaluate(shifted, moved, approved, model_features=["duration2", "amount5"])
    assert result.score_psi >= 0.25 and result.score_tier == "red" and result.status == "red"
    csi = result.csi.set_index("feature")
    assert csi.loc["duration2", "tier"] == "red" and csi.loc["duration2", "in_model"]
    assert csi.loc["age13", "tier"] == "info"  # not read by the model: reported, not tiered
    assert result.csi_tier == "red"
    html = render_html(result, "Monitoring of a test model")
    assert "RED" in html and "duration2" in html
    assert result.summary()["status"] == "red"


def test_early_delinquency_flags_by_mob_and_leaves_young_vintages_out():
    months = pd.Series(pd.to_datetime(["2025-01-15", "2025-01-20", "2025-02-03", "2025-05-09"]), index=[1, 2, 3, 4])
    perf = pd.DataFrame({
        "loan_id": [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4],
        "snapshot_month": pd.to_datetime(["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-02-01",
                                          "2025-03-01", "2025-04-01", "2025-03-01", "2025-04-01", "2025-05-01",
                                          "2025-06-01"]),
        "days_past_due": [0, 0, 0, 60, 0, 35, 0, 0, 0, 30, 90],
    })
    flags = early_delinquency(perf, months, dpd=30, mob=3)
    # loan 1: 60 DPD only at MOB 4 -> not early; loan 2: 35 at MOB 2; loan 3: 30 at MOB 3; loan 4: MOB 1 only, unobserved
    assert flags.to_dict() == {1: 0.0, 2: 1.0, 3: 1.0, 4: pytest.approx(np.nan, nan_ok=True)}
    with pytest.raises(ModelError, match="mob"):
        early_delinquency(perf, months, dpd=30, mob=0)


def test_early_delinquency_test_is_one_sided_binomial_against_the_reference_grade_rate(scored):
    decisions, features, y = scored
    approved = np.ones(len(decisions), bool)
    early = y.astype(float)  # the reference's observed "early" indicator per loan
    monitor = ChampionMonitor(MonitoringPolicy(early_ratio=Bands(1.25, 1.5), significance=0.05)).fit(
        decisions, features, approved, early)
    expected = pd.Series(early).groupby(decisions["grade"].to_numpy()).mean()
    # recent loans of grade 10 go bad twice as often as grade 10 did; grade 1 as often as it did
    n = 60
    p10 = expected.loc[10]
    k10 = min(n, round(2 * p10 * n))
    k1 = round(expected.loc[1] * n)
    recent = pd.DataFrame({"grade": [10] * n + [1] * n, "early": [1.0] * k10 + [0.0] * (n - k10) + [1.0] * k1 + [0.0] * (n - k1)})
    result = monitor.evaluate(decisions, features, approved, recent)
    table = result.early.set_index("grade")
    exact = sum(comb(n, i) * p10 ** i * (1 - p10) ** (n - i) for i in range(k10, n + 1))
    assert table.loc["10", "p_value"] == pytest.approx(exact, rel=1e-9)
    assert table.loc["10", "expected_rate"] == pytest.approx(p10)
    assert table.loc["10", "ratio"] == pytest.approx((k10 / n) / p10)
    assert (k10 / n) / p10 >= 1.5 and exact < 0.05  # large and significant: red
    assert table.loc["10", "tier"] == "red"
    assert table.loc["1", "tier"] == "green"
    assert result.early_tier == worst(table["tier"])
    # the pooled row expects the recent grade mix
    assert table.loc["all", "expected_rate"] == pytest.approx((p10 + expected.loc[1]) / 2)
