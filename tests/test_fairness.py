"""Fairness tables on Taiwan (SEX, MARRIAGE, AGE: kept out of the model) against a pandas group-by."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from features.errors import ModelError
from models.fairness import FairnessSpec, assess_fairness, band
from tests.taiwan_pd import held_out_pd


@pytest.fixture(scope="module")
def scored(taiwan):
    """Held-out half of Taiwan scored by a model that never saw SEX, MARRIAGE or AGE."""
    scored, y, p = held_out_pd(taiwan)
    out = taiwan.loc[scored, ["SEX", "MARRIAGE", "AGE"]].reset_index(drop=True)
    out["target"], out["pd"] = y, p
    return out


def _reference(frame: pd.DataFrame, key: pd.Series, approved: np.ndarray) -> pd.DataFrame:
    f = frame.assign(key=key.to_numpy(), approved=approved)
    g = f.groupby("key", observed=True)
    ref = pd.DataFrame({"rows": g.size(), "approval_rate": g["approved"].mean(), "mean_pd": g["pd"].mean(),
                        "bad_rate": g["target"].mean(),
                        "auc": g.apply(lambda d: roc_auc_score(d["target"], d["pd"]), include_groups=False)})
    ref["air"] = ref["approval_rate"] / ref["approval_rate"].max()
    return ref


def test_taiwan_fairness_matches_pandas_groupby(scored):
    spec = FairnessSpec(("SEX", "MARRIAGE", "AGE"), bands={"AGE": (30, 40, 50)}, min_rows=1)
    res = assess_fairness(scored, spec, model_features=["LIMIT_BAL", "PAY_0"], approval_rate=0.75)
    cut = np.quantile(scored["pd"], 0.75, method="lower")
    approved = scored["pd"].to_numpy() <= cut
    assert res.cutoff == pytest.approx(cut) and res.approval_rate == pytest.approx(approved.mean())
    assert res.used_as_feature == [] and res.missing == []
    keys = {"SEX": scored["SEX"].astype(str), "MARRIAGE": scored["MARRIAGE"].astype(str),
            "AGE": pd.cut(scored["AGE"], [-np.inf, 30, 40, 50, np.inf], right=False,
                          labels=["< 30", "[30, 40)", "[40, 50)", "≥ 50"]).astype(str)}
    for attr, key in keys.items():
        ref = _reference(scored, key, approved)
        got = res.table[res.table["attribute"] == attr].set_index("group")
        assert sorted(got.index) == sorted(ref.index), attr
        got = got.loc[ref.index]
        np.testing.assert_array_equal(got["rows"].to_numpy(), ref["rows"].to_numpy())
        for col in ("approval_rate", "mean_pd", "bad_rate", "auc"):
            np.testing.assert_allclose(got[col].to_numpy(dtype=float), ref[col].to_numpy(dtype=float), rtol=1e-12, err_msg=f"{attr} {col}")
        np.testing.assert_allclose(got["adverse_impact_ratio"].to_numpy(dtype=float), ref["air"].to_numpy(), rtol=1e-12)
        assert (got["four_fifths"] == np.where(ref["air"] >= 0.8, "pass", "FAIL")).all()
    # the bands keep their natural order, not alphabetical
    assert res.table.loc[res.table["attribute"] == "AGE", "group"].tolist() == ["< 30", "[30, 40)", "[40, 50)", "≥ 50"]


def test_protected_feature_in_model_and_absent_attribute_are_reported(scored):
    spec = FairnessSpec(("SEX", "EDUCATION_LEVEL"))
    res = assess_fairness(scored, spec, model_features=["SEX", "PAY_0"])
    assert res.used_as_feature == ["SEX"]
    assert res.missing == ["EDUCATION_LEVEL"]
    assert set(res.table["attribute"]) == {"SEX"}


def test_four_fifths_rule_flags_a_disadvantaged_group():
    frame = pd.DataFrame({"grp": ["a"] * 100 + ["b"] * 100, "target": [0, 1] * 100,
                          "pd": np.r_[np.linspace(0.01, 0.2, 100), np.linspace(0.21, 0.6, 100)]})
    res = assess_fairness(frame, FairnessSpec(("grp",), min_rows=10), ["x"], approval_rate=0.5)
    t = res.table.set_index("group")
    assert t.loc["a", "approval_rate"] == 1.0 and t.loc["a", "four_fifths"] == "pass"
    assert t.loc["b", "adverse_impact_ratio"] < 0.8 and t.loc["b", "four_fifths"] == "FAIL"
    assert list(res.failures()["group"]) == ["b"]


def test_quintile_bands_and_missing_values():
    ages = pd.Series([20, 22, 25, 30, 33, 41, 45, 52, 60, 70, 75, 80, np.nan])
    labels = band(ages)
    assert labels.iloc[-1] == "missing"
    cuts = np.unique(np.ceil(np.quantile(ages.dropna(), [0.2, 0.4, 0.6, 0.8])))
    expected = pd.cut(ages.iloc[:-1], [-np.inf, *cuts, np.inf], right=False).cat.codes.to_numpy()
    order = labels.attrs["order"]
    np.testing.assert_array_equal([order.index(v) for v in labels.iloc[:-1]], expected)
    assert band(pd.Series(["single", None, "married"])).tolist() == ["single", "missing", "married"]


def test_bad_parameters_are_named():
    with pytest.raises(ModelError, match="bands"):
        FairnessSpec(("age",), bands={"income": (1,)})
    with pytest.raises(ModelError, match="approval_rate"):
        assess_fairness(pd.DataFrame({"target": [0], "pd": [0.1]}), FairnessSpec(("age",)), [], approval_rate=0)


def test_protected_attribute_as_feature_is_an_error_when_the_config_says_so(scored):
    """The report's fairness step on held-out rows: a protected feature warns, or stops the run under 'error'."""
    from types import SimpleNamespace

    from models.validator_pack import PackInputs, fairness_pack

    sample = scored.assign(split=np.where(np.arange(len(scored)) % 2 == 0, "test", "oot"))
    preds = sample[["split", "target"]].assign(pd_scorecard=sample["pd"])
    model = SimpleNamespace(estimator=SimpleNamespace(features_=["PAY_0", "AGE"]))
    inp = SimpleNamespace(backtest=SimpleNamespace(predictions=preds), sample=sample, chosen="scorecard",
                          candidates={"scorecard": model})
    spec = FairnessSpec(("SEX", "AGE"), bands={"AGE": (30, 40, 50)})
    res = fairness_pack(inp, PackInputs(fairness=spec, protected_as_feature="warn"))
    assert res.used_as_feature == ["AGE"] and set(res.table["attribute"]) == {"SEX", "AGE"}
    assert res.table.groupby("attribute")["rows"].sum().eq(len(sample)).all()
    with pytest.raises(ModelError, match=r"\['AGE'\].*used_as_feature is 'error'"):
        fairness_pack(inp, PackInputs(fairness=spec, protected_as_feature="error"))
