"""Running a job of the code location from the command line, as a run *of the code location*.

``JobDefinition.execute_in_process`` records runs without an origin: the UI cannot place them
on the code location's Overview timeline and warns on re-execution. Here the run is created
with the origin the webserver gives the same job (code location ``pipelines``, module
``pipelines.definitions``), then executed in this process exactly as ``execute_in_process``
does, so outputs stay in memory for the CLI's summary.

The Dagster instance is ``DAGSTER_HOME`` (default ``.data/dagster``, as ``make ui`` uses);
when it holds no ``dagster.yaml`` the project's is copied there first, so a fresh home never
prints Dagster's telemetry banner or first-run notices.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Collection
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCATION_NAME = "pipelines"  # as [tool.dagster] code_location_name in pyproject.toml
MODULE = "pipelines.definitions"
# used only when the package is installed without the repository's dagster.yaml next to it
FALLBACK_INSTANCE_CONFIG = "telemetry:\n  enabled: false\n"


def instance_home() -> Path:
    """``DAGSTER_HOME`` (default ``.data/dagster``), holding the project's ``dagster.yaml`` if it had none."""
    home = Path(os.environ.get("DAGSTER_HOME") or ".data/dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.is_file():
        shipped = PROJECT_ROOT / "dagster.yaml"
        if shipped.is_file():
            shutil.copyfile(shipped, target)
        else:
            target.write_text(FALLBACK_INSTANCE_CONFIG)
    return home


@contextmanager
def code_location_instance():
    """The Dagster instance at :func:`instance_home`; ``DAGSTER_HOME`` points there while it is open, then is put back."""
    home = instance_home()
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)  # the shipped dagster.yaml resolves its storage from it
    try:
        with dg.DagsterInstance.get() as instance:
            yield instance
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def code_location_origins(job_name: str, working_directory: str):
    """The origins the webserver gives ``job_name`` of the code location ``pipelines``."""
    from dagster._core.code_pointer import ModuleCodePointer
    from dagster._core.definitions.reconstruct import (
        JobPythonOrigin,
        RepositoryPythonOrigin,
    )
    from dagster._core.remote_origin import (
        InProcessCodeLocationOrigin,
        RemoteJobOrigin,
        RemoteRepositoryOrigin,
    )
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    target = LoadableTargetOrigin(executable_path=sys.executable, module_name=MODULE, working_directory=working_directory)
    remote = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(target, location_name=LOCATION_NAME),
            repository_name="__repository__"),
        job_name=job_name)
    python = JobPythonOrigin(job_name, RepositoryPythonOrigin(
        executable_path=sys.executable, code_pointer=ModuleCodePointer(MODULE, "defs", working_directory)))
    return remote, python


class _Capture(dict):
    """The outputs of ``steps`` only: Dagster hands every step's output to the capture, which would keep each asset
    value (the applications, the performance history, the sample) in memory to the end of the run."""

    def __init__(self, steps: Collection[str] | None):
        super().__init__()
        self.steps = None if steps is None else set(steps)

    def __setitem__(self, handle, value) -> None:
        if self.steps is None or handle.step_key in self.steps:
            super().__setitem__(handle, value)


def execute_job(defs: dg.Definitions, job_name: str, instance: dg.DagsterInstance, run_config: dict,
                tags: dict | None = None, capture: Collection[str] | None = None) -> dg.ExecuteInProcessResult:
    """Execute ``job_name`` in this process as a run of the code location (never raises on step failure).

    ``capture``: the steps whose outputs the result holds (``output_for_node``); None: every step's.
    """
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.execution.api import (
        ExecuteRunWithPlanIterable,
        create_execution_plan,
        job_execution_iterator,
    )
    from dagster._core.execution.context_creation_job import (
        PlanOrchestrationContextManager,
        orchestration_context_event_generator,
    )

    _quiet_libraries()
    job_def = defs.resolve_job_def(job_name)
    job = InMemoryJob(job_def)
    plan = create_execution_plan(job, run_config=run_config,
                                 instance_ref=instance.get_ref() if instance.is_persistent else None)
    remote, python = code_location_origins(job_name, os.getcwd())
    run = instance.create_run_for_job(job_def=job_def, execution_plan=plan, run_config=run_config,
                                      tags={**job_def.run_tags, **(tags or {})},
                                      remote_job_origin=remote, job_code_origin=python)
    output_capture = _Capture(capture)
    events = list(ExecuteRunWithPlanIterable(
        execution_plan=plan,
        iterator=job_execution_iterator,
        execution_context_manager=PlanOrchestrationContextManager(
            context_event_generator=orchestration_context_event_generator, job=job, execution_plan=plan,
            dagster_run=run, instance=instance, run_config=run_config, executor_defs=None,
            output_capture=output_capture, raise_on_error=False),
    ))
    return dg.ExecuteInProcessResult(job_def=job_def, event_list=events, dagster_run=instance.get_run_by_id(run.run_id),
                                     output_capture=output_capture)



def _quiet_libraries() -> None:
    """The CLI prints the pipeline's own one-line events; MLflow's first-run notices and progress bars are noise."""
    import logging

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
