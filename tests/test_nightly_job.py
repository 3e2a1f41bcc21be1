"""The nightly job end to end on a small demo book: real Dagster, DuckDB, optbinning, MLflow store."""

from __future__ import annotations

import json
import re

import mlflow
import pytest
from mlflow import MlflowClient

from models.report import _fmt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def job_runs(demo_job):
    return demo_job


def test_summary_has_every_documented_key(job_runs):
    _, _, [(summary, proc), _] = job_runs
    for key in ("dagster_run_id", "mlflow_run_id", "model_name", "model_version", "champion_version", "report_path"):
        assert summary[key], key
    assert set(summary["metrics"]["test"]) >= {"auc", "ks", "gini"}
    assert set(summary["metrics"]["oot"]) >= {"auc", "ks", "gini", "psi"}
    assert "succeeded" in proc.stdout and summary["report_path"] in proc.stdout


def test_model_is_registered_and_champion_points_at_it(job_runs):
    tmp, env, [(first, _), (second, _)] = job_runs
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    assert first["model_version"] == "1" and first["champion_version"] == "1" and first["decision"] == "champion"
    # Same input tables, config, code and seed: nothing new to register.
    assert second["model_version"] is None and second["decision"] == "unchanged" and not second["promoted"]
    assert "unchanged since version 1" in second["promotion_reason"]
    champion = client.get_model_version_by_alias(first["model_name"], "champion")
    assert str(champion.version) == "1" == second["champion_version"]
    assert [str(v.version) for v in client.search_model_versions(f"name = '{first['model_name']}'")] == ["1"]
    run = client.get_run(first["mlflow_run_id"])
    assert run.data.metrics["oot_auc"] == pytest.approx(first["metrics"]["oot"]["auc"], abs=1e-12)
    assert run.data.tags["dagster_run_id"] == first["dagster_run_id"]
    artifacts = {a.path for a in client.list_artifacts(first["mlflow_run_id"], "report")}
    assert {"report/validation_report.html", "report/metrics.json", "report/oot_scores.csv"} <= artifacts
    assert {a.path for a in client.list_artifacts(first["mlflow_run_id"], "contracts")}  # Data Docs + summary
    # every candidate is logged as a pyfunc model in the run
    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    children = {r.info.run_id for r in client.search_runs([run.info.experiment_id],
                                                          f"tags.mlflow.parentRunId = '{first['mlflow_run_id']}'")}
    logged = {m.name for m in mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
              if m.source_run_id in children}  # one child run per candidate holds its model
    assert {"model_scorecard", "model_xgboost"} <= logged


def test_test_auc_within_the_stated_band(job_runs):
    _, _, [(summary, _), _] = job_runs
    assert 0.65 <= summary["metrics"]["test"]["auc"] <= 0.92
    assert summary["metrics"]["test"]["gini"] == pytest.approx(2 * summary["metrics"]["test"]["auc"] - 1, abs=1e-12)


def test_report_contains_the_metrics_of_the_summary(job_runs):
    _, _, [(summary, _), _] = job_runs
    html = open(summary["report_path"], encoding="utf-8").read()
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    for split in ("test", "oot"):
        for key, value in summary["metrics"][split].items():
            assert f">{_fmt(value)}<" in html, (split, key, value)
    metrics = json.load(open(summary["report_path"].replace("validation_report.html", "metrics.json")))
    assert metrics["metrics"]["oot"]["auc"] == pytest.approx(summary["metrics"]["oot"]["auc"], abs=1e-12)
    assert len(re.findall(r"data:image/png;base64,", html)) >= 4


def test_second_run_gives_the_same_metrics(job_runs):
    _, _, [(first, _), (second, _)] = job_runs
    assert first["metrics"] == second["metrics"]
    assert first["dagster_run_id"] != second["dagster_run_id"]


def test_pyfunc_model_reproduces_pipeline_scores(job_runs, small_book):
    tmp, env, [(summary, _), _] = job_runs
    import duckdb

    mlflow.set_tracking_uri(env["MLFLOW_TRACKING_URI"])
    model = mlflow.pyfunc.load_model(f"models:/{summary['model_name']}/{summary['model_version']}")
    with duckdb.connect(str(small_book), read_only=True) as con:
        apps = con.execute("select * from applications order by application_id limit 500").df()
    out = model.predict(apps)
    assert list(out.columns[:4]) == ["pd", "score", "grade", "reason_1"] and len(out) == 500
    assert out["pd"].between(0, 1).all() and out["grade"].between(1, 10).all()
    # Higher score, lower PD: the score falls as the PD rises (up to rounding of points).
    assert out[["pd", "score"]].corr(method="spearman").iloc[0, 1] < -0.95
    # Grades rise with the PD.
    assert (out.groupby("grade")["pd"].max().diff().dropna() > 0).all()
    # No PII ever reaches the model's output.
    assert not set(out.columns) & {"full_name", "national_id", "phone", "email"}
