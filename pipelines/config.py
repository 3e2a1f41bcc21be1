"""The portfolio config: one YAML per portfolio, validated on load.

Every key but ``source`` has a default, so a config holding only a ``source`` block
runs. Unknown keys and bad values are a :class:`~features.errors.ConfigError` that
names the key. Paths are relative to the directory ``creditpipe`` is run from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.errors import ConfigError
from features.outcomes import BadDefinition


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceValues(_Strict):
    """The lender's codes mapped to our vocabulary (``our value: [their codes]``)."""

    decision: dict[Literal["approved", "rejected"], list[str]] = Field(default_factory=dict)
    # unmapped status codes are derived from days past due (delinquent when > 0, else current)
    status: dict[Literal["current", "delinquent", "charged_off", "paid_off"], list[str]] = Field(default_factory=dict)


class WarehouseSource(_Strict):
    """Loan history (``applications`` + ``performance``) in a SQL warehouse, or CSV/Parquet files.

    ``columns`` maps our role names to the lender's columns; every application column that
    is not a role, not PII and not in ``exclude`` is a candidate feature.
    """

    kind: Literal["warehouse"] = "warehouse"
    url: str = "duckdb:///.data/warehouse.duckdb"
    tables: dict[Literal["applications", "performance"], str] = Field(default_factory=dict)
    columns: dict[Literal["applications", "performance"], dict[str, str]] = Field(default_factory=dict)
    values: SourceValues = SourceValues()
    months_on_book_starts_at: Literal[0, 1] = 1  # the lender's first month on book (the month after the application)
    delinquency_codes: dict[str, int] | None = None  # bucket code -> days past due, when the column holds codes
    exclude: list[str] = Field(default_factory=list)  # application columns never used as features
    as_of: str | None = None  # last observed month (YYYY-MM); default: newest snapshot_month

    @field_validator("delinquency_codes", mode="before")
    @classmethod
    def _codes_as_text(cls, codes: Any) -> Any:
        # YAML reads {0: 0, 1: 30} with integer keys; the codes are compared as text
        return {str(k): v for k, v in codes.items()} if isinstance(codes, dict) else codes

    @field_validator("delinquency_codes")
    @classmethod
    def _codes_are_days(cls, codes: dict[str, int] | None) -> dict[str, int] | None:
        if codes is not None and any(v < 0 for v in codes.values()):
            raise ValueError("delinquency_codes map a code to days past due (>= 0)")
        return codes

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url.startswith(("duckdb:///", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError(
                f"source.url {url!r} is not a supported warehouse URL: use duckdb:///relative/path.duckdb,"
                " duckdb:////absolute/path.duckdb or postgresql://user@host:port/db"
            )
        return url


class TableSource(_Strict):
    """A flat application table with a ready target (CSV or Parquet)."""

    kind: Literal["table"] = "table"
    path: str
    target: str
    bad_values: list[Any] = Field(min_length=1)
    id: str | None = None
    date: str | None = None
    exclude: list[str] = Field(default_factory=list)
    types: dict[str, Literal["numeric", "categorical"]] = Field(default_factory=dict)


Source = Annotated[WarehouseSource | TableSource, Field(discriminator="kind")]


class BadDefinitionConfig(_Strict):
    dpd_threshold: int = Field(90, ge=1)
    performance_window: int = Field(12, ge=1, le=120)
    bad_statuses: list[str] = Field(default_factory=lambda: ["charged_off"])
    indeterminate_dpd: tuple[int, int] | None = None
    closed_early: Literal["good_if_clean", "exclude", "immature"] = "good_if_clean"

    def build(self) -> BadDefinition:
        return BadDefinition(
            dpd_threshold=self.dpd_threshold,
            performance_window=self.performance_window,
            bad_statuses=tuple(self.bad_statuses),
            indeterminate_dpd=self.indeterminate_dpd,
            closed_early=self.closed_early,
        )


class SampleConfig(_Strict):
    oot_months: int = Field(3, ge=0, description="most recent matured application months held out of time")
    test_fraction: float = Field(0.3, gt=0, lt=1)
    # share of development (after test is held out) kept for early stopping, search, calibration and choice
    validation_fraction: float = Field(0.25, gt=0, lt=1)
    development_start: str | None = None  # YYYY-MM, first application month used
    oot_start: str | None = None  # YYYY-MM; overrides oot_months
    seed: int = 42
    # applications of one customer stay in one of development / validation / test (when the column exists)
    customer_column: str | None = "customer_id"


MonotonicTrend = Literal["auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "peak", "valley",
                         "convex", "concave", "peak_heuristic", "valley_heuristic"]


class BinningConfig(_Strict):
    max_n_bins: int = Field(8, ge=2, le=50)
    min_bin_size: float = Field(0.05, gt=0, le=0.5)
    monotonic_trend: MonotonicTrend | None = "auto_asc_desc"
    monotonic_trends: dict[str, MonotonicTrend | None] = Field(default_factory=dict)  # per variable override
    special_codes: dict[str, list[float]] = Field(default_factory=lambda: {"bureau_score": [-1, -2]})
    fixed_splits: dict[str, list[float]] = Field(default_factory=dict)
    categorical: list[str] = Field(default_factory=list)  # extra columns to treat as categorical
    cat_cutoff: float | None = Field(None, gt=0, le=1)  # categories rarer than this share grouped as 'others'
    n_jobs: int | None = Field(None, ge=1)  # threads solving variables at once (None: min(2, cores)); bins do not depend on it


class SelectionConfig(_Strict):
    min_iv: float = Field(0.02, ge=0)
    max_iv: float | None = Field(None, gt=0)  # above this a variable is dropped as a likely leak
    warn_iv: float = Field(0.5, gt=0)  # above this a variable is kept but flagged
    max_correlation: float = Field(0.7, gt=0, le=1)
    max_vif: float = Field(10.0, ge=1)  # variance inflation against the variables already kept
    max_csi: float = Field(0.25, gt=0)  # CSI development vs comparison rows (creditpipe bin: out-of-time)
    max_features: int = Field(20, ge=1)


class ScorecardConfig(_Strict):
    C: float = Field(1.0, gt=0)
    max_iter: int = Field(1000, ge=10)


class XGBoostConfig(_Strict):
    enabled: bool = True
    search_seconds: float = Field(300.0, ge=0)  # time box of the search (a safety net: hitting it costs determinism)
    n_search: int = Field(6, ge=1)
    # the search's candidates fit on a stratified, seeded subsample of this many fit rows (its cost stays flat as the
    # book grows), then the winner is refitted on all fit rows; null: the search fits every candidate on all fit rows
    search_rows: int | None = Field(50_000, ge=100)
    # early stopping reads the validation AUC every this many rounds (1: every round); scoring the validation rows each
    # round costs more than growing a tree on the search subsample (models/challenger.py, "Early stopping")
    eval_every: int = Field(5, ge=1, le=50)
    # the search's winner: the cheapest candidate (rounds x max_depth) whose validation AUC is within one standard error
    # (paired DeLong) of the best one's, or "best_auc" (models/challenger.py, "Search")
    choose: Literal["best_auc", "simplest_within_one_se"] = "simplest_within_one_se"
    # monotone constraints: "requested" = from the fitted WOE trend of every variable the modeler gave a
    # binning.monotonic_trends entry; "binning" = of every monotone numeric variable; "none"; or per feature +1/-1
    monotone: Literal["requested", "binning", "none"] | dict[str, Literal[-1, 1]] = "requested"
    params: dict[str, Any] = Field(default_factory=dict)  # fixed XGBoost parameters (override the search)


class HistGradientBoostingConfig(_Strict):
    enabled: bool = False
    params: dict[str, Any] = Field(default_factory=dict)


class CalibrationConfig(_Strict):
    """PD calibration, fitted on the validation rows (never on the rows a model was fitted on)."""

    method: Literal["platt", "isotonic", "none"] = "platt"
    long_run_default_rate: float | None = Field(None, gt=0, lt=1)  # central tendency the mean PD is anchored to
    pd_floor: float = Field(0.0003, ge=0, lt=1)  # lowest PD handed out (0.03 %)
    test_alpha: float = Field(0.01, gt=0, lt=0.5)  # level of the binomial, Jeffreys and Hosmer-Lemeshow tests
    # models.final_fit "development": calibration and master scale on out-of-fold PDs of this many folds of development
    cross_fit_folds: int = Field(3, ge=2, le=10)


class ModelsConfig(_Strict):
    scorecard: ScorecardConfig = ScorecardConfig()
    xgboost: XGBoostConfig = XGBoostConfig()
    hist_gradient_boosting: HistGradientBoostingConfig = HistGradientBoostingConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    grades: int = Field(10, ge=2, le=30)
    reason_codes: int = Field(4, ge=1, le=10)
    labels: dict[str, str] = Field(default_factory=dict)  # feature → plain words for reason codes
    exact_reasons: bool = False  # tree models: exact TreeSHAP reason codes (over 100x slower at depth 5; README) instead of path attribution
    # which candidate is registered: the best validation AUC, or the scorecard (test is only reported)
    choose_by: Literal["validation_auc", "scorecard"] = "validation_auc"
    # after the choice, each candidate's settled configuration is refitted on all development rows (fit + validation) and
    # calibrated on cross-fitted out-of-fold PDs ("development"), or kept as fitted on the fit rows ("fit_rows");
    # "auto": "development" when the fit rows hold fewer than refit_below_bads bads, else "fit_rows" (models/protocol.py)
    final_fit: Literal["auto", "development", "fit_rows"] = "auto"
    refit_below_bads: int = Field(5_000, ge=0)
    walk_forward_origins: int = Field(3, ge=0, le=24)
    # an origin with more labelled rows before it develops on a stratified, seeded subsample of this many (the backtest
    # measures the procedure's stability, not the registered model); null: every row before the origin
    walk_forward_rows: int | None = Field(50_000, ge=100)
    # fit minus validation AUC above this is overfitting: a warning, a flag in metrics.json, and the search and the
    # choice pass such candidates over while another stays within it (0.10 AUC = 0.20 Gini)
    max_auc_gap: float = Field(0.10, gt=0, lt=1)

    @field_validator("calibration", mode="before")
    @classmethod
    def _calibration_method_alone(cls, value: Any) -> Any:
        return {"method": value} if isinstance(value, str) else value  # `calibration: platt` still reads

    @field_validator("choose_by", mode="before")
    @classmethod
    def _never_choose_on_test(cls, value: Any) -> Any:
        if value == "test_auc":
            raise ValueError("models.choose_by 'test_auc' would choose on the test rows, which are only reported; "
                             "use 'validation_auc'")
        return value


class ScalingConfig(_Strict):
    base_points: float = 600.0
    base_odds: float = Field(50.0, gt=0)  # good:bad odds at base_points
    pdo: float = Field(20.0, gt=0)


class PromotionConfig(_Strict):
    """When a run's model becomes champion: every gate passes and it beats the champion on the same rows."""

    metric: Literal["oot_auc"] = "oot_auc"
    min_improvement: float = Field(0.005, ge=0, lt=1)  # out-of-time AUC margin over the champion, same rows
    min_oot_auc: float = Field(0.6, ge=0, le=1)
    min_oot_ks: float = Field(0.15, ge=0, le=1)
    max_score_psi: float = Field(0.25, ge=0)  # score PSI, development vs out of time
    max_csi: float = Field(0.25, ge=0)  # CSI of every selected feature, development vs out of time
    require_rank_ordering: bool = True  # no significant bad-rate inversion between score deciles on test
    rank_ordering_alpha: float = Field(0.05, gt=0, lt=0.5)  # level of the one-sided Fisher test of each inversion
    four_eyes: bool = False  # promotion waits for `creditpipe approve` by another user

    def policy(self):
        from models.promotion import PromotionPolicy

        return PromotionPolicy(min_oot_auc=self.min_oot_auc, min_oot_ks=self.min_oot_ks, max_score_psi=self.max_score_psi,
                               max_csi=self.max_csi, require_rank_ordering=self.require_rank_ordering,
                               rank_ordering_alpha=self.rank_ordering_alpha,
                               margin=self.min_improvement, four_eyes=self.four_eyes)


class MonitoringConfig(_Strict):
    """Tiers: below ``*_warn`` green, from ``*_warn`` amber, from ``*_alert`` red."""

    psi_warn: float = Field(0.1, gt=0)  # score PSI, through-the-door now vs the development window
    psi_alert: float = Field(0.25, gt=0)
    csi_warn: float = Field(0.1, gt=0)  # CSI of each champion feature
    csi_alert: float = Field(0.25, gt=0)
    recent_months: int = Field(3, ge=1)  # the newest application months monitored
    early_dpd: int = Field(30, ge=1)  # early delinquency: ever `early_dpd`+ DPD by `early_mob` months on book
    early_mob: int = Field(3, ge=1, le=24)
    early_vintages: int = Field(3, ge=1)  # the newest vintages old enough to be observed at early_mob
    early_ratio_warn: float = Field(1.25, gt=1)  # observed / expected early delinquency in a grade
    early_ratio_alert: float = Field(1.5, gt=1)
    significance: float = Field(0.05, gt=0, lt=0.5)  # one-sided binomial test per grade: a tier needs p below this
    approval_cutoff: float | None = None  # score approved at or above; default: the development window's approval rate

    @model_validator(mode="after")
    def _bands_ordered(self) -> "MonitoringConfig":
        for name in ("csi", "early_ratio"):
            if getattr(self, f"{name}_warn") >= getattr(self, f"{name}_alert"):
                raise ValueError(f"monitoring.{name}_warn must be below monitoring.{name}_alert")
        return self


class OrchestrationConfig(_Strict):
    """Schedules, partitions and retries of the Dagster code location."""

    timezone: str = "UTC"  # of every schedule (IANA name)
    retrain_cron: str = "0 2 * * *"  # nightly_retrain
    monitoring_cron: str = "0 7 * * *"  # monitoring, after the day's applications have landed
    schedules_running: bool = True  # schedules and sensors start running with the daemon
    first_month: str = Field("2020-01", pattern=r"^\d{4}-\d{2}$")  # first application-month partition
    max_retries: int = Field(3, ge=0, le=10)  # transient I/O only (warehouse or MLflow unreachable)
    retry_delay_seconds: float = Field(2.0, ge=0)  # doubled at every attempt
    sensor_seconds: int = Field(60, ge=5)  # how often sensors look at monitoring results
    retention_days: float | None = Field(30.0, ge=0)  # runs' work and storage directories older than this go; None keeps all
    # the ingested tables' PII digests are kept in the asset store after the run (false: held in memory for the run only)
    keep_pii_digests: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, tz: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"orchestration.timezone {tz!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return tz


class EmailAlertConfig(_Strict):
    """SMTP with STARTTLS; the login comes from environment variables named here, never from the file."""

    host: str
    port: int = Field(587, ge=1, le=65535)
    sender: str
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    username_env: str | None = None  # environment variable holding the SMTP user
    password_env: str | None = None  # environment variable holding the SMTP password
    ca_file: str | None = None  # extra CA certificate (PEM) to trust, e.g. an internal relay's
    timeout_seconds: float = Field(10.0, gt=0)


class WebhookAlertConfig(_Strict):
    """A generic JSON webhook; its URL often carries a token, so it too comes from an environment variable."""

    url_env: str
    token_env: str | None = None  # sent as `Authorization: Bearer <token>`
    timeout_seconds: float = Field(10.0, gt=0)


class AlertsConfig(_Strict):
    """Red monitoring, failed contracts and failed runs immediately; amber monitoring as a daily digest."""

    email: EmailAlertConfig | None = None
    webhook: WebhookAlertConfig | None = None
    digest_cron: str = "0 8 * * *"  # the amber digest (orchestration.timezone)


class ContractConfig(_Strict):
    """How the data contracts are applied to this portfolio."""

    applications: str | None = None  # the lender's contract (YAML path); default: the demo book's
    performance: str | None = None
    drift_severity: Literal["warn", "error"] = "warn"  # a distribution shift against the last accepted batch
    baseline: bool = True  # compare with the last accepted batch (stored under the work directory)
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per contract (applications, performance, flat_table)


class SupervisoryConfig(_Strict):
    """Traffic lights of the supervisory PD tests (ECB validation-reporting instructions, 2019, section 2.5).

    p-value tests (Jeffreys, AUC vs initial validation, Herfindahl) are amber below ``p_amber``
    and red below ``p_red``; per-grade Jeffreys is red once ``red_grades`` grades are red; the
    migration matrix's larger weighted bandwidth is amber / red from ``mwb_amber`` / ``mwb_red``.
    PSI and CSI use the ``monitoring`` tiers.
    """

    p_amber: float = Field(0.10, gt=0, lt=1)
    p_red: float = Field(0.05, gt=0, lt=1)
    red_grades: int = Field(2, ge=1)
    mwb_amber: float = Field(0.20, gt=0, le=1)
    mwb_red: float = Field(0.30, gt=0, le=1)
    migration_months: int = Field(12, ge=1, le=120)  # ratings of one obligor at most this far apart form a migration

    @model_validator(mode="after")
    def _ordered(self) -> "SupervisoryConfig":
        if self.p_red >= self.p_amber:
            raise ValueError("supervisory.p_red must be below supervisory.p_amber")
        if self.mwb_amber >= self.mwb_red:
            raise ValueError("supervisory.mwb_amber must be below supervisory.mwb_red")
        return self


class ProtectedConfig(_Strict):
    """Protected attributes: fairness is measured on each, whether the model uses it or not.

    An attribute the data lacks is reported and skipped. ``used_as_feature``: a protected
    attribute among the model's features is a report warning (``warn``) or stops the run
    (``error``; exclude it from the features in ``source.exclude``). Numeric attributes are
    banded by ``bands`` (cut points) or their quintiles; the decision is PD at or below the
    cut-off that approves ``approval_rate`` of the held-out loans.
    """

    attributes: list[str] = Field(default_factory=lambda: ["age", "marital_status"])
    used_as_feature: Literal["warn", "error"] = "warn"
    bands: dict[str, list[float]] = Field(default_factory=dict)
    approval_rate: float = Field(0.8, gt=0, le=1)
    min_group_rows: int = Field(30, ge=1)  # smaller groups are shown, not judged by the four-fifths rule


class MlflowConfig(_Strict):
    experiment: str = "credit-pipeline"
    model_name: str | None = None  # default: credit-pipeline-<portfolio>


class PortfolioConfig(_Strict):
    portfolio: str = "demo"  # a config file without it is named after the file (load_config), never "demo"
    source: Source
    contract: ContractConfig = ContractConfig()
    bad_definition: BadDefinitionConfig = BadDefinitionConfig()
    sample: SampleConfig = SampleConfig()
    binning: BinningConfig = BinningConfig()
    selection: SelectionConfig = SelectionConfig()
    models: ModelsConfig = ModelsConfig()
    scaling: ScalingConfig = ScalingConfig()
    promotion: PromotionConfig = PromotionConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    orchestration: OrchestrationConfig = OrchestrationConfig()
    alerts: AlertsConfig = AlertsConfig()
    mlflow: MlflowConfig = MlflowConfig()
    supervisory: SupervisoryConfig = SupervisoryConfig()
    protected: ProtectedConfig = ProtectedConfig()

    @model_validator(mode="after")
    def _psi_bands_ordered(self) -> "PortfolioConfig":
        if self.monitoring.psi_warn >= self.monitoring.psi_alert:
            raise ValueError("monitoring.psi_warn must be below monitoring.psi_alert")
        return self

    @property
    def model_name(self) -> str:
        return self.mlflow.model_name or f"credit-pipeline-{self.portfolio}"


DEFAULT_CONFIG = {"source": {"kind": "warehouse", "url": "duckdb:///.data/warehouse.duckdb"}}


def parse_config(raw: dict[str, Any], origin: str = "config") -> PortfolioConfig:
    """Validate a config mapping; errors name the key and the problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of keys, got {type(raw).__name__}")
    if "source" not in raw:
        raise ConfigError(f"{origin}: the 'source' block is required (where the loan history is)")
    try:
        return PortfolioConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"] if not str(p).startswith(("function-", "tagged-union")))
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            value = err.get("input")  # the value given, when it is one (not a whole block, not a missing key)
            got = "" if err["type"] in ("extra_forbidden", "missing") or isinstance(value, (dict, list)) \
                else f", got {value!r}"
            problems.append(f"'{key}': {msg}{got}")
        raise ConfigError(f"{origin}: invalid portfolio config: " + "; ".join(problems)) from None


def load_config(path: str | Path | None) -> PortfolioConfig:
    """Load and validate a portfolio config YAML; ``None`` gives the embedded demo config."""
    if path is None:
        return parse_config(DEFAULT_CONFIG, "default config")
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    raw = raw or {}
    if isinstance(raw, dict) and "portfolio" not in raw:
        # its own name, its own registered model: never the demo book's champion by accident
        raw = {"portfolio": path.stem, **raw}
    return parse_config(raw, str(path))
