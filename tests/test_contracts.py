"""Data contracts at the library level: a valid demo book passes; every entry of the
bad-input catalogue (tests/contracts_catalogue.py) fails (or warns) with a message naming
table, column and problem; PII never reaches docs, summaries or quarantine; inputs are
never modified; Data Docs are built by GX and escape what they show."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data_contracts import ContractReport, load_contract, validate_flat_table, validate_loan_book
from features.errors import ConfigError, DataContractError
from tests.contracts_catalogue import AS_OF, CATALOGUE, Corruption

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def book() -> tuple[pd.DataFrame, pd.DataFrame]:
    from features.demo_book import generate_loan_book

    return generate_loan_book(n_applications=3000, months=12, seed=11)


@pytest.fixture(scope="module")
def valid_report(book) -> ContractReport:
    apps, perf = book
    return validate_loan_book(apps, perf, as_of=AS_OF)


def _validate(apps, perf, **kw) -> ContractReport:
    kw.setdefault("as_of", AS_OF)
    return validate_loan_book(apps, perf, **kw)


def _failed(report: ContractReport, table: str, column: str | None, expectation: str, severity: str):
    rows = [r for r in report.results if r.table == table and r.column == column and r.expectation == expectation
            and not r.success and r.severity == severity]
    assert rows, (
        f"no failed {severity} {expectation} on {table}.{column}; failures: "
        + "; ".join(f"{r.table}.{r.column} {r.expectation} {r.severity}" for r in report.results if not r.success)
    )
    return rows[0]


# --------------------------------------------------------------------------- valid book
def test_valid_book_passes(valid_report, book):
    r = valid_report
    assert r.success, r.failure_message(include_warnings=True)
    assert not r.warnings, r.failure_message(include_warnings=True)
    assert r.contract_versions == {"applications": "1.0.0", "performance": "1.0.0"}
    assert r.failure_message() == "All data-contract expectations passed."
    r.raise_for_errors()  # no error
    engines = set(r.to_frame()["engine"])
    assert {"gx", "duckdb", "pandas"} <= engines
    # every contract column is checked for presence, PII included
    exist = {x.column for x in r.results if x.expectation == "expect_column_to_exist" and x.table == "applications"}
    assert {"full_name", "national_id", "phone", "email", "bureau_score"} <= exist
    assert r.pii_columns["applications"] == ["full_name", "national_id", "phone", "email"]


def test_every_result_row_is_complete(valid_report):
    frame = valid_report.to_frame()
    assert list(frame.columns)[:10] == ["table", "column", "expectation", "severity", "success", "expected", "observed",
                                        "unexpected_count", "example_keys", "contract_version"]
    assert set(frame["severity"]) == {"error", "warn"}
    assert frame["expected"].str.len().min() > 0 and frame["observed"].str.len().min() > 0
    summary = valid_report.summary()
    json.dumps(summary, allow_nan=False)
    assert summary["tables"]["performance"]["failed"] == {"error": 0, "warn": 0}
    assert summary["tables"]["applications"]["evaluated"] == (frame["table"] == "applications").sum()


# --------------------------------------------------------------------------- the catalogue
@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_catalogue(book, case: Corruption):
    apps, perf = book
    a, p = case.corrupt(apps.copy(), perf.copy())
    report = _validate(a, p)
    row = _failed(report, case.table, case.column, case.expectation, case.severity)
    if case.severity == "error":
        assert not report.success
        msg = report.failure_message()
        where = f"{case.table}.{case.column}" if case.column else case.table
        para = next(x for x in msg.split("\n\n") if x.startswith(f"[error] {where} ") and case.expectation in x)
        for w in case.words:
            assert w in para, f"{w!r} not in: {para}"
        with pytest.raises(DataContractError) as exc:
            report.raise_for_errors()
        assert str(exc.value) == msg
    else:
        text = row.expected + " " + row.observed
        for w in case.words:
            assert w in text, f"{w!r} not in: {text}"
        assert row in report.warnings
        assert case.table in report.failure_message(include_warnings=True)
    if row.unexpected_count and row.expectation not in ("expect_table_columns_to_match_set",
                                                        "expect_table_column_names_to_be_unique"):
        assert 1 <= len(row.example_keys) <= 5
    for exp, word in ([case.extra["warn"]] if "warn" in case.extra else []):
        w = _failed(report, case.table, None, exp, "warn")
        assert word in w.observed
    assert "<script>" not in report.failure_message(include_warnings=True)


def test_catalogue_is_big_enough():
    assert len({c.name for c in CATALOGUE}) >= 25


def test_extra_column_only_warns(book):
    apps, perf = book
    report = _validate(apps.assign(favourite_colour="teal"), perf)
    assert report.success and len(report.warnings) == 1


def test_string_dates_that_parse_are_accepted(book):
    apps, perf = book
    a = apps.assign(application_date=apps["application_date"].dt.strftime("%Y-%m-%d"))
    assert _validate(a, perf).success


def test_polars_input(book):
    pl = pytest.importorskip("polars")
    apps, perf = book
    report = _validate(pl.from_pandas(apps), pl.from_pandas(perf))
    assert report.success, report.failure_message()


def test_key_examples_are_keys_not_values(book):
    apps, perf = book
    a = apps.copy()
    a.loc[a.index[[3, 4, 5, 6, 7, 8, 9]], "age"] = 250
    report = _validate(a, perf, key_examples=3)
    row = _failed(report, "applications", "age", "expect_column_values_to_be_between", "error")
    assert row.unexpected_count == 7
    assert row.example_keys == a["application_id"].iloc[[3, 4, 5]].tolist()
    p = perf.copy()
    p.loc[p.index[0], "days_past_due"] = -1
    row = _failed(_validate(apps, p), "performance", "days_past_due", "expect_column_values_to_be_between", "error")
    snap = p["snapshot_month"].iloc[0].date()
    assert row.example_keys == [f"loan_id={p['loan_id'].iloc[0]}, snapshot_month={snap}"]


# --------------------------------------------------------------------------- drift against a baseline
def test_mean_jump_warns_and_errors_when_configured(book, valid_report, tmp_path):
    apps, perf = book
    baseline = valid_report.baseline()
    json.dumps(baseline, allow_nan=False)
    assert set(baseline) == {"applications", "performance"}
    cols = baseline["applications"]["columns"]
    assert {"null_rate", "mean"} <= set(cols["monthly_income"]) and "shares" in cols["region"]
    assert "full_name" not in cols

    same = _validate(apps, perf, baseline=baseline)
    assert same.success and not same.warnings
    assert any(r.expectation == "expect_column_mean_to_be_between" for r in same.results)

    jumped = apps.assign(monthly_income=apps["monthly_income"] * 10)
    warn = _validate(jumped, perf, baseline=baseline)
    assert warn.success
    row = _failed(warn, "applications", "monthly_income", "expect_column_mean_to_be_between", "warn")
    assert "10x the baseline" in row.observed

    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(baseline))
    err = _validate(jumped, perf, baseline=path, overrides={"applications": {"distribution": {"severity": "error"}}})
    assert not err.success
    assert "applications.monthly_income" in err.failure_message() and "mean within 50%" in err.failure_message()


def test_null_rate_and_share_drift(book, valid_report):
    apps, perf = book
    a = apps.copy()
    a.loc[a.index[: len(a) // 3], "employment_years"] = np.nan
    a.loc[a.index[: len(a) // 2], "region"] = "north"
    report = _validate(a, perf, baseline=valid_report.baseline())
    _failed(report, "applications", "employment_years", "expect_column_proportion_of_non_null_values_to_be_between", "warn")
    row = _failed(report, "applications", "region", "expect_column_category_shares_to_be_stable", "warn")
    assert "'north'" in row.observed


# --------------------------------------------------------------------------- PII, inputs, docs, quarantine
CANARIES = ("Zebulon Canaryfield", "CANARY-ID-774411", "+999 7744 1100", "canary.774411@example.org", "987654321012")


def _plant_pii(apps: pd.DataFrame) -> pd.DataFrame:
    a = apps.copy()
    rows = a.index[[20, 21, 22]]
    a.loc[rows, "full_name"] = CANARIES[0]
    a.loc[rows, "national_id"] = CANARIES[1]
    a.loc[rows, "phone"] = CANARIES[2]
    a.loc[rows, "email"] = CANARIES[3]
    a.loc[rows, "age"] = 250  # the rows fail -> they are quarantined
    a["national_id"] = a["national_id"].astype(object)
    a.loc[a.index[23], "national_id"] = int(CANARIES[4])  # a number in a text PII column: a type error
    a.loc[a.index[24], "region"] = "<script>alert(1)</script>"
    return a


@pytest.fixture(scope="module")
def pii_run(book, tmp_path_factory):
    apps, perf = book
    a = _plant_pii(apps)
    p = pd.concat([perf, perf.iloc[[0]]], ignore_index=True)
    before_a, before_p = a.copy(deep=True), p.copy(deep=True)
    root = tmp_path_factory.mktemp("contracts")
    report = _validate(a, p, docs_dir=root / "docs", quarantine_dir=root / "quarantine", run_id="run-42")
    return report, root, (a, before_a, p, before_p)


def test_inputs_are_not_modified(pii_run):
    _, _, (a, before_a, p, before_p) = pii_run
    pd.testing.assert_frame_equal(a, before_a)
    pd.testing.assert_frame_equal(p, before_p)


def test_pii_never_leaves(pii_run):
    report, root, _ = pii_run
    assert not report.success
    _failed(report, "applications", "national_id", "expect_column_values_to_be_of_type", "error")
    texts = [report.failure_message(include_warnings=True), json.dumps(report.summary()), report.to_frame().to_string(),
             json.dumps(report.baseline())]
    files = [f for f in root.rglob("*") if f.is_file()]
    assert any(f.suffix == ".parquet" for f in files) and any(f.suffix == ".html" for f in files)
    for f in files:
        if f.suffix in (".html", ".json"):
            texts.append(f.read_text(encoding="utf-8"))
        elif f.suffix == ".parquet":
            q = pd.read_parquet(f)
            assert not {"full_name", "national_id", "phone", "email"} & set(q.columns)
            texts.append(q.to_csv())
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


def test_quarantine_rows(pii_run, book):
    report, root, (a, _, p, _) = pii_run
    path = root / "quarantine" / "run-42" / "applications.parquet"
    assert report.quarantine_paths["applications"] == path
    q = pd.read_parquet(path)
    assert q["_row"].tolist() == [20, 21, 22, 23, 24]
    assert q.set_index("_row").loc[20, "age"] == 250
    assert "age:expect_column_values_to_be_between" in q.set_index("_row").loc[21, "_failed_expectations"]
    assert (q["application_id"].to_numpy() == a["application_id"].iloc[[20, 21, 22, 23, 24]].to_numpy()).all()
    qp = pd.read_parquet(report.quarantine_paths["performance"])
    assert qp["_row"].tolist() == [0, len(p) - 1]
    # the quarantine holds exactly the failing rows of each row-level expectation
    for r in report.results:
        if not r.success and r.unexpected_count and r.engine == "gx" and r.table == "applications" and r.column:
            label = f"{r.column}:{r.expectation}"
            assert q["_failed_expectations"].str.contains(label, regex=False).sum() == r.unexpected_count


def test_data_docs(pii_run):
    report, root, _ = pii_run
    docs = root / "docs"
    assert report.data_docs_path == docs / "index.html" and report.data_docs_path.is_file()
    pages = sorted(docs.glob("validations/**/*.html"))
    assert {p.parent.parent.parent.name for p in pages} == {"applications", "performance"}
    html = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "[error] values between 18 and 100" in html
    assert "Failed" in html
    summary = json.loads((docs / "summary.json").read_text())
    assert summary["success"] is False and summary["run_id"] == "run-42"
    assert summary["tables"]["applications"]["failed"]["error"] >= 2
    assert summary["contract_versions"]["applications"] == "1.0.0"


def test_docs_for_passing_run_and_no_files_in_cwd(book, tmp_path, monkeypatch):
    apps, perf = book
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    report = _validate(apps, perf, docs_dir=tmp_path / "docs", quarantine_dir=tmp_path / "q")
    assert report.success and report.data_docs_path.is_file()
    assert not report.quarantine_paths and not (tmp_path / "q").exists()
    assert list(cwd.iterdir()) == []
    assert json.loads((tmp_path / "docs" / "summary.json").read_text())["success"] is True


# --------------------------------------------------------------------------- flat table
@pytest.fixture(scope="module")
def flat() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    return pd.DataFrame({
        "loan_ref": np.arange(1, n + 1),
        "opened": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "amount": rng.lognormal(8, 0.5, n).round(2),
        "duration": rng.integers(6, 60, n),
        "purpose": rng.choice(["car", "tv", "education"], n),
        "GoodCredit": rng.choice([1, 2], n, p=[0.7, 0.3]),
    })


def _flat(df, **kw):
    kw.setdefault("as_of", AS_OF)
    return validate_flat_table(df, target="GoodCredit", bad_values=[2], id="loan_ref", date="opened", **kw)


def test_flat_valid_and_german(flat):
    assert _flat(flat).success
    german = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "german_credit.csv"
    if german.is_file():
        r = validate_flat_table(pd.read_csv(german), target="GoodCredit", bad_values=[2])
        assert r.success and not r.warnings, r.failure_message(include_warnings=True)


FLAT_CASES = [
    ("third target value", lambda d: d.assign(GoodCredit=d["GoodCredit"].where(d.index != 5, 3)),
     "GoodCredit", "expect_column_values_to_be_in_set", "error", ("3",)),
    ("target missing", lambda d: d.drop(columns="GoodCredit"), "GoodCredit", "expect_column_to_exist", "error", ("target column",)),
    ("null target", lambda d: d.assign(GoodCredit=d["GoodCredit"].where(d.index != 4)), "GoodCredit",
     "expect_column_values_to_not_be_null", "error", ("1 of 600 rows null",)),
    ("one class only", lambda d: d.assign(GoodCredit=1), "GoodCredit", "expect_target_to_have_both_classes", "error",
     ("0 bad rows",)),
    ("duplicate id", lambda d: d.assign(loan_ref=d["loan_ref"].where(d.index != 9, 1)), "loan_ref",
     "expect_column_values_to_be_unique", "error", ("unique",)),
    ("future date", lambda d: d.assign(opened=d["opened"].where(d.index != 2, "2031-01-01")), "opened",
     "expect_column_values_to_be_between", "error", ("future", "2031-01-01")),
    ("unparseable date", lambda d: d.assign(opened=d["opened"].where(d.index != 2, "yesterday")), "opened",
     "expect_column_values_to_be_dateutil_parseable", "error", ("'yesterday'",)),
    ("all-null column", lambda d: d.assign(purpose=None), "purpose",
     "expect_column_proportion_of_non_null_values_to_be_between", "error", ("not entirely null",)),
    ("infinity", lambda d: d.assign(amount=d["amount"].where(d.index != 7, np.inf)), "amount",
     "expect_column_values_to_not_be_in_set", "error", ("inf",)),
    ("mixed numbers and text", lambda d: d.assign(duration=d["duration"].astype(object).where(d.index != 8, "n/a")),
     "duration", "expect_column_values_to_be_of_one_type", "error", ("'n/a'",)),
    ("decimal comma text", lambda d: d.assign(amount=d["amount"].map(lambda v: f"{v:.2f}".replace(".", ","))),
     "amount", "expect_text_column_not_to_hold_numbers", "warn", ("decimal comma",)),
    ("duplicated column names", lambda d: pd.concat([d, d[["amount"]]], axis=1), None,
     "expect_table_column_names_to_be_unique", "error", ("'amount'",)),
    ("empty table", lambda d: d.iloc[0:0], None, "expect_table_row_count_to_be_between", "error", ("at least 1 row",)),
    ("non-scalar values", lambda d: d.assign(purpose=[{"k": i} for i in range(len(d))]), "purpose",
     "expect_column_values_to_be_scalars", "error", ("not scalars (dict)",)),
]


@pytest.mark.parametrize("name,corrupt,column,expectation,severity,words", FLAT_CASES, ids=[c[0] for c in FLAT_CASES])
def test_flat_catalogue(flat, name, corrupt, column, expectation, severity, words):
    report = _flat(corrupt(flat.copy()))
    row = _failed(report, "flat_table", column, expectation, severity)
    text = report.failure_message(include_warnings=True)
    assert ("flat_table." + column if column else "flat_table") in text
    for w in words:
        assert w in row.expected + " " + row.observed, (w, row)
    assert report.success is (severity == "warn")


def test_flat_declared_numeric_and_allowed_values(flat):
    text = flat.assign(amount=flat["amount"].astype(str))
    report = _flat(text, types={"amount": "numeric"})
    row = _failed(report, "flat_table", "amount", "expect_column_values_to_be_of_type", "error")
    assert "numbers stored as text" in row.observed
    ok = _flat(flat.assign(GoodCredit=flat["GoodCredit"].where(flat.index != 5, 3)), allowed_values=[1, 2, 3])
    assert ok.success


def test_flat_mean_jump_and_pii(flat, tmp_path):
    base = _flat(flat).baseline()
    assert "amount" in base["flat_table"]["columns"] and "loan_ref" not in base["flat_table"]["columns"]
    r = _flat(flat.assign(amount=flat["amount"] * 10), baseline=base)
    assert r.success and r.warnings[0].column == "amount"
    d = flat.assign(email="secret.person@example.org", GoodCredit=flat["GoodCredit"].where(flat.index != 5, 3))
    r = _flat(d, docs_dir=tmp_path / "docs", quarantine_dir=tmp_path / "q", pii=["email"])
    assert not r.success and r.pii_columns["flat_table"] == ["email"]
    q = pd.read_parquet(r.quarantine_paths["flat_table"])
    assert "email" not in q.columns and q["_row"].tolist() == [5]
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix in (".html", ".json"):
            assert "secret.person" not in f.read_text()


def test_flat_hostile_names_and_values_are_escaped(flat, tmp_path):
    d = flat.rename(columns={"amount": "<script>amt</script>"})
    d.loc[d.index[3], "<script>amt</script>"] = np.inf
    r = validate_flat_table(d, target="GoodCredit", bad_values=["<b>2</b>", 2], id="loan_ref", date="opened",
                            as_of=AS_OF, docs_dir=tmp_path)
    assert not r.success
    msg = r.failure_message()
    assert "flat_table.&lt;script&gt;amt&lt;/script&gt;" in msg and "<script>" not in msg
    html = "\n".join(p.read_text() for p in tmp_path.rglob("*.html"))
    assert "<script>amt" not in html and "<b>2" not in html
    assert "&lt;script&gt;amt&lt;/script&gt;" in html and "&amp;lt;" not in html


# --------------------------------------------------------------------------- contracts as config
def test_load_contract_and_config_errors(tmp_path):
    for name in ("applications", "performance", "flat_table"):
        c = load_contract(name)
        assert re.fullmatch(r"\d+\.\d+\.\d+", c.version)
    apps = load_contract("applications")
    assert apps.columns["bureau_score"].special_codes == [-1, -2]
    assert apps.severity("monthly_income", "max") == "warn" and apps.severity("monthly_income", "min") == "error"
    assert apps.categories("region") == ["north", "south", "east", "west", "capital"]
    with pytest.raises(ConfigError, match=r"'columns\.age\.maxx': unknown key"):
        load_contract("applications", overrides={"columns": {"age": {"maxx": 3}}})
    with pytest.raises(ConfigError, match=r"'distribution\.severity'"):
        load_contract("applications", overrides={"distribution": {"severity": "fatal"}})
    bad = tmp_path / "c.yaml"
    bad.write_text("kind: table\ntable: t\nversion: '1.0'\ncolumns: {a: {type: integer}}\n")
    with pytest.raises(ConfigError, match="version"):
        load_contract(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_contract("no_such_table")
    with pytest.raises(ConfigError, match="unknown table"):
        validate_loan_book(pd.DataFrame(), pd.DataFrame(), overrides={"loans": {}})


def test_contracts_follow_the_data_model():
    from features import loan_book as lb

    sql = {"BIGINT": "integer", "INTEGER": "integer", "DOUBLE": "float", "VARCHAR": "string", "DATE": "date"}
    for name, columns in (("applications", lb.APPLICATION_COLUMNS), ("performance", lb.PERFORMANCE_COLUMNS)):
        c = load_contract(name)
        assert list(c.columns) == list(columns)
        assert {k: v.type for k, v in c.columns.items()} == {k: sql[t] for k, t in columns.items()}
        for col, cats in lb.CATEGORIES.items():
            if col in c.columns:
                assert c.categories(col) == list(cats)
    assert load_contract("applications").pii_columns == list(lb.PII_COLUMNS)


def test_custom_contract_with_rule_sql_error(book, tmp_path):
    apps, perf = book
    broken = {"rules": [{"name": "nonsense", "sql": "no_such_column > 0", "needs": ["age"], "severity": "warn"}]}
    with pytest.raises(ConfigError, match="nonsense"):
        _validate(apps, perf, overrides={"applications": broken})
