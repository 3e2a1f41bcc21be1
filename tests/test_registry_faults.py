"""The registry under faults, against REAL `mlflow server` processes on 127.0.0.1 (SQLite backend, local
artifact root): a job SIGKILLed between model logging and the alias move, the registry step killed at each of
its steps, the server stopped mid-run, a full disk while logging artifacts, two runs promoting at once,
and four-eyes approval on a basic-auth server with two users. (An identical rerun registering nothing is
tested on the embedded store by tests/test_nightly_job.py.)

After every fault: each alias points at a version whose artifacts were verified, the aliases are where
they were before, and the next run succeeds. Kills use the test-only hook ``CREDITPIPE_TEST_KILL_AT``
(pipelines/registry_store.py); pauses use ``CREDITPIPE_TEST_PAUSE_AT`` + ``CREDITPIPE_TEST_PAUSE_FILE``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from mlflow import MlflowClient

from pipelines.registry_store import FAULT_STEPS
from tests.conftest import CREDITPIPE, ROOT, demo_warehouse, isolated_env, read_summary
from tests.test_services import BIN, HOST, _stop, _tail, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "credit-pipeline-faults"
JOB_TIMEOUT = 600
DRIVER_TIMEOUT = 300


class Server:
    """An `mlflow server` we can stop and start again on the same port and stores."""

    def __init__(self, tmp: Path, artifacts: Path | None = None, auth: bool = False):
        self.tmp, self.port = tmp, free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.artifacts = artifacts or tmp / "artifacts"
        self.env = isolated_env(tmp)
        self.env.update(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        self.cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{tmp / 'mlflow.db'}",
                    "--artifacts-destination", str(self.artifacts), "--host", HOST, "--port", str(self.port), "--workers", "1"]
        if auth:
            ini = tmp / "auth.ini"
            ini.write_text(f"[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{tmp / 'auth.db'}\n"
                           "admin_username = admin\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
                           # MLflow's credential cache (off by default): without it every request re-checks the
                           # password's scrypt hash, ~0.4 s each on 2 cores, and this test makes hundreds of requests
                           "auth_cache_ttl_seconds = 600\n")
            self.env.update(MLFLOW_AUTH_CONFIG_PATH=str(ini), MLFLOW_AUTH_ADMIN_PASSWORD="admin-pass-1",
                            MLFLOW_FLASK_SERVER_SECRET_KEY="test-only-secret")
            self.cmd[2:2] = ["--app-name", "basic-auth"]
        self.proc = None

    def start(self) -> None:
        with open(self.tmp / "server.log", "ab") as log:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited with {self.proc.returncode}:\n{_tail(self.tmp / 'server.log')}")
            try:
                if requests.get(f"{self.url}/health", timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        pytest.fail(f"mlflow server not ready:\n{_tail(self.tmp / 'server.log')}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


def client_env(server: Server, tmp: Path) -> dict[str, str]:
    env = isolated_env(tmp)
    # fail fast when the server is down (the default retries for minutes)
    env.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="20")
    return env


def snapshot(url: str) -> dict:
    """Versions (with their artifacts tag and decision) and aliases of the model; the lock model if present."""
    client = MlflowClient(url)
    names = {m.name for m in client.search_registered_models()}
    if MODEL not in names:
        return {"aliases": {}, "versions": {}, "lock": False}
    model = client.get_registered_model(MODEL)
    versions = {str(v.version): (v.tags.get("artifacts"), v.tags.get("decision"))
                for v in client.search_model_versions(f"name = '{MODEL}'")}
    return {"aliases": {k: str(v) for k, v in model.aliases.items()}, "versions": versions,
            "lock": f"{MODEL}.promotion-lock" in names}


def assert_aliases_on_verified(snap: dict) -> None:
    for alias, version in snap["aliases"].items():
        assert snap["versions"][version][0] == "verified", (alias, version, snap)


# --------------------------------------------------------------------------- the book, the server, the first jobs

@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return demo_warehouse(tmp_path_factory.mktemp("faults_book") / "book.duckdb", n_applications=8_000, months=30, seed=11)


def write_config(path: Path, book: Path, **promotion) -> Path:
    extra = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in promotion.items())
    path.write_text(f"portfolio: faults\nsource:\n  kind: warehouse\n  url: duckdb:///{book}\n"
                    "models:\n  xgboost: {enabled: false}\n  max_auc_gap: 0.25\n"
                    f"mlflow:\n  model_name: {MODEL}\npromotion:\n  min_oot_ks: 0.1\n{extra}")
    return path


def run_job(config: Path, workdir: Path, env: dict, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CREDITPIPE, "run", "--config", str(config), "--workdir", str(workdir)],
                          env={**env, **(extra_env or {})}, cwd=workdir.parent, capture_output=True, text=True,
                          timeout=JOB_TIMEOUT, check=False)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("faults_server"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def first_jobs(server, book, tmp_path_factory):
    """Job 1 is SIGKILLed between registering its model and moving the alias; job 2, the same job, succeeds."""
    tmp = tmp_path_factory.mktemp("faults_jobs")
    config = write_config(tmp / "portfolio.yaml", book)
    env = client_env(server, tmp)
    killed = run_job(config, tmp / "work_killed", env, {"CREDITPIPE_TEST_KILL_AT": "after_register"})
    after_kill = snapshot(server.url)
    ok = run_job(config, tmp / "work_ok", env)
    assert ok.returncode == 0, ok.stderr[-3000:]
    return {"tmp": tmp, "config": config, "env": env, "killed": killed, "after_kill": after_kill,
            "summary": read_summary(tmp / "work_ok"), "after_ok": snapshot(server.url)}


def test_job_killed_between_model_logging_and_alias_move_changes_no_alias(first_jobs):
    assert first_jobs["killed"].returncode == -signal.SIGKILL
    snap = first_jobs["after_kill"]
    assert snap["aliases"] == {} and not snap["lock"]
    assert snap["versions"] == {"1": ("unverified", None)}  # registered, never verified, never aliased


def test_the_next_job_succeeds_and_its_champion_is_verified(first_jobs):
    summary, snap = first_jobs["summary"], first_jobs["after_ok"]
    assert summary["decision"] == "champion", summary["promotion_reason"]
    assert summary["model_version"] == "2" and snap["aliases"] == {"champion": "2"}
    assert snap["versions"]["2"] == ("verified", "champion")
    assert_aliases_on_verified(snap)


def test_job_logs_lineage_children_and_searchable_tags(first_jobs, server):
    client = MlflowClient(server.url)
    summary = first_jobs["summary"]
    parent = client.get_run(summary["mlflow_run_id"])
    tags = parent.data.tags
    assert tags["portfolio"] == "faults" and tags["decision"] == "champion" and tags["contract_status"] in ("pass", "warn")
    assert tags["candidate"] == "scorecard" and tags["model_version"] == "2"
    # params: the whole resolved config, flattened
    assert parent.data.params["promotion.min_improvement"] == "0.005"
    assert parent.data.params["source.kind"] == "warehouse" and "sample.seed" in parent.data.params
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert {c.data.tags["candidate"] for c in children} == {"scorecard"}
    assert all("oot_auc" in c.data.metrics for c in children)
    lineage = json.loads(Path(client.download_artifacts(parent.info.run_id, "lineage.json", str(first_jobs["tmp"]))).read_text())
    assert lineage["dagster_run_id"] == summary["dagster_run_id"] and lineage["seed"] == 42
    assert set(lineage["input_tables"]) == {"applications", "performance"}
    assert all(len(t["sha256"]) == 64 and t["rows"] > 0 for t in lineage["input_tables"].values())
    assert lineage["contract_versions"] and lineage["packages"]["mlflow"] and "git_commit" in lineage
    # the experiment opens on training runs, and no empty Default is left behind
    exp = client.get_experiment(parent.info.experiment_id)
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    assert [e.name for e in client.search_experiments()] == [exp.name]
    # the model version says what it is, why, under which gates, and where the report is
    mv = client.get_model_version(MODEL, "2")
    assert mv.tags["decision"] == "champion" and json.loads(mv.tags["gates"])
    assert mv.tags["report"].endswith("report/validation_report.html") and "Decision: champion" in mv.description


# --------------------------------------------------------------------------- the registry step alone, killed anywhere

def driver(server: Server, first_jobs, tmp: Path, tag: str, decision: str = "champion", compared_with: str | None = "2",
           extra_env: dict | None = None, wait: bool = True, source_url: str | None = None):
    report_dir = Path(first_jobs["summary"]["report_path"]).parent
    spec = tmp / f"spec-{tag}.json"
    spec.write_text(json.dumps({"config": str(first_jobs["config"]), "source_model": f"models:/{MODEL}/2",
                                "report_dir": str(report_dir), "contracts_dir": str(report_dir.parent / "contracts"),
                                "warehouse": str(first_jobs["book"]), "decision": decision, "compared_with": compared_with,
                                "tag": tag}))
    env = {**client_env(server, tmp), **(extra_env or {})}
    if source_url:  # load the prepared model from another server than the one written to
        env["CREDITPIPE_TEST_SOURCE_URI"] = source_url
    cmd = [sys.executable, "-m", "tests.registry_driver", str(spec)]
    if not wait:
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False)


@pytest.fixture(scope="module")
def jobs(first_jobs, book):
    return {**first_jobs, "book": book}


@pytest.mark.parametrize("step", FAULT_STEPS)
def test_registry_step_killed_at_each_step_moves_no_alias(step, jobs, server, tmp_path):
    before = snapshot(server.url)
    proc = driver(server, jobs, tmp_path, f"kill-{step}", extra_env={"CREDITPIPE_TEST_KILL_AT": step})
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    after = snapshot(server.url)
    assert_aliases_on_verified(after)
    if step == "after_alias":  # killed after the alias moved: the alias is on the new, verified version
        new = max(after["versions"], key=int)
        assert after["aliases"]["champion"] == new and after["versions"][new][0] == "verified"
        # put the champion back for the next cases (a later run compares with it)
        MlflowClient(server.url).set_registered_model_alias(MODEL, "champion", before["aliases"]["champion"])
    else:
        assert after["aliases"] == before["aliases"]
    assert after["lock"] == (step == "in_lock")  # a lock left by a dead holder; the next run breaks it


def test_after_the_kills_the_next_run_promotes(jobs, server, tmp_path):
    before = snapshot(server.url)
    proc = driver(server, jobs, tmp_path, "after-kills", compared_with=before["aliases"]["champion"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    after = snapshot(server.url)
    assert result["decision"] == "champion" and after["aliases"]["champion"] == result["model_version"]
    assert not after["lock"]
    assert_aliases_on_verified(after)
    # the runs the killed processes left RUNNING are closed as KILLED by the next run
    client = MlflowClient(server.url)
    runs = client.search_runs([client.get_experiment_by_name("credit-pipeline").experiment_id], "tags.portfolio = 'faults'")
    assert not [r.info.run_name for r in runs if r.info.status == "RUNNING"]
    assert sum(r.info.status == "KILLED" for r in runs) >= 6


def test_two_concurrent_runs_promote_at_most_once(jobs, server, tmp_path):
    before = snapshot(server.url)
    flags = [tmp_path / "a.pause", tmp_path / "b.pause"]
    procs = [driver(server, jobs, tmp_path, f"race-{i}", compared_with=before["aliases"]["champion"], wait=False,
                    extra_env={"CREDITPIPE_TEST_PAUSE_AT": "after_tags", "CREDITPIPE_TEST_PAUSE_FILE": str(flag)})
             for i, flag in enumerate(flags)]
    deadline = time.monotonic() + DRIVER_TIMEOUT
    while not all(f.exists() for f in flags):  # both compared with the same champion and stand at the lock
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.2)
    for f in flags:
        f.unlink()
    outs = [p.communicate(timeout=DRIVER_TIMEOUT) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    results = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    decisions = sorted(r["decision"] for r in results)
    assert decisions == ["challenger", "champion"], results
    winner = next(r for r in results if r["decision"] == "champion")
    loser = next(r for r in results if r["decision"] == "challenger")
    after = snapshot(server.url)
    assert after["aliases"] == {"champion": winner["model_version"], "challenger": loser["model_version"]}
    assert any("champion changed during this run" in r for r in loser["reasons"])
    assert_aliases_on_verified(after)


def test_server_stopped_mid_run_gives_a_clear_error_and_changes_nothing(jobs, server, tmp_path):
    before = snapshot(server.url)
    flag = tmp_path / "down.pause"
    proc = driver(server, jobs, tmp_path, "server-down", compared_with=before["aliases"]["champion"], wait=False,
                  extra_env={"CREDITPIPE_TEST_PAUSE_AT": "after_models_logged", "CREDITPIPE_TEST_PAUSE_FILE": str(flag)})
    deadline = time.monotonic() + DRIVER_TIMEOUT
    while not flag.exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    server.stop()
    flag.unlink()
    out, err = proc.communicate(timeout=DRIVER_TIMEOUT)
    server.start()
    assert proc.returncode == 1, (out, err)
    assert "TransientIOError" in err and "unreachable" in err and server.url in err and "champion is unchanged" in err
    after = snapshot(server.url)
    assert after["aliases"] == before["aliases"]
    assert_aliases_on_verified(after)
    # and the next run succeeds
    ok = driver(server, jobs, tmp_path, "after-server-down", compared_with=before["aliases"]["champion"])
    assert ok.returncode == 0, ok.stderr[-3000:]


# --------------------------------------------------------------------------- a full disk

@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root / CAP_SYS_ADMIN): {proc.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_while_logging_artifacts_moves_no_alias(jobs, server, small_disk, tmp_path_factory, tmp_path):
    # the prepared model comes from the main server; this server's artifact store is a 3 MB disk, nearly full
    full = Server(tmp_path_factory.mktemp("full_disk_server"), artifacts=small_disk / "artifacts")
    full.start()
    try:
        filler = small_disk / "filler"
        stat = os.statvfs(small_disk)
        filler.write_bytes(os.urandom(stat.f_bavail * stat.f_frsize - 16_384))  # 16 KB left: the report cannot fit
        proc = driver(full, jobs, tmp_path, "full-disk", compared_with=None, source_url=server.url)
        assert proc.returncode == 1, (proc.stdout[-2000:], proc.stderr[-2000:])
        assert "champion is unchanged" in proc.stderr
        snap = snapshot(full.url)
        assert snap["aliases"] == {} and not snap["lock"]
        filler.unlink()
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        ok = driver(full, jobs, tmp_path, "disk-freed", compared_with=None, source_url=server.url)
        assert ok.returncode == 0, ok.stderr[-3000:]
        snap = snapshot(full.url)
        assert set(snap["aliases"]) == {"champion"}
        assert_aliases_on_verified(snap)
    finally:
        full.stop()


# --------------------------------------------------------------------------- four eyes, two real users

def test_four_eyes_approval_on_a_basic_auth_server(jobs, server, tmp_path_factory, tmp_path, monkeypatch):
    auth = Server(tmp_path_factory.mktemp("auth_server"), auth=True)
    auth.start()
    try:
        admin = ("admin", "admin-pass-1")
        r = requests.post(f"{auth.url}/api/2.0/mlflow/users/create", auth=admin, timeout=30,
                          json={"username": "validator", "password": "validator-pass-2"})
        assert r.status_code == 200, r.text
        r = requests.post(f"{auth.url}/api/2.0/mlflow/users/create", auth=admin, timeout=30,
                          json={"username": "modeler", "password": "modeler-pass-3"})
        assert r.status_code == 200, r.text
        def grant(resource_type: str, resource_id: str, permission: str) -> requests.Response:
            return requests.post(f"{auth.url}/api/3.0/mlflow/users/permissions/grant", auth=admin, timeout=30,
                                 json={"username": "validator", "resource_type": resource_type, "resource_id": resource_id,
                                       "permission": permission})

        modeler = {"MLFLOW_TRACKING_USERNAME": "modeler", "MLFLOW_TRACKING_PASSWORD": "modeler-pass-3"}
        validator = {"MLFLOW_TRACKING_USERNAME": "validator", "MLFLOW_TRACKING_PASSWORD": "validator-pass-2"}
        pending = driver(auth, jobs, tmp_path, "four-eyes-1", decision="pending", compared_with=None, extra_env=modeler,
                         source_url=server.url)
        assert pending.returncode == 0, pending.stderr[-3000:]
        v1 = json.loads(pending.stdout.strip().splitlines()[-1])["model_version"]
        assert grant("registered_model", MODEL, "MANAGE").status_code == 200  # the validator may move aliases
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", admin[0])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", admin[1])
        admin_client = MlflowClient(auth.url)
        experiment = admin_client.get_experiment_by_name("credit-pipeline").experiment_id
        assert grant("experiment", experiment, "EDIT").status_code == 200  # ... and tag the job's run
        mv = admin_client.get_model_version(MODEL, v1)
        assert mv.tags["approval"] == "pending" and mv.tags["run_by"] == "modeler"
        assert admin_client.get_registered_model(MODEL).aliases == {}

        def approve(who: dict, *args: str) -> subprocess.CompletedProcess:
            env = {**client_env(auth, tmp_path), **who}
            return subprocess.run([*CREDITPIPE, "approve", "--model", MODEL, *args], env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False)

        own = approve(modeler, "--version", v1)
        assert own.returncode == 1 and "four-eyes: modeler ran the job" in own.stderr
        no_reason = approve(validator, "--version", v1, "--reject")
        assert no_reason.returncode == 1 and "needs a reason" in no_reason.stderr
        rejected = approve(validator, "--version", v1, "--reject", "--reason", "calibration drift in grade 9")
        assert rejected.returncode == 0, rejected.stderr
        mv = admin_client.get_model_version(MODEL, v1)
        assert (mv.tags["approval"], mv.tags["rejected_by"], mv.tags["rejection_reason"]) == \
            ("rejected", "validator", "calibration drift in grade 9")
        assert mv.tags["rejected_at"].endswith("Z") and admin_client.get_registered_model(MODEL).aliases == {}
        again = approve(validator, "--version", v1)
        assert again.returncode == 1 and "not waiting for approval" in again.stderr

        second = driver(auth, jobs, tmp_path, "four-eyes-2", decision="pending", compared_with=None, extra_env=modeler,
                        source_url=server.url)
        assert second.returncode == 0, second.stderr[-3000:]
        v2 = json.loads(second.stdout.strip().splitlines()[-1])["model_version"]
        approved = approve(validator, "--version", v2, "--reason", "reviewed the report")
        assert approved.returncode == 0, approved.stderr
        assert f"version {v2} is champion" in approved.stdout
        mv = admin_client.get_model_version(MODEL, v2)
        assert (mv.tags["approval"], mv.tags["approved_by"], mv.tags["decision"]) == ("approved", "validator", "champion")
        assert {k: str(v) for k, v in admin_client.get_registered_model(MODEL).aliases.items()} == {"champion": v2}
        parent = admin_client.get_run(mv.tags["mlflow_parent_run_id"])
        assert parent.data.tags["approved_by"] == "validator" and parent.data.tags["decision"] == "champion"
    finally:
        auth.stop()

