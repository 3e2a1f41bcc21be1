"""Schedules: the nightly retrain, the daily monitoring, the daily digest of amber monitoring results and the
clean-up of old runs' directories."""

from __future__ import annotations

import dagster as dg

from pipelines.alerts import amber_digest
from pipelines.config import PortfolioConfig
from pipelines.storage import clean_old_runs


def _status(cfg: PortfolioConfig) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if cfg.orchestration.schedules_running else dg.DefaultScheduleStatus.STOPPED


def build_schedules(cfg: PortfolioConfig, jobs: dict, workdir: str = ".data/work") -> list[dg.ScheduleDefinition]:
    o = cfg.orchestration
    retrain = dg.ScheduleDefinition(
        name="nightly_retrain_schedule", job=jobs["nightly_retrain"], cron_schedule=o.retrain_cron,
        execution_timezone=o.timezone, default_status=_status(cfg),
        description=f"Retrain portfolio '{cfg.portfolio}' every night ({o.retrain_cron}, {o.timezone}): the whole graph, "
                    "the champion moves only if the promotion policy says so",
    )
    monitoring = dg.ScheduleDefinition(
        name="monitoring_schedule", job=jobs["daily_monitoring"], cron_schedule=o.monitoring_cron,
        execution_timezone=o.timezone, default_status=_status(cfg),
        description=f"Monitor the champion on the newest applications once they have landed ({o.monitoring_cron}, "
                    f"{o.timezone}); red requests a retrain and alerts at once, amber goes into the daily digest",
    )

    @dg.schedule(name="amber_digest_schedule", cron_schedule=cfg.alerts.digest_cron, execution_timezone=o.timezone,
                 job=jobs["daily_monitoring"], default_status=_status(cfg),
                 description="Once a day: one message listing the amber monitoring results of the last 24 hours "
                             "(red ones were sent at once); launches no run")
    def amber_digest_schedule(context: dg.ScheduleEvaluationContext):
        sent = amber_digest(context.instance, cfg, since=context.scheduled_execution_time.timestamp() - 86400)
        return dg.SkipReason(sent)

    @dg.schedule(name="retention_schedule", cron_schedule="30 3 * * *", execution_timezone=o.timezone,
                 job=jobs["validate_only"], default_status=_status(cfg),
                 description=f"Once a day: delete runs' work and storage directories older than {o.retention_days} days "
                             "(orchestration.retention_days; reports stay in MLflow); launches no run")
    def retention_schedule(context: dg.ScheduleEvaluationContext):
        if o.retention_days is None:
            return dg.SkipReason("orchestration.retention_days is null: every run's directories are kept")
        removed = clean_old_runs(o.retention_days, workdir, context.instance.storage_directory())
        return dg.SkipReason(f"removed {len(removed)} run directories older than {o.retention_days} days")

    return [retrain, monitoring, amber_digest_schedule, retention_schedule]
