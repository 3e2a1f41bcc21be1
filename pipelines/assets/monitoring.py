"""Monitoring: the champion on like-for-like populations and the early performance of recent vintages."""

import dagster as dg
import numpy as np
import pandas as pd

from features.sample import ModelingSample, newest_applications
from models.candidate import CreditModel
from models.monitoring import (
    Bands,
    ChampionMonitor,
    MonitoringPolicy,
    MonitoringResult,
    early_delinquency,
)
from models.serving import CreditScoreModel
from pipelines.config import PortfolioConfig
from pipelines.monitoring_report import log_monitoring_run, write_monitoring_report
from pipelines.registry_store import load_champion_model
from pipelines.resources import MlflowResource, PortfolioResource, WorkdirResource
from pipelines.storage import mlflow_run_link

CHECKS = {
    "score_psi": "score PSI of through-the-door (and approved) applications now against the development window",
    "csi": "CSI of every champion feature, through the door now against the development window",
    "early_delinquency": "early delinquency of recent vintages per grade against the champion's grades (one-sided binomial)",
}
SEVERITY = {"amber": dg.AssetCheckSeverity.WARN, "red": dg.AssetCheckSeverity.ERROR}


@dg.asset(group_name="monitoring", deps=["registered_model"],
          check_specs=[dg.AssetCheckSpec(name, asset="monitoring", description=text) for name, text in CHECKS.items()])
def monitoring(context: dg.AssetExecutionContext, portfolio: PortfolioResource, mlflow: MlflowResource,
               workdir: WorkdirResource, applications: pd.DataFrame, performance: pd.DataFrame,
               modeling_sample: ModelingSample):
    """The champion on today's applications against its development window; report and MLflow run per evaluation."""
    cfg = portfolio.load()
    champion = load_champion_model(mlflow, cfg.model_name)
    if champion is None:  # e.g. the first model awaits approval: nothing in production to monitor yet
        context.log.info(f"monitoring: {cfg.model_name} has no champion yet")
        yield dg.Output(None, metadata={"status": "no champion"})
        for name in CHECKS:
            yield dg.AssetCheckResult(check_name=name, passed=True, metadata={"tier": "no champion"})
        return
    result = monitor_champion(cfg, champion.model, applications, performance, modeling_sample)
    out = workdir.run_dir(context.run.run_id) / "monitoring"
    html, _ = write_monitoring_report(result, out, f"Monitoring of {cfg.model_name} version {champion.version}")
    run_id = log_monitoring_run(mlflow, cfg, context.run.run_id, champion.version, result, out)
    (context.log.warning if result.status != "green" else context.log.info)(
        f"monitoring {result.status}: score PSI {result.score_psi:.4f} ({result.score_tier}), CSI {result.csi_tier}, "
        f"early delinquency {result.early_tier}")
    worst = result.csi.iloc[0] if len(result.csi) else None
    yield dg.Output(result, metadata={
        "status": result.status, "score_psi": result.score_psi, "score_tier": result.score_tier,
        "csi_tier": result.csi_tier, "early_tier": result.early_tier,
        "worst_feature": f"{worst['feature']} {worst['csi']:.3f}" if worst is not None else "",
        "approval_rate": result.approval["current_rate"], "champion_version": str(champion.version),
        "report": dg.MetadataValue.path(str(html)), "mlflow_run": mlflow_run_link(run_id)})
    for name, level in (("score_psi", result.score_tier), ("csi", result.csi_tier), ("early_delinquency", result.early_tier)):
        yield dg.AssetCheckResult(check_name=name, passed=level == "green", severity=SEVERITY.get(level, dg.AssetCheckSeverity.WARN),
                                  metadata={"tier": level})


def policy(cfg: PortfolioConfig) -> MonitoringPolicy:
    m = cfg.monitoring
    return MonitoringPolicy(psi=Bands(m.psi_warn, m.psi_alert), csi=Bands(m.csi_warn, m.csi_alert),
                            early_ratio=Bands(m.early_ratio_warn, m.early_ratio_alert), significance=m.significance)


def monitor_champion(cfg: PortfolioConfig, champion, applications: pd.DataFrame, performance: pd.DataFrame,
                     modeling_sample: ModelingSample) -> MonitoringResult:
    """Score the development window's and today's through-the-door applications with the champion (its own
    registered scoring pipeline, which reads raw rows as in training) and compare.

    The development window is the application months of the last retrain's development split;
    every application of those months counts (rejects included), as every application counts now.

    Every row any comparison reads (development window, newest months, recent vintages) is read and scored
    once, and only the columns the champion reads are taken from ``applications``; no reason codes are
    computed (PSI, CSI, grades and early delinquency read the PD, score, grade and inputs only).
    """
    m = cfg.monitoring
    pipeline = champion.unwrap_python_model().pipeline  # raw rows in, as `creditpipe score` reads them
    ids = applications["application_id"].to_numpy()
    dated = "application_date" in applications.columns
    app_month = (pd.to_datetime(applications["application_date"]).dt.to_period("M") if dated
                 else pd.Series(pd.NaT, index=applications.index))
    if dated and "application_month" in modeling_sample.sample.columns:
        dev_months = pd.to_datetime(modeling_sample.split("dev")["application_month"]).dt.to_period("M").unique()
        in_reference = app_month.isin(dev_months).to_numpy()
    else:  # undated: the development rows themselves (approved, labelled) are all there is to compare with
        in_reference = np.isin(ids, modeling_sample.split("dev")["application_id"].to_numpy())
    in_current = _positions_mask(newest_applications(_date_column(applications), m.recent_months), len(applications))
    early = (early_delinquency(performance, app_month.set_axis(ids), m.early_dpd, m.early_mob)
             if dated and len(performance) else pd.Series(dtype=float))
    in_recent = recent_vintage_rows(ids, app_month, early, m.early_vintages)

    # the reference rows, then the current rows, then recent loans in neither: each comparison reads one
    # contiguous block (a view, not a copy) in the applications' order; a row in two populations is scored twice
    ref_rows, cur_rows = np.flatnonzero(in_reference), np.flatnonzero(in_current)
    scored = np.concatenate([ref_rows, cur_rows, np.flatnonzero(in_recent & ~in_reference & ~in_current)])
    ref, cur = slice(0, len(ref_rows)), slice(len(ref_rows), len(ref_rows) + len(cur_rows))
    place = np.full(len(applications), -1)
    place[scored[::-1]] = np.arange(len(scored))[::-1]  # each application's first place among the scored rows
    recent = place[np.flatnonzero(in_recent)]

    wanted = {*pipeline.input_columns, *pipeline.feature_columns, "decision"}
    rows = pd.DataFrame({c: applications[c].take(scored) for c in applications.columns if c in wanted})
    approved = ((rows["decision"] == "approved").to_numpy() if "decision" in rows.columns
                else np.ones(len(rows), bool))
    X, decided = pipeline.decisions(rows)
    del rows  # the model's input and decisions are all the comparisons read

    monitor = ChampionMonitor(policy(cfg), m.approval_cutoff).fit(
        decided.iloc[ref], X.iloc[ref], approved[ref], early.reindex(ids[ref_rows]).to_numpy())
    recent_early = (pd.DataFrame({"grade": decided["grade"].to_numpy()[recent],
                                  "early": early.reindex(ids[scored[recent]]).to_numpy()})
                    if in_recent.any() else None)
    return monitor.evaluate(decided.iloc[cur], X.iloc[cur], approved[cur], recent_early,
                            model_features=model_features(champion))


def _date_column(applications: pd.DataFrame) -> pd.DataFrame:
    """The application date alone, positions as index (what :func:`newest_applications` reads; no copy of the rest)."""
    if "application_date" not in applications.columns:
        return pd.DataFrame(index=pd.RangeIndex(len(applications)))
    return pd.DataFrame({"application_date": applications["application_date"].to_numpy()})


def _positions_mask(frame: pd.DataFrame, n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[frame.index.to_numpy()] = True
    return mask


def model_features(champion) -> list[str] | None:
    """The inputs the champion's fitted model reads (a scorecard reads its selected variables only)."""
    wrapper = champion.unwrap_python_model()
    if isinstance(wrapper, CreditScoreModel) and isinstance(wrapper.pipeline.model, CreditModel):
        return list(wrapper.pipeline.model.estimator.features_)
    return None


def recent_vintage_rows(ids: np.ndarray, app_month: pd.Series, early: pd.Series, vintages: int) -> np.ndarray:
    """Which applications are the loans of the newest ``vintages`` vintages observable for early delinquency."""
    observed = early.dropna()
    if observed.empty:
        return np.zeros(len(ids), bool)
    loans = np.isin(ids, observed.index.to_numpy())
    months = app_month[loans]
    return loans & app_month.isin(np.sort(months.unique())[-vintages:]).to_numpy()
