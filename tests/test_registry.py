"""Registry, pure parts: paired DeLong against a hand computation, the promotion policy on constructed
cases, the gate evidence read from the report's names, input fingerprints."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from features.errors import ModelError
from models import discrimination
from models.comparison import delong_paired
from models.lineage import RunFingerprint, table_fingerprint
from models.promotion import (
    ChampionComparison,
    GateEvidence,
    PromotionPolicy,
    contract_status,
    decide_promotion,
    evaluate_gates,
    gate_evidence,
    promotion_section,
    rank_ordering_holds,
)

# --------------------------------------------------------------------------- paired DeLong


def _hand_delong(y, a, b):
    """DeLong et al. (1988) straight from the definition: the Mann-Whitney kernel over every (bad, good) pair."""
    y = np.asarray(y)
    comps = []
    for s in (a, b):
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])
        comps.append((psi.mean(), psi.mean(axis=1), psi.mean(axis=0)))
    (auc_a, v10a, v01a), (auc_b, v10b, v01b) = comps
    m, n = len(v10a), len(v01a)

    def cov(x, z):
        return ((x - x.mean()) * (z - z.mean())).sum() / (len(x) - 1)

    var = (cov(v10a, v10a) + cov(v10b, v10b) - 2 * cov(v10a, v10b)) / m + \
          (cov(v01a, v01a) + cov(v01b, v01b) - 2 * cov(v01a, v01b)) / n
    z = (auc_a - auc_b) / math.sqrt(var)
    return auc_a, auc_b, math.sqrt(var), z, 2 * (1 - stats.norm.cdf(abs(z)))


@pytest.fixture(scope="module")
def german_scores(german):
    """Two real scorecards on German credit: one on duration and amount, one adding age (a scored holdout)."""
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()  # 2 = bad credit
    X = german[["duration2", "amount5", "age13"]].to_numpy(dtype=float)
    fit, hold = np.arange(len(y)) % 2 == 0, np.arange(len(y)) % 2 == 1
    a = LogisticRegression(max_iter=1000).fit(X[fit][:, :2], y[fit]).predict_proba(X[hold][:, :2])[:, 1]
    b = LogisticRegression(max_iter=1000).fit(X[fit], y[fit]).predict_proba(X[hold])[:, 1]
    return y[hold], a, b


def test_paired_delong_matches_the_definition_on_german_credit(german_scores):
    y, a, b = german_scores
    got = delong_paired(y, b, a)
    auc_b, auc_a, se, z, p = _hand_delong(y, b, a)
    assert got.auc_a == pytest.approx(auc_b, abs=1e-12) and got.auc_b == pytest.approx(auc_a, abs=1e-12)
    assert got.se == pytest.approx(se, rel=1e-10) and got.z == pytest.approx(z, rel=1e-10)
    assert got.p_value == pytest.approx(p, rel=1e-9)
    assert got.auc_a == pytest.approx(discrimination.auc(y, b), abs=1e-12)  # the report's AUC


def test_paired_delong_against_one_model_delong_and_ties(german_scores):
    y, a, b = german_scores
    # the variance of one AUC from the paired components is the report's DeLong variance
    rounded = np.round(a, 2)  # many ties
    same = delong_paired(y, rounded, rounded)
    assert same.difference == 0 and same.p_value == 1.0 and same.correlation == pytest.approx(1.0)
    against_constant = delong_paired(y, rounded, np.zeros_like(rounded))  # constant score: AUC 0.5, no variance
    assert against_constant.auc_b == 0.5
    assert against_constant.se == pytest.approx(discrimination.auc_delong_ci(y, rounded).se, rel=1e-10)
    hand = _hand_delong(y, rounded, b)
    assert delong_paired(y, rounded, b).se == pytest.approx(hand[2], rel=1e-10)


def test_paired_delong_refuses_bad_input():
    with pytest.raises(ModelError, match="length"):
        delong_paired([0, 1, 0], [0.1, 0.2], [0.1, 0.2, 0.3])
    with pytest.raises(ModelError, match="2 bads and 2 goods"):
        delong_paired([0, 0, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    with pytest.raises(ModelError, match="missing"):
        delong_paired([0, 1, 0, 1], [0.1, np.nan, 0.2, 0.3], [0.1, 0.2, 0.2, 0.3])


# --------------------------------------------------------------------------- the policy

POLICY = PromotionPolicy(min_oot_auc=0.6, min_oot_ks=0.15, max_score_psi=0.25, max_csi=0.25, margin=0.005)
FP = RunFingerprint(tables={"applications": {"sha256": "a" * 64, "rows": 10, "columns": 3}}, config_sha256="c" * 64,
                    code_sha256="d" * 64)


def _evidence(**over) -> GateEvidence:
    base = {"oot_auc": 0.75, "oot_ks": 0.35, "score_psi": 0.03, "csi": {"bureau_score": 0.02, "age": 0.01}, "rank_ordering_ok": True,
                "calibration_rejected": {"test": False, "oot": False}, "overfitting_flag": False, "contract_status": "pass"}
    return GateEvidence(**{**base, **over})


def _delong(candidate: float, champion: float, p: float = 0.01):
    from models.comparison import PairedDeLong
    return PairedDeLong(candidate, champion, candidate - champion, 0.01, (candidate - champion) / 0.01, p, 0.8)


def _comparison(candidate_auc=None, champion_auc=None, champion_evidence=None, **over) -> ChampionComparison:
    if candidate_auc is None:
        return ChampionComparison(candidate="scorecard", fingerprint=FP, **over)
    d = _delong(candidate_auc, champion_auc)
    return ChampionComparison(candidate="scorecard", fingerprint=FP, champion_version="3", champion_candidate="scorecard",
                              rows={"test": (900, 90), "oot": (600, 60)},
                              auc={s: {"champion": champion_auc, "candidate": candidate_auc} for s in ("test", "oot")},
                              ks={s: {"champion": 0.3, "candidate": 0.31} for s in ("test", "oot")},
                              delong={"test": d, "oot": d}, champion_evidence=champion_evidence or _evidence(), **over)


def test_first_model_that_passes_every_gate_becomes_champion():
    d = decide_promotion(_evidence(), _comparison(), POLICY)
    assert d.decision == "champion" and d.promote and d.gates_passed
    assert "no champion yet" in d.reason and len(d.gates) == 8


def test_better_worse_and_equal_against_the_champion_on_the_same_rows():
    better = decide_promotion(_evidence(), _comparison(0.760, 0.750), POLICY)
    assert better.decision == "champion" and "beats the margin 0.005" in better.reason and "+0.0100" in better.reason
    worse = decide_promotion(_evidence(), _comparison(0.740, 0.750), POLICY)
    assert worse.decision == "challenger" and "does not beat the margin" in worse.reason
    equal = decide_promotion(_evidence(), _comparison(0.750, 0.750), POLICY)
    assert equal.decision == "challenger"
    within = decide_promotion(_evidence(), _comparison(0.754, 0.750), POLICY)  # better, but by less than the margin
    assert within.decision == "challenger"
    assert decide_promotion(_evidence(), _comparison(0.754, 0.750), PromotionPolicy(margin=0.0)).decision == "champion"


@pytest.mark.parametrize("gate, evidence, words", [
    ("out-of-time AUC", {"oot_auc": 0.59}, "0.5900"),
    ("out-of-time KS", {"oot_ks": 0.10}, "0.1000"),
    ("score PSI", {"score_psi": 0.31}, "0.3100"),
    ("feature CSI", {"csi": {"bureau_score": 0.02, "income": 0.40}}, "income"),
    ("rank ordering", {"rank_ordering_ok": False}, "significant inversion"),
    ("calibration", {"calibration_rejected": {"test": False, "oot": True}}, "rejected on oot"),
    ("overfitting", {"overfitting_flag": True}, "flagged"),
    ("data contracts", {"contract_status": "fail"}, "fail"),
])
def test_each_failing_gate_keeps_a_better_model_from_champion(gate, evidence, words):
    d = decide_promotion(_evidence(**evidence), _comparison(0.80, 0.70), POLICY)
    assert d.decision == "challenger" and not d.promote
    failed = [g for g in d.gates if not g.passed]
    assert [g.gate for g in failed] == [gate] and words in failed[0].observed
    assert f"gate failed: {gate}" in d.reason
    # the same evidence with only that field back to normal passes
    assert all(g.passed for g in evaluate_gates(_evidence(), POLICY))


def test_contract_warnings_pass_and_rank_ordering_can_be_waived():
    assert decide_promotion(_evidence(contract_status="warn"), _comparison(), POLICY).decision == "champion"
    waived = PromotionPolicy(require_rank_ordering=False)
    assert decide_promotion(_evidence(rank_ordering_ok=False), _comparison(), waived).decision == "champion"


def test_a_champion_failing_its_own_gates_is_replaced_even_by_a_weaker_model():
    drifted = _evidence(score_psi=0.40, calibration_rejected={"test": False, "oot": True})
    d = decide_promotion(_evidence(), _comparison(0.74, 0.75, champion_evidence=drifted), POLICY)
    assert d.decision == "champion"
    assert "the champion (version 3) now fails its gate score PSI" in d.reason and "calibration" in d.reason
    assert [g.gate for g in d.champion_gates if not g.passed] == ["score PSI", "calibration"]
    # but a candidate failing a gate never replaces it, even a failing champion
    assert decide_promotion(_evidence(oot_ks=0.1), _comparison(0.80, 0.75, champion_evidence=drifted), POLICY).decision == "challenger"


def test_a_champion_that_cannot_score_this_runs_rows_is_replaced():
    comp = ChampionComparison(candidate="scorecard", fingerprint=FP, champion_version="2",
                              champion_unscorable="required column 'bureau_score' is missing")
    d = decide_promotion(_evidence(), comp, POLICY)
    assert d.decision == "champion" and "cannot score" in d.reason and "bureau_score" in d.reason


def test_four_eyes_makes_a_winner_wait_and_leaves_losers_alone():
    four = PromotionPolicy(four_eyes=True)
    assert decide_promotion(_evidence(), _comparison(0.76, 0.75), four).decision == "pending"
    assert decide_promotion(_evidence(), _comparison(), four).decision == "pending"
    assert decide_promotion(_evidence(), _comparison(0.75, 0.75), four).decision == "challenger"
    assert not decide_promotion(_evidence(), _comparison(0.76, 0.75), four).promote


def test_unchanged_inputs_register_nothing():
    d = decide_promotion(_evidence(), ChampionComparison(candidate="scorecard", fingerprint=FP, unchanged_since="4"), POLICY)
    assert d.decision == "unchanged" and d.unchanged_since == "4" and "unchanged since version 4" in d.reason
    assert not d.gates  # nothing is evaluated: nothing will be registered


def test_policy_parameters_are_checked():
    with pytest.raises(ModelError, match="margin"):
        PromotionPolicy(margin=-0.01)
    with pytest.raises(ModelError, match="min_oot_auc"):
        PromotionPolicy(min_oot_auc=1.5)


def test_gate_evidence_reads_the_reports_names():
    results = {"metrics": {"test": {"auc": 0.8, "ks": 0.4, "psi": 0.01, "calibration": {"rejected": False}},
                           "oot": {"auc": 0.78, "ks": 0.37, "psi": 0.04, "calibration": {"rejected": True}},
                           "overfitting_flag": False, "overfitting_gap": 0.01},
               "csi": pd.DataFrame({"feature": ["a", "b"], "csi": [0.3, 0.01]}),
               "bad_rate_by_band_test": pd.DataFrame({"n": [100, 100, 100], "bads": [30, 10, 11]})}
    ev = gate_evidence(results, "warn")
    assert ev == GateEvidence(0.78, 0.37, 0.04, {"a": 0.3, "b": 0.01}, True, {"test": False, "oot": True}, False, "warn")
    as_json = {**results, "csi": [{"feature": "a", "csi": 0.3}, {"feature": "b", "csi": 0.01}],  # metrics.json
               "bad_rate_by_band_test": [{"n": 100, "bads": 30}, {"n": 100, "bads": 10}, {"n": 100, "bads": 11}]}
    assert gate_evidence(as_json, "warn") == ev
    failed = {g.gate for g in evaluate_gates(ev, POLICY) if not g.passed}
    assert failed == {"feature CSI", "calibration"}


def test_contract_status_from_the_contract_summary():
    assert contract_status(None) == "pass"
    ok = {"results": [{"success": True, "severity": "error"}]}
    assert contract_status(ok) == "pass"
    assert contract_status({"results": [{"success": False, "severity": "warn"}]}) == "warn"
    assert contract_status({"results": [{"success": False, "severity": "warn"}, {"success": False, "severity": "error"}]}) == "fail"


def test_promotion_section_shows_decision_gates_and_comparison():
    comp = _comparison(0.76, 0.75)
    d = decide_promotion(_evidence(), comp, POLICY)
    s = promotion_section(d, comp)
    text = " ".join(s.paragraphs)
    assert "becomes champion" in text and "beats the margin" in text and FP.sha256[:16] in text
    titles = [t.title for t in s.tables]
    assert any("this run's model" in t for t in titles) and any("same rows" in t for t in titles)
    assert s.tables[-1].frame.loc[s.tables[-1].frame["split"] == "oot", "delong_p"].item() == 0.01


# --------------------------------------------------------------------------- fingerprints


def test_table_fingerprint_changes_with_any_value_and_ignores_pii(german):
    base = table_fingerprint(german)
    assert base == table_fingerprint(german.copy()) and base["rows"] == len(german)
    changed = german.copy()
    changed.loc[500, "amount5"] += 1
    assert table_fingerprint(changed)["sha256"] != base["sha256"]
    assert table_fingerprint(german.iloc[::-1])["sha256"] != base["sha256"]  # order matters (splits depend on it)
    assert table_fingerprint(german.reset_index(drop=True).set_axis(range(5, 5 + len(german))))["sha256"] == base["sha256"]
    salted = german.assign(name=[f"digest-{i}" for i in range(len(german))])
    resalted = german.assign(name=[f"other-{i}" for i in range(len(german))])
    assert table_fingerprint(salted, ignore=("name",)) == table_fingerprint(resalted, ignore=("name",))
    assert table_fingerprint(salted)["sha256"] != table_fingerprint(resalted)["sha256"]


def test_rank_ordering_fails_only_on_a_significant_inversion():
    # 7 % then 8 % bads in 180 loans each: noise; 5 % then 15 %: an inversion no noise explains
    noise = pd.DataFrame({"n": [180, 180, 180], "bads": [40, 12, 14]})
    broken = pd.DataFrame({"n": [200, 200, 200], "bads": [60, 10, 30]})
    assert rank_ordering_holds(noise, 0.05) and not rank_ordering_holds(broken, 0.05)
    # the one-sided Fisher p of the inversion, by hand from the hypergeometric law
    x, n1, m, n2 = 30, 200, 10, 200  # safer band 30/200 bads against riskier 10/200
    p_hand = stats.hypergeom.sf(x - 1, n1 + n2, x + m, n1)
    assert p_hand < 0.001
    assert rank_ordering_holds(broken, p_hand * 0.999) and not rank_ordering_holds(broken, p_hand * 1.001)
