"""A lender's own loan history, from `creditpipe contract init` to a registered champion.

The history is built from the Taiwan credit-card default data in a lender's names and codes
(tests/lender_history.py): decisions ``A``/``D``, delinquency bucket codes mapped through
``delinquency_codes``, months on book from 0, a written-off status code, PII columns the
contract has to find. It runs in a DuckDB file and in a real PostgreSQL server; the
outcome counts the pipeline derives equal a count made from the raw PAY columns; the
bad-input catalogue runs against the lender's drafted contract.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from types import SimpleNamespace

import duckdb
import mlflow.tracking._tracking_service.utils as mlflow_tracking_utils
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from mlflow import MlflowClient

from data_contracts import load_contract
from pipelines.cli import main
from tests.conftest import isolated_env, read_summary, run_creditpipe
from tests.lender_history import expected_outcomes, lender_config, lender_history

pytestmark = pytest.mark.slow  # a module of full runs / big fits: handed out first under xdist

# 1,250 test rows cut into deciles: the bad rate need not fall in every decile of a 5-feature model
GATES = "promotion: {require_rank_ordering: false}\n"
PII = ("MOBILE_PHONE", "CONTACT")


def _write_duckdb(path: Path, apps: pd.DataFrame, perf: pd.DataFrame) -> None:
    with duckdb.connect(str(path)) as con:
        con.register("a", apps)
        con.register("p", perf)
        con.execute("create or replace table card_apps as select * from a")
        con.execute("create or replace table card_perf as select * from p")


def _init(tmp: Path, name: str, url: str) -> SimpleNamespace:
    """`contract init` on a config without contracts; the config then points at the drafts."""
    env = isolated_env(tmp)
    config = tmp / f"{name}.yaml"
    config.write_text(lender_config(url))
    init = run_creditpipe(["contract", "init", "--config", str(config), "--output", "contracts"], env, cwd=tmp)
    assert init.returncode == 0, init.stderr[-3000:]
    contracts = {t: f"contracts/{name}_{t}.yaml" for t in ("applications", "performance")}
    config.write_text(lender_config(url, contracts, extra=GATES))
    return SimpleNamespace(tmp=tmp, env=env, config=config, init=init, contracts={t: tmp / p for t, p in contracts.items()})


def _run(lender: SimpleNamespace) -> SimpleNamespace:
    """`creditpipe run` with the drafted contracts (in the init's stores)."""
    run = run_creditpipe(["run", "--config", str(lender.config), "--workdir", str(lender.tmp / "work")], lender.env,
                         cwd=lender.tmp)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return SimpleNamespace(**vars(lender), summary=read_summary(lender.tmp / "work"))


@pytest.fixture(scope="session")
def book(taiwan):
    apps, perf = lender_history(taiwan)
    return apps, perf


@pytest.fixture(scope="session")
def duck_init(book, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lender_duckdb")
    _write_duckdb(tmp / "lender.duckdb", *book)
    return _init(tmp, "taiwan_lender", f"duckdb:///{tmp / 'lender.duckdb'}")


@pytest.fixture(scope="session")
def duck(duck_init):
    return _run(duck_init)


@pytest.fixture(scope="session")
def pg_init(book, pg_url, tmp_path_factory):
    apps, perf = book
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as con:
        apps.to_sql("card_apps", con, if_exists="replace", index=False, chunksize=5000)
        perf.to_sql("card_perf", con, if_exists="replace", index=False, chunksize=20000)
    engine.dispose()
    return _init(tmp_path_factory.mktemp("lender_pg"), "taiwan_lender_pg", pg_url)


@pytest.fixture(scope="session")
def pg(pg_init):
    return _run(pg_init)


def _outcome_counts(run: SimpleNamespace) -> pd.Series:
    [table] = Path(run.summary["report_path"]).parent.glob("tables/*outcomes_by_vintage*.csv")
    by_vintage = pd.read_csv(table)
    counts = by_vintage[["bad", "good", "immature", "rejected"]].sum()
    return counts[counts > 0].astype(int).sort_index()


# --------------------------------------------------------------------------- contract init
def test_contract_init_drafts_the_lenders_contracts(duck_init, book):
    duck = duck_init
    apps = load_contract(duck.contracts["applications"])
    perf = load_contract(duck.contracts["performance"])
    assert apps.key == ["application_id"] and apps.columns["application_id"].unique
    assert apps.categories("decision") == ["approved", "rejected"]  # the lender's A/D, mapped by the config
    assert sorted(apps.pii_columns) == sorted(PII)  # by name (phone) and by content (e-mail addresses)
    assert {"LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE"} <= set(apps.columns)
    age = book[0]["AGE"]
    assert apps.columns["AGE"].min < age.min() and apps.columns["AGE"].max > age.max()  # widened beyond what was observed
    assert perf.key == ["loan_id", "snapshot_month"]
    assert perf.columns["days_past_due"].type == "integer" and perf.columns["months_on_book"].min == 1
    assert set(perf.relations) == {"approved_application", "snapshot_after_application_month",
                                   "months_on_book_consistent", "contiguous_history"}
    out = duck.init.stdout
    for words in ("application_id", "CLIENT_ID", "e-mail addresses", "review before committing", "contract:"):
        assert words in out, words


def test_drafted_range_is_observed_quantiles_widened_by_the_margin(book):
    from data_contracts.draft import draft_contract

    apps = book[0].rename(columns={"CLIENT_ID": "application_id", "APP_DATE": "application_date", "DECISION": "decision"})
    lo_q, hi_q = apps["LIMIT_BAL"].quantile([0.01, 0.99])
    flagged = []
    for margin in (0.0, 0.5):
        draft = draft_contract(apps, "applications", margin=margin, quantile=0.01)
        spec = draft.contract["columns"]["LIMIT_BAL"]
        want_lo, want_hi = max(lo_q - margin * (hi_q - lo_q), 0), hi_q + margin * (hi_q - lo_q)
        # rounded outward to two significant digits
        assert 0.9 * want_lo <= spec["min"] <= want_lo and want_hi <= spec["max"] <= 1.1 * want_hi, (margin, spec)
        outside = bool(apps["LIMIT_BAL"].max() > spec["max"])
        flagged.append(outside)
        assert spec.get("severity") == ({"max": "warn"} if outside else None)  # reviewed, not blocking
        assert any("LIMIT_BAL" in r and "outside the drafted range" in r for r in draft.review) == outside
    assert flagged == [True, False]  # without a margin the largest limits are outside; the default margin holds them


# --------------------------------------------------------------------------- run end to end
@pytest.mark.parametrize("where", ["duck", "pg"])
def test_run_registers_the_lenders_own_champion(where, request):
    run = request.getfixturevalue(where)
    s = run.summary
    assert s["model_name"] == f"credit-pipeline-{run.config.stem}"  # named after the config file, never the demo's
    assert s["model_version"] == s["champion_version"] == "1"
    client = MlflowClient(run.env["MLFLOW_TRACKING_URI"])
    assert str(client.get_model_version_by_alias(s["model_name"], "champion").version) == "1"


@pytest.mark.parametrize("where", ["duck", "pg"])
def test_outcomes_equal_an_independent_count_from_the_raw_pay_columns(where, request, taiwan, book):
    run = request.getfixturevalue(where)
    expected = expected_outcomes(taiwan, book[0])
    assert expected["rejected"] > 0 and expected["immature"] > 0 and expected["bad"] > 100
    pd.testing.assert_series_equal(_outcome_counts(run), expected, check_names=False)


def test_pg_drafts_the_same_contract_as_duckdb(duck_init, pg_init):
    for table in ("applications", "performance"):
        a = yaml.safe_load(duck_init.contracts[table].read_text())["columns"]
        b = yaml.safe_load(pg_init.contracts[table].read_text())["columns"]
        assert a == b, table


def test_pii_is_never_a_feature_nor_in_the_report(duck, book):
    report_dir = Path(duck.summary["report_path"]).parent
    [selection] = report_dir.glob("tables/features_00*.csv")
    variables = set(pd.read_csv(selection)["variable"])
    assert variables and not variables & set(PII)
    apps = book[0]
    raw = [*apps["MOBILE_PHONE"].head(20), *apps["CONTACT"].head(20)]
    for path in report_dir.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".json", ".txt"):
            text = path.read_text(errors="replace")
            assert not any(v in text for v in raw), path


# --------------------------------------------------------------------------- bad inputs, lender's contract
def _decision_x(a, p):
    a.loc[a.index[:3], "DECISION"] = "X"
    return a, p


def _unmapped_code(a, p):
    p.loc[p.index[:4], "PAY_STATUS"] = 12
    return a, p


def _duplicate_client(a, p):
    return pd.concat([a, a.iloc[[5]]], ignore_index=True), p


def _statement_before_application(a, p):
    first = p.groupby("ACCOUNT_NO").head(1).index[:3]
    p.loc[first, "STMT_MONTH"] = [d - pd.DateOffset(months=3) for d in pd.to_datetime(p.loc[first, "STMT_MONTH"])]
    p["STMT_MONTH"] = pd.to_datetime(p["STMT_MONTH"]).dt.date
    return a, p


def _negative_age(a, p):
    a.loc[a.index[:2], "AGE"] = -5
    return a, p


def _missing_limit(a, p):
    return a.drop(columns="LIMIT_BAL"), p


def _mob_off_by_one(a, p):
    loan = p["ACCOUNT_NO"].iloc[0]
    p.loc[p["ACCOUNT_NO"] == loan, "MOB"] += 1
    return a, p


CORRUPTIONS = [
    # name, corrupt, words the one-paragraph failure must hold (table, column, problem)
    ("unknown decision code", _decision_x, ("applications.decision (DECISION)", "'X'")),
    ("unmapped delinquency code", _unmapped_code, ("performance.PAY_STATUS", "['12']", "delinquency_codes")),
    ("duplicate client", _duplicate_client, ("applications.application_id (CLIENT_ID)", "unique")),
    ("statement before application", _statement_before_application,
     ("performance.snapshot_month (STMT_MONTH)", "on or before the application month")),
    ("negative age", _negative_age, ("applications.AGE", "between 0 and")),
    ("missing feature column", _missing_limit, ("applications.LIMIT_BAL", "column missing")),
    ("months on book off by one", _mob_off_by_one, ("performance.months_on_book (MOB)", "inconsistent with the dates")),
]


def _registry(uri: str) -> dict:
    client = MlflowClient(uri)
    return {rm.name: (sorted(int(v.version) for v in client.search_model_versions(f"name='{rm.name}'")), dict(rm.aliases))
            for rm in client.search_registered_models()}


@pytest.mark.parametrize("name, corrupt, words", CORRUPTIONS, ids=[c[0] for c in CORRUPTIONS])
def test_lender_bad_input_is_stopped_and_named(duck_init, book, name, corrupt, words, tmp_path, capsys, monkeypatch):
    apps, perf = corrupt(book[0].copy(), book[1].copy())
    warehouse = tmp_path / "lender.duckdb"
    _write_duckdb(warehouse, apps, perf)
    digest = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    (tmp_path / "contracts").mkdir()
    duck = duck_init  # after the run tests, its MLflow store holds the lender's champion
    for path in duck.contracts.values():
        shutil.copy(path, tmp_path / "contracts" / path.name)
    config = tmp_path / duck.config.name  # same file name: same portfolio, same registered model
    config.write_text(lender_config(f"duckdb:///{warehouse}", {t: f"contracts/{p.name}" for t, p in duck.contracts.items()},
                                    extra=GATES))
    uri = duck.env["MLFLOW_TRACKING_URI"]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    monkeypatch.setattr(mlflow_tracking_utils, "_tracking_uri", mlflow_tracking_utils._tracking_uri)
    monkeypatch.chdir(tmp_path)
    before = _registry(uri)
    capsys.readouterr()
    code = main(["run", "--config", str(config), "--workdir", str(tmp_path / "work")])
    out = capsys.readouterr()
    message = " ".join((out.out + out.err).split())
    assert code != 0
    for w in words:
        assert w in message, (w, message[-2000:])
    assert "Traceback" not in message
    assert _registry(uri) == before  # no version registered, the champion unchanged
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == digest  # the input untouched
