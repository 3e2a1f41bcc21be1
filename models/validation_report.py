"""The validation report: every number computed once into ``metrics.json``, then rendered.

Sections answer a model-risk reviewer's questions in order: summary and recommendation,
data, features, models, discrimination, calibration, stability, backtests, cut-off
strategy, champion vs challenger, limitations and warnings.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models import metrics as mx
from models import plots
from models.backtest import Backtest, stability_summary
from models.calibration import calibration_table
from models.report import Section, Table, render_report, write_json

SPLIT_NAMES = {"dev": "development", "test": "test", "oot": "out of time"}


@dataclass
class ReportInputs:
    portfolio: str
    run_label: str
    bad_definition: dict
    sample: pd.DataFrame
    sample_summary: pd.DataFrame
    features: list[str]
    outcome_tables: dict[str, pd.DataFrame]
    binner: object
    selection: pd.DataFrame
    candidates: dict
    backtest: Backtest
    chosen: str
    walk_forward: pd.DataFrame = field(default_factory=pd.DataFrame)
    registry_champion: dict | None = None  # {"version", "oot_auc"} of the current champion, if any
    min_improvement: float = 0.0
    contract_summary: dict | None = None
    inferred_types: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    has_dates: bool = True
    psi_warn: float = 0.1
    psi_alert: float = 0.25


@dataclass(frozen=True)
class ReportResult:
    """What the ``validation_report`` asset passes on.

    ``report_path``/``metrics_path``: the HTML report and ``metrics.json``; ``report_dir``:
    their directory (tables/, plots/, oot_scores.csv); ``contracts_dir``: the run's data
    contract results; ``candidate``: the chosen candidate's name.

    ``metrics`` is ``metrics.json``'s ``"metrics"`` entry, for the chosen candidate, and its
    names are stable (promotion gates read them):

    * ``metrics[split][name]`` for ``split`` in ``validation``, ``test``, ``oot`` (``dev`` is
      the fit rows): ``rows``, ``bads``, ``bad_rate``, ``auc``, ``auc_lower``, ``auc_upper``
      (DeLong 95%), ``gini``, ``ks``, ``ks_score``, ``psi``, ``brier``, ``log_loss``,
      ``hosmer_lemeshow``, ``hosmer_lemeshow_p``, ``mean_pd``;
    * ``metrics[split]["calibration"]``: ``hosmer_lemeshow_p``, ``binomial_rejected_grades`` and
      ``jeffreys_rejected_grades`` (lists of grades whose PD the test rejects at
      ``alpha``), ``alpha``, ``rejected`` (any of the three rejects);
    * ``metrics["overfitting_flag"]`` (bool): the fit–validation AUC gap exceeds the
      configured threshold; ``metrics["overfitting_gap"]`` the gap itself.

    Loop over splits with ``metrics[s] for s in SPLIT_NAMES if s in metrics`` (the
    top level also holds the flags above).
    """

    report_path: str
    metrics_path: str
    report_dir: str
    contracts_dir: str
    candidate: str
    metrics: dict


def _split(inp: ReportInputs, name: str) -> pd.DataFrame:
    return inp.backtest.predictions[inp.backtest.predictions["split"] == name]


def compute_results(inp: ReportInputs) -> dict:
    """Every number of the report (tables as DataFrames), keyed like ``metrics.json``."""
    preds = inp.backtest.predictions
    res: dict = {"chosen_candidate": inp.chosen, "candidates": {}}
    for name in inp.candidates:
        per_split = {}
        for split in ("dev", "test", "oot"):
            part = preds[preds["split"] == split]
            y, p = part["target"].to_numpy(), part[f"pd_{name}"].to_numpy()
            if len(y) == 0 or y.min() == y.max():
                continue
            dl = mx.auc_delong_ci(y, p)
            k = mx.ks(y, part[f"score_{name}"].to_numpy() * -1.0)  # KS on points; threshold back in points below
            hl = mx.hosmer_lemeshow(y, p)
            per_split[split] = {
                "rows": int(len(y)), "bads": int(y.sum()), "bad_rate": float(y.mean()),
                "auc": dl.auc, "auc_lower": dl.lower, "auc_upper": dl.upper, "gini": 2 * dl.auc - 1,
                "ks": k.statistic, "ks_score": -k.threshold,
                "psi": mx.psi(preds.loc[preds["split"] == "dev", f"pd_{name}"].to_numpy(), p),
                "brier": mx.brier(y, p), "log_loss": mx.log_loss(y, p),
                "hosmer_lemeshow": hl.statistic, "hosmer_lemeshow_p": hl.p_value,
                "mean_pd": float(p.mean()),
            }
        res["candidates"][name] = per_split
    chosen = inp.candidates[inp.chosen]
    dev, test, oot = (_split(inp, s) for s in ("dev", "test", "oot"))
    res["metrics"] = {s: {k: v for k, v in res["candidates"][inp.chosen][s].items()} for s in ("test", "oot")}
    # calibration per grade, on test and out of time
    res["calibration"] = {s: calibration_table(part["target"].to_numpy(), part[f"pd_{inp.chosen}"].to_numpy(),
                                               chosen.master_scale_.grade(part[f"pd_{inp.chosen}"].to_numpy()))
                          for s, part in (("test", test), ("oot", oot))}
    res["master_scale"] = chosen.master_scale_.table()
    score = f"score_{inp.chosen}"
    res["score_psi_table"] = mx.psi_table(dev[score].to_numpy(dtype=float), oot[score].to_numpy(dtype=float))
    res["csi"] = pd.DataFrame([{"feature": f, "csi": mx.csi(dev[f] if f in dev else inp.sample.loc[dev.index, f],
                                                            inp.sample.loc[oot.index, f])}
                               for f in _model_features(chosen, inp.features)]).sort_values("csi", ascending=False)
    res["lift_oot"] = mx.lift_table(oot["target"].to_numpy(), oot[f"pd_{inp.chosen}"].to_numpy())
    bands = mx.bad_rate_by_band(test["target"].to_numpy(), test[score].to_numpy(dtype=float), bins=10)
    res["bad_rate_by_band_test"] = bands
    res["rank_ordering_ok"] = bool(mx.rank_ordering_ok(bands, direction="decreasing"))
    res["cutoff_strategy_test"] = mx.cutoff_table(test["target"].to_numpy(), test[score].to_numpy(dtype=float))
    res["by_month"] = inp.backtest.by_month
    res["walk_forward"] = inp.walk_forward
    res["walk_forward_summary"] = stability_summary(inp.walk_forward)
    res["registry_champion"] = inp.registry_champion
    res["warnings"] = limitations(inp, res)
    return res


def _model_features(model, features: list[str]) -> list[str]:
    est = model.estimator
    return list(getattr(est, "variables", None) or getattr(est, "features_", None) or features)


def limitations(inp: ReportInputs, res: dict) -> list[str]:
    """What a validator must know: weak spots the pipeline detected in this run."""
    out = list(inp.notes)
    flagged = inp.selection[inp.selection.get("flag", pd.Series(dtype=str)).fillna("") != ""] if "flag" in inp.selection else []
    for _, row in (flagged.iterrows() if len(flagged) else []):
        out.append(f"High IV: {row['variable']} — {row['flag']}.")
    m = res["metrics"]
    oot = m["oot"]
    if oot["rows"] < 1000 or oot["bads"] < 50:
        out.append(f"Small out-of-time sample: {oot['rows']} loans with {oot['bads']} bads; OOT metrics are imprecise "
                   f"(AUC 95% interval {oot['auc_lower']:.3f}–{oot['auc_upper']:.3f}).")
    for split in ("test", "oot"):
        if m[split]["hosmer_lemeshow_p"] < 0.05:
            out.append(f"Hosmer–Lemeshow test rejects calibration on {SPLIT_NAMES[split]} (p = {m[split]['hosmer_lemeshow_p']:.4f}).")
        cal = res["calibration"][split]
        failed = cal.loc[~cal["binomial_pass"].astype(bool), "grade"].tolist() if "binomial_pass" in cal else []
        if failed:
            out.append(f"Binomial test: PD underestimated in grade(s) {failed} on {SPLIT_NAMES[split]}.")
    if not res["rank_ordering_ok"]:
        out.append("Rank ordering: the bad rate does not fall monotonically across score deciles on test.")
    if oot["psi"] >= inp.psi_alert:
        out.append(f"Score PSI out of time {oot['psi']:.3f} ≥ {inp.psi_alert}: the population has shifted materially.")
    elif oot["psi"] >= inp.psi_warn:
        out.append(f"Score PSI out of time {oot['psi']:.3f} ≥ {inp.psi_warn}: moderate population shift.")
    shifted = res["csi"][res["csi"]["csi"] >= inp.psi_alert]["feature"].tolist()
    if shifted:
        out.append(f"Features with CSI ≥ {inp.psi_alert} out of time: {shifted}.")
    wf = res["walk_forward"]
    if len(wf) >= 2 and wf["auc"].max() - wf["auc"].min() > 0.05:
        out.append(f"Walk-forward AUC varies by {wf['auc'].max() - wf['auc'].min():.3f} across origins.")
    cands = res["candidates"]
    if "scorecard" in cands and "xgboost" in cands and "test" in cands["xgboost"]:
        gap = cands["xgboost"]["test"]["auc"] - cands["scorecard"]["test"]["auc"]
        if gap > 0.02:
            out.append(f"The XGBoost challenger beats the scorecard by {gap:.3f} AUC on test: the scorecard misses "
                       "non-linear or interaction effects.")
        elif gap < 0:
            out.append(f"The XGBoost challenger is {-gap:.3f} AUC below the scorecard on test.")
    for name, model in inp.candidates.items():
        for var, why in (getattr(model.estimator, "dropped_", None) or {}).items():
            out.append(f"{name}: {var} left out of the final model, {why}.")
    problems = inp.outcome_tables.get("history_problems")
    if problems is not None and len(problems) and (problems["rows"] > 0).any():
        kinds = problems.loc[problems["rows"] > 0, "kind"].tolist()
        out.append(f"Performance history has problems the outcome step worked around: {kinds}.")
    if inp.contract_summary:
        n_warn = sum(1 for r in inp.contract_summary.get("results", []) if not r.get("success") and r.get("severity") == "warn")
        if n_warn:
            out.append(f"The data contracts raised {n_warn} warning(s); see the Data section.")
    return out


def recommendation(inp: ReportInputs, res: dict) -> str:
    auc = res["metrics"]["oot"]["auc"]
    champ = inp.registry_champion
    if not champ:
        return (f"Recommendation: register '{inp.chosen}' as the first champion (out-of-time AUC {auc:.4f}).")
    if auc > champ["oot_auc"] + inp.min_improvement:
        return (f"Recommendation: promote '{inp.chosen}' — out-of-time AUC {auc:.4f} beats the current champion "
                f"(version {champ['version']}, {champ['oot_auc']:.4f}).")
    return (f"Recommendation: keep the current champion (version {champ['version']}, out-of-time AUC "
            f"{champ['oot_auc']:.4f}); this run's '{inp.chosen}' reaches {auc:.4f}.")


def _candidate_table(res: dict) -> pd.DataFrame:
    rows = []
    for name, splits in res["candidates"].items():
        for split, m in splits.items():
            rows.append({"candidate": name, "split": SPLIT_NAMES[split], "rows": m["rows"], "bads": m["bads"],
                         "bad_rate": m["bad_rate"], "auc": m["auc"], "auc_95_lower": m["auc_lower"],
                         "auc_95_upper": m["auc_upper"], "gini": m["gini"], "ks": m["ks"], "ks_score": m["ks_score"],
                         "psi": m["psi"]})
    return pd.DataFrame(rows)


def build_sections(inp: ReportInputs, res: dict) -> list[Section]:
    chosen, preds = inp.chosen, inp.backtest.predictions
    t, o = res["metrics"]["test"], res["metrics"]["oot"]
    oot_name = "out of time" if inp.has_dates else "second holdout"
    summary = Section("Summary", "summary", paragraphs=[
        f"Registered candidate: '{chosen}'. Test AUC {t['auc']:.4f} (95% DeLong interval {t['auc_lower']:.4f}–"
        f"{t['auc_upper']:.4f}), Gini {t['gini']:.4f}, KS {t['ks']:.4f}; {oot_name} AUC {o['auc']:.4f} "
        f"({o['auc_lower']:.4f}–{o['auc_upper']:.4f}), KS {o['ks']:.4f}, score PSI {o['psi']:.4f}.",
        recommendation(inp, res),
        f"{len(res['warnings'])} limitation(s) or warning(s) are listed at the end of this report.",
    ], tables=[Table("Discrimination and stability by candidate and split", _candidate_table(res),
                     note="AUC interval: DeLong 95%. KS on points; ks_score is the score where it peaks. "
                          "PSI compares each split's PD with development (bins: development deciles).")])

    data = Section("Data", "data", paragraphs=[
        "Bad definition: " + ", ".join(f"{k} = {v}" for k, v in inp.bad_definition.items()) + "."])
    if inp.contract_summary:
        rows = pd.DataFrame(inp.contract_summary.get("results", []))
        if len(rows):
            cols = [c for c in ("table", "column", "expectation", "severity", "success", "expected", "observed",
                                "unexpected_count") if c in rows.columns]
            rows = rows.sort_values(["success", "severity"], kind="stable")  # failures first, errors before warnings
            for col in ("expected", "observed"):  # the summary stores them HTML-escaped; the template escapes once
                if col in rows:
                    rows[col] = rows[col].map(lambda v: html.unescape(v) if isinstance(v, str) else v)
            data.tables.append(Table("Data-contract results (failures first)", rows[cols], note="Contract versions: " + ", ".join(
                f"{k} {v}" for k, v in inp.contract_summary.get("contract_versions", {}).items())))
    if inp.inferred_types is not None:
        data.tables.append(Table("Column types inferred from the flat file (override with source.types)", inp.inferred_types))
    data.tables.append(Table("Sample design (rows, bads, bad rate per split and application month)", inp.sample_summary))
    ot = inp.outcome_tables
    if len(ot.get("history_problems", [])):
        data.tables.append(Table("Performance-history checks (gaps, duplicates, dates, MOB)", ot["history_problems"]))
    if len(ot.get("counts_by_vintage", [])):
        data.tables.append(Table("Outcomes by vintage", ot["counts_by_vintage"]))
    if len(ot.get("vintage_curves", [])):
        data.plots.append(("Vintage curves: cumulative bad rate by months on book",
                           plots.line_plot(ot["vintage_curves"], "mob", "cum_bad_rate", "vintage", "Vintage curves",
                                           "cumulative bad rate")))
    if len(ot.get("roll_rates", [])):
        matrix = ot["roll_rates"].pivot_table(index="from_bucket", columns="to_bucket", values="share", aggfunc="sum", sort=False)
        data.tables.append(Table("Roll rates (month-to-month transition shares)", matrix.reset_index()))
        data.plots.append(("Roll rates between delinquency buckets", plots.heatmap_plot(matrix, "Roll rates")))
    if len(ot.get("bucket_to_bad", [])):
        data.tables.append(Table("Share of accounts in each bucket that go bad within the window", ot["bucket_to_bad"]))

    features = Section("Features", "features", tables=[Table("Feature selection (development split)", inp.selection)])
    selected = inp.selection.loc[inp.selection["selected"], "variable"].tolist()
    for name in selected:
        table = inp.binner.binning_table(name)
        features.tables.append(Table(f"Binning table: {name}", table))
        features.plots.append((f"{name}", plots.binning_plot(table, name)))

    models = Section("Models", "models")
    for name, model in inp.candidates.items():
        est = model.estimator
        if getattr(est, "dropped_", None):
            models.paragraphs.append(f"{name}: dropped after fitting — " + "; ".join(f"{v}: {why}" for v, why in est.dropped_.items()))
        if hasattr(est, "points_table_"):
            models.tables.append(Table(f"Points table: {name}", est.points_table_, note="score = sum of points; higher is safer"))
            coefs = est.points_table_.groupby("variable", sort=False)["coefficient"].first().reset_index()
            models.tables.append(Table(f"Coefficients: {name} (logistic regression on WOE)", coefs))
        if hasattr(est, "feature_importance"):
            imp = est.feature_importance()
            models.tables.append(Table(f"Feature importance: {name}", imp))
            models.plots.append((f"{name}: importance (gain)", plots.hbar_plot(imp.iloc[:20, 0], imp["gain"].iloc[:20],
                                                                               f"{name} importance", "gain")))
            if getattr(est, "best_params_", None):
                models.paragraphs.append(f"{name}: chosen parameters {est.best_params_}, best iteration "
                                         f"{getattr(est, 'best_iteration_', '–')}.")
    models.tables.append(Table(f"Master scale ({chosen})", res["master_scale"]))

    curves = {f"{c} · {SPLIT_NAMES[s]}": (preds.loc[preds.split == s, "target"].to_numpy(),
                                           preds.loc[preds.split == s, f"pd_{c}"].to_numpy())
              for c in inp.candidates for s in ("test", "oot")}
    oot = _split(inp, "oot")
    discrimination = Section("Discrimination", "discrimination", tables=[Table("AUC with DeLong 95% interval, Gini, KS", _candidate_table(res))],
                             plots=[("ROC curves, test and out of time", plots.roc_plot(curves)),
                                    (f"KS curve, {chosen}, {oot_name}", plots.ks_plot(oot["target"].to_numpy(), oot[f"score_{chosen}"].to_numpy())),
                                    ])
    discrimination.tables.append(Table(f"Lift and capture by PD decile, {chosen}, {oot_name}", res["lift_oot"]))
    discrimination.tables.append(Table(f"Bad rate by score decile, {chosen}, test (rank ordering "
                                       f"{'holds' if res['rank_ordering_ok'] else 'FAILS'})", res["bad_rate_by_band_test"]))

    calibration = Section("Calibration", "calibration", paragraphs=[
        "Binomial test: one-sided, H0 the PD is not underestimated; Jeffreys test: Beta(d+½, n−d+½) posterior. "
        + " ".join(f"{SPLIT_NAMES[s]}: Brier {res['metrics'][s]['brier']:.4f}, log loss {res['metrics'][s]['log_loss']:.4f}, "
                   f"Hosmer–Lemeshow {res['metrics'][s]['hosmer_lemeshow']:.2f} (p = {res['metrics'][s]['hosmer_lemeshow_p']:.4f})."
                   for s in ("test", "oot"))])
    for split in ("test", "oot"):
        table = res["calibration"][split]
        calibration.tables.append(Table(f"Predicted vs observed by grade, {SPLIT_NAMES[split]}", table))
        calibration.plots.append((f"Predicted vs observed, {SPLIT_NAMES[split]}", plots.calibration_plot(table, SPLIT_NAMES[split])))

    dev = _split(inp, "dev")
    stability = Section("Stability", "stability", tables=[
        Table(f"Score PSI, development vs {oot_name} ({chosen}): {o['psi']:.4f}", res["score_psi_table"]),
        Table(f"CSI per feature, development vs {oot_name}", res["csi"]),
    ], plots=[("Score distribution: development vs " + oot_name,
               plots.distribution_plot({"development": dev[f"score_{chosen}"].to_numpy(), oot_name: oot[f"score_{chosen}"].to_numpy()}))])

    backtest = Section("Backtest", "backtest")
    if len(res["by_month"]):
        backtest.tables.append(Table("Out of time, month by month, every candidate", res["by_month"]))
        part = res["by_month"][res["by_month"].candidate == chosen]
        backtest.plots.append((f"Out-of-time bad rate (bars) and AUC (line) by month, {chosen}",
                               plots.bar_plot([str(pd.Timestamp(x).date())[:7] for x in part.application_month], part.bad_rate,
                                              "Bad rate and AUC by month", "bad rate", (list(part.auc), "AUC"))))
    else:
        backtest.paragraphs.append("No application dates: there is no month-by-month backtest.")
    if len(res["walk_forward"]):
        backtest.tables.append(Table(f"Walk-forward: {chosen} refitted at earlier origins", res["walk_forward"]))
        backtest.tables.append(Table("Walk-forward stability", res["walk_forward_summary"]))

    cutoff = Section("Cut-off strategy", "cutoff", tables=[Table(
        f"Approval rate vs expected bad rate at each score cut-off ({chosen}, test)", res["cutoff_strategy_test"],
        note="Applicants at or above the cut-off are approved.")])

    versus = Section("Champion vs challenger", "versus", tables=[Table("Candidates of this run side by side", _candidate_table(res))])
    if inp.registry_champion:
        versus.paragraphs.append(f"Current registry champion: version {inp.registry_champion['version']} with "
                                 f"out-of-time AUC {inp.registry_champion['oot_auc']:.4f}.")
    versus.paragraphs.append(recommendation(inp, res))
    warnings = Section("Limitations and warnings", "warnings", paragraphs=res["warnings"] or ["None detected."])
    return [summary, data, features, models, discrimination, calibration, stability, backtest, cutoff, versus, warnings]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:80]


def write_section_files(sections: list[Section], out_dir: Path) -> None:
    """Every table of the report as CSV (``tables/``) and every plot as PNG (``plots/``), for MLflow."""
    (out_dir / "tables").mkdir(exist_ok=True)
    (out_dir / "plots").mkdir(exist_ok=True)
    for s in sections:
        for i, t in enumerate(s.tables):
            t.frame.to_csv(out_dir / "tables" / f"{s.anchor}_{i:02d}_{_slug(t.title)}.csv", index=False)
        for i, (caption, png) in enumerate(s.plots):
            (out_dir / "plots" / f"{s.anchor}_{i:02d}_{_slug(caption)}.png").write_bytes(png)


def write_validation_report(inp: ReportInputs, out_dir: Path) -> tuple[Path, Path, dict]:
    """Write ``validation_report.html`` and ``metrics.json`` (every number of the report) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    res = compute_results(inp)
    t, o = res["metrics"]["test"], res["metrics"]["oot"]
    headline = [("test AUC", t["auc"]), ("test KS", t["ks"]), ("test Gini", t["gini"]), ("OOT AUC", o["auc"]),
                ("OOT KS", o["ks"]), ("OOT Gini", o["gini"]), ("OOT PSI", o["psi"]), ("loans in sample", int(len(inp.sample))),
                ("warnings", len(res["warnings"]))]
    sections = build_sections(inp, res)
    html = render_report(f"Validation report · {inp.portfolio}", inp.run_label, headline, sections)
    write_section_files(sections, out_dir)
    report = out_dir / "validation_report.html"
    report.write_text(html, encoding="utf-8")
    metrics_path = write_json(out_dir / "metrics.json", res)
    return report, metrics_path, res
