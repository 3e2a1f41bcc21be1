"""End to end against REAL services on 127.0.0.1: an `mlflow server` process; and the plumbing every service
test shares (free ports, start/poll/stop of a server process, a GraphQL client). The `dagster-webserver` +
`dagster-daemon` story (GraphQL launches, schedules, sensors, alerts, Chromium) is tests/test_ui_e2e.py.

Every server is started here on a free port, polled until ready (at most 90 s) and stopped here
(SIGTERM to its own process group, SIGKILL after a grace period), also when a test fails.
No traffic leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import requests
from mlflow import MlflowClient

from tests.conftest import isolated_env, read_summary, run_creditpipe

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
READY_TIMEOUT = 90
RUN_TIMEOUT = 360


# --------------------------------------------------------------------------- process plumbing

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _tail(log: Path, n: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def _stop(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the server's own process group (its workers and code servers too), SIGKILL after `grace` s."""
    pgid = proc.pid  # start_new_session=True: the server leads a group of its own
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; give the rest of its group a moment, then make sure nothing is left
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def service(name: str, cmd: list[str], env: dict, cwd: Path, ready, timeout: float = READY_TIMEOUT,
            log_dir: Path | None = None):
    """Start `cmd`, wait until `ready()` is true (bounded), yield the process, always stop it."""
    log = (log_dir or cwd) / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode} before it was ready:\n{_tail(log)}")
            try:
                if ready():
                    break
            except (requests.RequestException, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} not ready after {timeout} s:\n{_tail(log)}")
            time.sleep(0.5)
        yield proc
    finally:
        _stop(proc)


def _get_ok(url: str) -> bool:
    return requests.get(url, timeout=5).status_code == 200


# --------------------------------------------------------------------------- MLflow server

@pytest.fixture(scope="class")
def mlflow_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    env = isolated_env(tmp)
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"  # no background job runner (huey consumers) needed here
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
           "--artifacts-destination", str(tmp / "artifacts"), "--host", HOST, "--port", str(port), "--workers", "1"]
    url = f"http://{HOST}:{port}"
    with service("mlflow-server", cmd, env, tmp, lambda: _get_ok(f"{url}/health")):
        yield url, tmp


@pytest.fixture(scope="class")
def server_run(mlflow_server, small_book):
    url, tmp = mlflow_server
    config = tmp / "portfolio.yaml"
    config.write_text(f"portfolio: demo\nsource:\n  kind: warehouse\n  url: duckdb:///{small_book}\n"
                      "models:\n  xgboost: {enabled: false}\n")
    env = {**isolated_env(tmp), "MLFLOW_TRACKING_URI": url}
    proc = run_creditpipe(["run", "--config", str(config), "--workdir", str(tmp / "work")], env, cwd=tmp, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return url, tmp, env, read_summary(tmp / "work")


class TestMlflowServer:
    """Class-scoped: the server is stopped before the Dagster services start."""

    def test_mlflow_server_registers_the_model_and_champion(self, server_run):
        url, _, _, summary = server_run
        assert summary["mlflow_tracking_uri"] == url
        client = MlflowClient(url)
        model = client.get_registered_model(summary["model_name"])
        assert model.name == summary["model_name"] == "credit-pipeline-demo"
        assert [str(v.version) for v in client.search_model_versions(f"name='{summary['model_name']}'")] == ["1"]
        champion = client.get_model_version_by_alias(summary["model_name"], "champion")
        assert str(champion.version) == "1" == summary["model_version"] == summary["champion_version"]
        # the version comes from the chosen candidate's run, a child of the job's run
        assert client.get_run(champion.run_id).data.tags["mlflow.parentRunId"] == summary["mlflow_run_id"]

    def test_mlflow_server_holds_the_run_params_metrics_and_report(self, server_run):
        url, tmp, _, summary = server_run
        client = MlflowClient(url)
        run = client.get_run(summary["mlflow_run_id"])
        params = run.data.params
        assert params["portfolio"] == "demo" and params["models.xgboost.enabled"] == "False"
        assert params["source.url"].startswith("duckdb:///")
        assert any(k.startswith("contract_version.") for k in params)
        assert run.data.metrics["oot_auc"] == pytest.approx(summary["metrics"]["oot"]["auc"])
        # artifacts went through the server's proxy into --artifacts-destination
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")
        report = {f.path for f in client.list_artifacts(run.info.run_id, "report")}
        assert "report/validation_report.html" in report
        local = client.download_artifacts(run.info.run_id, "report/validation_report.html", str(tmp / "dl"))
        assert "<html" in Path(local).read_text(encoding="utf-8")[:2000].lower()
        assert list((tmp / "artifacts").rglob("validation_report.html"))

    def test_score_with_the_champion_from_the_server(self, server_run, small_book):
        _, tmp, env, summary = server_run
        with duckdb.connect(str(small_book), read_only=True) as con:
            apps = con.execute("select * from applications order by application_id limit 300").df()
        src, dst = tmp / "apps.csv", tmp / "scored.csv"
        apps.to_csv(src, index=False)
        proc = run_creditpipe(["score", "--model", f"models:/{summary['model_name']}@champion", "--input", str(src),
                               "--output", str(dst), "--quiet"], env, cwd=tmp, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = pd.read_csv(dst)
        assert len(out) == 300
        assert (out["application_id"].to_numpy() == apps["application_id"].to_numpy()).all()
        assert out["pd"].between(0, 1).all() and out["grade"].between(1, 10).all()
        assert (out["model_version"].astype(str) == "1").all()


# --------------------------------------------------------------------------- Dagster webserver + daemon

class GraphQL:
    def __init__(self, port: int):
        self.url = f"http://{HOST}:{port}/graphql"

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        resp = requests.post(self.url, json={"query": query, "variables": variables or {}}, timeout=60)
        resp.raise_for_status()
        body = resp.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]
