"""Alerts through a REAL SMTP server (aiosmtpd, STARTTLS with a self-signed certificate, login) and a REAL
HTTP webhook receiver, both on 127.0.0.1; the sensors that send them, on a real (ephemeral) Dagster instance."""

from __future__ import annotations

import socket

import dagster as dg
import pytest

from features.errors import ConfigError
from pipelines.alerts import (
    Alert,
    AlertDeliveryError,
    amber_digest,
    failure_alert,
    monitoring_alert,
    notify,
)
from pipelines.config import parse_config
from pipelines.jobs import build_jobs
from pipelines.sensors import build_sensors
from tests.mailhooks import smtp_server, webhook_receiver

USER, PASSWORD, TOKEN = "risk-alerts", "s3cret-Pa55-never-logged", "tok-9f8e7d-never-logged"


@pytest.fixture
def receivers(tmp_path, monkeypatch):
    with smtp_server(tmp_path, USER, PASSWORD) as (port, cert, mailbox), webhook_receiver() as (url, hooks):
        monkeypatch.setenv("T_SMTP_USER", USER)
        monkeypatch.setenv("T_SMTP_PASSWORD", PASSWORD)
        monkeypatch.setenv("T_HOOK_URL", url)
        monkeypatch.setenv("T_HOOK_TOKEN", TOKEN)
        cfg = parse_config({
            "portfolio": "cards", "source": {"kind": "warehouse"},
            "alerts": {"email": {"host": "127.0.0.1", "port": port, "sender": "pipeline@bank.test", "to": ["risk@bank.test"],
                                 "username_env": "T_SMTP_USER", "password_env": "T_SMTP_PASSWORD", "ca_file": str(cert)},
                       "webhook": {"url_env": "T_HOOK_URL", "token_env": "T_HOOK_TOKEN"}},
        })
        yield cfg, mailbox, hooks


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text and TOKEN not in text


def test_red_alert_arrives_by_starttls_mail_and_webhook_without_secrets(receivers):
    cfg, mailbox, hooks = receivers
    alert = monitoring_alert(cfg, {"status": "red", "score_psi": 0.41, "score_tier": "red", "csi_tier": "amber",
                                   "early_tier": "green", "worst_feature": "channel 0.31", "champion_version": "3"}, "run-1")
    assert notify(cfg.alerts, alert) == ["email", "webhook"]
    [mail] = mailbox.wait(1)
    assert mail["tls"] is True  # STARTTLS before AUTH and DATA (the server requires both)
    assert [login for login, _ in mailbox.logins] == [USER]
    assert mail["to"] == ["risk@bank.test"] and mail["from"] == "pipeline@bank.test"
    assert "[credit-pipeline RED] cards: monitoring RED" in mail["data"] and "score PSI 0.410" in mail["data"]
    [hook] = hooks.wait(1)
    assert hook["authorization"] == f"Bearer {TOKEN}"
    assert hook["json"]["severity"] == "red" and hook["json"]["portfolio"] == "cards"
    assert hook["json"]["details"]["dagster_run_id"] == "run-1" and "retrain has been requested" in hook["json"]["body"]
    _no_secret(mail["data"], hook["raw"], repr(cfg))


def test_a_missing_secret_names_the_variable_and_an_unreachable_channel_does_not_stop_the_other(receivers, monkeypatch):
    cfg, mailbox, hooks = receivers
    monkeypatch.delenv("T_SMTP_PASSWORD")
    with pytest.raises(AlertDeliveryError, match="T_SMTP_PASSWORD") as err:
        notify(cfg.alerts, Alert("failure", "cards", "run failed", "boom"))
    assert len(hooks.wait(1)) == 1 and not mailbox.messages  # the webhook still went out
    _no_secret(str(err.value))
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    dead = cfg.alerts.model_copy(update={"email": cfg.alerts.email.model_copy(update={"port": closed}), "webhook": None})
    monkeypatch.setenv("T_SMTP_PASSWORD", PASSWORD)
    with pytest.raises(AlertDeliveryError, match=f"127.0.0.1:{closed}"):
        notify(dead, Alert("failure", "cards", "run failed", "boom"))
    with pytest.raises(ConfigError, match="severity"):
        Alert("purple", "cards", "x", "y")


def test_amber_results_go_into_one_daily_digest(receivers):
    cfg, mailbox, hooks = receivers
    with dg.DagsterInstance.ephemeral() as instance:
        assert amber_digest(instance, cfg, since=0) == "no amber monitoring result in the last 24 hours"
        for status in ("amber", "green", "amber"):
            instance.report_runless_asset_event(dg.AssetMaterialization(
                "monitoring", metadata={"status": status, "score_psi": 0.12, "score_tier": status, "csi_tier": "green",
                                        "early_tier": "green"}))
        assert amber_digest(instance, cfg, since=0) == "digest of 2 amber monitoring result(s) sent"
    [mail] = mailbox.wait(1)
    assert "daily digest: 2 amber monitoring result(s)" in mail["data"]
    [hook] = hooks.wait(1)
    assert hook["json"]["severity"] == "amber" and hook["json"]["body"].count("monitoring is amber") == 2


def test_red_monitoring_sensor_alerts_and_requests_one_retrain_per_monitoring_run(receivers):
    cfg, mailbox, hooks = receivers
    jobs = build_jobs(cfg)
    sensor = {s.name: s for s in build_sensors(cfg, jobs)}["retrain_on_red_monitoring"]
    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("monitoring", metadata={"status": "green"}))
        green = sensor.evaluate_tick(dg.build_sensor_context(instance=instance))
        assert not green.run_requests and "green" in green.skip_message
        instance.report_runless_asset_event(dg.AssetMaterialization(
            "monitoring", metadata={"status": "red", "score_psi": 0.5, "score_tier": "red", "csi_tier": "red",
                                    "early_tier": "green", "champion_version": "1"}))
        red = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=green.cursor))
    [request] = red.run_requests
    assert request.run_key.startswith("red-monitoring-") and request.tags["creditpipe/trigger"] == "red-monitoring"
    assert red.cursor != green.cursor  # the same materialization is not seen twice
    assert len(mailbox.wait(1)) == 1 and hooks.wait(1)[0]["json"]["severity"] == "red"


def test_run_failure_sensor_alerts_with_the_failed_step(receivers):
    cfg, mailbox, hooks = receivers
    sensor = {s.name: s for s in build_sensors(cfg, build_jobs(cfg))}["alert_on_run_failure"]

    @dg.op
    def read_warehouse():
        raise RuntimeError("warehouse table applications is missing column application_date")

    @dg.job
    def broken():
        read_warehouse()

    with dg.DagsterInstance.ephemeral() as instance:
        result = broken.execute_in_process(instance=instance, raise_on_error=False)
        context = dg.build_run_status_sensor_context(
            sensor_name="alert_on_run_failure", dagster_event=result.get_run_failure_event(), dagster_instance=instance,
            dagster_run=result.dagster_run).for_run_failure()
        sensor._run_status_sensor_fn(context)
    [hook] = hooks.wait(1)
    assert hook["json"]["severity"] == "failure" and hook["json"]["title"] == "run of broken failed"
    assert hook["json"]["details"]["dagster_run_id"] == result.run_id
    assert "read_warehouse" in hook["json"]["body"]
    assert "run of broken failed" in mailbox.wait(1)[0]["data"]


def test_failed_contract_alert_says_nothing_was_trained():
    cfg = parse_config({"portfolio": "cards", "source": {"kind": "warehouse"}})
    alert = failure_alert(cfg, "r1", "nightly_retrain", "step failure", ["applications.contract"])
    assert alert.title == "data contract failed in nightly_retrain" and "champion are unchanged" in alert.body
