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


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test`: two workers, `--dist loadgroup`) each module runs whole on one worker, so its
    module fixtures (servers, books, jobs) are built once, and every module using the session's `demo_job` runs goes
    to one worker, so those runs are made once. Modules with a test marked slow, and the `demo_job`
    group, are handed out first (the sort is stable: a module stays contiguous): the workers then finish
    together instead of one starting the slowest module last."""
    demo_job_modules = {item.module.__name__ for item in items if "demo_job" in getattr(item, "fixturenames", ())}
    for item in items:
        module = item.module.__name__
        item.add_marker(pytest.mark.xdist_group("demo_job" if module in demo_job_modules else module))
    slow = demo_job_modules | {item.module.__name__ for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: (item.module.__name__ not in slow, item.module.__name__ not in demo_job_modules))


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
