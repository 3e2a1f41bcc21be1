"""Assemble the validation report's sections from the run's tables and models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from models import plots
from models.backtest import Backtest
from models.report import Section, Table, render_report, write_json

SPLIT_NAMES = {"dev": "development", "test": "test", "oot": "out of time"}


@dataclass
class ReportInputs:
    portfolio: str
    run_label: str
    bad_definition: dict
    sample: pd.DataFrame
    sample_summary: pd.DataFrame
    outcome_tables: dict[str, pd.DataFrame]
    binning_summary: pd.DataFrame
    binning_tables: dict[str, pd.DataFrame]
    selection: pd.DataFrame
    candidates: dict
    backtest: Backtest
    champion: str = "scorecard"
    notes: list[str] = field(default_factory=list)
    contract_summary: pd.DataFrame | None = None


def _metrics_frame(bt: Backtest) -> pd.DataFrame:
    t = bt.by_split.copy()
    t["split"] = t["split"].map(SPLIT_NAMES).fillna(t["split"])
    return t[["candidate", "split", "rows", "bads", "bad_rate", "auc", "gini", "ks", "psi"]]


def build_sections(inp: ReportInputs) -> list[Section]:
    bt, preds = inp.backtest, inp.backtest.predictions
    chosen = inp.champion
    m = bt.metrics(chosen)
    summary = Section("Summary", "summary", paragraphs=[
        f"Candidate '{chosen}' reaches AUC {m['test']['auc']:.4f} (Gini {m['test']['gini']:.4f}, KS {m['test']['ks']:.4f}) "
        f"on the test split and AUC {m['oot']['auc']:.4f} (KS {m['oot']['ks']:.4f}, score PSI {m['oot']['psi']:.4f}) out of time.",
        *inp.notes,
    ], tables=[Table("Discrimination and stability by split", _metrics_frame(bt),
                     note="PSI compares each split's PD distribution with development (bins: development deciles).")])

    data = Section("Data", "data", paragraphs=[
        "Bad definition: " + ", ".join(f"{k} = {v}" for k, v in inp.bad_definition.items()) + ".",
    ], tables=[Table("Sample design (rows, bads, bad rate per split and application month)", inp.sample_summary)])
    if inp.contract_summary is not None:
        data.tables.insert(0, Table("Data-contract results", inp.contract_summary))
    ot = inp.outcome_tables
    if "counts_by_vintage" in ot and len(ot["counts_by_vintage"]):
        data.tables.append(Table("Outcomes by vintage", ot["counts_by_vintage"]))
    if "vintage_curves" in ot and len(ot["vintage_curves"]):
        vc = ot["vintage_curves"]
        data.plots.append(("Vintage curves: cumulative bad rate by months on book",
                           plots.line_plot(vc, "mob", "cum_bad_rate", "vintage", "Vintage curves", "cumulative bad rate")))
    if "roll_rates" in ot and len(ot["roll_rates"]):
        rr = ot["roll_rates"]
        matrix = rr.pivot_table(index="from_bucket", columns="to_bucket", values="share", aggfunc="sum", sort=False)
        data.plots.append(("Roll rates: month-to-month transitions between delinquency buckets",
                           plots.heatmap_plot(matrix, "Roll rates")))
    if "bucket_to_bad" in ot and len(ot["bucket_to_bad"]):
        data.tables.append(Table("Share of accounts in each bucket that go bad within the window", ot["bucket_to_bad"]))

    features = Section("Features", "features", tables=[
        Table("Feature selection (development split)", inp.selection),
        Table("Binning summary", inp.binning_summary),
    ])
    for name, table in inp.binning_tables.items():
        features.tables.append(Table(f"Binning table: {name}", table))

    models = Section("Models", "models")
    for name, model in inp.candidates.items():
        if hasattr(model, "points_table_"):
            models.tables.append(Table(f"Points table: {name}", model.points_table_,
                                       note="score = sum of points; higher is safer"))

    curves = {f"{c} · {SPLIT_NAMES[s]}": (preds.loc[preds.split == s, "target"].to_numpy(),
                                           preds.loc[preds.split == s, f"pd_{c}"].to_numpy())
              for c in inp.candidates for s in ("test", "oot")}
    oot = preds[preds.split == "oot"]
    discrimination = Section("Discrimination", "discrimination", tables=[Table("AUC, Gini, KS by split", _metrics_frame(bt))],
                             plots=[("ROC curves, test and out of time", plots.roc_plot(curves)),
                                    (f"KS curve, {chosen}, out of time", plots.ks_plot(oot["target"].to_numpy(), oot[f"score_{chosen}"].to_numpy()))])
    dev = preds[preds.split == "dev"]
    stability = Section("Stability", "stability", plots=[
        ("Score distribution: development vs out of time",
         plots.distribution_plot({"development": dev[f"score_{chosen}"].to_numpy(), "out of time": oot[f"score_{chosen}"].to_numpy()}))])
    backtest = Section("Backtest", "backtest")
    if len(bt.by_month):
        backtest.tables.append(Table("Out of time, month by month", bt.by_month))
        part = bt.by_month[bt.by_month.candidate == chosen]
        backtest.plots.append((f"Out-of-time AUC and bad rate by month, {chosen}",
                               plots.bar_plot([str(pd.Timestamp(x).date())[:7] for x in part.application_month], part.bad_rate,
                                              "Bad rate (bars) and AUC (line) by month", "bad rate", (list(part.auc), "AUC"))))
    return [summary, data, features, models, discrimination, stability, backtest]


def write_validation_report(inp: ReportInputs, out_dir: Path, metrics: dict) -> tuple[Path, Path]:
    """Write ``validation_report.html`` and ``metrics.json`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    m = metrics["oot"]
    headline = [("test AUC", metrics["test"]["auc"]), ("test KS", metrics["test"]["ks"]), ("test Gini", metrics["test"]["gini"]),
                ("OOT AUC", m["auc"]), ("OOT KS", m["ks"]), ("OOT Gini", m["gini"]), ("OOT PSI", m["psi"]),
                ("loans in sample", int(len(inp.sample)))]
    html = render_report(f"Validation report · {inp.portfolio}", inp.run_label, headline, build_sections(inp))
    report = out_dir / "validation_report.html"
    report.write_text(html, encoding="utf-8")
    metrics_path = write_json(out_dir / "metrics.json", {"champion_candidate": inp.champion, "metrics": metrics,
                                                          "by_split": inp.backtest.by_split, "by_month": inp.backtest.by_month})
    return report, metrics_path
