"""Notifications: red monitoring, failed contracts and failed runs at once; amber monitoring as a daily digest.

Two channels, both optional, configured under ``alerts`` in the portfolio config: e-mail over
SMTP with STARTTLS, and a generic JSON webhook. Credentials and webhook URLs are read from
environment variables that the config *names*; their values never enter a config file, a
log line, a message or an artifact.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

import requests

from features.errors import ConfigError, CreditPipelineError
from pipelines.config import AlertsConfig, PortfolioConfig

SEVERITIES = ("amber", "red", "failure")


class AlertDeliveryError(CreditPipelineError):
    """A configured alert channel refused or could not be reached."""


@dataclass(frozen=True)
class Alert:
    """One notification; ``details`` must hold no secret and no PII (metrics, ids, paths)."""

    severity: str  # amber | red | failure
    portfolio: str
    title: str
    body: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ConfigError(f"alert severity {self.severity!r} is not one of {SEVERITIES}")

    def payload(self) -> dict:
        return {"source": "credit-pipeline", **asdict(self)}


def _env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"alerts: environment variable {name} ({what}) is not set")
    return value


def send_email(cfg, alert: Alert) -> None:
    msg = EmailMessage()
    msg["Subject"] = f"[credit-pipeline {alert.severity.upper()}] {alert.portfolio}: {alert.title}"
    msg["From"] = cfg.sender
    msg["To"] = ", ".join(cfg.to)
    details = "\n".join(f"  {k}: {v}" for k, v in alert.details.items())
    msg.set_content(f"{alert.body}\n\n{details}\n" if details else alert.body + "\n")
    try:
        with smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds) as smtp:
            smtp.ehlo()
            if cfg.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=cfg.ca_file))
                smtp.ehlo()
            if cfg.username_env:
                smtp.login(_env(cfg.username_env, "SMTP user"),
                           _env(cfg.password_env, "SMTP password") if cfg.password_env else "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:  # the message names the server, never the login
        raise AlertDeliveryError(f"alerts: e-mail via {cfg.host}:{cfg.port} failed: {type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0] if str(exc) else ''}") from None


def send_webhook(cfg, alert: Alert) -> None:
    url = _env(cfg.url_env, "webhook URL")
    headers = {"Content-Type": "application/json"}
    if cfg.token_env:
        headers["Authorization"] = f"Bearer {_env(cfg.token_env, 'webhook token')}"
    try:
        resp = requests.post(url, data=json.dumps(alert.payload(), default=str), headers=headers,
                             timeout=cfg.timeout_seconds)
        resp.raise_for_status()
    except requests.RequestException as exc:  # the URL may carry a token: name the variable, not the URL
        status = getattr(exc.response, "status_code", None)
        raise AlertDeliveryError(f"alerts: webhook ${cfg.url_env} failed: {type(exc).__name__}"
                                 + (f" (HTTP {status})" if status else "")) from None


def notify(cfg: AlertsConfig, alert: Alert) -> list[str]:
    """Send ``alert`` on every configured channel; returns the channels that delivered it.

    Every channel is tried even when one fails; then the failures are raised together.
    """
    delivered, errors = [], []
    for name, channel, send in (("email", cfg.email, send_email), ("webhook", cfg.webhook, send_webhook)):
        if channel is None:
            continue
        try:
            send(channel, alert)
            delivered.append(name)
        except CreditPipelineError as exc:
            errors.append(str(exc))
    if errors:
        raise AlertDeliveryError("; ".join(errors))
    return delivered


# --------------------------------------------------------------------------- what is alerted

def _meta_value(value):
    return getattr(value, "value", value)


def monitoring_alert(cfg: PortfolioConfig, metadata: dict, run_id: str) -> Alert:
    """The alert for one monitoring materialization (its metadata as the monitoring asset records it)."""
    m = {k: _meta_value(v) for k, v in metadata.items()}
    status = str(m.get("status", "green"))
    return Alert(
        severity="red" if status == "red" else "amber", portfolio=cfg.portfolio,
        title=f"monitoring {status.upper()} for {cfg.model_name} version {m.get('champion_version', '?')}",
        body=(f"The champion's monitoring is {status}: score PSI {float(m.get('score_psi', float('nan'))):.3f} "
              f"({m.get('score_tier')}), CSI {m.get('csi_tier')} (worst: {m.get('worst_feature')}), "
              f"early delinquency {m.get('early_tier')}."
              + (" A retrain has been requested." if status == "red" else "")),
        details={"dagster_run_id": run_id, "report": m.get("report"), "mlflow_run": m.get("mlflow_run")},
    )


def amber_digest(instance, cfg: PortfolioConfig, since: float) -> str:
    """Send one message with the amber monitoring results since ``since`` (epoch seconds); say what was done."""
    import dagster as dg

    records = instance.fetch_materializations(dg.AssetKey("monitoring"), limit=200).records
    amber = [r for r in records if r.timestamp >= since and r.asset_materialization
             and _meta_value(r.asset_materialization.metadata.get("status")) == "amber"]
    if not amber:
        return "no amber monitoring result in the last 24 hours"
    if cfg.alerts.email is None and cfg.alerts.webhook is None:
        return f"{len(amber)} amber monitoring result(s); no alert channel configured"
    lines = [monitoring_alert(cfg, r.asset_materialization.metadata, r.run_id).body + f" (run {r.run_id})" for r in amber]
    notify(cfg.alerts, Alert(severity="amber", portfolio=cfg.portfolio,
                             title=f"daily digest: {len(amber)} amber monitoring result(s)",
                             body="\n".join(lines), details={"results": len(amber)}))
    return f"digest of {len(amber)} amber monitoring result(s) sent"


def failure_alert(cfg: PortfolioConfig, run_id: str, job_name: str, message: str, failed_checks: list[str]) -> Alert:
    if failed_checks:
        title = f"data contract failed in {job_name}"
        body = (f"The loan book broke its data contract ({', '.join(failed_checks)}); nothing downstream ran and the "
                f"registry and champion are unchanged. {message}")
    else:
        title = f"run of {job_name} failed"
        body = message
    return Alert(severity="failure", portfolio=cfg.portfolio, title=title, body=body,
                 details={"dagster_run_id": run_id, "job": job_name})
