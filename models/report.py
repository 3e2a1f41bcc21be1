"""The validation report: one self-contained HTML file rendered with Jinja2, plus metrics.json.

Plots are embedded as base64 PNG; there are no external scripts, fonts or stylesheets.
Autoescaping is on, so every value from the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape


@dataclass
class Table:
    """A table for the report: a title, a frame, an optional note."""

    title: str
    frame: pd.DataFrame
    note: str = ""
    max_rows: int = 200


@dataclass
class Section:
    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, png)


def _fmt(value: Any) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) >= 1:  # counts and points stored as floats
            return f"{int(v):,}"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:,.4f}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("models", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["fmt"] = _fmt
    env.filters["b64"] = lambda png: base64.b64encode(png).decode("ascii")
    return env


def render_report(title: str, subtitle: str, headline: list[tuple[str, Any]], sections: list[Section]) -> str:
    """Render the HTML report. ``headline``: (label, value) pairs shown at the top."""
    template = _environment().get_template("report.html.j2")
    return template.render(title=title, subtitle=subtitle, headline=headline, sections=sections)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (pd.Timestamp,)):
        return obj.strftime("%Y-%m-%d")
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def write_json(path: Path, payload: dict) -> Path:
    path.write_text(json.dumps(_jsonable(payload), indent=2, sort_keys=True), encoding="utf-8")
    return path
