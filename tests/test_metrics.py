"""Tests of the metric modules (models.discrimination, models.stability, models.calibration_tests,
models.rank_ordering) against independent references on real public data.

Data: UCI Statlog (German Credit Data), Hofmann 1994, and UCI Default of Credit Card
Clients, Yeh & Lien 2009 (both CC BY 4.0), read from ../shared/datasets/.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.metrics import log_loss as sk_log_loss
from sklearn.preprocessing import StandardScaler

from features.errors import CreditPipelineError, ModelError
from models import calibration_tests, discrimination, rank_ordering, stability

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
if not DATASETS.is_dir():  # repo checked out elsewhere: fall back to the shared location
    DATASETS = Path("/work/shared/datasets")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def german() -> pd.DataFrame:
    df = pd.read_csv(DATASETS / "german_credit.csv")
    df["bad"] = (df["GoodCredit"] == 2).astype(int)
    numeric = ["duration2", "amount5", "installment8", "age13", "cards16"]
    X = pd.concat(
        [
            df[numeric],
            pd.get_dummies(df[["checkingstatus1", "history3", "savings6"]], drop_first=True),
        ],
        axis=1,
    ).astype(float)
    X = StandardScaler().fit_transform(X)
    lr = LogisticRegression(max_iter=2000).fit(X, df["bad"])
    df["pd"] = lr.predict_proba(X)[:, 1]
    return df


@pytest.fixture(scope="module")
def taiwan() -> pd.DataFrame:
    df = pd.read_csv(DATASETS / "taiwan_credit_card_default.csv")
    df["bad"] = df["default_next_month"].astype(int)
    cols = ["LIMIT_BAL", "PAY_0", "PAY_2", "PAY_3", "BILL_AMT1", "PAY_AMT1", "PAY_AMT2"]
    X = StandardScaler().fit_transform(df[cols].astype(float))
    lr = LogisticRegression(max_iter=2000).fit(X, df["bad"])
    df["pd"] = lr.predict_proba(X)[:, 1]
    return df


# --------------------------------------------------------------------------- AUC / Gini


@pytest.mark.parametrize("data", ["german", "taiwan"])
def test_auc_matches_sklearn(request, data):
    df = request.getfixturevalue(data)
    got = discrimination.auc(df["bad"], df["pd"])
    assert got == pytest.approx(roc_auc_score(df["bad"], df["pd"]), abs=1e-9)
    assert 0.6 < got < 0.9
    assert discrimination.gini(df["bad"], df["pd"]) == pytest.approx(2 * got - 1, abs=1e-12)


def test_auc_with_ties_matches_sklearn(taiwan):
    y = taiwan["bad"].to_numpy()
    # heavy ties: raw repayment status (11 values) and a PD rounded to 2 decimals
    for score in (taiwan["PAY_0"].to_numpy(), np.round(taiwan["pd"].to_numpy(), 2)):
        assert len(np.unique(score)) < 100
        assert discrimination.auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-9)


def test_auc_equals_the_midrank_sum_to_the_last_bit(taiwan, german):
    """U counted by binary search over the sorted goods is the midrank-sum U (scipy's rankdata), to the bit: on
    real PDs, on heavily tied scores (repayment status, rounded PDs, float32 margins) and on the German PDs."""
    from scipy import stats

    def midrank_auc(y, s):
        ranks = stats.rankdata(s)
        n1 = int(y.sum())
        return float((ranks[y == 1].sum() - n1 * (n1 + 1) / 2.0) / (n1 * (len(y) - n1)))

    y = taiwan["bad"].to_numpy()
    scores = [taiwan["pd"].to_numpy(), taiwan["PAY_0"].to_numpy(), np.round(taiwan["pd"].to_numpy(), 2),
              taiwan["pd"].to_numpy().astype(np.float32), -taiwan["LIMIT_BAL"].to_numpy()]
    for score in scores:
        assert discrimination.auc(y, score) == midrank_auc(y, score)
    assert discrimination.auc(german["bad"], german["pd"]) == midrank_auc(german["bad"].to_numpy(),
                                                                          german["pd"].to_numpy())


def test_auc_reversed_score_is_one_minus_auc(german):
    a = discrimination.auc(german["bad"], german["pd"])
    assert discrimination.auc(german["bad"], -german["pd"]) == pytest.approx(1 - a, abs=1e-12)


def _delong_placements_naive(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Original DeLong et al. (1988) structural components, computed pairwise O(n^2)."""
    x = s[y == 1]
    z = s[y == 0]
    psi = (x[:, None] > z[None, :]).astype(float) + 0.5 * (x[:, None] == z[None, :])
    theta = psi.mean()
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    s10 = ((v10 - theta) ** 2).sum() / (len(x) - 1)
    s01 = ((v01 - theta) ** 2).sum() / (len(z) - 1)
    return theta, math.sqrt(s10 / len(x) + s01 / len(z))


@pytest.mark.parametrize("rounding", [None, 2])
def test_delong_matches_pairwise_implementation(taiwan, rounding):
    sub = taiwan.sample(1500, random_state=7)
    y = sub["bad"].to_numpy()
    s = sub["pd"].to_numpy()
    if rounding is not None:
        s = np.round(s, rounding)  # exercise tied scores
    theta, se_ref = _delong_placements_naive(y, s)
    res = discrimination.auc_delong_ci(y, s, alpha=0.05)
    assert res.auc == pytest.approx(theta, abs=1e-12)
    assert res.se == pytest.approx(se_ref, rel=1e-9)
    z = stats.norm.ppf(0.975)
    assert res.lower == pytest.approx(theta - z * se_ref, abs=1e-9)
    assert res.upper == pytest.approx(theta + z * se_ref, abs=1e-9)
    assert res.lower < res.auc < res.upper


def test_delong_se_close_to_bootstrap(german):
    y = german["bad"].to_numpy()
    s = german["pd"].to_numpy()
    res = discrimination.auc_delong_ci(y, s)
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(300):
        idx = rng.integers(0, len(y), len(y))
        boots.append(roc_auc_score(y[idx], s[idx]))
    assert res.se == pytest.approx(np.std(boots, ddof=1), rel=0.2)
    narrow = discrimination.auc_delong_ci(y, s, alpha=0.5)
    assert res.lower < narrow.lower < res.auc < narrow.upper < res.upper


# --------------------------------------------------------------------------- KS


@pytest.mark.parametrize("data", ["german", "taiwan"])
@pytest.mark.parametrize("score_col", ["pd", "duration2_or_pay0"])
def test_ks_matches_scipy(request, data, score_col):
    df = request.getfixturevalue(data)
    if score_col == "pd":
        s = df["pd"].to_numpy()
    else:  # a tied integer score
        s = (df["duration2"] if data == "german" else df["PAY_0"]).to_numpy().astype(float)
    y = df["bad"].to_numpy()
    ref = stats.ks_2samp(s[y == 1], s[y == 0]).statistic
    res = discrimination.ks(y, s)
    assert res.statistic == pytest.approx(ref, abs=1e-9)
    # the reported threshold attains the maximum distance between the two ECDFs
    t = res.threshold
    gap = abs(np.mean(s[y == 1] <= t) - np.mean(s[y == 0] <= t))
    assert gap == pytest.approx(ref, abs=1e-9)


def test_ks_table_curve(german):
    y = german["bad"].to_numpy()
    s = german["pd"].to_numpy()
    table = discrimination.ks_table(y, s)
    assert list(table.columns) == ["threshold", "cum_bad_rate", "cum_good_rate", "diff"]
    assert table["threshold"].is_monotonic_increasing
    assert table["cum_bad_rate"].iloc[-1] == pytest.approx(1.0)
    assert table["cum_good_rate"].iloc[-1] == pytest.approx(1.0)
    row = table.iloc[137]
    assert row["cum_bad_rate"] == pytest.approx(np.mean(s[y == 1] <= row["threshold"]))
    assert row["cum_good_rate"] == pytest.approx(np.mean(s[y == 0] <= row["threshold"]))
    assert table["diff"].max() > 0.3  # goods score lower than bads


# --------------------------------------------------------------------------- PSI / CSI


def test_psi_hand_computed_three_bins():
    expected = [1] * 50 + [2] * 30 + [3] * 20  # shares .5 .3 .2
    actual = [1] * 30 + [2] * 30 + [3] * 40  # shares .3 .3 .4
    want = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0.0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert stability.psi(expected, actual, breaks=[1.5, 2.5]) == pytest.approx(want, abs=1e-12)
    table = stability.psi_table(expected, actual, breaks=[1.5, 2.5])
    assert list(table["expected_share"]) == pytest.approx([0.5, 0.3, 0.2])
    assert list(table["actual_share"]) == pytest.approx([0.3, 0.3, 0.4])
    assert table["lower"].iloc[0] == -np.inf and table["upper"].iloc[-1] == np.inf
    assert table["psi_contribution"].iloc[1] == pytest.approx(0.0)
    # full edges with open ends give the same bins
    assert stability.psi(expected, actual, breaks=[-np.inf, 1.5, 2.5, np.inf]) == pytest.approx(want)


def test_psi_quantile_bins_from_expected():
    expected = np.arange(1, 101)  # quartile cuts 25.75, 50.5, 75.25 -> 25 per bin
    actual = np.array([10] * 40 + [40] * 20 + [60] * 20 + [90] * 20)
    table = stability.psi_table(expected, actual, bins=4)
    assert list(table["expected_share"]) == pytest.approx([0.25] * 4)
    assert list(table["actual_share"]) == pytest.approx([0.4, 0.2, 0.2, 0.2])
    want = (0.4 - 0.25) * math.log(0.4 / 0.25) + 3 * (0.2 - 0.25) * math.log(0.2 / 0.25)
    assert stability.psi(expected, actual, bins=4) == pytest.approx(want, abs=1e-12)


def test_psi_empty_bin_uses_epsilon_floor():
    expected = [1] * 50 + [2] * 30 + [3] * 20
    actual = [1] * 60 + [2] * 40  # nothing in bin 3
    eps = 1e-4
    want = (
        (0.6 - 0.5) * math.log(0.6 / 0.5)
        + (0.4 - 0.3) * math.log(0.4 / 0.3)
        + (eps - 0.2) * math.log(eps / 0.2)
    )
    assert stability.psi(expected, actual, breaks=[1.5, 2.5]) == pytest.approx(want, abs=1e-12)
    assert stability.psi_from_shares([0.5, 0.3, 0.2], [0.6, 0.4, 0.0]) == pytest.approx(want, abs=1e-12)


def test_psi_real_data_same_population_is_small(taiwan):
    s = taiwan["pd"].sample(frac=1.0, random_state=1).to_numpy()  # random halves
    half = len(s) // 2
    same = stability.psi(s[:half], s[half:])
    shifted = stability.psi(s[:half], np.clip(s[half:] * 1.5, 0, 1))
    assert same < 0.01 < 0.1 < shifted
    table = stability.psi_table(s[:half], s[half:])
    assert len(table) == 10
    assert table["expected_share"].to_numpy() == pytest.approx(np.full(10, 0.1), abs=1e-3)


def test_csi_categorical_with_missing_and_new_category():
    expected = ["A"] * 60 + ["B"] * 30 + [None] * 10
    actual = ["A"] * 40 + ["B"] * 40 + ["C"] * 10 + [None] * 10
    eps = 1e-4
    want = (
        (0.4 - 0.6) * math.log(0.4 / 0.6)
        + (0.4 - 0.3) * math.log(0.4 / 0.3)
        + (0.1 - eps) * math.log(0.1 / eps)
        + 0.0
    )
    assert stability.csi(expected, actual) == pytest.approx(want, abs=1e-12)
    table = stability.csi_table(pd.Series(expected, dtype="category"), pd.Series(actual))
    assert list(table["bin"]) == ["A", "B", "C", "Missing"]
    assert table["psi_contribution"].sum() == pytest.approx(want, abs=1e-12)


def test_csi_numeric_with_missing_bin():
    expected = [1.0] * 40 + [2.0] * 40 + [np.nan] * 20
    actual = [1.0] * 50 + [2.0] * 20 + [np.nan] * 30
    want = (
        (0.5 - 0.4) * math.log(0.5 / 0.4)
        + (0.2 - 0.4) * math.log(0.2 / 0.4)
        + (0.3 - 0.2) * math.log(0.3 / 0.2)
    )
    assert stability.csi(expected, actual, breaks=[1.5]) == pytest.approx(want, abs=1e-12)
    assert stability.csi_table(expected, actual, breaks=[1.5])["bin"].iloc[-1] == "Missing"
    # an object array of numbers and None is still a numeric feature
    as_object = np.array([None if np.isnan(v) else v for v in expected], dtype=object)
    assert stability.csi(as_object, actual, breaks=[1.5]) == pytest.approx(want, abs=1e-12)


def test_csi_on_german_feature_equals_psi_when_no_missing(german):
    x = german["amount5"].to_numpy().astype(float)
    a, b = x[:500], x[500:]
    assert stability.csi(a, b) == pytest.approx(stability.psi(a, b), abs=1e-15)
    cat = german["purpose4"]
    assert stability.csi(cat[:500], cat[500:]) > 0


# --------------------------------------------------------------------------- WOE / IV


def test_woe_iv_hand_computed():
    # bin a: 10 bads 40 goods; b: 20 bads 30 goods; c: 30 bads 10 goods
    x = ["a"] * 50 + ["b"] * 50 + ["c"] * 40
    y = [1] * 10 + [0] * 40 + [1] * 20 + [0] * 30 + [1] * 30 + [0] * 10
    tb, tg = 60, 80
    woe = {
        "a": math.log((40 / tg) / (10 / tb)),
        "b": math.log((30 / tg) / (20 / tb)),
        "c": math.log((10 / tg) / (30 / tb)),
    }
    ivs = {
        "a": (40 / tg - 10 / tb) * woe["a"],
        "b": (30 / tg - 20 / tb) * woe["b"],
        "c": (10 / tg - 30 / tb) * woe["c"],
    }
    table = discrimination.woe_iv_table(x, y)
    assert list(table.columns) == [
        "bin", "count", "bads", "goods", "dist_bad", "dist_good", "woe", "iv"
    ]
    assert list(table["bin"]) == ["a", "b", "c"]
    assert list(table["bads"]) == [10, 20, 30]
    assert list(table["woe"]) == pytest.approx([woe["a"], woe["b"], woe["c"]], abs=1e-12)
    assert list(table["iv"]) == pytest.approx([ivs["a"], ivs["b"], ivs["c"]], abs=1e-12)
    assert discrimination.iv(x, y) == pytest.approx(sum(ivs.values()), abs=1e-12)
    assert table["woe"].iloc[2] < 0  # riskiest bin: negative WOE (ln %good/%bad)


def test_woe_missing_bin_and_pure_bin():
    x = [1, 1, 1, 1, 2, 2, 2, 2, None, None, 3, 3]
    y = [1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0]  # bin 3 has no bads
    table = discrimination.woe_iv_table(x, y)
    assert list(table["bin"]) == [1.0, 2.0, 3.0, "Missing"]
    assert table.loc[2, "woe"] == 0.0 and table.loc[2, "iv"] == 0.0
    tb, tg = 4, 8
    assert table.loc[3, "woe"] == pytest.approx(math.log((1 / tg) / (1 / tb)))


def _optbinning_rows(optb) -> pd.DataFrame:
    bt = optb.binning_table.build()
    bt = bt.drop(index="Totals")
    return bt[bt["Count"] > 0]  # drop empty Special / Missing rows


def test_woe_iv_match_optbinning_numeric(german):
    from optbinning import OptimalBinning

    x = german["duration2"].to_numpy().astype(float)
    y = german["bad"].to_numpy()
    optb = OptimalBinning(name="duration2", dtype="numerical", solver="cp").fit(x, y)
    ref = _optbinning_rows(optb)
    assert len(ref) >= 3
    # optbinning bins are [s_{i-1}, s_i): reproduce them independently with np.digitize
    bins = np.digitize(x, optb.splits, right=False)
    table = discrimination.woe_iv_table(bins, y)
    assert list(table["count"]) == list(ref["Count"].astype(int))
    assert table["woe"].to_numpy() == pytest.approx(ref["WoE"].astype(float).to_numpy(), abs=1e-9)
    assert table["iv"].to_numpy() == pytest.approx(ref["IV"].astype(float).to_numpy(), abs=1e-9)
    assert discrimination.iv(bins, y) == pytest.approx(optb.binning_table.iv, abs=1e-9)


def test_woe_iv_match_optbinning_categorical(german):
    from optbinning import OptimalBinning

    x = german["checkingstatus1"].to_numpy()
    y = german["bad"].to_numpy()
    optb = OptimalBinning(name="checkingstatus1", dtype="categorical", solver="cp").fit(x, y)
    ref = _optbinning_rows(optb)
    idx = optb.transform(x, metric="indices")
    table = discrimination.woe_iv_table(idx, y)
    assert table["woe"].to_numpy() == pytest.approx(ref["WoE"].astype(float).to_numpy(), abs=1e-9)
    assert discrimination.iv(idx, y) == pytest.approx(optb.binning_table.iv, abs=1e-9)
    assert discrimination.iv(idx, y) > 0.3  # checking status is German credit's strongest variable


# --------------------------------------------------------------------------- calibration


@pytest.mark.parametrize("data", ["german", "taiwan"])
def test_brier_and_log_loss_match_sklearn(request, data):
    df = request.getfixturevalue(data)
    assert calibration_tests.brier(df["bad"], df["pd"]) == pytest.approx(
        brier_score_loss(df["bad"], df["pd"]), abs=1e-12
    )
    assert calibration_tests.log_loss(df["bad"], df["pd"]) == pytest.approx(
        sk_log_loss(df["bad"], df["pd"]), abs=1e-12
    )


def test_log_loss_extreme_pd_is_finite():
    assert np.isfinite(calibration_tests.log_loss([1, 0], [0.0, 1.0]))
    assert calibration_tests.brier([1, 1], [1.0, 0.0]) == pytest.approx(0.5)


def test_hosmer_lemeshow_hand_computation(german):
    y = german["bad"].to_numpy()
    p = german["pd"].to_numpy()
    assert len(np.unique(p)) == len(p) and len(p) % 10 == 0
    order = np.argsort(p)
    stat = 0.0
    for g in np.split(order, 10):  # 10 groups of 100 ascending PD
        o_bad, e_bad = y[g].sum(), p[g].sum()
        o_good, e_good = len(g) - o_bad, len(g) - e_bad
        stat += (o_bad - e_bad) ** 2 / e_bad + (o_good - e_good) ** 2 / e_good
    res = calibration_tests.hosmer_lemeshow(y, p, groups=10)
    assert res.statistic == pytest.approx(stat, rel=1e-10)
    assert res.dof == 8
    assert res.p_value == pytest.approx(stats.chi2.sf(stat, 8), rel=1e-10)
    # a miscalibrated PD (halved) is rejected, the fitted one is not
    assert res.p_value > 0.01
    assert calibration_tests.hosmer_lemeshow(y, p / 2).p_value < 1e-6


def test_grade_tests_binomial_and_jeffreys(german):
    y = german["bad"].to_numpy()
    p = german["pd"].to_numpy() * 0.7  # understated PDs: some grades must fail
    grade = pd.qcut(german["pd"], 5, labels=["A", "B", "C", "D", "E"])
    table = calibration_tests.grade_tests(y, p, grade, alpha=0.05)
    assert list(table["grade"]) == ["A", "B", "C", "D", "E"]
    for _, row in table.iterrows():
        mask = (grade == row["grade"]).to_numpy()
        n, d, q = mask.sum(), y[mask].sum(), p[mask].mean()
        assert (row["n"], row["defaults"]) == (n, d)
        assert row["mean_pd"] == pytest.approx(q, abs=1e-12)
        assert row["observed_dr"] == pytest.approx(d / n)
        assert row["binomial_p_value"] == pytest.approx(stats.binom.sf(d - 1, n, q), rel=1e-9)
        assert row["jeffreys_p_value"] == pytest.approx(
            stats.beta.cdf(q, d + 0.5, n - d + 0.5), rel=1e-9
        )
        assert row["binomial_pass"] == (row["binomial_p_value"] >= 0.05)
        assert row["jeffreys_pass"] == (row["jeffreys_p_value"] >= 0.05)
    assert not table["binomial_pass"].all()
    assert calibration_tests.grade_tests(y, np.clip(p * 3, 0, 1), grade)["binomial_pass"].all()


# --------------------------------------------------------------------------- tables


def test_lift_table(german):
    y = german["bad"].to_numpy()
    s = german["pd"].to_numpy()
    table = rank_ordering.lift_table(y, s, n_bins=10)
    assert len(table) == 10 and list(table["n"]) == [100] * 10
    top = np.argsort(-s)[:100]  # riskiest decile, computed independently
    assert table["bads"].iloc[0] == y[top].sum()
    assert table["lift"].iloc[0] == pytest.approx(y[top].mean() / y.mean())
    top3 = np.argsort(-s)[:300]
    assert table["cum_capture_rate"].iloc[2] == pytest.approx(y[top3].sum() / y.sum())
    assert table["cum_lift"].iloc[2] == pytest.approx(y[top3].mean() / y.mean())
    assert table["cum_capture_rate"].iloc[-1] == pytest.approx(1.0)
    assert table["cum_lift"].iloc[-1] == pytest.approx(1.0)
    assert table["min_score"].iloc[0] > table["max_score"].iloc[1]


def test_bad_rate_by_band_and_rank_ordering(german, taiwan):
    y = [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0]
    band = ["A"] * 4 + ["B"] * 4 + ["C"] * 4
    table = rank_ordering.bad_rate_by_band(y, band)
    assert list(table["band"]) == ["A", "B", "C"]
    assert list(table["bad_rate"]) == pytest.approx([0.25, 0.5, 0.75])
    assert rank_ordering.rank_ordering_ok(table)
    assert rank_ordering.rank_ordering_ok(table, direction="increasing", strict=True)
    assert not rank_ordering.rank_ordering_ok(table, direction="decreasing")
    broken = pd.DataFrame({"bad_rate": [0.1, 0.3, 0.2, 0.4]})
    assert not rank_ordering.rank_ordering_ok(broken)
    # real data: bands of a tied integer score, cut points given
    s = taiwan["PAY_0"].to_numpy()
    yt = taiwan["bad"].to_numpy()
    real = rank_ordering.bad_rate_by_band(yt, s, bins=[-1, 0, 1])
    assert list(real["n"]) == [(s <= -1).sum(), (s == 0).sum(), (s == 1).sum(), (s > 1).sum()]
    assert real["bad_rate"].iloc[3] == pytest.approx(yt[s > 1].mean())
    # revolving-on-time clients (PAY_0 = 0) default less than pay-in-full ones: no rank order
    assert real["bad_rate"].iloc[1] < real["bad_rate"].iloc[0]
    assert not rank_ordering.rank_ordering_ok(real)
    q = rank_ordering.bad_rate_by_band(yt, taiwan["pd"], bins=5)
    assert len(q) == 5 and q["n"].sum() == len(yt)
    rates = [yt[g].mean() for g in np.array_split(np.argsort(taiwan["pd"].to_numpy()), 5)]
    assert q["bad_rate"].to_numpy() == pytest.approx(rates)
    assert rank_ordering.rank_ordering_ok(q) == bool(np.all(np.diff(rates) >= 0))
    # the German logistic PD rank-orders its deciles strictly
    dec = rank_ordering.bad_rate_by_band(german["bad"], german["pd"], bins=10)
    assert rank_ordering.rank_ordering_ok(dec, direction="increasing", strict=True)


def test_cutoff_table_points_higher_is_safer(german):
    y = german["bad"].to_numpy()
    p = german["pd"].to_numpy()
    points = 600 - 20 / math.log(2) * np.log(p / (1 - p))  # higher = safer
    table = rank_ordering.cutoff_table(y, points, cutoffs=[550, 600, 650])
    for _, row in table.iterrows():
        app = points >= row["cutoff"]
        assert row["approval_rate"] == pytest.approx(app.mean())
        assert row["bads_approved"] == y[app].sum()
        assert row["bad_rate_approved"] == pytest.approx(y[app].mean())
        assert row["bads_rejected_share"] == pytest.approx(y[~app].sum() / y.sum())
    assert table["approval_rate"].is_monotonic_decreasing
    assert table["bad_rate_approved"].is_monotonic_decreasing  # stricter = safer book
    small = rank_ordering.cutoff_table([1, 0, 1, 0, 0], [300, 500, 400, 600, 700], cutoffs=[450])
    assert small.iloc[0]["approval_rate"] == pytest.approx(3 / 5)
    assert small.iloc[0]["bads_approved"] == 0
    assert small.iloc[0]["bads_rejected_share"] == pytest.approx(1.0)
    default = rank_ordering.cutoff_table(y, points)
    assert default["approval_rate"].iloc[0] == pytest.approx(1.0)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: discrimination.auc([0, 0, 0], [0.1, 0.2, 0.3]), r"y_true: only one class present"),
        (lambda: discrimination.ks([1, 1], [0.1, 0.2]), r"y_true: only one class present"),
        (lambda: discrimination.auc([0, 1, 1], [0.1, 0.2]), r"length mismatch: y_true has 3, y_score has 2"),
        (lambda: discrimination.auc([0, 1, np.nan], [0.1, 0.2, 0.3]), r"y_true: contains 1 NaN"),
        (lambda: discrimination.auc([0, 1, 1], [0.1, np.nan, 0.3]), r"y_score: contains 1 NaN"),
        (lambda: discrimination.auc([1, 2, 2], [0.1, 0.2, 0.3]), r"y_true: must be binary"),
        (lambda: calibration_tests.brier([0, 1], [0.1, 1.2]), r"pd: .*\[0, 1\]"),
        (lambda: stability.psi([1.0, np.nan], [1.0, 2.0]), r"expected: contains 1 NaN"),
        (lambda: stability.psi_from_shares([0.5, 0.5], [0.5, 0.6]), r"actual_shares: .*sum to 1"),
        (lambda: discrimination.woe_iv_table(["a", "b"], [1, 0, 1]), r"length mismatch"),
        (lambda: calibration_tests.grade_tests([0, 1], [0.1, 0.2], ["A"]), r"length mismatch"),
        (lambda: discrimination.auc_delong_ci([0, 1, 1], [0.1, 0.2, 0.3], alpha=1.5), r"alpha"),
        (lambda: rank_ordering.lift_table([0, 1], [0.1, 0.2], n_bins=0), r"n_bins"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises(ModelError, match=match) as info:
        call()
    assert isinstance(info.value, CreditPipelineError)
