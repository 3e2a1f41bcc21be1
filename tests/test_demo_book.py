"""The synthetic demo loan book: invariants of the data model, realism bands, DuckDB roundtrip."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from features import loan_book as lb
from features.demo_applications import FIRST_APPLICATION_ID
from features.demo_book import generate_loan_book, write_duckdb
from features.errors import ConfigError, CreditPipelineError, SourceError

N_APPS = 30_000
MONTHS = 36
END_MONTH = "2025-12"
SEED = 11


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_loan_book(n_applications=N_APPS, months=MONTHS, seed=SEED, end_month=END_MONTH)


@pytest.fixture(scope="module")
def apps(book) -> pd.DataFrame:
    return book[0]


@pytest.fixture(scope="module")
def perf(book) -> pd.DataFrame:
    return book[1]


def _month_no(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month - 1


END_NO = 2025 * 12 + 11


@pytest.fixture(scope="module")
def outcomes(apps, perf) -> pd.DataFrame:
    """Approved loans with vintage, maturity (12 MOB observed) and the 12-MOB bad flag."""
    loans = apps.loc[apps["decision"] == "approved", ["application_id", "application_date", "bureau_score"]].copy()
    loans["vintage"] = _month_no(loans["application_date"])
    loans["matured"] = loans["vintage"] + 12 <= END_NO
    early = perf[perf["months_on_book"] <= 12]
    bad_ids = early.loc[(early["days_past_due"] >= 90) | (early["status"] == "charged_off"), "loan_id"]
    loans["bad"] = loans["application_id"].isin(bad_ids)
    return loans


# --------------------------------------------------------------------------- schema and ranges
def test_columns_follow_the_data_model(apps, perf):
    assert list(apps.columns) == list(lb.APPLICATION_COLUMNS)
    assert list(perf.columns) == list(lb.PERFORMANCE_COLUMNS)
    assert len(apps) == N_APPS
    assert apps["application_id"].dtype == np.int64 and apps["customer_id"].dtype == np.int64
    assert perf["loan_id"].dtype == np.int64
    assert pd.api.types.is_datetime64_any_dtype(apps["application_date"])
    assert pd.api.types.is_datetime64_any_dtype(perf["snapshot_month"])
    for col, sql in lb.APPLICATION_COLUMNS.items():
        if sql == "INTEGER":
            assert pd.api.types.is_integer_dtype(apps[col]), col
        elif sql == "DOUBLE":
            assert pd.api.types.is_float_dtype(apps[col]), col


def test_categories_within_the_data_model(apps, perf):
    for col, allowed in lb.CATEGORIES.items():
        frame = perf if col == "status" else apps
        values = set(frame[col].dropna().unique())
        assert values <= set(allowed), (col, values - set(allowed))
        assert frame[col].notna().all(), col
    # every category level of the small tables shows up in a 30k book
    for col in ("decision", "product", "channel", "employment_type", "housing", "region", "device_os", "status"):
        frame = perf if col == "status" else apps
        assert set(frame[col].unique()) == set(lb.CATEGORIES[col]), col


def test_ranges_are_sane(apps):
    assert apps["age"].between(18, 80).all()
    income = apps["monthly_income"].dropna()
    assert (income > 0).all()
    util = apps["bureau_revolving_utilisation"].dropna()
    assert util.between(0, 1.5).all() and util.max() > 1.0  # some over the limit
    assert apps["night_activity_ratio"].dropna().between(0, 1).all()
    assert (apps["requested_amount"] > 0).all()
    assert (apps["term_months"] > 0).all()
    real = apps.loc[apps["bureau_score"] >= 0, "bureau_score"]
    assert real.between(300, 850).all()
    assert set(apps.loc[apps["bureau_score"] < 0, "bureau_score"].unique()) <= set(lb.BUREAU_SPECIAL_CODES)
    for col in ("bureau_open_accounts", "bureau_inquiries_6m", "bureau_delinquencies_24m", "dependents",
                "app_sessions_3m", "payment_transactions_3m", "bureau_total_debt", "ecommerce_spend_3m"):
        assert (apps[col].dropna() >= 0).all(), col
    assert set(apps["bureau_worst_dpd_24m"].dropna().unique()) <= {0, 30, 60, 90, 120, 180}


def test_application_window_ends_with_end_month(apps):
    months = _month_no(apps["application_date"])
    assert months.max() == END_NO
    assert months.min() == END_NO - MONTHS + 1
    assert months.nunique() == MONTHS
    assert apps["application_date"].is_monotonic_increasing


# --------------------------------------------------------------------------- keys
def test_keys_unique(apps, perf):
    assert apps["application_id"].is_unique
    assert apps["application_id"].min() == FIRST_APPLICATION_ID
    assert not perf.duplicated(["loan_id", "snapshot_month"]).any()


def test_some_customers_apply_more_than_once_with_the_same_pii(apps):
    per_customer = apps.groupby("customer_id").size()
    repeat_share = (per_customer > 1).mean()
    assert 0.005 < repeat_share < 0.10
    pii = apps.groupby("customer_id")[list(lb.PII_COLUMNS)].nunique()
    assert (pii == 1).all().all()
    # different customers get different national ids
    firsts = apps.drop_duplicates("customer_id")
    assert firsts["national_id"].is_unique
    assert firsts["national_id"].str.fullmatch(r"NI\d{9}").all()
    assert apps["email"].str.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)").all()
    assert apps["phone"].str.fullmatch(r"\+999 \d{3} \d{6}").all()


# --------------------------------------------------------------------------- decision
def test_decision_rate_and_pricing(apps):
    approved = apps["decision"] == "approved"
    assert 0.60 <= approved.mean() <= 0.70
    assert apps.loc[~approved, ["approved_amount", "interest_rate"]].isna().all().all()
    assert apps.loc[approved, ["approved_amount", "interest_rate"]].notna().all().all()
    assert (apps.loc[approved, "approved_amount"] <= apps.loc[approved, "requested_amount"]).all()
    assert apps.loc[approved, "interest_rate"].between(0.0, 0.5).all()
    # rejected applications are worse, but the two overlap
    real = apps[apps["bureau_score"] >= 0]
    acc, rej = real.loc[real["decision"] == "approved", "bureau_score"], real.loc[real["decision"] == "rejected", "bureau_score"]
    assert acc.mean() - rej.mean() > 30
    assert rej.quantile(0.75) > acc.quantile(0.25)
    # priced by risk: a worse bureau score pays more
    ap = real[real["decision"] == "approved"]
    assert np.corrcoef(ap["bureau_score"], ap["interest_rate"])[0, 1] < -0.2


# --------------------------------------------------------------------------- missing values and special codes
def test_special_codes_and_thin_file_segment(apps):
    no_hit = apps["bureau_score"] == lb.BUREAU_NO_HIT
    thin = apps["bureau_score"] == lb.BUREAU_THIN_FILE
    assert no_hit.sum() > 0 and thin.sum() > 0
    assert 0.08 <= (no_hit | thin).mean() <= 0.12
    others = [c for c in lb.APPLICATION_COLUMNS if c.startswith("bureau_") and c != "bureau_score"]
    assert apps.loc[no_hit, others].isna().all().all()
    assert apps.loc[thin, others].notna().any().any()  # a thin file has some bureau data
    assert apps.loc[thin, others].isna().any().any()  # ... but not all of it
    assert apps.loc[~(no_hit | thin), others].notna().all().all()


def test_realistic_missing_values(apps):
    assert 0.03 <= apps["monthly_income"].isna().mean() <= 0.05
    not_working = apps["employment_type"].isin(["unemployed", "student"])
    assert apps.loc[not_working, "employment_years"].isna().all()
    assert 0.0 < apps.loc[~not_working, "employment_years"].isna().mean() < 0.10
    no_app = apps["app_sessions_3m"].isna()
    assert 0.0 < no_app.mean() < 0.6
    assert apps.loc[no_app, "night_activity_ratio"].isna().all()
    assert (apps.loc[apps["channel"] == "mobile", "app_sessions_3m"].notna()).all()
    assert apps.loc[no_app, "channel"].isin(["branch", "online", "broker"]).all()


def test_channel_mix_drifts_to_mobile(apps):
    months = _month_no(apps["application_date"])
    first = apps.loc[months < END_NO - MONTHS + 7, "channel"].eq("mobile").mean()
    last = apps.loc[months > END_NO - 6, "channel"].eq("mobile").mean()
    assert last - first > 0.10


# --------------------------------------------------------------------------- performance invariants
def test_performance_only_for_approved_loans(apps, perf):
    approved = set(apps.loc[apps["decision"] == "approved", "application_id"])
    rejected = set(apps.loc[apps["decision"] == "rejected", "application_id"])
    loans = set(perf["loan_id"].unique())
    assert loans <= approved
    assert not loans & rejected
    # every approved loan booked before end_month has at least its MOB 1 row
    booked_before_end = apps[(apps["decision"] == "approved") & (_month_no(apps["application_date"]) < END_NO)]
    assert set(booked_before_end["application_id"]) == loans


def test_months_on_book_consistent_with_dates(apps, perf):
    app_month = perf["loan_id"].map(apps.set_index("application_id")["application_date"])
    snap = _month_no(perf["snapshot_month"])
    assert (perf["snapshot_month"].dt.day == 1).all()
    assert (snap - _month_no(app_month) == perf["months_on_book"]).all()
    assert (perf["snapshot_month"] > app_month).all()
    assert snap.max() == END_NO  # nothing after end_month, and the book reaches it
    ordered = perf.sort_values(["loan_id", "months_on_book"])
    first = ordered.groupby("loan_id")["months_on_book"].first()
    assert (first == 1).all()
    steps = ordered.groupby("loan_id")["months_on_book"].diff().dropna()
    assert (steps == 1).all()  # consecutive, no gaps


def test_nothing_after_a_terminal_status(perf):
    ordered = perf.sort_values(["loan_id", "months_on_book"])
    terminal = ordered["status"].isin(["charged_off", "paid_off"])
    last_row = ~ordered["loan_id"].duplicated(keep="last")
    assert (last_row[terminal]).all()
    assert terminal.groupby(ordered["loan_id"]).sum().max() == 1
    # loans without a terminal status are still open at end_month
    open_loans = ~terminal.groupby(ordered["loan_id"]).any()
    last_snap = ordered.groupby("loan_id")["snapshot_month"].max()
    assert (_month_no(last_snap[open_loans]) == END_NO).all()


def test_dpd_status_and_balance(apps, perf):
    dpd = perf["days_past_due"]
    assert (dpd >= 0).all()
    status = perf["status"]
    assert (dpd[status == "current"] == 0).all()
    assert (dpd[status == "delinquent"] > 0).all()
    assert dpd.between(1, 29).any()  # occasional early lateness
    big = dpd[dpd >= 30]
    assert (big % 30 == 0).all() and big.max() <= 180
    assert (perf.loc[status == "paid_off", ["balance", "days_past_due"]] == 0).all().all()
    co_dpd = dpd[status == "charged_off"]
    assert (co_dpd >= 60).all()  # written off after missed payments, a few early (bankruptcy, fraud)
    assert (co_dpd == 180).mean() > 0.5  # typically at 180 DPD
    assert (status == "charged_off").any() and (status == "paid_off").any()
    amount = perf["loan_id"].map(apps.set_index("application_id")["approved_amount"])
    assert (perf["balance"] >= 0).all() and (perf["balance"] <= amount + 0.01).all()
    # balance amortises, never grows, and stays put while the loan rolls to a worse bucket
    ordered = perf.sort_values(["loan_id", "months_on_book"])
    same = ordered["loan_id"].eq(ordered["loan_id"].shift())
    d_bal = ordered["balance"].diff()[same]
    assert (d_bal <= 0.01).all()
    rolled = (ordered["days_past_due"].diff()[same] == 30) & (ordered["days_past_due"][same] >= 60)
    assert rolled.sum() > 0
    assert (d_bal[rolled].abs() <= 0.01).all()
    current_steps = (ordered["status"][same] == "current") & (ordered["status"].shift()[same] == "current")
    assert (d_bal[current_steps] < 0).mean() > 0.99


def test_loans_reaching_term_end_are_paid_off(apps, perf):
    term = perf["loan_id"].map(apps.set_index("application_id")["term_months"])
    at_term_current = (perf["months_on_book"] >= term) & (perf["days_past_due"] == 0)
    assert at_term_current.any()
    assert (perf.loc[at_term_current, "status"] == "paid_off").all()
    assert not ((perf["months_on_book"] > term) & (perf["status"] == "current")).any()


def test_delinquency_cures_and_rolls(perf):
    ordered = perf.sort_values(["loan_id", "months_on_book"])
    same = ordered["loan_id"].eq(ordered["loan_id"].shift())
    prev = ordered["days_past_due"].shift()[same]
    cur = ordered["days_past_due"][same]
    assert ((prev >= 30) & (cur == 0)).sum() > 0  # full cures
    assert ((prev >= 60) & (cur == prev - 30)).sum() > 0  # partial cures
    assert ((prev == 90) & (cur == 120)).sum() > 0  # rolls


# --------------------------------------------------------------------------- calibration
def test_bad_rate_overall_and_by_vintage(outcomes):
    matured = outcomes[outcomes["matured"]]
    assert len(matured) > 5_000
    assert 0.05 <= matured["bad"].mean() <= 0.14
    by_vintage = matured.groupby("vintage")["bad"].agg(["mean", "size"])
    checked = by_vintage[by_vintage["size"] >= 200]
    assert len(checked) >= 20
    assert checked["mean"].between(0.02, 0.25).all(), checked
    assert checked["mean"].max() - checked["mean"].min() > 0.03  # the macro factor shows


def test_bad_rate_falls_across_bureau_score_quintiles(outcomes):
    real = outcomes[outcomes["matured"] & (outcomes["bureau_score"] >= 300)]
    quintile = pd.qcut(real["bureau_score"], 5, labels=False, duplicates="drop")
    rates = real.groupby(quintile)["bad"].mean().to_numpy()
    assert len(rates) == 5
    assert (np.diff(rates) < 0).all(), rates  # higher score, fewer bads
    assert rates[0] > 3 * rates[-1]


# --------------------------------------------------------------------------- determinism and arguments
def test_same_seed_same_book_other_seed_other_book():
    a1, p1 = generate_loan_book(n_applications=5_000, months=12, seed=3)
    a2, p2 = generate_loan_book(n_applications=5_000, months=12, seed=3)
    pd.testing.assert_frame_equal(a1, a2)
    pd.testing.assert_frame_equal(p1, p2)
    a3, p3 = generate_loan_book(n_applications=5_000, months=12, seed=4)
    assert not a1.equals(a3)
    assert not a1["bureau_score"].equals(a3["bureau_score"])
    assert not p1.equals(p3)


def test_end_month_moves_the_window():
    apps, perf = generate_loan_book(n_applications=3_000, months=6, seed=1, end_month="2021-03")
    months = _month_no(apps["application_date"])
    assert months.min() == 2020 * 12 + 9 and months.max() == 2021 * 12 + 2
    assert _month_no(perf["snapshot_month"]).max() == 2021 * 12 + 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_applications": 0},
        {"n_applications": -5},
        {"months": 0},
        {"months": 2.5},
        {"end_month": "2025-13"},
        {"end_month": "December 2025"},
    ],
)
def test_bad_arguments_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        generate_loan_book(**{"n_applications": 100, "months": 3, **kwargs})


# --------------------------------------------------------------------------- DuckDB
def test_write_duckdb_roundtrip_keeps_rows_and_types(tmp_path, apps, perf):
    path = tmp_path / "nested" / "dir" / "warehouse.duckdb"
    write_duckdb(path, apps, perf)
    assert path.exists()
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table, frame, columns in (
            (lb.APPLICATIONS, apps, lb.APPLICATION_COLUMNS),
            (lb.PERFORMANCE, perf, lb.PERFORMANCE_COLUMNS),
        ):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == len(frame)
            described = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            assert described == list(columns.items())
        nulls = con.execute("SELECT count(*) FROM applications WHERE monthly_income IS NULL").fetchone()[0]
        assert nulls == apps["monthly_income"].isna().sum()
        first = con.execute(
            "SELECT min(application_date), max(snapshot_month) FROM applications, "
            "(SELECT max(snapshot_month) AS snapshot_month FROM performance)"
        ).fetchone()
        assert str(first[0]) == str(apps["application_date"].min().date())
        assert str(first[1]) == "2025-12-01"
    finally:
        con.close()


def test_write_duckdb_replaces_tables(tmp_path):
    small_apps, small_perf = generate_loan_book(n_applications=500, months=4, seed=5)
    path = tmp_path / "w.duckdb"
    write_duckdb(path, small_apps, small_perf)
    write_duckdb(path, small_apps.head(100), small_perf.head(10))
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM applications").fetchone()[0] == 100
        assert con.execute("SELECT count(*) FROM performance").fetchone()[0] == 10
    finally:
        con.close()


def test_write_duckdb_names_a_missing_column(tmp_path):
    small_apps, small_perf = generate_loan_book(n_applications=200, months=3, seed=5)
    with pytest.raises(SourceError, match="monthly_income"):
        write_duckdb(tmp_path / "w.duckdb", small_apps.drop(columns="monthly_income"), small_perf)
    assert issubclass(SourceError, CreditPipelineError)
