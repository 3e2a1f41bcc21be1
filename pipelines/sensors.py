"""Sensors: red monitoring alerts at once and requests a retrain; a failed run or contract alerts."""

from __future__ import annotations

import dagster as dg

from features.errors import ConfigError
from pipelines.alerts import AlertDeliveryError, failure_alert, monitoring_alert, notify
from pipelines.config import PortfolioConfig


def _channels(cfg: PortfolioConfig) -> bool:
    return cfg.alerts.email is not None or cfg.alerts.webhook is not None


def _send(context, cfg: PortfolioConfig, alert) -> str:
    """Deliver, or log why not: a mail relay that is down must not stop the retrain request."""
    if not _channels(cfg):
        return "no alert channel configured"
    try:
        return "alert sent by " + ", ".join(notify(cfg.alerts, alert))
    except (AlertDeliveryError, ConfigError) as exc:
        context.log.error(str(exc))
        return f"alert not delivered: {exc}"


def build_sensors(cfg: PortfolioConfig, jobs: dict) -> list:
    running = (dg.DefaultSensorStatus.RUNNING if cfg.orchestration.schedules_running
               else dg.DefaultSensorStatus.STOPPED)

    @dg.asset_sensor(asset_key=dg.AssetKey("monitoring"), job=jobs["nightly_retrain"], name="retrain_on_red_monitoring",
                     minimum_interval_seconds=cfg.orchestration.sensor_seconds, default_status=running,
                     description="When monitoring turns red: alert at once and request nightly_retrain (one request "
                                 "per monitoring run; a retrain's own red result alerts but does not retrain again)")
    def retrain_on_red_monitoring(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        metadata = asset_event.asset_materialization.metadata
        status = getattr(metadata.get("status"), "value", None)
        if status != "red":
            return dg.SkipReason(f"monitoring {status} in run {asset_event.run_id}")
        context.log.warning(_send(context, cfg, monitoring_alert(cfg, metadata, asset_event.run_id)))
        run = context.instance.get_run_by_id(asset_event.run_id)
        if run is not None and run.job_name == "nightly_retrain":
            return dg.SkipReason(f"red monitoring came from retrain {asset_event.run_id}: alerted, no second retrain")
        return dg.RunRequest(run_key=f"red-monitoring-{asset_event.run_id}",
                             tags={"creditpipe/trigger": "red-monitoring", "creditpipe/monitoring_run": asset_event.run_id})

    @dg.run_failure_sensor(name="alert_on_run_failure", minimum_interval_seconds=cfg.orchestration.sensor_seconds,
                           default_status=running,
                           description="A failed run (a broken data contract included) alerts at once")
    def alert_on_run_failure(context: dg.RunFailureSensorContext):
        run = context.dagster_run
        failed_checks = []
        for record in context.instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = record.dagster_event.event_specific_data
            if not evaluation.passed:
                failed_checks.append(f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}")
        message = context.failure_event.message or ""
        context.log.info(_send(context, cfg, failure_alert(cfg, run.run_id, run.job_name, message, failed_checks)))

    return [retrain_on_red_monitoring, alert_on_run_failure]
