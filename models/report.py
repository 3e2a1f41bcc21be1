"""The validation report: one self-contained HTML file rendered with Jinja2, plus metrics.json.

Plots are embedded as base64 PNG; there are no external scripts, fonts or stylesheets.
Autoescaping is on, so every value from the data is HTML-escaped.
"""

from __future__ import annotations

import base64
import dataclasses
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
    """A table for the report: a title, a frame, an optional note.

    ``folded``: shown closed (``<details>``), for long tables of passing checks.
    """

    title: str
    frame: pd.DataFrame
    note: str = ""
    max_rows: int = 200
    folded: bool = False

    def cells(self) -> list[list[tuple[str, str]]]:
        """The first ``max_rows`` rows as (text, css class) cells, each column formatted alike."""
        head = self.frame.head(self.max_rows)
        columns = [format_column(head.iloc[:, i]) for i in range(head.shape[1])]
        classes = [_css_class(head.columns[i], head.iloc[:, i]) for i in range(head.shape[1])]
        return [[(columns[c][r], classes[c] or ("light-" + columns[c][r].replace(" ", "-")
                                                 if str(head.columns[c]) == "light" else ""))
                 for c in range(len(columns))] for r in range(len(head))]


@dataclass
class Section:
    title: str
    anchor: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, png)


TINY = 1e-4  # smaller non-zero numbers print as "< 0.0001", never in exponent notation


def _float_text(v: float, decimals: int) -> str:
    if v != 0 and abs(v) < TINY and decimals >= 4:
        return "< 0.0001" if v > 0 else "> -0.0001"
    return f"{v:,.{decimals}f}"


def _decimals(magnitude: float) -> int:
    """Decimals for numbers up to ``magnitude``: 4 below 100 (rates, AUCs, p-values), 1 up to
    100,000 (points, statistics), none above."""
    return 4 if magnitude < 100 else 1 if magnitude < 1e5 else 0


def _fmt(value: Any) -> str:
    """One value as the report prints it (see :func:`format_column` for a column of them)."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return "∞" if v > 0 else "−∞"
        if v.is_integer() and abs(v) >= 1:  # counts and points stored as floats
            return f"{int(v):,}"
        return _float_text(v, _decimals(abs(v)))
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def format_column(col: pd.Series) -> list[str]:
    """A column's values as text with one number format for the whole column: a float column
    whose values are all whole prints as integers, otherwise every value gets the decimals its
    largest value needs (so ``1.0000`` stands next to ``0.9995``, never ``1``)."""
    if pd.api.types.is_float_dtype(col.dtype):
        v = col.to_numpy(dtype=float)
        finite = v[np.isfinite(v)]
        if len(finite) and np.all(finite == np.round(finite)) and np.all((np.abs(finite) >= 1) | (finite == 0)):
            return [_fmt(int(x)) if np.isfinite(x) else _fmt(float(x)) for x in v]
        decimals = _decimals(float(np.max(np.abs(finite)))) if len(finite) else 4
        return [_float_text(float(x), decimals) if np.isfinite(x) else _fmt(float(x)) for x in v]
    return [_fmt(x) for x in col.tolist()]


WRAPPED = ("detail", "limitation", "reason", "reasons")  # prose columns wrap instead of widening the table


def _css_class(name: Any, col: pd.Series) -> str:
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return ""
    if str(name) in WRAPPED:
        return "text wrap"
    return "text" if str(name) != "light" else ""


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("models", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["fmt"] = _fmt
    env.filters["b64"] = lambda png: base64.b64encode(png).decode("ascii")
    return env


def render_report(title: str, subtitle: str, headline: list[tuple[str, Any]], sections: list[Section],
                  identity: list[tuple[str, str]] | None = None, verdict: tuple[str, str] | None = None) -> str:
    """Render the HTML report. ``headline``: (label, value) pairs shown at the top;
    ``identity``: (label, text) pairs naming what was validated, in the header;
    ``verdict``: (light, sentence) shown under the header (the promotion decision)."""
    template = _environment().get_template("report.html.j2")
    return template.render(title=title, subtitle=subtitle, headline=headline, sections=sections,
                           identity=identity or [], verdict=verdict)


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):  # e.g. the promotion decision
        return _jsonable(dataclasses.asdict(obj))
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
