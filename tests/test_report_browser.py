"""The validation report as a validator opens it: headless Chromium on the nightly job's report
(header naming what was validated, the supervisory summary on top), the pack's CSVs checked
against an independent recomputation, the model card in MLflow, and offline Data Docs.

The report's first screen is kept as ``tests/artifacts/report_first_screen.png`` (ignored by git).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from models.report import format_column
from models.supervisory import (
    TEST_AUC,
    TEST_HERFINDAHL,
    TEST_JEFFREYS_GRADES,
    TEST_JEFFREYS_PORTFOLIO,
    TEST_MWB,
    TEST_PSI,
)
from models.validator_pack import contract_tables
from tests.browser import rendered_text, screenshot

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def first_run(demo_job):
    _, env, [(summary, _), _] = demo_job
    report = Path(summary["report_path"])
    return summary, env, report, report.parent


def test_report_in_chromium_names_what_it_validated_and_opens_with_the_tests(first_run):
    summary, _, report, _ = first_run
    text = rendered_text(report.as_uri())
    for label in ("portfolio", "model", "candidate", "as of", "bad definition", "data fingerprint", "config hash",
                  "code version", "generated", "run"):
        assert re.search(rf"\b{label}\b", text), label
    assert summary["model_name"] in text and summary["dagster_run_id"] in text
    assert re.search(r"git [0-9a-f]{12}", text)  # the code version is the commit
    assert re.search(r"applications [0-9a-f]{12} \([\d,]+ rows\)", text)  # the data fingerprint
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", text)  # generation time
    assert "Supervisory tests at a glance" in text
    glance = text[text.index("Supervisory tests at a glance"):text.index("Summary Candidate validated")]
    for test in (TEST_JEFFREYS_PORTFOLIO, TEST_JEFFREYS_GRADES, TEST_AUC, TEST_HERFINDAHL, TEST_PSI, TEST_MWB):
        assert test in glance, test
    assert re.search(r"\b(green|amber|red)\b", glance)
    # the summary comes before every other section, and the decision is named under the header
    assert text.index("Supervisory tests at a glance") < text.index("Summary Candidate validated")
    banner = text[text.index("Promotion decision for"):text.index("Supervisory tests overall")]
    assert summary["decision"] in banner
    for section in ("Fairness", "Supervisory tests", "Live monitoring", "Limitations and warnings"):
        assert section in text
    assert "NaT" not in text and not re.search(r"\d\.\d+e-\d\d", text)  # no raw pandas/numpy formatting

    ARTIFACTS.mkdir(exist_ok=True)
    png = screenshot(report.as_uri(), ARTIFACTS / "report_first_screen.png", width=1400, height=1000)
    assert png.stat().st_size > 20_000  # a rendered page, not a blank one
    print(f"report first screen: {png}")


def test_supervisory_csvs_match_an_independent_recomputation(first_run):
    _, _, _, report_dir = first_run
    summary = pd.read_csv(report_dir / "tables" / "supervisory_summary.csv").set_index("test")
    jeffreys = pd.read_csv(report_dir / "tables" / "supervisory_jeffreys_test.csv")
    assert set(jeffreys["test"]) == {TEST_JEFFREYS_PORTFOLIO, TEST_JEFFREYS_GRADES}
    metrics = json.loads((report_dir / "metrics.json").read_text())
    chosen = metrics["chosen_candidate"]
    oot = pd.read_csv(report_dir / "oot_scores.csv")  # the in-pipeline out-of-time scores
    y, p = oot["target"].to_numpy(), oot[f"pd_{chosen}"].to_numpy()
    n, d = len(y), int(y.sum())
    port = jeffreys[jeffreys["grade"] == "portfolio"].iloc[0]
    assert (port["n"], port["defaults"]) == (n, d)
    assert port["jeffreys_p_value"] == pytest.approx(stats.beta.cdf(p.mean(), d + 0.5, n - d + 0.5), rel=1e-9)
    assert summary.loc[TEST_JEFFREYS_PORTFOLIO, "p_value"] == pytest.approx(port["jeffreys_p_value"], rel=1e-12)
    grades = jeffreys[jeffreys["grade"] != "portfolio"]
    assert grades["n"].sum() == n and grades["defaults"].sum() == d
    auc = pd.read_csv(report_dir / "tables" / "supervisory_auc_vs_initial.csv").iloc[0]
    assert auc["auc_initial"] == pytest.approx(metrics["metrics"]["test"]["auc"], abs=1e-12)
    assert auc["auc_current"] == pytest.approx(metrics["metrics"]["oot"]["auc"], abs=1e-12)
    s = (auc["auc_initial"] - auc["auc_current"]) / auc["se_current"]
    assert auc["statistic_s"] == pytest.approx(s) and auc["p_value"] == pytest.approx(stats.norm.sf(s))
    hhi = pd.read_csv(report_dir / "tables" / "supervisory_herfindahl_index.csv")
    counts = hhi[pd.to_numeric(hhi["grade"], errors="coerce").notna()]
    assert counts["current_count"].sum() == n
    shares = counts["current_count"].to_numpy() / n
    assert hhi.loc[hhi["grade"] == "HHI (sum of squared shares)", "current_share"].iloc[0] == pytest.approx(np.sum(shares**2))
    limits = pd.read_csv(report_dir / "tables" / "limitations.csv")
    assert set(limits["severity"]) <= {"high", "medium", "low"}
    assert limits["limitation"].str.contains("reject inference").any()
    assert limits["limitation"].str.contains("immature").any()


def test_fairness_and_model_card_are_logged_with_the_model_version(first_run):
    summary, env, _, report_dir = first_run
    from mlflow import MlflowClient

    fairness = pd.read_csv(report_dir / "tables" / "fairness_by_group.csv")
    assert set(fairness["attribute"]) == {"age", "marital_status"}  # the demo config's protected attributes
    held = fairness.groupby("attribute")["rows"].sum()
    metrics = json.loads((report_dir / "metrics.json").read_text())["metrics"]
    assert (held == metrics["test"]["rows"] + metrics["oot"]["rows"]).all()
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    version = client.get_model_version(summary["model_name"], summary["model_version"])
    card_uri = version.tags["model_card"]
    parent = version.tags["mlflow_parent_run_id"]
    assert card_uri == f"runs:/{parent}/report/model_card.md"
    local = Path(client.download_artifacts(parent, "report/model_card.md", dst_path=str(report_dir.parent / "dl")))
    card = local.read_text()
    for heading in ("## Intended use", "## Data and bad definition", "## Performance", "## Calibration", "## Fairness",
                    "## Limitations", "## Approval status"):
        assert heading in card, heading
    assert summary["model_name"] in card and "auc_95_lower" in card
    reference = json.loads(version.tags["initial_validation"])
    assert reference["auc"] == pytest.approx(metrics["test"]["auc"], abs=1e-12)
    assert sum(reference["grade_counts"]) == metrics["test"]["rows"]


def test_second_run_tests_the_champion_against_its_stored_initial_validation(demo_job):
    _, env, [(first, _), (second, _)] = demo_job
    from mlflow import MlflowClient

    summary = pd.read_csv(Path(second["report_path"]).parent / "tables" / "supervisory_summary.csv")
    champion_rows = summary[summary["test"].str.startswith(f"{TEST_AUC} — champion version")]
    if first["decision"] != "champion":  # nothing was promoted: there is no champion to test
        assert champion_rows.empty
        return
    if second["decision"] == "unchanged":  # same book, config and code: the champion is not re-scored
        assert champion_rows.empty
        html = Path(second["report_path"]).read_text(encoding="utf-8")
        assert f"same inputs, config and code as version {first['model_version']}" in html
        return
    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    reference = json.loads(client.get_model_version(first["model_name"], first["model_version"]).tags["initial_validation"])
    row = champion_rows.iloc[0]
    assert row["test"].endswith(f"version {first['model_version']}")
    # the champion re-scored on run 2's out-of-time rows (same book and seed: its AUC is run 1's) vs its reference
    auc_now = first["metrics"]["oot"]["auc"]
    bads = json.loads((Path(second["report_path"]).parent / "metrics.json").read_text())["metrics"]["oot"]["bads"]
    rows = json.loads((Path(second["report_path"]).parent / "metrics.json").read_text())["metrics"]["oot"]["rows"]
    q1, q2 = auc_now / (2 - auc_now), 2 * auc_now**2 / (1 + auc_now)
    se = np.sqrt((auc_now * (1 - auc_now) + (bads - 1) * (q1 - auc_now**2) + (rows - bads - 1) * (q2 - auc_now**2))
                 / (bads * (rows - bads)))
    s = (reference["auc"] - auc_now) / se
    assert row["value"] == pytest.approx(s, rel=1e-6) and row["p_value"] == pytest.approx(stats.norm.sf(s), rel=1e-6)


def test_data_docs_of_the_run_load_nothing_from_the_network(first_run):
    _, _, _, report_dir = first_run
    docs = report_dir.parent / "contracts" / "docs"
    pages = list(docs.rglob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text()
        assert not re.search(r'<(script|img)\b[^>]*\bsrc="https?://', html), page
        assert not re.search(r'<link\b[^>]*\bhref="https?://', html), page
    assert (docs / "static" / "styles" / "offline.css").is_file()
    text = rendered_text((docs / "index.html").as_uri())
    assert "applications" in text and "performance" in text  # the index table is filled without scripts


def test_number_formatting_is_consistent_per_column():
    assert format_column(pd.Series([1.0, 0.9995, 5.227e-07, np.nan])) == ["1.0000", "0.9995", "< 0.0001", "–"]
    assert format_column(pd.Series([540.8, 512.0])) == ["540.8", "512.0"]
    assert format_column(pd.Series([540.0, 512.0])) == ["540", "512"]
    assert format_column(pd.Series(pd.to_datetime(["2024-01-01", None]))) == ["2024-01-01", "–"]


def test_contract_section_counts_first_and_folds_passing_rows():
    results = pd.DataFrame({"table": ["applications"] * 3 + ["performance"], "column": ["a", "b", "c", "d"],
                            "expectation": ["exists"] * 4, "severity": ["error", "error", "warn", "error"],
                            "success": [True, False, True, True]})
    tables = contract_tables(results, {"applications": "1.0.0"})
    assert tables[0].title == "Data contracts: 3 checks passed, 1 failed"
    counts = tables[0].frame.set_index(["table", "severity"])
    assert counts.loc[("applications", "error"), ["checks", "passed", "failed"]].tolist() == [2, 1, 1]
    assert tables[1].frame["column"].tolist() == ["b"] and not tables[1].folded
    assert tables[2].folded and len(tables[2].frame) == 3
