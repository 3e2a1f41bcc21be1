"""The result of validating input tables against their data contracts."""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from features.errors import DataContractError


@dataclass
class ContractResult:
    """One evaluated expectation.

    ``expected``/``observed`` are display strings in which every value taken from the data
    is HTML-escaped; ``example_keys`` are row keys (ids, never PII values) of failing rows.
    """

    table: str
    column: str | None
    expectation: str
    severity: str  # "error" | "warn"
    success: bool
    expected: str
    observed: str
    unexpected_count: int
    example_keys: list = field(default_factory=list)
    contract_version: str = ""
    engine: str = "gx"  # who evaluated it: "gx" (Great Expectations), "duckdb" or "pandas"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=False)


@dataclass
class ContractReport:
    results: list[ContractResult]
    run_id: str = "manual"
    as_of: str = ""
    contract_versions: dict[str, str] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    pii_columns: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, dict] = field(default_factory=dict)
    data_docs_path: Path | None = None
    summary_path: Path | None = None
    quarantine_paths: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, for benchmarks

    # -- verdict ----------------------------------------------------------------------
    @property
    def success(self) -> bool:
        """False when any error-severity expectation failed."""
        return not self.errors

    @property
    def errors(self) -> list[ContractResult]:
        return [r for r in self.results if not r.success and r.severity == "error"]

    @property
    def warnings(self) -> list[ContractResult]:
        return [r for r in self.results if not r.success and r.severity == "warn"]

    @property
    def tables(self) -> list[str]:
        return list(self.contract_versions)

    # -- views ------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        cols = list(ContractResult.__dataclass_fields__)
        return pd.DataFrame([r.to_dict() for r in self.results], columns=cols)

    def summary(self) -> dict[str, Any]:
        tables: dict[str, Any] = {}
        for table, version in self.contract_versions.items():
            rows = [r for r in self.results if r.table == table]
            tables[table] = {
                "contract_version": version,
                "rows": self.row_counts.get(table),
                "evaluated": len(rows),
                "evaluated_by_severity": {
                    sev: sum(1 for r in rows if r.severity == sev) for sev in ("error", "warn")
                },
                "failed": {sev: sum(1 for r in rows if not r.success and r.severity == sev) for sev in ("error", "warn")},
                "pii_columns": self.pii_columns.get(table, []),
            }
        return {
            "success": self.success,
            "run_id": self.run_id,
            "as_of": self.as_of,
            "contract_versions": dict(self.contract_versions),
            "tables": tables,
            "data_docs_path": str(self.data_docs_path) if self.data_docs_path else None,
            "quarantine_paths": {t: str(p) for t, p in self.quarantine_paths.items()},
            "results": [_jsonable(r.to_dict()) for r in self.results],
        }

    def _paragraph(self, r: ContractResult) -> str:
        where = f"{r.table}.{_esc(r.column)}" if r.column else r.table
        text = (
            f"[{r.severity}] {where} (contract {r.table} {r.contract_version}, {r.expectation}): "
            f"expected {r.expected}; observed {r.observed}."
        )
        if r.example_keys:
            text += " Example rows: " + ", ".join(_esc(k) for k in r.example_keys[:5]) + "."
        return text

    def failure_message(self, include_warnings: bool = False) -> str:
        """One readable paragraph per failed error expectation (and warnings if asked)."""
        failed = self.errors + (self.warnings if include_warnings else [])
        if not failed:
            return "All data-contract expectations passed." if self.success else ""
        head = (
            f"Data contract check failed for run {self.run_id!r}: "
            f"{len(self.errors)} blocking error(s), {len(self.warnings)} warning(s)."
        )
        return "\n\n".join([head, *(self._paragraph(r) for r in failed)])

    def raise_for_errors(self) -> None:
        if not self.success:
            raise DataContractError(self.failure_message())

    def baseline(self) -> dict[str, Any]:
        """Null rates, means and category shares per column of this batch, to be stored as
        the "last accepted batch" and passed as ``baseline=`` to the next run."""
        return _jsonable(self.stats)

    def __repr__(self) -> str:  # a short one; the results list can be long
        return (
            f"ContractReport(success={self.success}, tables={self.tables}, "
            f"errors={len(self.errors)}, warnings={len(self.warnings)}, evaluated={len(self.results)})"
        )


def _jsonable(obj: Any) -> Any:
    """Plain JSON types only: numpy scalars become int/float/bool, NaN/inf become strings,
    timestamps and paths become str."""
    return json.loads(json.dumps(_finite(obj), default=_default, allow_nan=False))


def _finite(obj: Any) -> Any:
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return _finite(float(o))
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)
