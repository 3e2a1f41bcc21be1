"""Orchestration on a real instance: transient-only retries with backoff, application-month partitions,
CLI runs that belong to the code location, the project's instance config, and the Parquet asset store."""

from __future__ import annotations

import dataclasses
import math
import os
import socket
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from features.errors import TransientIOError
from pipelines.definitions import build_definitions
from pipelines.launch import code_location_instance, instance_home
from pipelines.resources import MlflowResource, resources_for
from pipelines.storage import read_value, write_value
from tests.conftest import ROOT


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _retries(result) -> int:
    return sum(1 for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY)


def test_unreachable_warehouse_is_retried_with_backoff_then_fails(tmp_path):
    from pipelines.assets.ingest import applications

    config = tmp_path / "p.yaml"
    config.write_text(f"source: {{kind: warehouse, url: 'postgresql://risk@127.0.0.1:{_closed_port()}/loans'}}\n"
                      "orchestration: {max_retries: 2, retry_delay_seconds: 0.01}\n")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([applications], resources=resources_for(str(config), str(tmp_path / "work")),
                                instance=instance, raise_on_error=False)
    assert not result.success and _retries(result) == 2
    [failure] = result.get_step_failure_events()
    error = failure.step_failure_data.error
    while error.cause is not None and error.cls_name != "TransientIOError":
        error = error.cause
    assert error.cls_name == "TransientIOError" and "unreachable" in error.message


def test_a_missing_table_is_not_retried(tmp_path, small_book):
    from pipelines.assets.ingest import applications

    config = tmp_path / "p.yaml"
    config.write_text(f"source: {{kind: warehouse, url: 'duckdb:///{small_book}', tables: {{applications: nowhere}}}}\n")
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([applications], resources=resources_for(str(config), str(tmp_path / "work")),
                                instance=instance, raise_on_error=False)
    assert not result.success and _retries(result) == 0
    assert "nowhere" in result.get_step_failure_events()[0].step_failure_data.error.to_string()


def test_unreachable_mlflow_server_is_transient(tmp_path):
    res = MlflowResource(tracking_uri=f"http://127.0.0.1:{_closed_port()}", max_retries=1, retry_delay_seconds=0.01)

    @dg.op
    def talk_to_mlflow():
        res.client()

    @dg.job
    def registry_job():
        talk_to_mlflow()

    with dg.DagsterInstance.ephemeral() as instance:
        result = registry_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success and _retries(result) == 1
    with pytest.raises(TransientIOError, match="MLflow tracking server"):  # outside a step: the error itself
        res.client()


def test_one_application_month_is_loaded_and_validated_on_its_own(tmp_path, small_book):
    book = tmp_path / "book.duckdb"
    book.write_bytes(Path(small_book).read_bytes())
    with duckdb.connect(str(book)) as con:  # a broken value in 2025-06 only
        con.execute("update applications set monthly_income = -5 where application_id in (select application_id from "
                    "applications where strftime(application_date, '%Y-%m') = '2025-06' and monthly_income is not null limit 5)")
        months = con.execute("select strftime(application_date, '%Y-%m') m, count(*) from applications group by 1").fetchall()
    config = tmp_path / "p.yaml"
    config.write_text(f"source: {{kind: warehouse, url: 'duckdb:///{book}'}}\norchestration: {{first_month: '2023-01'}}\n")
    defs = build_definitions(str(config), str(tmp_path / "work"))
    job = defs.resolve_job_def("load_month")
    counts = dict(months)
    with dg.DagsterInstance.ephemeral() as instance:
        good = job.execute_in_process(partition_key="2025-05", instance=instance, raise_on_error=False)
        bad = job.execute_in_process(partition_key="2025-06", instance=instance, raise_on_error=False)
    [ok] = good.get_asset_check_evaluations()
    assert ok.passed and good.success
    month = good.output_for_node("loan_book_month")
    apps, perf = month["applications"], month["performance"]
    assert len(apps) == counts["2025-05"] and set(pd.to_datetime(apps["application_date"]).dt.strftime("%Y-%m")) == {"2025-05"}
    assert set(perf["loan_id"]) <= set(apps["application_id"]) and len(perf) > 0
    [failed] = bad.get_asset_check_evaluations()
    assert not failed.passed and "monthly_income" in str(failed.metadata["failures"].value)


def test_instance_home_gets_the_project_config_and_is_restored(tmp_path, monkeypatch):
    home = tmp_path / "fresh_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert instance_home() == home.resolve()
    assert (home / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.chdir(tmp_path)
    with code_location_instance() as instance:
        assert os.environ["DAGSTER_HOME"] == str((tmp_path / ".data" / "dagster").resolve())
        assert instance.is_persistent and not instance.telemetry_enabled
    assert "DAGSTER_HOME" not in os.environ


def test_cli_runs_are_runs_of_the_code_location_without_banner(demo_job):
    _, env, runs = demo_job
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
        with dg.DagsterInstance.get() as instance:
            stored = instance.get_runs()
            run_ids = {summary["dagster_run_id"] for summary, _ in runs}
            ours = [r for r in stored if r.run_id in run_ids]
            assert len(ours) == 2
            portfolio = runs[0][0]["model_name"].removeprefix("credit-pipeline-")  # the config file's portfolio
            for run in ours:
                assert run.job_name == "nightly_retrain"
                assert run.remote_job_origin.location_name == "pipelines"
                assert run.remote_job_origin.repository_origin.repository_name == "__repository__"
                assert run.tags["creditpipe/retrain"] == portfolio
            report = instance.fetch_materializations(dg.AssetKey("validation_report"), limit=1).records[0]
            meta = report.asset_materialization.metadata
            assert meta["report"].value.endswith("validation_report.html") and 0.5 < meta["test_auc"].value <= 1
            sample = instance.fetch_materializations(dg.AssetKey("modeling_sample"), limit=1).records[0]
            assert 0 < sample.asset_materialization.metadata["dev_bad_rate"].value < 0.5
    for _, proc in runs:
        text = (proc.stdout + proc.stderr).lower()
        assert "telemetry" not in text and "creating initial mlflow database" not in text


def test_every_stored_asset_round_trips(demo_job, tmp_path):
    _, env, _ = demo_job
    storage = Path(env["DAGSTER_HOME"]) / "storage"
    kinds = {}
    for path in sorted(p for p in storage.iterdir() if (p / "manifest.json").is_file()):
        value = read_value(path)
        kinds[path.name] = type(value).__name__
        copy = tmp_path / path.name
        write_value(value, copy)
        again = read_value(copy)
        assert type(again) is type(value)
        _assert_same(value, again, path.name)
    assert {"applications", "modeling_sample", "binning", "candidates", "backtest", "validation_report",
            "registered_model", "monitoring"} <= set(kinds)
    assert (storage / "applications" / "table.parquet").is_file()  # tables are Parquet, not pickles


def _assert_same(a, b, where: str) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            if isinstance(a[k], (pd.DataFrame, dict)) or dataclasses.is_dataclass(a[k]):
                _assert_same(a[k], b[k], f"{where}.{k}")
    elif dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, (pd.DataFrame, dict)) or dataclasses.is_dataclass(x):
                _assert_same(x, y, f"{where}.{f.name}")
            elif isinstance(x, (str, int, float, list, tuple)) or x is None:
                assert x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)), f"{where}.{f.name}"


def test_retention_removes_only_old_run_directories(tmp_path):
    from pipelines.storage import clean_old_runs

    work, storage = tmp_path / "work", tmp_path / "storage"
    old_run, new_run = "0b1c2d3e-0000-4000-8000-000000000001", "0b1c2d3e-0000-4000-8000-000000000002"
    for root in (work, storage):
        for name in (old_run, new_run, "baselines", "applications"):
            (root / name).mkdir(parents=True)
            (root / name / "f.txt").write_text("x")
    now = 1_800_000_000.0
    for root in (work, storage):
        os.utime(root / old_run, (now - 40 * 86400, now - 40 * 86400))
        os.utime(root / new_run, (now - 5 * 86400, now - 5 * 86400))
        os.utime(root / "baselines", (now - 400 * 86400, now - 400 * 86400))  # not a run: never touched
    removed = clean_old_runs(30, work, storage, tmp_path / "missing", now=now)
    assert sorted(removed) == sorted([work / old_run, storage / old_run])
    for root in (work, storage):
        assert {p.name for p in root.iterdir()} == {new_run, "baselines", "applications"}
    with pytest.raises(ValueError, match="keep_days"):
        clean_old_runs(-1, work)
