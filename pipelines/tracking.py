"""Where MLflow lives: the one default tracking URI, importable without Dagster (``creditpipe score`` needs only this)."""

from __future__ import annotations

import os
from pathlib import Path


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` when set, else the SQLite store ``.data/mlflow.db`` (artifacts beside it)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path('.data/mlflow.db').resolve()}"
