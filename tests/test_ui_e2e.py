"""End to end with the REAL services, one shared setup: `dagster-webserver` + `dagster-daemon` (temporary
DAGSTER_HOME with the project's dagster.yaml), an `mlflow server`, an SMTP server with STARTTLS and a JSON
webhook receiver, all on 127.0.0.1, and headless Chromium looking at the UIs.

The story, in file order (the module's tests share one stack and run in order):
1. the code location loads jobs, schedules and sensors (running), partitions and checks; the daemon is healthy;
2. `nightly_retrain` launched through GraphQL registers a champion; on the undrifted book monitoring is green;
3. the Dagster asset graph and the MLflow run page, rendered in Chromium, show the assets, model and AUC
   (screenshots kept in tests/artifacts/ui_e2e/);
4. a corrupted book fails the run, the champion stays, the run-failure sensor alerts;
5. a drifted book (channel mix and bureau scores shift): `daily_monitoring` goes red, the alert arrives by
   mail and webhook, and the sensor requests a retrain.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pytest
import requests
from mlflow import MlflowClient

from features.demo_book import generate_loan_book, write_duckdb
from tests.browser import rendered_text, screenshot
from tests.conftest import ROOT, isolated_env
from tests.mailhooks import smtp_server, webhook_receiver
from tests.test_services import (
    BIN,
    HOST,
    READY_TIMEOUT,
    RUN_TIMEOUT,
    GraphQL,
    _get_ok,
    free_port,
    service,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTIFACTS = ROOT / "tests" / "artifacts" / "ui_e2e"
MODEL = "credit-pipeline-e2e"
SMTP_USER, SMTP_PASSWORD = "pipeline", "e2e-Smtp-Pa55"

REPO_Q = """
query {
  workspaceOrError { ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message }
      ... on RepositoryLocation { name repositories { name
        jobs { name }
        schedules { name cronSchedule executionTimezone pipelineName description scheduleState { status } }
        sensors { name description sensorState { status } targets { pipelineName } }
        assetNodes { assetKey { path } isPartitioned assetChecksOrError { ... on AssetChecks { checks { name blocking } } } }
  } } } } } }
}"""
RUN_Q = """query ($runId: ID!) { runOrError(runId: $runId) { __typename
  ... on Run { status jobName tags { key value } repositoryOrigin { repositoryLocationName } } } }"""
RUNS_Q = """query { runsOrError(limit: 50) { ... on Runs { results { runId jobName status tags { key value } } } } }"""
CHECK_Q = """query ($path: [String!]!, $name: String!) {
  assetCheckExecutions(assetKey: {path: $path}, checkName: $name, limit: 10) {
    runId status evaluation { success severity } } }"""
DAEMON_Q = "query { instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"


def _wait(predicate, timeout: float, what: str, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s"
        time.sleep(every)


def _book(path: Path, **drift) -> Path:
    apps, perf = generate_loan_book(n_applications=20_000, months=36, seed=7, mix_trend=0.0, **drift)
    write_duckdb(str(path), apps, perf)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """mlflow server + SMTP + webhook + dagster-webserver + dagster-daemon, started once for the module."""
    started = time.monotonic()
    tmp = tmp_path_factory.mktemp("ui_e2e")
    book = _book(tmp / "book.duckdb")
    _book(tmp / "drifted.duckdb", drift_months=3, drift=1.5)
    shutil.copy(book, tmp / "good.duckdb")
    mlflow_port, web_port = free_port(), free_port()
    mlflow_url = f"http://{HOST}:{mlflow_port}"
    env = isolated_env(tmp)  # DAGSTER_HOME=<tmp>/dagster holding the project's dagster.yaml
    with smtp_server(tmp, SMTP_USER, SMTP_PASSWORD) as (smtp_port, cert, mailbox), webhook_receiver() as (hook_url, hooks):
        config = tmp / "portfolio.yaml"
        config.write_text(
            f"portfolio: e2e\nsource: {{kind: warehouse, url: 'duckdb:///{book}'}}\n"
            # a quick scorecard-only run; the gates that a 20k-application book can fail by chance stay out of the way
            "models: {xgboost: {enabled: false}, walk_forward_origins: 1, max_auc_gap: 0.2}\n"
            "promotion: {require_rank_ordering: false}\n"
            "orchestration: {sensor_seconds: 5}\n"
            "alerts:\n"
            f"  email: {{host: {HOST}, port: {smtp_port}, sender: pipeline@bank.test, to: [risk@bank.test],\n"
            f"          username_env: E2E_SMTP_USER, password_env: E2E_SMTP_PASSWORD, ca_file: '{cert}'}}\n"
            "  webhook: {url_env: E2E_WEBHOOK_URL}\n")
        env.update(CREDITPIPE_CONFIG=str(config), CREDITPIPE_WORKDIR=str(tmp / "work"), MLFLOW_TRACKING_URI=mlflow_url,
                   E2E_SMTP_USER=SMTP_USER, E2E_SMTP_PASSWORD=SMTP_PASSWORD, E2E_WEBHOOK_URL=hook_url,
                   MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        gql = GraphQL(web_port)
        mlflow_cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow-server.db'}",
                      "--artifacts-destination", str(tmp / "artifacts"), "--host", HOST, "--port", str(mlflow_port),
                      "--workers", "1"]
        web = [str(BIN / "dagster-webserver"), "-h", HOST, "-p", str(web_port)]  # code location from pyproject.toml
        with service("mlflow-server", mlflow_cmd, env, tmp, lambda: _get_ok(f"{mlflow_url}/health"), log_dir=tmp), \
             service("dagster-webserver", web, env, ROOT, lambda: _get_ok(f"http://{HOST}:{web_port}/server_info")
                     and _loaded(gql), log_dir=tmp), \
             service("dagster-daemon", [str(BIN / "dagster-daemon"), "run"], env, ROOT, lambda: True, log_dir=tmp):
            print(f"\nui_e2e: services up in {time.monotonic() - started:.0f} s")
            yield {"gql": gql, "port": web_port, "env": env, "tmp": tmp, "book": book, "mlflow": mlflow_url,
                   "mailbox": mailbox, "hooks": hooks}
    print(f"ui_e2e: whole module {time.monotonic() - started:.0f} s")


def _loaded(gql: GraphQL) -> bool:
    entries = gql(REPO_Q)["workspaceOrError"]["locationEntries"]
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


def _repo(gql: GraphQL) -> tuple[str, dict]:
    [entry] = gql(REPO_Q)["workspaceOrError"]["locationEntries"]
    loc = entry["locationOrLoadError"]
    assert loc["__typename"] == "RepositoryLocation", loc
    [repo] = loc["repositories"]
    return loc["name"], repo


def _launch(stack, job: str) -> str:
    from dagster_graphql import DagsterGraphQLClient

    location, repo = _repo(stack["gql"])
    client = DagsterGraphQLClient(HOST, port_number=stack["port"])
    return client.submit_job_execution(job, repository_location_name=location, repository_name=repo["name"])


def _finished(stack, run_id: str) -> dict:
    def done():
        run = stack["gql"](RUN_Q, {"runId": run_id})["runOrError"]
        return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None
    return _wait(done, RUN_TIMEOUT, f"run {run_id}", every=2)


def _monitoring_run(stack, dagster_run_id: str):
    client = MlflowClient(stack["mlflow"])
    exp = client.get_experiment_by_name("credit-pipeline")
    [run] = client.search_runs([exp.experiment_id], f"tags.kind = 'monitoring' and tags.dagster_run_id = '{dagster_run_id}'")
    return run


# --------------------------------------------------------------------------- 1. the code location

def test_code_location_has_jobs_running_schedules_and_sensors_partitions_and_checks(stack):
    location, repo = _repo(stack["gql"])
    assert location == "pipelines"
    assert {"nightly_retrain", "daily_monitoring", "validate_only", "load_month"} <= {j["name"] for j in repo["jobs"]}
    schedules = {s["name"]: s for s in repo["schedules"]}
    nightly = schedules["nightly_retrain_schedule"]
    assert (nightly["cronSchedule"], nightly["executionTimezone"], nightly["pipelineName"]) == ("0 2 * * *", "UTC",
                                                                                                "nightly_retrain")
    assert all(s["description"] and s["scheduleState"]["status"] == "RUNNING" for s in schedules.values())
    sensors = {s["name"]: s for s in repo["sensors"]}
    assert set(sensors) == {"retrain_on_red_monitoring", "alert_on_run_failure"}
    assert all(s["sensorState"]["status"] == "RUNNING" and s["description"] for s in sensors.values())
    assert [t["pipelineName"] for t in sensors["retrain_on_red_monitoring"]["targets"]] == ["nightly_retrain"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
    assert nodes["loan_book_month"]["isPartitioned"] and not nodes["applications"]["isPartitioned"]
    checks = {(a, c["name"], c["blocking"]) for a, n in nodes.items() for c in n["assetChecksOrError"].get("checks", [])}
    assert {("applications", "contract", True), ("performance", "contract", True), ("loan_book_month", "contract", True),
            ("monitoring", "score_psi", False), ("monitoring", "csi", False),
            ("monitoring", "early_delinquency", False)} == checks


def test_daemon_is_healthy(stack):
    def healthy():
        statuses = stack["gql"](DAEMON_Q)["instance"]["daemonHealth"]["allDaemonStatuses"]
        required = {s["daemonType"]: s["healthy"] for s in statuses if s["required"]}
        return required if required and all(required.values()) else None
    required = _wait(healthy, READY_TIMEOUT, "daemons healthy", every=2)
    assert {"SCHEDULER", "SENSOR", "QUEUED_RUN_COORDINATOR"} <= set(required)


# --------------------------------------------------------------------------- 2. the nightly retrain

@pytest.fixture(scope="module")
def nightly(stack):
    started = time.monotonic()
    run_id = _launch(stack, "nightly_retrain")  # queued; the daemon's run coordinator launches it
    run = _finished(stack, run_id)
    print(f"\nui_e2e: nightly_retrain {run['status']} in {time.monotonic() - started:.0f} s")
    assert run["status"] == "SUCCESS"
    return run_id, run


def test_nightly_retrain_registers_the_champion_and_undrifted_monitoring_is_green(stack, nightly):
    run_id, run = nightly
    assert {t["key"]: t["value"] for t in run["tags"]}["creditpipe/retrain"] == "e2e"
    assert run["repositoryOrigin"]["repositoryLocationName"] == "pipelines"
    client = MlflowClient(stack["mlflow"])
    champion = client.get_model_version_by_alias(MODEL, "champion")
    assert champion.tags["dagster_run_id"] == run_id
    monitoring = _monitoring_run(stack, run_id)
    assert monitoring.data.tags["model_version"] == str(champion.version)
    assert monitoring.data.tags["monitoring_status"] == "green", monitoring.data.metrics
    assert monitoring.data.metrics["score_psi"] < 0.1
    files = {f.path for f in client.list_artifacts(monitoring.info.run_id, "monitoring")}
    assert {"monitoring/monitoring_report.html", "monitoring/monitoring.json"} <= files
    for name in ("score_psi", "csi", "early_delinquency"):
        [ex] = [e for e in stack["gql"](CHECK_Q, {"path": ["monitoring"], "name": name})["assetCheckExecutions"]
                if e["runId"] == run_id]
        assert ex["status"] == "SUCCEEDED" and ex["evaluation"]["success"], (name, ex)


# --------------------------------------------------------------------------- 3. the UIs in Chromium

def test_asset_graph_and_mlflow_run_page_in_chromium(stack, nightly):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the modeling group's lineage: its assets expanded, with their neighbours up- and downstream
    dagster_url = f"http://{HOST}:{stack['port']}/locations/pipelines/asset-groups/modeling"
    screenshot(dagster_url, ARTIFACTS / "dagster_asset_graph.png", wait_ms=15000)
    text = rendered_text(dagster_url, wait_ms=15000)
    for asset in ("applications", "loan_outcomes", "modeling_sample", "binning", "feature_selection", "candidates",
                  "validation_report", "registered_model", "monitoring"):
        assert asset in text, asset
    assert "Join the Dagster community" not in text  # dagster.yaml: nux off
    client = MlflowClient(stack["mlflow"])
    champion = client.get_model_version_by_alias(MODEL, "champion")
    run = client.get_run(champion.run_id)
    run_url = f"{stack['mlflow']}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}?workflowType=machine_learning"
    screenshot(run_url, ARTIFACTS / "mlflow_run.png", wait_ms=15000)
    text = rendered_text(run_url, wait_ms=15000)
    assert f"{MODEL} v{champion.version}" in text  # the run's registered model
    assert f"oot_auc {run.data.metrics['oot_auc']}" in text and f"test_auc {run.data.metrics['test_auc']}" in text
    assert (ARTIFACTS / "dagster_asset_graph.png").stat().st_size > 10_000


# --------------------------------------------------------------------------- 4. a broken contract

def test_corrupted_book_fails_keeps_the_champion_and_alerts(stack, nightly):
    book, mailbox, hooks = stack["book"], stack["mailbox"], stack["hooks"]
    sent = len(hooks.requests)
    with duckdb.connect(str(book)) as con:
        con.execute("update applications set monthly_income = -5 where application_id in "
                    "(select application_id from applications where monthly_income is not null limit 25)")
    try:
        run_id = _launch(stack, "nightly_retrain")
        assert _finished(stack, run_id)["status"] == "FAILURE"
        client = MlflowClient(stack["mlflow"])
        assert client.get_model_version_by_alias(MODEL, "champion").tags["dagster_run_id"] == nightly[0]
        hook = _wait(lambda: [h for h in hooks.requests[sent:] if h["json"]["details"].get("dagster_run_id") == run_id],
                     120, "run-failure webhook")[0]
        assert hook["json"]["severity"] == "failure" and hook["json"]["title"] == "data contract failed in nightly_retrain"
        _wait(lambda: [m for m in mailbox.messages if run_id in m["data"]], 60, "run-failure mail")
    finally:
        shutil.copy(stack["tmp"] / "good.duckdb", book)


# --------------------------------------------------------------------------- 5. drift

def test_drift_turns_monitoring_red_alerts_and_requests_a_retrain(stack, nightly):
    shutil.copy(stack["tmp"] / "drifted.duckdb", stack["book"])
    run_id = _launch(stack, "daily_monitoring")
    assert _finished(stack, run_id)["status"] == "SUCCESS"
    monitoring = _monitoring_run(stack, run_id)
    assert monitoring.data.tags["monitoring_status"] == "red" and monitoring.data.metrics["score_psi"] >= 0.25
    [ex] = [e for e in stack["gql"](CHECK_Q, {"path": ["monitoring"], "name": "score_psi"})["assetCheckExecutions"]
            if e["runId"] == run_id]
    assert ex["evaluation"] == {"success": False, "severity": "ERROR"}
    mail = _wait(lambda: [m for m in stack["mailbox"].messages if "monitoring RED" in m["data"]], 120, "red mail")[0]
    assert mail["tls"] and SMTP_PASSWORD not in mail["data"]
    hook = _wait(lambda: [h for h in stack["hooks"].requests if h["json"]["severity"] == "red"], 60, "red webhook")[0]
    assert hook["json"]["details"]["dagster_run_id"] == run_id

    def requested():
        runs = stack["gql"](RUNS_Q)["runsOrError"]["results"]
        return [r for r in runs if r["jobName"] == "nightly_retrain"
                and {t["key"]: t["value"] for t in r["tags"]}.get("creditpipe/monitoring_run") == run_id]
    [retrain] = _wait(requested, 120, "retrain requested by the sensor")
    tags = {t["key"]: t["value"] for t in retrain["tags"]}
    assert tags["creditpipe/trigger"] == "red-monitoring" and tags["dagster/sensor_name"] == "retrain_on_red_monitoring"
    assert requests.get(f"{stack['mlflow']}/health", timeout=5).ok
