"""Fast optimal binning (pre-binned counts + optbinning's solver), WOE transform, selection, `creditpipe bin`.

References: hand-computed WOE/IV, plain optbinning ``OptimalBinning`` on the raw rows
(German, Taiwan), scikit-learn's linear regression for VIF, numpy for CSI.
"""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from optbinning import OptimalBinning
from sklearn.linear_model import LinearRegression

from features.binning import BinningSpec, WoeBinner
from features.errors import ConfigError
from features.prebinning import QuantileSketch
from features.selection import SelectionRules, select_features, vif_against

ROOT = Path(__file__).resolve().parents[1]


def plain(x, y, name, dtype, **kw):
    """optbinning on the raw rows, with the binner's defaults."""
    params = {"max_n_bins": 8, "min_bin_size": 0.05, "monotonic_trend": "auto_asc_desc", **kw}
    return OptimalBinning(name=name, dtype=dtype, **params).fit(x, y)


def assert_same_bins(binner: WoeBinner, X: pd.DataFrame, y: np.ndarray, **kw):
    for name in binner.variables_:
        dtype = "categorical" if name in binner.categorical_ else "numerical"
        x = X[name].astype(str).to_numpy(dtype=object) if dtype == "categorical" else X[name].to_numpy(dtype=float)
        ref = plain(x, y, name, dtype, **kw)
        theirs = ref.binning_table.build().drop(index="Totals")
        ours = binner.binning_table(name)
        assert list(ours["bin"]) == [b if isinstance(b, str) else ", ".join(map(str, b)) for b in theirs["Bin"]], name
        np.testing.assert_array_equal(ours["count"].to_numpy(), theirs["Count"].to_numpy(dtype=np.int64), err_msg=name)
        np.testing.assert_array_equal(ours["bads"].to_numpy(), theirs["Event"].to_numpy(dtype=np.int64), err_msg=name)
        np.testing.assert_allclose(ours["woe"].to_numpy(), theirs["WoE"].to_numpy(dtype=float), atol=1e-12, err_msg=name)
        if dtype == "numerical":
            np.testing.assert_array_equal(binner.binnings_[name].splits, ref.splits, err_msg=name)
        # the vectorised transform gives optbinning's WOE for every regular value
        clean = ~pd.isna(X[name]).to_numpy()
        np.testing.assert_allclose(binner.transform(X, variables=[name])[name].to_numpy()[clean],
                                   ref.transform(x, metric="woe")[clean], atol=1e-12, err_msg=name)


# ---------------------------------------------------------------------------- hand-computed table


def test_woe_and_iv_match_a_hand_computed_table():
    # bins (fixed splits 1.5, 2.5): A = x 1: 40 good 10 bad; B = x 2: 30 / 10; C = x 3: 10 / 20; Missing: 20 / 5
    x = np.repeat([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, np.nan, np.nan], [40, 10, 30, 10, 10, 20, 20, 5])
    y = np.repeat([0, 1, 0, 1, 0, 1, 0, 1], [40, 10, 30, 10, 10, 20, 20, 5])
    b = WoeBinner(BinningSpec(fixed_splits={"x": [1.5, 2.5]})).fit(pd.DataFrame({"x": x}), y)
    G, B = 100, 45
    woe = {"A": math.log((40 / G) / (10 / B)), "B": math.log((30 / G) / (10 / B)), "C": math.log((10 / G) / (20 / B)),
           "M": math.log((20 / G) / (5 / B))}
    iv = ((40 / G - 10 / B) * woe["A"] + (30 / G - 10 / B) * woe["B"] + (10 / G - 20 / B) * woe["C"]
          + (20 / G - 5 / B) * woe["M"])
    table = b.binning_table("x")
    assert list(table["bin"]) == ["(-inf, 1.50)", "[1.50, 2.50)", "[2.50, inf)", "Special", "Missing"]
    assert list(table["goods"]) == [40, 30, 10, 0, 20] and list(table["bads"]) == [10, 10, 20, 0, 5]
    np.testing.assert_allclose(table["woe"], [woe["A"], woe["B"], woe["C"], 0.0, woe["M"]], atol=1e-12)
    assert table["iv"].sum() == pytest.approx(iv, abs=1e-12)
    assert b.summary().loc[0, "iv"] == pytest.approx(iv, abs=1e-12)
    # by hand: ln(1.8) = 0.587787; IV = 0.104495 + 0.023341 + 0.513792 + 0.052248
    assert woe["A"] == pytest.approx(0.587787, abs=1e-6) and iv == pytest.approx(0.693877, abs=1e-6)
    # transform: each row its bin's WOE, the missing rows the Missing bin's own WOE (not 0)
    out = b.transform(pd.DataFrame({"x": [1.0, 2.0, 3.0, np.nan]}))["x"].to_numpy()
    np.testing.assert_allclose(out, [woe["A"], woe["B"], woe["C"], woe["M"]], atol=1e-12)


# ---------------------------------------------------------------------------- same bins as optbinning


def test_same_bins_as_plain_optbinning_on_german(german):
    X = german.drop(columns="GoodCredit")
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    b = WoeBinner().fit(X, y)
    assert b.categorical_, "German credit has categorical variables"
    assert all(c.exact for c in b.cells_.values())
    assert_same_bins(b, X, y)


def test_same_bins_as_plain_optbinning_on_taiwan(taiwan):
    X = taiwan.drop(columns=["ID", "default_next_month"])
    y = taiwan["default_next_month"].to_numpy()
    b = WoeBinner().fit(X, y)
    assert all(b.cells_[n].exact for n in b.variables_)  # 30,000 rows: every distinct value is a cell
    assert_same_bins(b, X, y)


def test_quantile_cells_differ_only_where_documented(taiwan):
    """Above max_exact_values, splits fall on quantile cut points; IV stays within 2 % of optbinning's."""
    X = taiwan[["PAY_AMT2", "PAY_AMT1", "LIMIT_BAL"]]
    y = taiwan["default_next_month"].to_numpy()
    b = WoeBinner(max_exact_values=500, n_quantiles=1024).fit(X, y)
    assert not b.cells_["PAY_AMT2"].exact and not b.cells_["PAY_AMT1"].exact
    assert b.cells_["LIMIT_BAL"].exact  # 81 distinct values: still exact, still the same bins
    assert_same_bins(WoeBinner(max_exact_values=500, n_quantiles=256).fit(X[["LIMIT_BAL"]], y), X[["LIMIT_BAL"]], y)
    for name in ("PAY_AMT2", "PAY_AMT1"):  # (a variable with IV near 0 can move by more: noise either way)
        edges = b.cells_[name].edges
        assert set(b.binnings_[name].splits) <= set(edges)  # every split is a cut point (a data value)
        ref = plain(X[name].to_numpy(dtype=float), y, name, "numerical")
        ref.binning_table.build()
        assert b.summary().set_index("name").loc[name, "iv"] == pytest.approx(ref.binning_table.iv, rel=0.02)


# ---------------------------------------------------------------------------- constraints


def test_monotonic_trends_hold_when_asked(taiwan):
    X = taiwan[["LIMIT_BAL", "AGE", "PAY_AMT2"]]
    y = taiwan["default_next_month"].to_numpy()
    b = WoeBinner(BinningSpec(monotonic_trends={"LIMIT_BAL": "descending", "PAY_AMT2": "descending", "AGE": "valley"})).fit(X, y)
    for name in ("LIMIT_BAL", "PAY_AMT2"):
        rate = b.binning_table(name)["bad_rate"].to_numpy()[:-2]
        assert len(rate) >= 3 and (np.diff(rate) < 0).all(), name
    rate = b.binning_table("AGE")["bad_rate"].to_numpy()[:-2]
    low = int(np.argmin(rate))
    assert (np.diff(rate[: low + 1]) <= 0).all() and (np.diff(rate[low:]) >= 0).all()
    # the same trends give the same bins as optbinning on the rows
    for name, trend in (("LIMIT_BAL", "descending"), ("AGE", "valley")):
        ref = plain(X[name].to_numpy(dtype=float), y, name, "numerical", monotonic_trend=trend)
        np.testing.assert_array_equal(b.binnings_[name].splits, ref.splits)


def test_special_codes_and_missing_land_in_their_own_bins():
    rng = np.random.default_rng(11)
    n = 20_000
    score = rng.integers(300, 850, n).astype(float)
    score[:1500] = -1
    score[1500:2000] = -2
    score[2000:3000] = np.nan
    p = np.where(score < 0, 0.25, np.where(np.isnan(score), 0.15, 0.03 + (850 - np.nan_to_num(score)) / 4000))
    y = (rng.random(n) < p).astype(int)
    X = pd.DataFrame({"score": score})
    b = WoeBinner(BinningSpec(special_codes={"score": [-1, -2]})).fit(X, y)
    t = b.binning_table("score").set_index("bin")
    assert t.loc["Special", "count"] == 2000 and t.loc["Special", "bads"] == y[:2000].sum()
    assert t.loc["Missing", "count"] == 1000 and t.loc["Missing", "bads"] == y[2000:3000].sum()
    assert t.drop(index=["Special", "Missing"])["count"].sum() == n - 3000
    idx = b.transform(X, metric="indices")["score"].to_numpy()
    special_row, missing_row = len(t) - 2, len(t) - 1
    assert (idx[:2000] == special_row).all() and (idx[2000:3000] == missing_row).all() and (idx[3000:] < special_row).all()
    ref = plain(score, y, "score", "numerical", special_codes=[-1, -2])
    np.testing.assert_array_equal(b.binnings_["score"].splits, ref.splits)


def test_fixed_splits_are_honoured_exactly_and_the_optimum_is_shown_beside_them(taiwan):
    X = taiwan[["AGE", "LIMIT_BAL"]]
    y = taiwan["default_next_month"].to_numpy()
    b = WoeBinner(BinningSpec(fixed_splits={"AGE": [25, 35, 45, 55, 65]})).fit(X, y)
    assert b.binnings_["AGE"].splits.tolist() == [25, 35, 45, 55, 65]
    table = b.binning_table("AGE")
    assert list(table["bin"][:6]) == ["(-inf, 25.00)", "[25.00, 35.00)", "[35.00, 45.00)", "[45.00, 55.00)",
                                      "[55.00, 65.00)", "[65.00, inf)"]
    assert table["count"][0] == int((X["AGE"] < 25).sum()) and table["count"][5] == int((X["AGE"] >= 65).sum())
    splits = b.splits_table().set_index("variable")
    assert splits.loc["AGE", "source"] == "fixed (config)" and splits.loc["LIMIT_BAL", "source"] == "optimal"
    ref = plain(X["AGE"].to_numpy(dtype=float), y, "AGE", "numerical")
    np.testing.assert_array_equal(b.optimal_["AGE"].splits, ref.splits)  # the optimiser's answer, for comparison
    assert b.optimal_table("AGE") is not None and b.optimal_table("LIMIT_BAL") is None
    assert b.summary().set_index("name").loc["AGE", "splits"] == "fixed"
    with pytest.raises(ConfigError, match="fixed_splits.AGE.*without goods or without bads"):
        WoeBinner(BinningSpec(fixed_splits={"AGE": [21.5, 22]})).fit(X.head(300), y[:300])


def test_rare_categories_grouped_and_same_as_optbinning(german):
    X = german[["purpose4", "history3"]]
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    b = WoeBinner(BinningSpec(cat_cutoff=0.05)).fit(X, y)
    assert len(b.binnings_["purpose4"]._cat_others) > 0
    assert_same_bins(b, X, y, cat_cutoff=0.05)


# ---------------------------------------------------------------------------- transform of unseen values


def test_unseen_categories_and_out_of_range_values_are_defined():
    rng = np.random.default_rng(5)
    n = 6000
    X = pd.DataFrame({"x": rng.normal(size=n), "c": rng.choice(["a", "b", "c", "d", "rare"], n, p=[.3, .3, .2, .19, .01])})
    y = (rng.random(n) < 1 / (1 + np.exp(2 - X["x"] - (X["c"] == "a")))).astype(int)
    plain_b = WoeBinner().fit(X, y)
    grouped = WoeBinner(BinningSpec(cat_cutoff=0.02)).fit(X, y)
    new = pd.DataFrame({"x": [-1e9, 1e9, np.inf, -np.inf, np.nan, "text"], "c": ["zzz", "a", None, "rare", "b", "new"]})
    idx = plain_b.transform(new, metric="indices")
    n_x = len(plain_b.binning_table("x"))
    assert idx["x"].tolist() == [0, n_x - 3, n_x - 3, 0, n_x - 1, n_x - 1]  # below / above range: edge bins; text: missing
    table_c = plain_b.binning_table("c")
    missing_c = len(table_c) - 1
    assert idx["c"][0] == missing_c and idx["c"][5] == missing_c and idx["c"][2] == missing_c  # unseen -> Missing bin
    woe = plain_b.transform(new)
    assert woe["c"][0] == pytest.approx(table_c["woe"].iloc[-1])
    # with rare categories grouped, an unseen category goes to 'others' like the rare ones
    gi = grouped.transform(new, metric="indices")["c"]
    others_row = len(grouped.binning_table("c")) - 3
    assert "rare" in grouped.binning_table("c")["bin"].iloc[others_row]
    assert gi[0] == others_row and gi[3] == others_row and gi[5] == others_row
    bins = plain_b.transform(new, metric="bins")
    assert bins["x"][4] == "Missing"


# ---------------------------------------------------------------------------- determinism and chunks


def _synthetic(n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    X = pd.DataFrame({"a": np.exp(z + rng.normal(size=n)), "b": np.round(rng.normal(size=n) * 10 + z * 3),
                      "c": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.05, "a"] = np.nan
    y = (rng.random(n) < 1 / (1 + np.exp(2.4 - z))).astype(int)
    return X, y


def test_same_data_and_seed_give_identical_bins_and_chunks_merge():
    X, y = _synthetic(300_000, 1)  # above the sketch's sample size: the sampled path
    one = WoeBinner(seed=3).fit(X, y)
    two = WoeBinner(seed=3).fit(X.copy(), y.copy())
    assert not one.cells_["a"].exact and one.cells_["b"].exact
    for name in X.columns:
        np.testing.assert_array_equal(one.binnings_[name].splits, two.binnings_[name].splits)
        pd.testing.assert_frame_equal(one.binning_table(name), two.binning_table(name))
    # an exact variable read in chunks gives the bins of the whole table
    parts = [(X.iloc[i:i + 70_000], y[i:i + 70_000]) for i in range(0, len(X), 70_000)]
    chunked = WoeBinner(seed=3).fit_chunks(lambda: iter(parts))
    pd.testing.assert_frame_equal(chunked.binning_table("b"), one.binning_table("b"))
    # a continuous one: the counts are exact, the cut points a merged sketch; IV within 2 %
    assert chunked.binning_table("a")["count"].sum() == len(X)
    assert chunked.summary().set_index("name").loc["a", "iv"] == pytest.approx(
        one.summary().set_index("name").loc["a", "iv"], rel=0.02)


def test_sketch_merge_is_exact_on_small_data_and_close_on_large():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 50, 10_000).astype(float)
    merged = QuantileSketch().update(x[:4000]).merge(QuantileSketch().update(x[4000:]))
    values, counts = np.unique(x, return_counts=True)
    assert merged.exact_
    np.testing.assert_array_equal(merged.values_, values)
    np.testing.assert_array_equal(merged.weights_, counts)
    big = rng.lognormal(size=400_000)
    s = QuantileSketch(capacity=2048, sample_size=50_000, seed=1)
    for part in np.array_split(big, 4):
        s.update(part)
    cuts = s.cut_points(100)
    ranks = np.searchsorted(np.sort(big), cuts) / len(big)
    assert not s.exact_ and np.abs(ranks - np.linspace(0, 1, 100, endpoint=False)[: len(ranks)]).max() < 0.01


# ---------------------------------------------------------------------------- selection


def test_selection_gives_a_reason_for_every_drop_with_vif_and_csi(german):
    X = german.drop(columns="GoodCredit")
    y = (german["GoodCredit"] == 2).astype(int).to_numpy()
    b = WoeBinner().fit(X, y)
    woe = b.transform(X)
    iv = b.summary().set_index("name")["iv"]
    # the first two kept variables; VIF of the third against them, by scikit-learn's regression
    order = sorted(iv.index, key=lambda n: (-iv[n], n))
    kept2 = order[:2]
    r2 = LinearRegression().fit(woe[kept2], woe[order[2]]).score(woe[kept2], woe[order[2]])
    rules = SelectionRules(min_iv=0.02, max_correlation=0.99, max_vif=100.0, max_csi=0.1, max_features=6)
    shifted = X.sample(frac=1.0, random_state=0).sort_values("duration2").head(400)  # a different mix of durations
    csi = b.stability(X, shifted)
    # CSI by hand from the duration bins
    i_dev = b.transform(X, "indices")["duration2"].to_numpy()
    i_new = b.transform(shifted, "indices")["duration2"].to_numpy()
    k = len(b.binning_table("duration2"))
    e = np.maximum(np.bincount(i_dev, minlength=k) / len(i_dev), 1e-4)
    a = np.maximum(np.bincount(i_new, minlength=k) / len(i_new), 1e-4)
    assert csi["duration2"] == pytest.approx(float(np.sum((a - e) * np.log(a / e))), rel=1e-9)  # empty shares floored
    table = select_features(iv, woe, rules, csi=csi).set_index("variable")
    assert vif_against(woe[kept2 + [order[2]]].corr().to_numpy()) == pytest.approx(1 / (1 - r2), rel=1e-9)
    assert (table["vif"].dropna() >= 1).all() and table["vif"].notna().sum() >= 6
    dropped = table[~table["selected"]]
    assert len(dropped) and (dropped["reason"].str.len() > 0).all()
    assert (table.loc[table["selected"], "reason"] == "").all()
    assert "CSI" in table.loc["duration2", "reason"]
    assert table["selected"].sum() == 6
    assert any("beyond max_features" in r for r in dropped["reason"])
    strict = select_features(iv, woe, SelectionRules(max_vif=1.0001, max_correlation=1.0)).set_index("variable")
    assert any(r.startswith("VIF") for r in strict["reason"])
    leak = select_features(iv, woe, SelectionRules(max_iv=0.3)).set_index("variable")
    assert "suspiciously strong" in leak.loc["checkingstatus1", "reason"]


# ---------------------------------------------------------------------------- creditpipe bin


@pytest.mark.slow
def test_creditpipe_bin_end_to_end(small_book, tmp_path):
    from tests.conftest import isolated_env

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"source:\n  kind: warehouse\n  url: duckdb:///{small_book}\n"
                   "binning:\n  fixed_splits:\n    age: [30, 45, 60]\n  special_codes:\n    bureau_score: [-1, -2]\n"
                   "selection:\n  max_features: 8\n")
    out = tmp_path / "bins_out"
    proc = subprocess.run([sys.executable, "-m", "pipelines.cli", "bin", "--config", str(cfg), "--output", str(out)],
                          cwd=ROOT, env=isolated_env(tmp_path), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "stage timings" in proc.stdout and "binning" in proc.stdout
    selection = pd.read_csv(out / "selection.csv", keep_default_na=False)
    variables = selection["variable"].tolist()
    assert len(variables) > 10 and selection["selected"].sum() <= 8
    dropped = selection[selection["selected"].astype(str) == "False"]
    assert len(dropped) and (dropped["reason"].str.len() > 0).all()
    assert (selection["csi"].astype(float) >= 0).all()  # development vs out-of-time
    for name in variables:
        table = pd.read_csv(out / "bins" / f"{name}.csv")
        assert {"bin", "count", "bad_rate", "woe", "iv"} <= set(table.columns)
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    age = pd.read_csv(out / "bins" / "age.csv")
    assert set(age["binning"]) == {"fixed (config)", "optimal (reference)"}
    assert list(age.loc[age["binning"] == "fixed (config)", "bin"][:4]) == [
        "(-inf, 30.00)", "[30.00, 45.00)", "[45.00, 60.00)", "[60.00, inf)"]
    assert (pd.read_csv(out / "bins" / "bureau_score.csv")["bin"] == "Special").any()
    timings = pd.read_csv(out / "timings.csv")
    assert {"read", "outcomes", "development sample", "binning", "selection"} <= set(timings["stage"])


def test_empty_and_constant_variables_get_one_neutral_bin():
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame({"gone": np.full(n, np.nan), "x": rng.normal(size=n), "flat": np.full(n, 3.0),
                      "none": pd.Series([None] * n, dtype=object)})
    y = (rng.random(n) < 0.1).astype(int)
    b = WoeBinner().fit(X, y)
    assert b.binning_table("gone").set_index("bin").loc["Missing", "count"] == n
    assert b.binning_table("flat")["count"].iloc[0] == n
    woe = b.transform(X)
    assert (woe[["gone", "flat", "none"]] == 0).all().all()  # no information: the population average
    assert b.summary().set_index("name").loc[["gone", "flat", "none"], "iv"].eq(0).all()


def test_variables_solved_in_threads_give_the_sequential_bins(taiwan):
    """n_jobs only changes who solves each variable: same bins, same order, same WOE (fixed splits and categories too)."""
    X = taiwan.drop(columns=["ID", "default_next_month"])
    y = taiwan["default_next_month"].to_numpy()
    spec = BinningSpec(fixed_splits={"AGE": [25, 35, 45, 55, 65]}, special_codes={"PAY_0": [-2]})
    one = WoeBinner(spec, categorical=["EDUCATION", "MARRIAGE"], n_jobs=1).fit(X, y)
    two = WoeBinner(spec, categorical=["EDUCATION", "MARRIAGE"], n_jobs=2).fit(X, y)
    assert list(one.binnings_) == list(two.binnings_) == list(X.columns)
    for name in one.variables_:
        pd.testing.assert_frame_equal(one.binning_table(name), two.binning_table(name), check_exact=True, obj=name)
        # the WOE the transform uses (from the counts) is the binning table's, to the last bit
        np.testing.assert_array_equal(one.maps_[name].woe, one.binning_table(name)["woe"].to_numpy(), err_msg=name)
        assert list(one.maps_[name].labels) == list(one.binning_table(name)["bin"]), name
    pd.testing.assert_frame_equal(one.optimal_table("AGE"), two.optimal_table("AGE"), check_exact=True)
    pd.testing.assert_frame_equal(one.summary(), two.summary(), check_exact=True)
    pd.testing.assert_frame_equal(one.transform(X), two.transform(X), check_exact=True)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match="n_jobs must be a positive integer"):
            WoeBinner(n_jobs=bad)


def test_monotone_constraints_need_a_fitted_binner():
    from features.errors import ModelError
    from models.tree_inputs import monotone_from_binning

    rng = np.random.default_rng(3)
    x = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-(x - 2)))).astype(int)  # risk rises with x
    binner = WoeBinner(BinningSpec(fixed_splits={"x": [-1.0, 0.0, 1.0]}))
    assert not binner.is_fitted
    with pytest.raises(ModelError, match="the binner is not fitted"):
        monotone_from_binning(binner)
    with pytest.raises(ModelError, match="needs a WoeBinner, got dict"):
        monotone_from_binning({})
    binner.fit(pd.DataFrame({"x": x}), y)
    assert binner.is_fitted and monotone_from_binning(binner) == {"x": 1}
    with pytest.raises(ConfigError, match="without goods or without bads"):  # a failed refit: no longer fitted
        binner.fit(pd.DataFrame({"x": x}), np.where(x >= 1, 0, y))  # the last fixed bin has no bads
    assert not binner.is_fitted


def test_bin_index_is_numpys_searchsorted():
    """The comparison count used for a few splits gives np.searchsorted's bins (ties, infinities, -0.0 included)."""
    from features.woe import MAX_COMPARED_SPLITS, bin_index

    rng = np.random.default_rng(11)
    for n_splits in (0, 1, 5, MAX_COMPARED_SPLITS, MAX_COMPARED_SPLITS + 1, 40):
        splits = np.unique(np.round(rng.normal(size=n_splits), 1))
        x = np.concatenate((np.round(rng.normal(size=5000), 1), splits, [np.inf, -np.inf, -0.0, 0.0, 1e300]))
        np.testing.assert_array_equal(bin_index(splits, x), np.searchsorted(splits, x, side="right"), err_msg=str(n_splits))
