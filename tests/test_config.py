import pytest

from features.errors import ConfigError
from pipelines.config import load_config, parse_config

SOURCE = {"source": {"kind": "warehouse", "url": "duckdb:///.data/warehouse.duckdb"}}


def test_source_only_config_gets_every_default():
    cfg = parse_config(SOURCE)
    assert cfg.bad_definition.dpd_threshold == 90
    assert cfg.bad_definition.performance_window == 12
    assert cfg.sample.oot_months == 3
    assert (cfg.scaling.base_points, cfg.scaling.base_odds, cfg.scaling.pdo) == (600, 50, 20)
    assert cfg.model_name == "credit-pipeline-demo"
    # the training protocol scales with the data: refit on development below 5,000 fit-row bads, capped walk-forward
    # origins, early stopping reading the validation AUC every fifth round
    m = cfg.models
    assert (m.final_fit, m.refit_below_bads, m.walk_forward_rows, m.xgboost.eval_every) == ("auto", 5_000, 50_000, 5)


def test_shipped_demo_config_loads():
    cfg = load_config("configs/demo.yaml")
    assert cfg.source.kind == "warehouse" and cfg.source.url.endswith("warehouse.duckdb")


@pytest.mark.parametrize(
    "raw, words",
    [
        ({}, ["'source'", "required"]),
        ({**SOURCE, "bad_defintion": {}}, ["bad_defintion", "unknown key"]),
        ({**SOURCE, "bad_definition": {"dpd_threshold": -5}}, ["bad_definition.dpd_threshold"]),
        ({**SOURCE, "sample": {"test_fraction": 1.5}}, ["sample.test_fraction"]),
        ({"source": {"kind": "warehouse", "url": "mysql://x"}}, ["source", "not a supported warehouse URL"]),
        ({**SOURCE, "monitoring": {"psi_warn": 0.3, "psi_alert": 0.2}}, ["psi_warn"]),
        ({**SOURCE, "models": {"final_fit": "always"}}, ["'models.final_fit'", "'auto', 'development' or 'fit_rows'",
                                                         "got 'always'"]),
        ({**SOURCE, "models": {"refit_below_bads": -1}}, ["'models.refit_below_bads'", "got -1"]),
        ({**SOURCE, "models": {"walk_forward_rows": 50}}, ["'models.walk_forward_rows'", "greater than or equal to 100", "got 50"]),
        ({**SOURCE, "models": {"xgboost": {"eval_every": 0}}}, ["'models.xgboost.eval_every'", "got 0"]),
    ],
)
def test_bad_config_is_a_clear_error(raw, words):
    with pytest.raises(ConfigError) as info:
        parse_config(raw, "test.yaml")
    for word in words:
        assert word in str(info.value)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
