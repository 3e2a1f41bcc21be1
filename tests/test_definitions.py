import dagster as dg
import pytest

from pipelines.config import parse_config
from pipelines.definitions import build_definitions, defs
from pipelines.jobs import RETRAIN_TAG, build_jobs

ASSETS = {"applications", "performance", "loan_book_month", "loan_outcomes", "modeling_sample", "binning",
          "feature_selection", "candidates", "backtest", "champion_comparison", "validation_report", "registered_model",
          "monitoring"}
CHECKS = {("applications", "contract"), ("performance", "contract"), ("loan_book_month", "contract"),
          ("monitoring", "score_psi"), ("monitoring", "csi"), ("monitoring", "early_delinquency")}


def test_every_asset_check_job_schedule_and_sensor_is_present():
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    assert {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys} == CHECKS
    retrain = defs.resolve_job_def("nightly_retrain")
    assert {n.name for n in retrain.nodes_in_topological_order} >= {"applications", "registered_model", "monitoring"}
    assert "loan_book_month" not in {n.name for n in retrain.nodes_in_topological_order}
    assert retrain.executor_def is dg.in_process_executor
    assert retrain.run_tags[RETRAIN_TAG] == "demo"
    assert {n.name for n in defs.resolve_job_def("validate_only").nodes_in_topological_order} == {
        "applications", "performance", "loan_book_contract"}  # the contracts run with the inputs
    assert "monitoring" in {n.name for n in defs.resolve_job_def("daily_monitoring").nodes_in_topological_order}
    schedule = defs.resolve_schedule_def("nightly_retrain_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == ("0 2 * * *", "UTC", "nightly_retrain")
    assert schedule.description and schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    monitoring = defs.resolve_schedule_def("monitoring_schedule")
    assert monitoring.job_name == "daily_monitoring" and monitoring.description
    assert defs.resolve_schedule_def("amber_digest_schedule").description
    assert defs.resolve_sensor_def("retrain_on_red_monitoring").job_name == "nightly_retrain"
    assert defs.resolve_sensor_def("alert_on_run_failure").description


def test_schedules_follow_the_configured_timezone_and_crons(tmp_path):
    config = tmp_path / "p.yaml"
    config.write_text("portfolio: cards\nsource: {kind: warehouse}\norchestration:\n  timezone: Europe/Berlin\n"
                      "  retrain_cron: '30 1 * * *'\n  schedules_running: false\n  first_month: '2024-01'\n")
    d = build_definitions(str(config))
    schedule = d.resolve_schedule_def("nightly_retrain_schedule")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 1 * * *", "Europe/Berlin")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert d.resolve_job_def("nightly_retrain").run_tags[RETRAIN_TAG] == "cards"
    months = d.resolve_asset_graph().get(dg.AssetKey("loan_book_month")).partitions_def
    assert months.get_partition_keys()[:2] == ["2024-01", "2024-02"]


def test_bad_timezone_is_a_config_error():
    from features.errors import ConfigError

    with pytest.raises(ConfigError, match="orchestration.timezone"):
        parse_config({"source": {"kind": "warehouse"}, "orchestration": {"timezone": "Mars/Olympus"}})


def test_only_the_input_month_asset_is_partitioned():
    graph = defs.resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is not None}
    assert partitioned == {"loan_book_month"}
    assert set(build_jobs(parse_config({"source": {"kind": "warehouse"}}))) == {
        "nightly_retrain", "daily_monitoring", "validate_only", "load_month"}


def test_contract_checks_are_blocking():
    specs = [spec for cd in build_definitions().asset_checks for spec in cd.check_specs]
    assert specs and all(spec.blocking for spec in specs)


def test_asset_groups_follow_the_stages():
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["applications"] == groups["loan_book_month"] == "ingest"
    assert groups["loan_outcomes"] == "outcomes"
    assert groups["binning"] == "modeling"
    assert groups["validation_report"] == "validation"
    assert groups["registered_model"] == "registry"
    assert groups["monitoring"] == "monitoring"


def test_definitions_validate_as_a_code_location():
    assert dg.Definitions.validate_loadable(defs) is None
