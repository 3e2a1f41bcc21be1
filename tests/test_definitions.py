import dagster as dg

from pipelines.definitions import build_definitions, defs

ASSETS = {"applications", "performance", "loan_outcomes", "modeling_sample", "binning", "feature_selection",
          "candidates", "backtest", "validation_report", "registered_model", "monitoring"}


def test_every_asset_check_job_and_schedule_is_present():
    graph = defs.resolve_asset_graph()
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == ASSETS
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert checks == {("applications", "contract"), ("performance", "contract")}
    job = defs.resolve_job_def("nightly")
    assert job is not None
    schedule = defs.resolve_schedule_def("nightly_retraining")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.job_name == "nightly"


def test_contract_checks_are_blocking():
    specs = [spec for cd in build_definitions().asset_checks for spec in cd.check_specs]
    assert specs and all(spec.blocking for spec in specs)


def test_asset_groups_follow_the_stages():
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["applications"] == "ingest"
    assert groups["loan_outcomes"] == "outcomes"
    assert groups["binning"] == "modeling"
    assert groups["validation_report"] == "validation"
    assert groups["registered_model"] == "registry"


def test_definitions_validate_as_a_code_location():
    assert dg.Definitions.validate_loadable(defs) is None
