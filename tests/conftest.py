"""Shared fixtures: real data paths, a small demo book in a real DuckDB file, isolated stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pipelines  # noqa: F401  first: sets OMP_WAIT_POLICY=PASSIVE before any test loads XGBoost/scikit-learn's OpenMP
import pandas as pd
import pytest

from tests.pg import pg_url  # noqa: F401,E402  (the session's PostgreSQL server, for any test module)

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
CREDITPIPE = [sys.executable, "-m", "pipelines.cli"]


@pytest.fixture(scope="session")
def german() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "german_credit.csv")


@pytest.fixture(scope="session")
def taiwan() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "taiwan_credit_card_default.csv")


def demo_warehouse(path: Path, **book) -> Path:
    """A generated demo book (`generate_loan_book(**book)`) written to a real DuckDB file at `path`."""
    from features.demo_book import generate_loan_book, write_duckdb

    apps, perf = generate_loan_book(**book)
    write_duckdb(str(path), apps, perf)
    return path


@pytest.fixture(scope="session")
def small_book(tmp_path_factory):
    """A 20,000-application demo book over 36 months in a real DuckDB file."""
    return demo_warehouse(tmp_path_factory.mktemp("warehouse") / "book.duckdb", n_applications=20_000, months=36, seed=7)


# The modules using the session's `demo_job` runs: under pytest-xdist they share one worker, so the runs are made once
# (pytest_collection_modifyitems refuses a module that uses demo_job and is missing here).
DEMO_JOB_MODULES = frozenset({"test_nightly_job.py", "test_notebooks.py", "test_orchestration.py", "test_report_browser.py",
                              "test_report_numbers.py", "test_scoring.py"})


def _work_unit(nodeid: str) -> str:
    path = nodeid.split("::", 1)[0]
    return "demo_job" if Path(path).name in DEMO_JOB_MODULES else path


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test` runs two pytest-xdist workers; each module runs whole on one worker, so its module fixtures
    (servers, books, jobs) are built once, and the DEMO_JOB_MODULES run on one worker. (xdist's own loadgroup
    cannot be used: it renames node ids, which pytest 9 no longer allows.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    return ModuleScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """The demo_job modules and the modules with a test marked slow are handed out first (the sort is stable, so a
    module stays contiguous): the workers then finish together instead of one starting the slowest module last."""
    for item in items:
        if "demo_job" in getattr(item, "fixturenames", ()) and _work_unit(item.nodeid) != "demo_job":
            raise pytest.UsageError(f"{item.nodeid} uses demo_job: add its module to DEMO_JOB_MODULES in tests/conftest.py")
    slow = {_work_unit(item.nodeid) for item in items if item.get_closest_marker("slow")} | {"demo_job"}
    items.sort(key=lambda item: (_work_unit(item.nodeid) not in slow, _work_unit(item.nodeid) != "demo_job"))


def isolated_env(tmp: Path) -> dict[str, str]:
    """Environment for a creditpipe subprocess with its own Dagster home and MLflow store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER_", "MLFLOW_", "CREDITPIPE_"))}
    (tmp / "dagster").mkdir(parents=True, exist_ok=True)
    (tmp / "dagster" / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env.update(DAGSTER_HOME=str(tmp / "dagster"), MLFLOW_TRACKING_URI=f"sqlite:///{tmp / 'mlflow.db'}",
               PYTHONPATH=str(ROOT))
    return env


def run_creditpipe(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*CREDITPIPE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def read_summary(workdir: Path) -> dict:
    return json.loads((workdir / "summary.json").read_text())


@pytest.fixture(scope="session")
def demo_job(small_book, tmp_path_factory):
    """Two runs of `creditpipe run` on the same small book, config and seed, sharing Dagster and MLflow stores."""
    tmp = tmp_path_factory.mktemp("nightly")
    config = tmp / "portfolio.yaml"
    config.write_text(f"source:\n  kind: warehouse\n  url: duckdb:///{small_book}\n"
                      "models:\n  xgboost: {n_search: 3}\n")
    env = isolated_env(tmp)
    runs = []
    for i in (1, 2):
        workdir = tmp / f"work{i}"
        proc = run_creditpipe(["run", "--config", str(config), "--workdir", str(workdir)], env, cwd=tmp)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append((read_summary(workdir), proc))
    return tmp, env, runs
