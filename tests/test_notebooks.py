"""The notebooks run top to bottom on a real run's output."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_validation_review_notebook_runs_on_a_real_run(demo_job, monkeypatch):
    _, _, [(summary, _), _] = demo_job
    metrics_path = Path(summary["report_path"]).parent / "metrics.json"
    monkeypatch.setenv("CREDITPIPE_METRICS", str(metrics_path))
    nb = nbformat.read(ROOT / "notebooks" / "validation_review.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "consistent" in text
    assert f"{summary['metrics']['test']['auc']:.4f}" in text
    assert os.environ["CREDITPIPE_METRICS"] in text
