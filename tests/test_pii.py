"""PII never leaves ingestion (DESIGN.md: "never a feature, never in an artifact").

Distinctive PII values are planted in a small demo book (in approved, rejected and newest rows,
in rows failing a warn-level check during a successful run and in rows quarantined by an
error-level check during a failing run). The nightly job runs through ``creditpipe`` (a
subprocess, ``DAGSTER_HOME`` with the repository's dagster.yaml, MLflow on a SQLite store)
once successfully, once on a book that breaks its contract, and ``creditpipe validate`` runs
once; then every byte they produced is scanned: the work directory (reports, metrics.json,
Data Docs, quarantine, summary.json, baselines), the MLflow store and its artifacts, MLflow
params/tags/metrics, the Dagster home (run/event-log SQLite, IO-manager storage, compute logs)
and the captured console output. Zero hits are allowed for each planted value.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
import pickle
import sqlite3
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlparse

import pandas as pd
import pytest
from mlflow import MlflowClient

from features.demo_book import generate_loan_book, write_duckdb
from tests.conftest import isolated_env, read_summary, run_creditpipe

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
PLANTED = {
    "full_name": "Zebulon Quixotewright",
    "email": "zq-planted@example.invalid",
    "national_id": "NI99887766554",
    "phone": "+999 555 0199 77",
}
# fragments a partial leak (a split, a truncation, a normalisation) would still show
FRAGMENTS = ("Quixotewright", "zq-planted", "99887766554", "555 0199 77", "5550199")
NEEDLES = tuple(PLANTED.values()) + FRAGMENTS
WARN_INCOME = 25_000_000.0  # above the contract's warn-level max of monthly_income (10,000,000)

KNOWN_SALT = "pii-test-salt"


def _plant(apps: pd.DataFrame) -> tuple[pd.DataFrame, list[int], list[int]]:
    """Planted PII in approved rows across the book, in rejected rows and in the newest rows.
    Returns the frame and the positions of the warn rows and of the rows to break later."""
    a = apps.copy()
    approved = list(a.index[a["decision"] == "approved"])
    rejected = list(a.index[a["decision"] == "rejected"])
    rows = approved[:: max(1, len(approved) // 12)][:12] + rejected[:4] + list(a.index[-6:])
    rows = list(dict.fromkeys(rows))
    for col, value in PLANTED.items():
        a.loc[rows, col] = value
    warn_rows = rows[1:4]  # fail a warn-level check: still in the successful run
    a.loc[warn_rows, "monthly_income"] = WARN_INCOME
    return a, warn_rows, rows[4:7]


def _generated_samples(apps: pd.DataFrame) -> tuple[str, ...]:
    """A sample of the book's own (generated) PII: a leak of unplanted values shows too."""
    s = apps.iloc[::97]
    return tuple(dict.fromkeys([*s["email"].dropna().head(20), *s["national_id"].dropna().head(20)]))


# --------------------------------------------------------------------------- the runs
@pytest.fixture(scope="module")
def pii_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pii")
    apps, perf = generate_loan_book(n_applications=20000, months=24, seed=13)  # the size the other job tests train on
    planted, warn_rows, error_rows = _plant(apps)
    broken = planted.copy()
    broken.loc[error_rows, "age"] = 250  # error-level: the run stops, these rows are quarantined

    source = tmp / "source"  # the lender's warehouse holds the PII: it is not scanned
    write_duckdb(source / "good.duckdb", planted, perf)
    write_duckdb(source / "broken.duckdb", broken, perf)
    work = tmp / "work"
    env = isolated_env(tmp)  # DAGSTER_HOME=tmp/dagster (the repo's dagster.yaml), MLflow sqlite:///tmp/mlflow.db
    env["CREDITPIPE_PII_SALT"] = KNOWN_SALT  # so the test can compute the digests (the default salt is a per-process secret)
    assert Path(env["DAGSTER_HOME"], "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()

    procs = {}
    for name, warehouse, cmd in (("good", "good", "run"), ("broken", "broken", "run"), ("validate", "broken", "validate")):
        config = source / f"{name}.yaml"
        config.write_text(f"portfolio: demo\nsource:\n  kind: warehouse\n  url: duckdb:///{source / warehouse}.duckdb\n"
                          "models:\n  xgboost: {n_search: 2}\n")
        procs[name] = run_creditpipe([cmd, "--config", str(config), "--workdir", str(work)], env, cwd=tmp)
    return {"tmp": tmp, "env": env, "work": work, "procs": procs, "generated": _generated_samples(apps)}


def test_the_runs_did_what_they_should(pii_runs):
    procs = pii_runs["procs"]
    assert procs["good"].returncode == 0, procs["good"].stderr[-3000:]
    summary = read_summary(pii_runs["work"])
    assert summary["model_version"] == "1"
    # the warn-level rows were seen and reported, and the run went on
    assert "contract warning: applications.monthly_income" in procs["good"].stderr, procs["good"].stderr[-3000:]
    assert procs["broken"].returncode == 1 and "broke its data contract" in procs["broken"].stderr
    assert "applications.age" in procs["broken"].stderr
    assert procs["validate"].returncode == 1 and "applications.age" in procs["validate"].stdout + procs["validate"].stderr
    # the broken run's failing rows were quarantined (without PII columns)
    quarantined = list(pii_runs["work"].rglob("quarantine/**/applications.parquet"))
    assert quarantined, "no quarantine file"
    q = pd.concat([pd.read_parquet(f) for f in quarantined])
    assert (q["age"] == 250).sum() >= 3
    assert not {"full_name", "national_id", "phone", "email"} & set(q.columns)


# --------------------------------------------------------------------------- the scanner
def _texts_inside(path: Path, data: bytes) -> list[bytes]:
    """Bytes to search: the file itself, and what a columnar or compressed container holds."""
    out = [data]
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            out.append(pd.read_parquet(path).to_csv().encode("utf-8"))
        elif name.endswith(".gz"):
            out.append(gzip.decompress(data))
        elif zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                out.extend(z.read(n) for n in z.namelist())
    except Exception as exc:  # noqa: BLE001 - a file we cannot open is reported, not skipped silently
        raise AssertionError(f"cannot look inside {path}: {exc}") from exc
    return out


def scan(paths, needles) -> list[str]:
    """Every (file, needle) hit over raw bytes (UTF-8 and UTF-16-LE) and decoded containers."""
    hits = []
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            blobs = _texts_inside(f, f.read_bytes())
            for needle in needles:
                forms = (needle.encode("utf-8"), needle.encode("utf-16-le"))
                if any(form in blob for blob in blobs for form in forms):
                    hits.append(f"{f}: {needle!r}")
    return hits


def scan_text(text: str, needles) -> list[str]:
    return [n for n in needles if n in text]


def test_the_scanner_finds_planted_values(tmp_path):
    """The zero-hit assertions below mean something: the scanner sees values in the formats the
    job writes (pickle, snappy parquet, SQLite, JSON, gzip)."""
    frame = pd.DataFrame({"full_name": [PLANTED["full_name"]] * 50, "x": range(50)})
    (tmp_path / "a.pkl").write_bytes(pickle.dumps(frame))
    frame.to_parquet(tmp_path / "b.parquet", compression="snappy")
    with sqlite3.connect(tmp_path / "c.db") as con:
        con.execute("create table t (v text)")
        con.execute("insert into t values (?)", (PLANTED["email"],))
    (tmp_path / "d.json.gz").write_bytes(gzip.compress(f'{{"id": "{PLANTED["national_id"]}"}}'.encode()))
    hits = scan([tmp_path], NEEDLES)
    for name in ("a.pkl", "b.parquet"):
        assert any(h.startswith(str(tmp_path / name)) and "Quixotewright" in h for h in hits), hits
    assert any("c.db" in h and "zq-planted" in h for h in hits), hits
    assert any("d.json.gz" in h and "99887766554" in h for h in hits), hits


# --------------------------------------------------------------------------- zero hits, store by store
def _needles(pii_runs):
    return NEEDLES + pii_runs["generated"]


def test_no_pii_in_the_work_directory(pii_runs):
    work = pii_runs["work"]
    files = [p for p in work.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    # the scan covers what a run writes: report, metrics, Data Docs, quarantine, summary, baseline
    assert {"validation_report.html", "metrics.json", "index.html", "applications.parquet", "summary.json"} <= names, names
    assert (work / "baselines" / "demo.json").is_file()
    assert scan([work], _needles(pii_runs)) == []


def test_no_pii_in_the_mlflow_store_and_artifacts(pii_runs):
    env = pii_runs["env"]
    uri = env["MLFLOW_TRACKING_URI"]
    client = MlflowClient(uri)
    db = Path(uri[len("sqlite:///"):])
    locations = {db}
    runs = []
    for exp in client.search_experiments():
        if exp.name == "Default":
            continue
        locations.add(Path(unquote(urlparse(exp.artifact_location).path)))
        runs += client.search_runs([exp.experiment_id])
    assert len(runs) >= 2, "expected the successful run and the failed validation in MLflow"
    for run in runs:
        locations.add(Path(unquote(urlparse(run.info.artifact_uri).path)))
    mlartifacts = db.parent / "mlartifacts"  # a SQLite tracking store keeps artifacts next to the db
    assert mlartifacts.is_dir()
    locations.add(mlartifacts)
    artifacts = [p for p in locations if p.is_dir()]
    artifact_files = [p for d in artifacts for p in d.rglob("*") if p.is_file()]
    assert any(p.name == "validation_report.html" for p in artifact_files)
    assert any(p.name == "python_model.pkl" or p.suffix == ".pkl" for p in artifact_files)
    assert scan(sorted(locations), _needles(pii_runs)) == []


def test_no_pii_in_mlflow_params_tags_and_metrics(pii_runs):
    client = MlflowClient(pii_runs["env"]["MLFLOW_TRACKING_URI"])
    texts = []
    for exp in client.search_experiments():
        texts += [exp.name, repr(exp.tags)]
        for run in client.search_runs([exp.experiment_id]):
            texts += [run.info.run_name or "", repr(run.data.params), repr(run.data.tags), repr(sorted(run.data.metrics))]
            texts += [repr(i) for i in (run.inputs.dataset_inputs if run.inputs else [])]
    for rm in client.search_registered_models():
        texts += [rm.name, rm.description or "", repr(rm.tags)]
        for mv in client.search_model_versions(f"name='{rm.name}'"):
            texts += [mv.description or "", repr(mv.tags), mv.source or ""]
    experiment_ids = [e.experiment_id for e in client.search_experiments()]
    models = client.search_logged_models(experiment_ids=experiment_ids)
    assert len(models) >= 2  # the scorecard and the XGBoost challenger of the successful run
    for model in models:
        texts += [model.name, repr(model.params), repr(model.tags), repr(model.metrics)]
    blob = "\n".join(texts)
    assert "monthly_income" in blob or "source.url" in blob  # something was logged at all
    assert scan_text(blob, _needles(pii_runs)) == []


def test_no_pii_in_the_dagster_home(pii_runs):
    home = Path(pii_runs["env"]["DAGSTER_HOME"])
    files = [p for p in home.rglob("*") if p.is_file()]
    # the run storage and each run's event log are SQLite files under the Dagster home
    assert (home / "history" / "runs.db").is_file(), files
    assert len(list((home / "history" / "runs").glob("*.db"))) >= 2, files
    # the IO manager's files are there, and no stored table has a PII column (the digests lived for the run only)
    assert (home / "storage" / "applications").exists() and (home / "storage" / "modeling_sample").exists()
    assert stored_pii_columns(home / "storage") == []
    assert scan([home], _needles(pii_runs)) == []


def stored_pii_columns(storage: Path) -> list[str]:
    """``asset: column`` for each PII column of any table the asset store holds (frames, dicts, dataclasses)."""
    import dataclasses

    from pipelines.storage import MANIFEST, read_value

    hits, assets = [], [p.parent for p in storage.rglob(MANIFEST)]
    assert len(assets) >= 8, assets  # every asset of the nightly job
    for path in assets:
        value = read_value(path)
        if isinstance(value, pd.DataFrame):
            tables = [value]
        elif isinstance(value, dict):
            tables = [v for v in value.values() if isinstance(v, pd.DataFrame)]
        elif dataclasses.is_dataclass(value):
            tables = [getattr(value, f.name) for f in dataclasses.fields(value)
                      if isinstance(getattr(value, f.name), pd.DataFrame)]
        else:
            tables = []
        hits += [f"{path.relative_to(storage)}: {c}" for t in tables for c in t.columns if c in PLANTED]
    return hits


def test_default_salt_is_a_per_process_secret():
    from pipelines.assets.ingest import pii_salt

    code = "from pipelines.assets.ingest import pii_salt; print(pii_salt())"
    env = {k: v for k, v in os.environ.items() if k != "CREDITPIPE_PII_SALT"}
    salts = {subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip()
             for _ in range(2)}
    assert len(salts) == 2 and all(len(s) == 32 for s in salts)
    assert pii_salt() not in salts


def test_digests_are_salted_sha256_as_hashlib_computes_them():
    """The vectorised digests (DuckDB's sha256) equal hashlib's, for text, numbers, quotes and non-ASCII; nulls stay null."""
    from features.pii import mask_pii

    salt = "o'neil|;--"
    frame = pd.DataFrame({"full_name": ["Zoë Ünïcode", None, "it's", "", "a|b"],
                          "national_id": pd.array([12345678901, None, 7, 0, -3], dtype="Int64"),
                          "amount": [1.0, 2.0, 3.0, 4.0, 5.0]})
    masked = mask_pii(frame, ["full_name", "national_id", "not_there"], salt)
    for col in ("full_name", "national_id"):
        expected = [None if pd.isna(v) else hashlib.sha256(f"{salt}|{v}".encode()).hexdigest()[:16] for v in frame[col]]
        assert [None if pd.isna(v) else v for v in masked[col]] == expected
    assert masked["amount"].equals(frame["amount"]) and frame["full_name"].iloc[0] == "Zoë Ünïcode"  # input untouched


def test_digests_stop_at_ingestion(pii_runs):
    """Even the salted digests of the planted values never outlive the run (orchestration.keep_pii_digests is off by
    default): the asset store, including the ingested applications, no report, artifact or later asset holds them."""
    digests = tuple(hashlib.sha256(f"{KNOWN_SALT}|{v}".encode()).hexdigest()[:16] for v in PLANTED.values())
    home = Path(pii_runs["env"]["DAGSTER_HOME"])
    uri = pii_runs["env"]["MLFLOW_TRACKING_URI"]
    db = Path(uri[len("sqlite:///"):])
    places = [pii_runs["work"], db, db.parent / "mlartifacts", home / "history", home / "storage"]
    assert (home / "storage" / "applications").is_dir()
    assert scan(places, digests) == []
    for proc in pii_runs["procs"].values():
        assert scan_text(proc.stdout + proc.stderr, digests) == []


def test_no_pii_in_the_console_output(pii_runs):
    for name, proc in pii_runs["procs"].items():
        assert scan_text(proc.stdout + proc.stderr, _needles(pii_runs)) == [], name
