"""features.outcomes on tiny hand-written histories; expected values worked out by hand.

Histories are written as one DPD per MOB starting at MOB 1 (``None`` = missing month,
``(dpd, status)`` for an explicit status; a bare DPD is "current" at 0, else
"delinquent"). Every loan applies in January 2023 unless stated, so MOB m is the
snapshot month 2023-01 + m months and MOB 12 is 2024-01.
"""

from __future__ import annotations

import datetime as dt
import importlib.util

import numpy as np
import pandas as pd
import polars as pl
import pytest

from features.errors import ConfigError, OutcomeError
from features.outcomes import (
    DEFAULT_BUCKETS,
    BadDefinition,
    bucket_to_bad,
    derive_outcomes,
    history_problems,
    outcome_counts_by_vintage,
    roll_rate_matrix,
    roll_rates,
    vintage_curves,
)

BD = BadDefinition()  # 90+ DPD or charged off within 12 MOB, indeterminate 30..89
MOB12 = "2024-01-01"  # the as-of month at which a January-2023 loan has MOB 12


# --------------------------------------------------------------------------- helpers
def _month(app_month: str, mob: int) -> pd.Timestamp:
    return pd.Timestamp(app_month) + pd.DateOffset(months=mob)


def hist(loan_id: int, *entries, app_month: str = "2023-01-01", start_mob: int = 1) -> list[dict]:
    rows = []
    for i, e in enumerate(entries):
        if e is None:
            continue
        dpd, status = e if isinstance(e, tuple) else (e, "current" if e == 0 else "delinquent")
        mob = start_mob + i
        rows.append(
            {
                "loan_id": loan_id,
                "snapshot_month": _month(app_month, mob),
                "months_on_book": mob,
                "balance": 1000.0,
                "days_past_due": dpd,
                "status": status,
            }
        )
    return rows


def perf(*histories: list[dict]) -> pd.DataFrame:
    rows = [r for h in histories for r in h]
    cols = ["loan_id", "snapshot_month", "months_on_book", "balance", "days_past_due", "status"]
    return pd.DataFrame(rows, columns=cols)


def apps(*specs) -> pd.DataFrame:
    """specs: application_id, or (application_id, application_date, decision)."""
    rows = []
    for s in specs:
        if isinstance(s, tuple):
            rows.append(s)
        else:
            rows.append((s, "2023-01-15", "approved"))
    df = pd.DataFrame(rows, columns=["application_id", "application_date", "decision"])
    df["application_date"] = pd.to_datetime(df["application_date"])
    return df


def one(out: pd.DataFrame, app_id: int) -> pd.Series:
    row = out[out["application_id"] == app_id]
    assert len(row) == 1
    return row.iloc[0]


def outcome_of(out: pd.DataFrame) -> dict[int, str]:
    return dict(zip(out["application_id"], out["outcome"]))


def problems(hp: pd.DataFrame) -> dict[str, tuple[int, int, str]]:
    return {
        r.kind: (r.rows, r.loans, r.example_loan_ids) for r in hp.itertuples() if r.rows
    }


CLEAN12 = [0] * 12


# --------------------------------------------------------------------------- basic outcomes
def test_clean_mature_loan_is_good_with_every_column():
    out = derive_outcomes(apps(1), perf(hist(1, *CLEAN12)), BD)
    r = one(out, 1)
    assert r["outcome"] == "good" and r["target"] == 0
    assert r["application_month"] == pd.Timestamp("2023-01-01")
    assert r["decision"] == "approved"
    assert r["worst_dpd_in_window"] == 0 and pd.isna(r["first_bad_mob"])
    assert r["months_observed"] == 12 and r["months_missing"] == 0
    assert r["last_status_in_window"] == "current" and r["mob_as_of"] == 12


def test_cure_after_60_dpd_is_indeterminate_not_bad():
    h = perf(hist(1, 0, 30, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    r = one(derive_outcomes(apps(1), h, BD), 1)
    assert r["outcome"] == "indeterminate" and pd.isna(r["target"])
    assert r["worst_dpd_in_window"] == 60 and pd.isna(r["first_bad_mob"])
    # without an indeterminate band the same loan is good
    r = one(derive_outcomes(apps(1), h, BadDefinition(indeterminate_dpd=None)), 1)
    assert r["outcome"] == "good" and r["target"] == 0


def test_90_dpd_at_mob_13_with_a_12_month_window_is_not_bad():
    clean = perf(hist(1, *CLEAN12, 95))
    out = derive_outcomes(apps(1), clean, BD)
    assert one(out, 1)["outcome"] == "good" and one(out, 1)["worst_dpd_in_window"] == 0
    was_60 = perf(hist(1, *[0] * 11, 60, 95))
    assert one(derive_outcomes(apps(1), was_60, BD), 1)["outcome"] == "indeterminate"
    # a 13-month window sees it
    r = one(derive_outcomes(apps(1), clean, BadDefinition(performance_window=13)), 1)
    assert r["outcome"] == "bad" and r["first_bad_mob"] == 13 and r["target"] == 1


def test_charge_off_after_the_window_is_not_bad():
    h = perf(hist(1, *CLEAN12, 30, (60, "charged_off")))
    r = one(derive_outcomes(apps(1), h, BD), 1)
    assert r["outcome"] == "good"
    assert r["last_status_in_window"] == "current"


def test_charge_off_within_the_window_below_the_dpd_threshold_is_bad_via_status():
    h = perf(hist(1, 0, 0, 30, (45, "charged_off")))  # history stops at the charge-off
    r = one(derive_outcomes(apps(1), h, BD, as_of=MOB12), 1)
    assert r["outcome"] == "bad" and r["target"] == 1
    assert r["first_bad_mob"] == 4 and r["worst_dpd_in_window"] == 45
    assert r["last_status_in_window"] == "charged_off"
    assert r["months_observed"] == 4 and r["months_missing"] == 0  # nothing after closing
    # if charge-off is not a bad status, only DPD counts: 45 is in the band
    r = one(derive_outcomes(apps(1), h, BadDefinition(bad_statuses=()), as_of=MOB12), 1)
    assert r["outcome"] == "indeterminate"


def test_bad_before_maturity_is_bad_and_good_so_far_is_immature():
    h = perf(hist(1, 0, 30, 60, 90), hist(2, 0, 0, 0, 0), hist(3, 0, 30, 60, 60))
    out = derive_outcomes(apps(1, 2, 3), h, BD)  # as_of = MOB 4
    assert outcome_of(out) == {1: "bad", 2: "immature", 3: "immature"}
    assert one(out, 1)["first_bad_mob"] == 4 and one(out, 1)["mob_as_of"] == 4
    assert out.set_index("application_id")["target"].isna().tolist() == [False, True, True]


def test_dpd_threshold_is_inclusive():
    h = perf(hist(1, *[0] * 5, 89, *[0] * 6), hist(2, *[0] * 5, 90, *[0] * 6))
    out = derive_outcomes(apps(1, 2), h, BD)
    assert outcome_of(out) == {1: "indeterminate", 2: "bad"}
    out = derive_outcomes(apps(1, 2), h, BadDefinition(dpd_threshold=60, indeterminate_dpd=(30, 59)))
    assert outcome_of(out) == {1: "bad", 2: "bad"}


# --------------------------------------------------------------------------- closed early
PAID = (0, "paid_off")


@pytest.mark.parametrize(
    "option, expected",
    [
        ("good_if_clean", {1: "good", 2: "indeterminate", 3: "good", 4: "bad"}),
        ("exclude", {1: "closed_early", 2: "closed_early", 3: "good", 4: "bad"}),
        ("immature", {1: "immature", 2: "immature", 3: "good", 4: "bad"}),
    ],
)
def test_closed_early_options(option, expected):
    h = perf(
        hist(1, 0, 0, PAID),  # paid off at MOB 3, clean
        hist(2, 0, 45, 0, PAID),  # paid off at MOB 4 after 45 DPD
        hist(3, *[0] * 11, PAID),  # paid off at MOB 12 = end of window: ordinary
        hist(4, 0, 95, 0, PAID),  # bad before closing stays bad
    )
    out = derive_outcomes(apps(1, 2, 3, 4), h, BadDefinition(closed_early=option), as_of=MOB12)
    assert outcome_of(out) == expected
    assert one(out, 1)["last_status_in_window"] == "paid_off"
    assert one(out, 1)["months_missing"] == 0


def test_early_payoff_of_a_young_loan_is_judged_at_closing():
    h = perf(hist(1, 0, 0, PAID), hist(2, 0, 0, 0, 0, 0))
    out = derive_outcomes(apps(1, 2), h, BD)  # as_of = MOB 5
    assert outcome_of(out) == {1: "good", 2: "immature"}


# --------------------------------------------------------------------------- history problems
def test_gaps_are_unobserved_counted_and_reported():
    h = perf(
        hist(1, 0, 0, 0, None, None, 0, 0, 0, 0, 0, 0, 0),
        hist(2, 0, None, 95, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        hist(3, *CLEAN12),
    )
    out = derive_outcomes(apps(1, 2, 3), h, BD)
    assert outcome_of(out) == {1: "good", 2: "bad", 3: "good"}
    assert one(out, 1)["months_observed"] == 10 and one(out, 1)["months_missing"] == 2
    assert one(out, 2)["months_missing"] == 1 and one(out, 3)["months_missing"] == 0
    assert problems(history_problems(apps(1, 2, 3), h)) == {"gap": (3, 2, "1, 2")}


def test_duplicate_snapshots_take_the_worst_dpd_and_are_reported():
    base = hist(1, *CLEAN12)
    dup = dict(base[2], days_past_due=95, status="delinquent")  # MOB 3 twice: 0 and 95
    base2 = hist(2, *CLEAN12)
    dup2 = dict(base2[5], days_past_due=30)  # MOB 6 twice: 0 and 30
    h = perf(base, [dup], base2, [dup2])
    for frame in (h, h.iloc[::-1]):
        out = derive_outcomes(apps(1, 2), frame, BD)
        assert outcome_of(out) == {1: "bad", 2: "indeterminate"}
        assert one(out, 1)["first_bad_mob"] == 3 and one(out, 1)["worst_dpd_in_window"] == 95
        assert one(out, 1)["months_observed"] == 12  # a month, not a row
    assert problems(history_problems(apps(1, 2), h)) == {"duplicate_snapshot": (2, 2, "1, 2")}


def test_snapshots_before_the_application_month_raise():
    ids = list(range(1, 8))
    h = perf(*[hist(i, 0, 0, 0, start_mob=-1) for i in ids])  # MOB -1, 0, 1
    with pytest.raises(OutcomeError) as err:
        derive_outcomes(apps(*ids), h, BD)
    msg = str(err.value)
    assert "performance.snapshot_month" in msg and "7 row(s)" in msg
    assert "loan_ids 1, 2, 3, 4, 5)" in msg  # up to 5 examples
    with pytest.raises(OutcomeError, match="performance.snapshot_month"):
        vintage_curves(apps(*ids), h, BD)
    found = problems(history_problems(apps(*ids), h))  # lists, never raises
    assert found["before_application"] == (7, 7, "1, 2, 3, 4, 5")
    assert found["in_application_month"] == (7, 7, "1, 2, 3, 4, 5")


def test_snapshot_in_the_application_month_is_ignored_and_reported():
    h = perf(hist(1, 120, *CLEAN12, start_mob=0))  # MOB 0 at 120 DPD, then clean
    out = derive_outcomes(apps(1), h, BD)
    assert one(out, 1)["outcome"] == "good" and one(out, 1)["months_observed"] == 12
    assert problems(history_problems(apps(1), h)) == {"in_application_month": (1, 1, "1")}


def test_loans_with_a_single_snapshot():
    h = perf(hist(1, 0), hist(2, (50, "charged_off")), hist(3, 0, app_month="2023-12-01"))
    out = derive_outcomes(apps(1, 2, (3, "2023-12-03", "approved")), h, BD, as_of=MOB12)
    assert outcome_of(out) == {1: "good", 2: "bad", 3: "immature"}
    assert one(out, 1)["months_observed"] == 1 and one(out, 1)["months_missing"] == 11
    assert one(out, 2)["months_missing"] == 0 and one(out, 3)["months_missing"] == 0
    found = problems(history_problems(apps(1, 2, (3, "2023-12-03", "approved")), h, as_of=MOB12))
    assert found == {"stopped_reporting": (1, 1, "1")}


def test_approved_loans_without_performance():
    a = apps(1, 2, (3, "2023-10-20", "approved"), (4, "2024-01-05", "approved"))
    h = perf(hist(1, *CLEAN12))
    out = derive_outcomes(a, h, BD)  # as_of 2024-01
    assert outcome_of(out) == {1: "good", 2: "no_performance", 3: "immature", 4: "immature"}
    assert out.set_index("application_id")["target"].isna().tolist() == [False, True, True, True]
    assert one(out, 3)["months_observed"] == 0 and one(out, 3)["months_missing"] == 3
    assert one(out, 4)["mob_as_of"] == 0 and one(out, 4)["months_missing"] == 0
    # loan 4 applied in the as-of month: nothing could be observed yet, not a problem
    assert problems(history_problems(a, h)) == {"no_performance": (2, 2, "2, 3")}


def test_rejected_and_unknown_loans():
    a = apps(1, (2, "2023-01-09", "rejected"))
    h = perf(hist(1, *CLEAN12), hist(2, 0, 95), hist(99, 95, 95))
    out = derive_outcomes(a, h, BD)
    assert list(out["application_id"]) == [1, 2]  # one row per application, no 99
    r = one(out, 2)
    assert r["outcome"] == "rejected" and pd.isna(r["target"])
    assert pd.isna(r["months_observed"]) and pd.isna(r["worst_dpd_in_window"])
    assert problems(history_problems(a, h)) == {
        "rejected_loan": (2, 1, "2"),
        "unknown_loan": (2, 1, "99"),
    }


def test_months_on_book_inconsistent_with_dates_dates_win():
    h = perf(hist(1, *[0] * 11, 95))
    h["months_on_book"] = h["months_on_book"] + 1  # MOB 12 mislabelled 13
    r = one(derive_outcomes(apps(1), h, BD), 1)
    assert r["outcome"] == "bad" and r["first_bad_mob"] == 12
    assert problems(history_problems(apps(1), h)) == {"mob_mismatch": (12, 1, "1")}


def test_snapshot_not_on_the_first_of_the_month_is_truncated_and_reported():
    h = perf(hist(1, *CLEAN12))
    h.loc[3, "snapshot_month"] = h.loc[3, "snapshot_month"] + pd.Timedelta(days=14)
    assert one(derive_outcomes(apps(1), h, BD), 1)["months_observed"] == 12
    assert problems(history_problems(apps(1), h)) == {"not_first_of_month": (1, 1, "1")}


# --------------------------------------------------------------------------- as_of, inputs
@pytest.mark.parametrize("as_of", ["2023-09-01", "2023-09", dt.date(2023, 9, 17), pd.Timestamp("2023-09-01")])
def test_as_of_ignores_later_rows(as_of):
    h = perf(hist(1, *[0] * 9, 95, 95, 95))  # 95 DPD from MOB 10
    default = one(derive_outcomes(apps(1), h, BD), 1)
    assert default["outcome"] == "bad" and default["mob_as_of"] == 12
    r = one(derive_outcomes(apps(1), h, BD, as_of=as_of), 1)  # MOB 8
    assert r["outcome"] == "immature" and r["months_observed"] == 8 and r["mob_as_of"] == 8


def test_pandas_and_polars_inputs_give_the_same_frame():
    a = apps(1, 2, (3, "2023-02-02", "rejected"))
    h = perf(hist(1, 0, 30, 60, 0, *[0] * 8), hist(2, 0, (20, "charged_off")))
    expected = derive_outcomes(a, h, BD)
    assert outcome_of(expected) == {1: "indeterminate", 2: "bad", 3: "rejected"}
    pl_out = derive_outcomes(pl.from_pandas(a), pl.from_pandas(h), BD)
    pd.testing.assert_frame_equal(pl_out, expected)
    # text dates and categorical status are fine too
    a_txt = a.assign(application_date=a["application_date"].dt.strftime("%Y-%m-%d"))
    h_cat = h.assign(status=h["status"].astype("category"))
    pd.testing.assert_frame_equal(derive_outcomes(a_txt, h_cat, BD), expected)
    pd.testing.assert_frame_equal(
        vintage_curves(pl.from_pandas(a), pl.from_pandas(h), BD), vintage_curves(a, h, BD)
    )
    pd.testing.assert_frame_equal(roll_rates(pl.from_pandas(h)), roll_rates(h))


def test_deterministic_under_row_order():
    rng = np.random.default_rng(0)
    h = perf(
        hist(1, 0, 30, 60, 0, *[0] * 8),
        hist(2, 0, 95),
        hist(3, *CLEAN12),
        hist(4, 0, 0, PAID),
        [dict(hist(3, *CLEAN12)[4], days_past_due=35)],  # a duplicate
    )
    a = apps(4, 3, 2, 1)
    out = derive_outcomes(a, h, BD)
    assert list(out["application_id"]) == [1, 2, 3, 4]  # sorted by id
    for _ in range(3):
        shuffled = h.iloc[rng.permutation(len(h))]
        pd.testing.assert_frame_equal(derive_outcomes(a.iloc[::-1], shuffled, BD), out)
        pd.testing.assert_frame_equal(roll_rates(shuffled), roll_rates(h))
        pd.testing.assert_frame_equal(vintage_curves(a, shuffled, BD), vintage_curves(a, h, BD))
        pd.testing.assert_frame_equal(history_problems(a, shuffled), history_problems(a, h))


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda a, h: (a, h.drop(columns="status")), r"performance: missing column\(s\) status"),
        (lambda a, h: (a, h.assign(status="written_off")), r"performance.status: 12 row.*written_off.*loan_ids 1\)"),
        (lambda a, h: (a.assign(decision="maybe"), h), r"applications.decision: 1 row"),
        (lambda a, h: (a, h.assign(days_past_due=h["days_past_due"].astype("float").where(h.index != 2))), r"performance.days_past_due: 1 null.*loan_ids 1\)"),
        (lambda a, h: (a, h.assign(days_past_due=-1)), r"performance.days_past_due: 12 negative"),
        (lambda a, h: (pd.concat([a, a]), h), r"applications.application_id: 2 row\(s\) share an id"),
        (lambda a, h: (a.assign(application_date="15/01/2023"), h), r"applications.application_date: 1 value\(s\) are not ISO dates"),
        (lambda a, h: (a, h.assign(loan_id="one")), r"performance.loan_id: type"),
    ],
)
def test_contract_errors_name_table_column_and_problem(mutate, match):
    a, h = mutate(apps(1), perf(hist(1, *CLEAN12)))
    with pytest.raises(OutcomeError, match=match):
        derive_outcomes(a, h, BD)


def test_empty_performance_needs_as_of():
    empty = perf()
    with pytest.raises(OutcomeError, match="pass as_of"):
        derive_outcomes(apps(1), empty, BD)
    out = derive_outcomes(apps(1), empty, BD, as_of="2023-03-01")
    assert outcome_of(out) == {1: "immature"}


# --------------------------------------------------------------------------- bad definition
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"dpd_threshold": 0}, "dpd_threshold must be >= 1"),
        ({"dpd_threshold": 90.5}, "dpd_threshold must be an integer"),
        ({"performance_window": 0}, "performance_window must be >= 1"),
        ({"performance_window": True}, "performance_window must be an integer"),
        ({"bad_statuses": ("written_off",)}, "bad_statuses has 'written_off'"),
        ({"bad_statuses": "charged_off"}, "bad_statuses must be a list"),
        ({"indeterminate_dpd": (60, 30)}, "1 <= low <= high"),
        ({"indeterminate_dpd": (30, 90)}, "must be below dpd_threshold 90"),
        ({"indeterminate_dpd": 30}, "two integers"),
        ({"closed_early": "drop"}, "closed_early must be one of"),
    ],
)
def test_bad_definition_is_validated(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        BadDefinition(**kwargs)


def test_bad_definition_from_mapping():
    bd = BadDefinition.from_mapping(
        {"dpd_threshold": np.int64(60), "indeterminate_dpd": [30, 59], "bad_statuses": ["charged_off"]}
    )
    assert bd == BadDefinition(dpd_threshold=60, indeterminate_dpd=(30, 59))
    assert isinstance(bd.bad_statuses, tuple) and type(bd.dpd_threshold) is int
    with pytest.raises(ConfigError, match="unknown key.*window"):
        BadDefinition.from_mapping({"window": 12})


# --------------------------------------------------------------------------- vintage curves
def _vintage_book():
    a = apps(
        1, 2, 3, 4,
        (5, "2023-03-10", "approved"),
        (6, "2023-01-02", "rejected"),
    )
    h = perf(
        hist(1, 0, 90, 120, (150, "charged_off"), (150, "charged_off")),  # bad at MOB 2
        hist(2, 0, 0, 30, (30, "charged_off")),  # bad at MOB 4 (status)
        hist(3, 0, 0, 0, 0, 0),
        hist(4, None, 0, 0, 0, 60),  # first observed at MOB 2
        hist(5, 95, 0, 0, app_month="2023-03-01"),  # bad at MOB 1
        hist(6, 95, 95, 95),  # rejected: ignored
    )
    return a, h


def test_vintage_curves_hand_example():
    a, h = _vintage_book()  # as_of 2023-06: January reached MOB 5, March MOB 3
    vc = vintage_curves(a, h, BD)
    assert list(vc.columns) == ["vintage", "mob", "loans", "cum_bads", "cum_bad_rate"]
    jan = vc[vc["vintage"] == pd.Timestamp("2023-01-01")]
    assert jan["mob"].tolist() == [1, 2, 3, 4, 5]
    assert jan["loans"].tolist() == [3, 4, 4, 4, 4]
    assert jan["cum_bads"].tolist() == [0, 1, 1, 2, 2]
    assert jan["cum_bad_rate"].tolist() == pytest.approx([0, 0.25, 0.25, 0.5, 0.5])
    mar = vc[vc["vintage"] == pd.Timestamp("2023-03-01")]
    assert mar[["mob", "loans", "cum_bads"]].values.tolist() == [[1, 1, 1], [2, 1, 1], [3, 1, 1]]
    assert len(vc) == 8
    # max_mob caps, as_of truncates; the window plays no part (bads after it count)
    assert vintage_curves(a, h, BD, max_mob=2)["mob"].tolist() == [1, 2, 1, 2]
    early = vintage_curves(a, h, BD, as_of="2023-03-01")
    assert early[["mob", "loans", "cum_bads"]].values.tolist() == [[1, 3, 0], [2, 4, 1]]
    pd.testing.assert_frame_equal(vintage_curves(a, h, BadDefinition(performance_window=1)), vc)
    # a lower threshold makes loan 4 (60 DPD at MOB 5) bad at MOB 5
    low = vintage_curves(a, h, BadDefinition(dpd_threshold=60, indeterminate_dpd=None))
    assert low.loc[low["vintage"] == pd.Timestamp("2023-01-01"), "cum_bads"].tolist() == [0, 1, 1, 2, 3]


# --------------------------------------------------------------------------- roll rates
def _roll_book():
    dup = hist(4, 0, 35)[1]  # MOB 2 twice: 0 and 35 -> the worst, 30-59
    return perf(
        hist(1, 0, 15, 45, 0),  # current>1-29, 1-29>30-59, 30-59>current
        hist(2, 0, 0, None, 75, 95, (125, "charged_off")),  # current>current, gap, 60-89>90+, 90+>charged_off
        hist(3, 0, PAID, PAID),  # current>paid_off; paid_off is absorbing
        hist(4, 0, 0),
        [dup],  # current>30-59
    )


def test_roll_rates_hand_example():
    rr = roll_rates(_roll_book())
    assert list(rr.columns) == ["from_bucket", "to_bucket", "count", "share"]
    assert len(rr) == 5 * 7  # every (from, to) pair; terminal buckets are destinations only
    nonzero = {(r.from_bucket, r.to_bucket): r.count for r in rr.itertuples() if r.count}
    assert nonzero == {
        ("current", "1-29"): 1,
        ("current", "current"): 1,
        ("current", "paid_off"): 1,
        ("current", "30-59"): 1,
        ("1-29", "30-59"): 1,
        ("30-59", "current"): 1,
        ("60-89", "90+"): 1,
        ("90+", "charged_off"): 1,
    }
    share = rr.set_index(["from_bucket", "to_bucket"])["share"]
    assert share[("current", "1-29")] == pytest.approx(0.25)
    assert share[("60-89", "90+")] == pytest.approx(1.0)
    assert share[("current", "60-89")] == 0


def test_roll_rate_matrix_is_square_with_absorbing_terminal_rows():
    m = roll_rate_matrix(roll_rates(_roll_book()))
    order = [b for b, _ in DEFAULT_BUCKETS] + ["charged_off", "paid_off"]
    assert list(m.index) == order and list(m.columns) == order
    assert m.loc["current", "current"] == pytest.approx(0.25)
    assert m.loc["charged_off"].tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert m.loc["paid_off", "paid_off"] == 1
    assert np.allclose(m.sum(axis=1), 1.0)
    # a bucket never left has no evidence: NaN, not zeros
    only_current = roll_rate_matrix(roll_rates(perf(hist(1, 0, 0, 0))))
    assert only_current.loc["current", "current"] == 1
    assert only_current.loc["1-29"].isna().all()


def test_roll_rates_custom_buckets():
    rr = roll_rates(_roll_book(), buckets=[("ok", 0), ("late", 30)])
    nonzero = {(r.from_bucket, r.to_bucket): r.count for r in rr.itertuples() if r.count}
    assert nonzero == {
        ("ok", "ok"): 2,  # loan 1: 0>15, loan 2: 0>0
        ("ok", "late"): 2,  # loan 1: 15>45, loan 4: 0>35
        ("late", "ok"): 1,
        ("late", "late"): 1,
        ("late", "charged_off"): 1,
        ("ok", "paid_off"): 1,
    }
    with pytest.raises(ConfigError, match="start at 0"):
        roll_rates(_roll_book(), buckets=[("a", 1), ("b", 30)])


# --------------------------------------------------------------------------- bucket to bad
def test_bucket_to_bad_hand_example():
    h = perf(
        hist(1, 0, 0, 45, 75, 95, (125, "charged_off")),
        hist(2, 0, 65, *[0] * 10, 95),  # 95 at MOB 13: after the window
        hist(3, 0, 15, 0, 0, 95, *[0] * 7),
        hist(4, 0, 40, 95, 125, app_month="2023-10-01"),  # young: window not observed
    )  # as_of 2024-02
    b2b = bucket_to_bad(h, BD)
    got = {r.bucket: (r.accounts, r.reached_bad) for r in b2b.itertuples()}
    assert got == {
        "current": (3, 2),
        "1-29": (1, 1),
        "30-59": (1, 1),
        "60-89": (2, 1),
        "90+": (2, 2),
        "charged_off": (1, 1),
    }
    assert b2b.set_index("bucket")["share_bad"]["60-89"] == pytest.approx(0.5)
    young_too = bucket_to_bad(h, BD, mature_only=False).set_index("bucket")
    assert young_too.loc["current", "accounts"] == 4 and young_too.loc["30-59", "reached_bad"] == 2


def test_bucket_to_bad_only_counts_bads_at_or_after_the_bucket():
    h = perf(hist(1, 95, 0, 0, 15, *[0] * 8))  # bad at MOB 1, then 1-29 at MOB 4
    got = bucket_to_bad(h, BD).set_index("bucket")
    assert got.loc["90+", "reached_bad"] == 1
    assert got.loc["1-29", "accounts"] == 1 and got.loc["1-29", "reached_bad"] == 0
    assert got.loc["current", "reached_bad"] == 0  # current from MOB 2 on, never bad again


def test_bucket_to_bad_counts_a_duplicated_month_once_as_the_worst_row():
    h = perf(hist(1, 15, 0, *[15] * 10), [dict(hist(1, 15, 35)[1])])  # MOB 2: 0 and 35
    got = bucket_to_bad(h, BD).set_index("bucket")["accounts"]
    assert got["current"] == 0 and got["30-59"] == 1 and got["1-29"] == 1


# --------------------------------------------------------------------------- counts by vintage
def test_outcome_counts_by_vintage_hand_example():
    oc = pd.DataFrame(
        {
            "application_month": pd.to_datetime(["2023-01-01"] * 5 + ["2023-02-01"] * 2),
            "decision": ["approved"] * 4 + ["rejected", "approved", "rejected"],
            "outcome": ["bad", "good", "good", "indeterminate", "rejected", "immature", "rejected"],
        }
    )
    got = outcome_counts_by_vintage(oc)
    assert got["application_month"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-02-01")]
    jan, feb = got.iloc[0], got.iloc[1]
    assert (jan["applications"], jan["approved"], jan["rejected"]) == (5, 4, 1)
    assert (jan["bad"], jan["good"], jan["indeterminate"], jan["immature"]) == (1, 2, 1, 0)
    assert jan["bad_rate"] == pytest.approx(1 / 3)
    assert feb["immature"] == 1 and pd.isna(feb["bad_rate"])
    assert {"closed_early", "no_performance"} <= set(got.columns)


def test_outcome_counts_from_derive_outcomes():
    a, h = _vintage_book()
    out = derive_outcomes(a, h, BadDefinition(performance_window=3))
    # loan 2 charged off at MOB 4, after a 3-month window: its worst is 30 DPD
    assert outcome_of(out) == {1: "bad", 2: "indeterminate", 3: "good", 4: "good", 5: "bad", 6: "rejected"}
    got = outcome_counts_by_vintage(out).set_index("application_month")
    assert got.loc["2023-01-01", "bad_rate"] == pytest.approx(1 / 3)
    assert got.loc["2023-01-01", "indeterminate"] == 1
    assert got.loc["2023-01-01", "mob_as_of"] == 5 and got.loc["2023-03-01", "mob_as_of"] == 3


# --------------------------------------------------------------------------- demo book
@pytest.mark.skipif(
    importlib.util.find_spec("features.demo_book") is None,
    reason="features/demo_book.py (generate_loan_book) is not there yet",
)
def test_consistency_on_a_generated_demo_book():
    from features.demo_book import generate_loan_book

    a, h = generate_loan_book(n_applications=4_000, months=30, seed=11)
    bd = BadDefinition(indeterminate_dpd=None)
    out = derive_outcomes(a, h, bd)
    assert len(out) == len(a) and out["application_id"].is_unique
    counts = out["outcome"].value_counts()
    assert counts.sum() == len(a) and counts["rejected"] == (a["decision"] == "rejected").sum()
    assert counts["bad"] > 0 and counts["good"] > 0 and counts["immature"] > 0
    assert ((out["target"] == 1) == (out["outcome"] == "bad")).all()

    # the vintage curve at MOB 12 is the matured bad rate of derive_outcomes
    by_vintage = outcome_counts_by_vintage(out)
    matured = by_vintage[by_vintage["mob_as_of"] >= 12].set_index("application_month")
    assert len(matured) >= 10
    vc = vintage_curves(a, h, bd)
    at12 = vc[vc["mob"] == 12].set_index("vintage")
    assert at12.index.equals(matured.index)
    assert np.allclose(at12["cum_bad_rate"], matured["bad_rate"])
    assert (at12["loans"] == matured["bad"] + matured["good"]).all()

    # roll-rate counts: every consecutive pair of months of an open loan, counted by hand
    h2 = h.sort_values(["loan_id", "snapshot_month"])
    months = h2["snapshot_month"].dt.year * 12 + h2["snapshot_month"].dt.month
    nxt = (h2["loan_id"].shift(-1) == h2["loan_id"]) & (months.shift(-1) == months + 1)
    is_open = ~h2["status"].isin(["charged_off", "paid_off"])
    assert roll_rates(h)["count"].sum() == int((nxt & is_open).sum())
