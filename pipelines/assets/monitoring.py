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
    """
    m = cfg.monitoring
    pipeline = champion.unwrap_python_model().pipeline  # raw rows in, as `creditpipe score` reads them
    dated = "application_date" in applications.columns
    app_month = (pd.to_datetime(applications["application_date"]).dt.to_period("M") if dated
                 else pd.Series(pd.NaT, index=applications.index))
    if dated and "application_month" in modeling_sample.sample.columns:
        dev_months = pd.to_datetime(modeling_sample.split("dev")["application_month"]).dt.to_period("M").unique()
        reference = applications[app_month.isin(dev_months).to_numpy()]
    else:  # undated: the development rows themselves (approved, labelled) are all there is to compare with
        reference = applications[applications["application_id"].isin(modeling_sample.split("dev")["application_id"])]
    current = newest_applications(applications, m.recent_months)

    def approved(frame: pd.DataFrame) -> np.ndarray:
        return (frame["decision"] == "approved").to_numpy() if "decision" in frame.columns else np.ones(len(frame), bool)

    early = (early_delinquency(performance, app_month.set_axis(applications["application_id"].to_numpy()), m.early_dpd,
                               m.early_mob) if dated and len(performance) else pd.Series(dtype=float))
    ref_early = early.reindex(reference["application_id"].to_numpy()).to_numpy()
    monitor = ChampionMonitor(policy(cfg), m.approval_cutoff).fit(
        pipeline.predict(reference), pipeline.input_frame(reference), approved(reference), ref_early)
    return monitor.evaluate(pipeline.predict(current), pipeline.input_frame(current), approved(current),
                            recent_vintages(applications, app_month, early, pipeline, m.early_vintages),
                            model_features=model_features(champion))


def model_features(champion) -> list[str] | None:
    """The inputs the champion's fitted model reads (a scorecard reads its selected variables only)."""
    wrapper = champion.unwrap_python_model()
    if isinstance(wrapper, CreditScoreModel) and isinstance(wrapper.pipeline.model, CreditModel):
        return list(wrapper.pipeline.model.estimator.features_)
    return None


def recent_vintages(applications, app_month, early: pd.Series, pipeline, vintages: int) -> pd.DataFrame | None:
    """Grade and early-delinquency flag of the approved loans of the newest ``vintages`` observable vintages."""
    observed = early.dropna()
    if observed.empty:
        return None
    loans = applications[applications["application_id"].isin(observed.index)]
    months = app_month[loans.index]
    loans = loans[months.isin(np.sort(months.unique())[-vintages:]).to_numpy()]
    return pd.DataFrame({"grade": pipeline.predict(loans)["grade"].to_numpy(),
                         "early": observed.reindex(loans["application_id"].to_numpy()).to_numpy()})
