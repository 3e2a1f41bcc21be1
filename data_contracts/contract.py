"""Data contracts: one YAML per input table, validated on load.

A contract states the columns (type, nullability, keys, ranges, categories, dates, PII),
row rules and cross-table relations GX cannot express natively, and the distribution
tolerances against the last accepted batch.  Every check resolves to a severity:
``error`` blocks the run, ``warn`` is reported and the run goes on.
"""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from features import loan_book
from features.errors import ConfigError

CONTRACT_DIR = Path(__file__).resolve().parent

Severity = Literal["error", "warn"]
ColumnType = Literal["integer", "float", "string", "date", "boolean"]
ColumnCheck = Literal[
    "exists", "type", "not_null", "not_all_null", "unique", "min", "max", "categories", "not_future", "min_date", "finite"
]
RelationName = Literal[
    "approved_application", "snapshot_after_application_month", "months_on_book_consistent", "contiguous_history"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Strict):
    type: ColumnType
    nullable: bool = True
    allow_all_null: bool = False  # a nullable column entirely null is an error unless allowed
    unique: bool = False
    pii: bool = False
    min: float | None = None
    max: float | None = None
    special_codes: list[float] = Field(default_factory=list)
    # a list of allowed values, or "loan_book" for features.loan_book.CATEGORIES[<column>]
    categories: list[str] | Literal["loan_book"] | None = None
    not_future: bool = False
    min_date: dt.date | None = None
    drift: bool = True  # compared against the last accepted batch
    severity: Severity | dict[ColumnCheck, Severity] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _coherent(self) -> "ColumnSpec":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        if (self.min is not None or self.max is not None or self.special_codes) and self.type not in ("integer", "float"):
            raise ValueError("min/max/special_codes need a numeric type")
        if (self.not_future or self.min_date) and self.type != "date":
            raise ValueError("not_future/min_date need type: date")
        if self.categories is not None and self.type != "string":
            raise ValueError("categories need type: string")
        return self


class RowCount(_Strict):
    min: int = Field(1, ge=0)
    max: int | None = None
    severity: Severity = "error"


class RowRule(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    column: str | None = None
    sql: str
    needs: list[str] = Field(default_factory=list)
    description: str = ""
    severity: Severity = "error"


class Relation(_Strict):
    severity: Severity = "error"


class Distribution(_Strict):
    severity: Severity = "warn"
    null_rate_tolerance: float = Field(0.05, ge=0, le=1)
    mean_tolerance: float = Field(0.5, gt=0)
    share_tolerance: float = Field(0.10, ge=0, le=1)
    min_rows: int = Field(100, ge=1)


class TableContract(_Strict):
    """Contract of a table whose columns are known in advance (applications, performance)."""

    kind: Literal["table"] = "table"
    table: str
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str = ""
    default_severity: Severity = "error"
    key: list[str] = Field(default_factory=list)
    row_count: RowCount = RowCount()
    missing_columns: Severity = "error"
    extra_columns: Severity = "warn"
    columns: dict[str, ColumnSpec] = Field(min_length=1)
    rules: list[RowRule] = Field(default_factory=list)
    relations: dict[RelationName, Relation] = Field(default_factory=dict)
    distribution: Distribution = Distribution()

    @model_validator(mode="after")
    def _references(self) -> "TableContract":
        for k in self.key:
            if k not in self.columns:
                raise ValueError(f"key column {k!r} is not among the columns")
        for name, spec in self.columns.items():
            if spec.categories == "loan_book" and name not in loan_book.CATEGORIES:
                raise ValueError(f"columns.{name}: no categories for {name!r} in features.loan_book.CATEGORIES")
        for rule in self.rules:
            for c in [*rule.needs, *([rule.column] if rule.column else [])]:
                if c not in self.columns:
                    raise ValueError(f"rule {rule.name!r} refers to unknown column {c!r}")
        return self

    # -- resolved views -------------------------------------------------------------
    def severity(self, column: str, check: ColumnCheck) -> Severity:
        sev = self.columns[column].severity
        if isinstance(sev, str):
            return sev
        if isinstance(sev, dict) and check in sev:
            return sev[check]
        return self.default_severity

    def categories(self, column: str) -> list[str] | None:
        cats = self.columns[column].categories
        if cats == "loan_book":
            return list(loan_book.CATEGORIES[column])
        return cats

    @property
    def pii_columns(self) -> list[str]:
        return [c for c, s in self.columns.items() if s.pii]


class FlatChecks(_Strict):
    unique_column_names: Severity = "error"
    row_count: Severity = "error"
    target_present: Severity = "error"
    target_not_null: Severity = "error"
    target_values: Severity = "error"
    target_both_classes: Severity = "error"
    id_present: Severity = "error"
    id_not_null: Severity = "error"
    id_unique: Severity = "error"
    date_present: Severity = "error"
    date_parseable: Severity = "error"
    date_not_null: Severity = "error"
    date_not_future: Severity = "error"
    column_not_all_null: Severity = "error"
    no_infinities: Severity = "error"
    declared_numeric: Severity = "error"
    mixed_types: Severity = "error"
    numbers_as_text: Severity = "warn"


class FlatContract(_Strict):
    """Generic contract of a flat application table with a ready target."""

    kind: Literal["flat"] = "flat"
    table: str = "flat_table"
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str = ""
    checks: FlatChecks = FlatChecks()
    pii_columns: list[str] = Field(default_factory=lambda: list(loan_book.PII_COLUMNS))
    max_categories: int = Field(50, ge=1)
    distribution: Distribution = Distribution()


Contract = Annotated[Union[TableContract, FlatContract], Field(discriminator="kind")]
_ADAPTER: TypeAdapter = TypeAdapter(Contract)


def _deep_merge(base: dict, extra: Mapping) -> dict:
    out = copy.deepcopy(base)
    for k, v in extra.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_contract(raw: Any, origin: str = "contract", overrides: Mapping | None = None) -> TableContract | FlatContract:
    """Validate a contract mapping (plus optional overrides); errors name the key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: a data contract must be a mapping, got {type(raw).__name__}")
    raw = dict(raw)
    raw.setdefault("kind", "table")
    if overrides:
        raw = _deep_merge(raw, overrides)
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            if len(loc) > 1 and loc[0] in ("table", "flat"):
                loc = loc[1:]  # the discriminator tag
            # drop pydantic's union-branch labels such as "literal['error','warn']" or "[key]"
            loc = [p for p in loc if "[" not in p]
            key = ".".join(loc)
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problem = f"'{key}': {msg}"
            if problem not in problems:
                problems.append(problem)
        raise ConfigError(f"{origin}: invalid data contract: " + "; ".join(problems)) from None


def load_contract(
    name_or_path: str | Path | TableContract | FlatContract, overrides: Mapping | None = None
) -> TableContract | FlatContract:
    """Load and validate a contract: a packaged name (``"applications"``, ``"performance"``,
    ``"flat_table"``) or a path to a YAML file.  An unknown key or bad value is a ConfigError."""
    if isinstance(name_or_path, (TableContract, FlatContract)):
        if not overrides:
            return name_or_path
        return parse_contract(name_or_path.model_dump(mode="json"), name_or_path.table, overrides)
    text = str(name_or_path)
    path = Path(text)
    if not text.endswith((".yaml", ".yml")) and "/" not in text and "\\" not in text:
        path = CONTRACT_DIR / f"{text}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in CONTRACT_DIR.glob("*.yaml"))
        raise ConfigError(f"data contract {text!r} not found (packaged contracts: {', '.join(known)})")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"data contract {path} is not valid YAML: {exc}") from None
    return parse_contract(raw, str(path), overrides)
