"""Schedules: the nightly retrain, the daily monitoring, and the daily digest of amber monitoring results."""

from __future__ import annotations

import dagster as dg

from pipelines.alerts import amber_digest
from pipelines.config import PortfolioConfig


def _status(cfg: PortfolioConfig) -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if cfg.orchestration.schedules_running else dg.DefaultScheduleStatus.STOPPED


def build_schedules(cfg: PortfolioConfig, jobs: dict) -> list[dg.ScheduleDefinition]:
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

    return [retrain, monitoring, amber_digest_schedule]
