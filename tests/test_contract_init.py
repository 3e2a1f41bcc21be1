"""Drafting contracts (data_contracts/draft.py) and reading a lender's history by roles (features/roles.py).

Unit level, on real data (German credit, Taiwan credit-card default) plus a few hand-made
columns for the cases those files lack (phone numbers, ids, ISO date text, decimals).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from data_contracts import load_contract, validate_loan_book
from data_contracts.contract import parse_contract
from data_contracts.draft import contract_yaml, draft_contract
from features.errors import ConfigError, SourceError
from features.roles import HistoryRoles
from tests.lender_history import DELINQUENCY_CODES, lender_history

ROLES = HistoryRoles(
    columns={"applications": {"application_id": "CLIENT_ID", "application_date": "APP_DATE", "decision": "DECISION"},
             "performance": {"loan_id": "ACCOUNT_NO", "snapshot_month": "STMT_MONTH", "months_on_book": "MOB",
                             "days_past_due": "PAY_STATUS", "balance": "BALANCE", "status": "ACCT_STATUS"}},
    decision={"approved": ["A"], "rejected": ["D"]}, status={"charged_off": ["W"]},
    delinquency_codes={str(k): v for k, v in DELINQUENCY_CODES.items()}, months_on_book_starts_at=0)


@pytest.fixture(scope="module")
def history(taiwan):
    apps, perf = lender_history(taiwan, clients=1500, seed=3)
    return apps, perf


# --------------------------------------------------------------------------- roles
def test_roles_map_names_codes_and_months_on_book(history, taiwan):
    apps, perf = history
    a, p = ROLES.applications(apps), ROLES.performance(perf)
    assert {"application_id", "application_date", "decision", "LIMIT_BAL", "CONTACT"} <= set(a.columns)
    assert a["decision"].value_counts().to_dict() == {"approved": (apps["DECISION"] == "A").sum(),
                                                      "rejected": (apps["DECISION"] == "D").sum()}
    assert p["months_on_book"].min() == 1 and p["months_on_book"].max() == 6  # 0-based MOB shifted
    # days past due: 30 per month late, 0 for -2/-1/0 -- checked against the raw PAY codes
    raw = taiwan.set_index("ID")
    first = p[p["months_on_book"] == 1]
    assert (first["days_past_due"].to_numpy() == np.maximum(raw.loc[first["loan_id"], "PAY_6"].to_numpy(), 0) * 30).all()
    # status: W mapped to charged_off; O (unmapped) derived from days past due
    expected = np.where(perf["ACCT_STATUS"] == "W", "charged_off",
                        np.where(p["days_past_due"] > 0, "delinquent", "current"))
    assert (p["status"].to_numpy() == expected).all()
    assert list(apps.columns)[0] == "CLIENT_ID" and perf["MOB"].min() == 0  # inputs untouched


def test_unmapped_delinquency_code_names_table_column_and_codes(history):
    perf = history[1].copy()
    perf.loc[perf.index[:3], "PAY_STATUS"] = 11
    with pytest.raises(SourceError, match=r"performance\.PAY_STATUS: 3 row\(s\) hold delinquency code\(s\) \['11'\]"):
        ROLES.performance(perf)


def test_unmapped_decision_code_is_kept_for_the_contract_to_name(history):
    apps = history[0].copy()
    apps.loc[apps.index[:2], "DECISION"] = "P"
    assert set(ROLES.applications(apps)["decision"]) == {"approved", "rejected", "P"}


def test_without_status_or_mob_columns(history):
    perf = history[1].drop(columns=["ACCT_STATUS", "MOB"])
    roles = HistoryRoles(columns={"performance": {"loan_id": "ACCOUNT_NO", "snapshot_month": "STMT_MONTH",
                                                  "days_past_due": "PAY_STATUS"}},
                         delinquency_codes={str(k): v for k, v in DELINQUENCY_CODES.items()})
    p = roles.performance(perf)
    assert "months_on_book" not in p.columns  # left to the dates
    assert set(p["status"]) <= {"current", "delinquent"}
    assert ((p["status"] == "delinquent") == (p["days_past_due"] > 0)).all()


def test_demo_book_passes_through_unchanged(small_book):
    import duckdb

    with duckdb.connect(str(small_book), read_only=True) as con:
        apps = con.execute("select * from applications limit 2000").df()
        perf = con.execute("select * from performance limit 5000").df()
    pd.testing.assert_frame_equal(HistoryRoles().applications(apps), apps)
    pd.testing.assert_frame_equal(HistoryRoles().performance(perf), perf)


@pytest.mark.parametrize("kwargs, words", [
    ({"months_on_book_starts_at": 2}, "months_on_book_starts_at"),
    ({"decision": {"accepted": ["A"]}}, "source.values.decision"),
    ({"status": {"current": ["C"], "delinquent": ["C"]}}, "mapped to both"),
    ({"columns": {"loans": {}}}, "unknown table"),
])
def test_bad_roles_are_config_errors(kwargs, words):
    with pytest.raises(ConfigError, match=words):
        HistoryRoles(**kwargs)


# --------------------------------------------------------------------------- draft
def test_draft_of_german_credit_types_categories_and_ranges(german):
    apps = german.assign(application_id=np.arange(len(german)), application_date=pd.Timestamp("2024-01-01"),
                         decision="approved")
    draft = draft_contract(apps, "applications", margin=0.5, quantile=0.001)
    cols = draft.contract["columns"]
    for col in german.columns:
        kind = "string" if pd.api.types.is_string_dtype(german[col].dtype) else "integer"
        assert cols[col]["type"] == kind, col
        if kind == "string":
            assert cols[col]["categories"] == sorted(german[col].unique()), col  # low cardinality: listed
        else:
            assert cols[col]["min"] <= german[col].min() or cols[col].get("severity", {}).get("min") == "warn"
    contract = parse_contract(draft.contract)
    assert contract.key == ["application_id"] and contract.columns["application_id"].unique
    # the draft validates the very table it was drafted from
    report = validate_loan_book(apps, pd.DataFrame({"loan_id": pd.Series(dtype="int64")}),
                                contracts={"applications": contract, "performance": "performance"})
    assert not [r for r in report.errors if r.table == "applications"], report.failure_message()


FIRST = ["Anna", "Ben", "Carla", "David", "Eva", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Karin", "Lars", "Mia",
         "Nils", "Olga", "Paul", "Quinn", "Rosa", "Sven", "Tara", "Ugo", "Vera", "Wim", "Xena", "Yann"]
LAST = ["Berg", "Costa", "Dahl", "Engel", "Fischer", "Garcia", "Hansen", "Ito", "Jensen", "Keller", "Lopez", "Meyer",
        "Nowak", "Olsen", "Petrov", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Vogel", "Weber", "Xu", "Young", "Zeller"]


def test_pii_by_name_and_by_content():
    rng = np.random.default_rng(0)
    n = 500
    frame = pd.DataFrame({
        "application_id": np.arange(n),
        "application_date": pd.date_range("2023-01-01", periods=n, freq="D"),
        "decision": "approved",
        "cust_ref": [f"{rng.integers(100, 999)}-{rng.integers(10, 99)}-{rng.integers(1000, 9999)}{i}" for i in range(n)],
        "contact": [f"+44 7{rng.integers(100, 999)} {rng.integers(100000, 999999)}" for _ in range(n)],
        "holder": [f"{f} {l}" for f, l in zip(np.repeat(FIRST, 25)[:n], np.tile(LAST, 25)[:n])],
        "email_addr": [f"u{i}@x.org" for i in range(n)],
        "segment": rng.choice(["A", "B", "C"], n),
        "limit": rng.integers(1, 100, n) * 1000.0,
    })
    draft = draft_contract(frame, "applications")
    pii = {p.column: p.pii for p in draft.profiles if p.pii}
    assert set(pii) == {"cust_ref", "contact", "holder", "email_addr"}
    assert pii["email_addr"] == "name" and pii["contact"].startswith("content: phone")
    assert pii["cust_ref"].startswith("content: unique id-like") and pii["holder"].startswith("content: near-unique")
    text = contract_yaml(draft)
    assert "Anna Berg" not in text and "u1@x.org" not in text  # no PII value in the contract
    import yaml

    assert parse_contract(yaml.safe_load(text)).pii_columns == ["cust_ref", "contact", "holder", "email_addr"]


def test_date_text_and_decimals_are_typed():
    frame = pd.DataFrame({
        "loan_id": [1, 1, 2],
        "snapshot_month": ["2024-02-01", "2024-03-01", "2024-02-01"],
        "days_past_due": [0, 30, 0],
        "balance": [Decimal("10.50"), Decimal("3.25"), None],
    })
    draft = draft_contract(frame, "performance", today=dt.date(2024, 6, 1))
    cols = draft.contract["columns"]
    assert cols["snapshot_month"]["type"] == "date" and cols["snapshot_month"]["min_date"] == "2019-01-01"
    assert cols["balance"]["type"] == "float" and cols["balance"]["nullable"] is True
    assert draft.contract["key"] == ["loan_id", "snapshot_month"]
    assert draft.contract["rules"][0]["name"] == "snapshot_month_is_first_day"
    assert "months_on_book_consistent" not in draft.contract["relations"]  # no MOB column: dates decide


@pytest.mark.parametrize("kwargs, words", [
    ({"margin": -1}, "margin"), ({"quantile": 0.7}, "quantile"), ({"max_categories": 0}, "max_categories"),
])
def test_draft_parameters_are_checked(kwargs, words):
    frame = pd.DataFrame({"loan_id": [1], "snapshot_month": [pd.Timestamp("2024-01-01")], "days_past_due": [0]})
    with pytest.raises(ConfigError, match=words):
        draft_contract(frame, "performance", **kwargs)
    with pytest.raises(ConfigError, match="table"):
        draft_contract(frame, "loans")


def test_contract_init_reads_csv_and_parquet_tables(history, tmp_path):
    from pipelines.config import parse_config
    from pipelines.contract_init import init_contracts
    from tests.lender_history import lender_config
    import yaml

    apps, perf = history
    apps.to_csv(tmp_path / "apps.csv", index=False)
    perf.to_parquet(tmp_path / "perf.parquet", index=False)
    raw = yaml.safe_load(lender_config("duckdb:///unused.duckdb"))
    raw["portfolio"] = "files"
    raw["source"]["tables"] = {"applications": str(tmp_path / "apps.csv"), "performance": str(tmp_path / "perf.parquet")}
    paths, drafts, _ = init_contracts(parse_config(raw), tmp_path / "contracts")
    assert paths["applications"].name == "files_applications.yaml"
    apps_contract = load_contract(paths["applications"])
    assert apps_contract.columns["application_date"].type == "date"  # ISO text in the CSV
    assert sorted(apps_contract.pii_columns) == ["CONTACT", "MOBILE_PHONE"]
    assert load_contract(paths["performance"]).columns["status"].categories == [
        "current", "delinquent", "charged_off", "paid_off"]


def test_pii_and_exclusions_come_from_the_portfolios_contract(tmp_path):
    """Masking and feature exclusion follow the contract's `pii: true` columns and source.exclude."""
    from pipelines.assets.modeling import never_features
    from pipelines.config import parse_config
    from pipelines.sources import pii_columns

    contract = tmp_path / "apps.yaml"
    contract.write_text(
        "table: applications\nversion: '0.1.0'\nkey: [application_id]\ncolumns:\n"
        "  application_id: {type: integer, nullable: false, unique: true}\n"
        "  application_date: {type: date, nullable: false}\n"
        "  decision: {type: string, nullable: false, categories: [approved, rejected]}\n"
        "  HOLDER: {type: string, pii: true}\n  GENDER: {type: integer}\n  INCOME: {type: float}\n")
    cfg = parse_config({"portfolio": "p", "source": {"kind": "warehouse", "exclude": ["GENDER"]},
                        "contract": {"applications": str(contract)}})
    assert pii_columns(cfg) == ["HOLDER"] and pii_columns(cfg, "performance") == []  # demo performance: no PII
    never = set(never_features(cfg))
    assert {"HOLDER", "GENDER"} <= never and "INCOME" not in never
    assert "full_name" in pii_columns(parse_config({"source": {"kind": "warehouse"}}))  # the demo book's contract
