"""One number per figure, and calibration that holds, on the nightly demo run (session fixture `demo_job`).

The report's HTML is parsed — headline cards, the candidate table, the KS plot caption —
and every headline number is checked against metrics.json, which is what the console
summary and MLflow read too."""

from __future__ import annotations

import html as htmllib
import json
import re
from pathlib import Path

import pytest
from mlflow import MlflowClient

from models.report import _fmt

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(demo_job):
    tmp, env, [(summary, proc), _] = demo_job
    report = Path(summary["report_path"])
    page = report.read_text(encoding="utf-8")
    metrics = json.loads((report.parent / "metrics.json").read_text())
    return summary, proc, page, metrics, env


def _cards(page: str) -> dict[str, str]:
    pairs = re.findall(r'<div class="label">([^<]+)</div><div class="value">([^<]+)</div>', page)
    return {htmllib.unescape(k): htmllib.unescape(v) for k, v in pairs}


def _table(page: str, title_start: str) -> list[dict[str, str]]:
    """The first table whose heading starts with ``title_start``, as a list of rows (text cells)."""
    at = page.index(htmllib.escape(title_start, quote=False))
    block = page[at:page.index("</table>", at)]
    head = [htmllib.unescape(h) for h in re.findall(r"<th[^>]*>([^<]*)</th>", block)]
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", block, flags=re.S):
        cells = [htmllib.unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
        if cells:
            rows.append(dict(zip(head, cells)))
    return rows


def test_headline_cards_equal_metrics_json(run):
    _, _, page, metrics, _ = run
    m, cards = metrics["metrics"], _cards(page)
    expected = {"validation AUC": m["choice_validation_auc"], "test AUC": m["test"]["auc"], "test KS": m["test"]["ks"],
                "test Gini": m["test"]["gini"], "OOT AUC": m["oot"]["auc"], "OOT KS": m["oot"]["ks"],
                "OOT Gini": m["oot"]["gini"], "OOT PSI": m["oot"]["psi"]}
    for label, value in expected.items():
        assert cards[label] == _fmt(value), label


def test_candidate_table_equals_metrics_json_for_every_split(run):
    _, _, page, metrics, _ = run
    rows = _table(page, "Discrimination and stability by candidate and split")
    names = {"development (fit)": "dev", "validation": "validation", "test": "test", "out of time": "oot"}
    seen = set()
    for row in rows:
        m = metrics["candidates"][row["candidate"]][names[row["split"]]]
        for col, key in (("rows", "rows"), ("bads", "bads"), ("auc", "auc"), ("auc_95_lower", "auc_lower"),
                         ("auc_95_upper", "auc_upper"), ("gini", "gini"), ("ks", "ks"), ("psi", "psi")):
            assert row[col] == _fmt(m[key]), (row["candidate"], row["split"], col)
        seen.add((row["candidate"], names[row["split"]]))
    assert {(metrics["chosen_candidate"], s) for s in ("dev", "validation", "test", "oot")} <= seen


def test_ks_plot_console_and_mlflow_carry_the_same_numbers(run):
    summary, proc, page, metrics, env = run
    o, t = metrics["metrics"]["oot"], metrics["metrics"]["test"]
    # the KS plot's caption (and its legend, drawn from the same text) shows the KS of record
    assert f"KS {_fmt(o['ks'])} at {_fmt(o['ks_score'])}" in htmllib.unescape(page)
    # the console prints the same numbers to 4 decimals
    assert f"KS {t['ks']:.4f}" in proc.stdout and f"AUC {o['auc']:.4f}" in proc.stdout
    assert summary["metrics"]["test"]["ks"] == t["ks"] and summary["metrics"]["oot"]["auc"] == o["auc"]
    logged = MlflowClient(env["MLFLOW_TRACKING_URI"]).get_run(summary["mlflow_run_id"]).data.metrics
    for split in ("validation", "test", "oot"):
        for key in ("auc", "ks", "gini", "psi"):
            assert logged[f"{split}_{key}"] == pytest.approx(metrics["metrics"][split][key], abs=1e-12), (split, key)


def test_every_table_heading_names_its_rows(run):
    _, _, page, metrics, _ = run
    for split, name in (("validation", "validation"), ("test", "test"), ("oot", "out of time")):
        m = metrics["metrics"][split]
        assert f"{name}: {_fmt(m['rows'])} rows, {_fmt(m['bads'])} bads" in htmllib.unescape(page)
    steps = {r["step"]: r for r in _table(page, "Rows used by each step")}
    m = metrics["metrics"]
    # the default 'auto' refits on all development rows after the choice: the demo book's fit rows hold < 5,000 bads
    assert m["final_fit"]["final_fit"] == "development" and m["final_fit"]["setting"] == "auto"
    bads = _fmt(m["dev"]["bads"])
    assert m["final_fit"]["reason"].startswith(f"models.final_fit is 'auto' and the fit rows hold {bads} bads, fewer "
                                               "than models.refit_below_bads (5,000)")
    assert f"Final fit: {m['final_fit']['reason']}." in htmllib.unescape(page)  # the report says which and why
    assert steps["calibration (to settle the configuration)"]["rows used"] == "validation"
    assert steps["fit (to settle the configuration)"]["rows"] == _fmt(m["dev"]["rows"])
    development = m["dev"]["rows"] + m["validation"]["rows"]
    for step in ("final fit (configuration fixed above)", "calibration (cross-fitted out-of-fold PDs)",
                 "master scale (cross-fitted out-of-fold PDs)"):
        assert steps[step]["rows used"] == "development (fit) + validation", step
        assert steps[step]["rows"] == _fmt(development), step
    # the choice's validation AUC is the one recorded before the refit (validation rows are in-sample after it)
    assert m["choice_validation_auc"] == metrics["overfitting"][metrics["chosen_candidate"]]["validation_auc"]
    assert "no longer held out" in htmllib.unescape(page)


def test_calibration_holds_on_test_and_out_of_time_of_the_demo_book(run):
    """Calibrated on validation: no binomial or Jeffreys rejection at 1% on test or out of time, and
    Hosmer-Lemeshow does not reject on test. (Out of time it may reject *over*-prediction only: the demo
    book's newest months follow a downturn; the summary then says so in words.)"""
    _, _, page, metrics, _ = run
    for split in ("test", "oot"):
        c = metrics["metrics"][split]["calibration"]
        assert c["alpha"] == 0.01
        assert c["binomial_rejected_grades"] == [] and c["jeffreys_rejected_grades"] == [], split
        assert not c["rejected"], split
        if c["hosmer_lemeshow_rejected"]:
            assert c["direction"] == "overestimates" and "Calibration is conservative" in page
    assert not metrics["metrics"]["test"]["calibration"]["hosmer_lemeshow_rejected"]
    assert isinstance(metrics["metrics"]["overfitting_flag"], bool)
