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

import numpy as np
import pandas as pd

from models import plots
from models.backtest import Backtest, stability_summary
from models.calibration import calibration_table
from models.protocol import ROLE_NAMES, rows_table
from models.rank_ordering import bad_rate_by_band, cutoff_table, lift_table, rank_ordering_ok
from models.promotion import (ChampionComparison, PromotionDecision, PromotionPolicy, contract_status, decide_promotion,
                              gate_evidence, promotion_section)
from models.report import Section, Table, _fmt, render_report, write_json
from models.stability import csi, psi_table
from models import validator_pack as vp

SPLIT_NAMES = dict(ROLE_NAMES)
HELD_OUT = ("validation", "test", "oot")  # the splits calibration is tested on


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
    champion_comparison: ChampionComparison | None = None  # the champion on this run's rows (registry asset)
    promotion_policy: PromotionPolicy | None = None  # gates and margin; with the comparison, the report decides
    contract_summary: dict | None = None
    inferred_types: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    has_dates: bool = True
    psi_warn: float = 0.1
    psi_alert: float = 0.25
    calibration_alpha: float = 0.01  # level of the binomial, Jeffreys and Hosmer-Lemeshow tests
    max_auc_gap: float = 0.10  # fit minus validation AUC above this is an overfitting warning
    pack: vp.PackInputs | None = None  # the validator pack: identity, supervisory tests, fairness, model card
    dropped_candidates: dict[str, str] = field(default_factory=dict)  # uninformative candidates: name → reason


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
    * ``metrics[split]["calibration"]`` (``validation``, ``test``, ``oot``): ``alpha`` (the
      config's ``models.calibration.test_alpha``), ``hosmer_lemeshow_p``,
      ``hosmer_lemeshow_rejected`` (p < alpha), ``direction`` ("underestimates" when the
      observed bad rate is above the mean PD, else "overestimates"),
      ``binomial_rejected_grades`` and ``jeffreys_rejected_grades`` (grades whose PD the
      one-sided test finds underestimated at alpha), and ``rejected``: the calibration
      fails — a binomial or Jeffreys rejection, or a Hosmer–Lemeshow rejection while the
      PD underestimates (over-prediction only is conservative: reported, not a failure);
    * ``metrics["overfitting_flag"]`` (bool): the chosen candidate's AUC on the fit rows
      exceeds its validation AUC by more than ``models.max_auc_gap``;
      ``metrics["overfitting_gap"]`` the gap itself;
    * ``metrics["dropped_candidates"]``: candidate → reason, for each candidate dropped as
      uninformative before validation (:func:`models.candidate_fitting.fit_candidates`).

    Loop over splits with ``metrics[s] for s in SPLIT_NAMES if s in metrics`` (the
    top level also holds the flags above).
    """

    report_path: str
    metrics_path: str
    report_dir: str
    contracts_dir: str
    candidate: str
    metrics: dict
    promotion: PromotionDecision | None = None  # the promotion policy's decision, as the report shows it


def _split(inp: ReportInputs, name: str) -> pd.DataFrame:
    return inp.backtest.predictions[inp.backtest.predictions["split"] == name]


def _number(v):
    """A table cell as a plain JSON value: NaN → None, NumPy scalars → Python numbers."""
    if isinstance(v, np.generic):
        v = v.item()
    return None if isinstance(v, float) and v != v else v


def _splits_of(res: dict, name: str) -> list[str]:
    return [s for s in ("dev", *HELD_OUT) if s in res["candidates"][name]]


def rows_caption(res: dict, split: str, oot_name: str = "out of time") -> str:
    """``test: 4,123 rows, 210 bads`` — where a number comes from, for table and plot headings."""
    m = res["metrics"][split]
    name = oot_name if split == "oot" else SPLIT_NAMES[split]
    return f"{name}: {_fmt(m['rows'])} rows, {_fmt(m['bads'])} bads"


def compute_results(inp: ReportInputs) -> dict:
    """Every number of the report (tables as DataFrames), keyed like ``metrics.json``.

    The per-split metrics are the backtest's (:func:`models.backtest.run_backtest`), copied,
    never recomputed, so the console, the report, ``metrics.json`` and MLflow agree.
    """
    res: dict = {"chosen_candidate": inp.chosen, "candidates": {}}
    for row in inp.backtest.by_split.to_dict("records"):
        name, split = row.pop("candidate"), row.pop("split")
        res["candidates"].setdefault(name, {})[split] = {k: _number(v) for k, v in row.items()}
    chosen = inp.candidates[inp.chosen]
    res["metrics"] = {s: dict(res["candidates"][inp.chosen][s]) for s in _splits_of(res, inp.chosen)}
    res["calibration"] = {}
    for s in HELD_OUT:  # calibration per grade, on the held-out splits
        part = _split(inp, s)
        if s not in res["metrics"]:
            continue
        p = part[f"pd_{inp.chosen}"].to_numpy()
        table = calibration_table(part["target"].to_numpy(), p, chosen.master_scale_.grade(p), alpha=inp.calibration_alpha)
        res["calibration"][s] = table
        m = res["metrics"][s]
        binomial = [int(g) for g in table.loc[~table["binomial_pass"].astype(bool), "grade"]]
        jeffreys = [int(g) for g in table.loc[~table["jeffreys_pass"].astype(bool), "grade"]]
        hl_rejects = bool(m["hosmer_lemeshow_p"] < inp.calibration_alpha)
        under = bool(m["bad_rate"] > m["mean_pd"])  # observed above predicted: the PD is too low
        m["calibration"] = {"alpha": inp.calibration_alpha, "hosmer_lemeshow_p": m["hosmer_lemeshow_p"],
                            "hosmer_lemeshow_rejected": hl_rejects,
                            "direction": "underestimates" if under else "overestimates",
                            "binomial_rejected_grades": binomial, "jeffreys_rejected_grades": jeffreys,
                            # a PD that errs on the conservative side only is a finding, not a failure
                            "rejected": bool(binomial or jeffreys or (hl_rejects and under))}
    # the AUCs the choice read, before any final fit on all development rows (after it those rows are in-sample)
    choice = {name: inp.candidates[name].choice_auc or {"dev": sp["dev"]["auc"], "validation": sp["validation"]["auc"]}
              for name, sp in res["candidates"].items() if "dev" in sp and "validation" in sp}
    res["overfitting"] = {name: {"fit_auc": c["dev"], "validation_auc": c["validation"], "gap": c["dev"] - c["validation"],
                                 "flag": bool(c["dev"] - c["validation"] > inp.max_auc_gap)} for name, c in choice.items()}
    if inp.chosen in res["overfitting"]:
        res["metrics"]["overfitting_gap"] = res["overfitting"][inp.chosen]["gap"]
        res["metrics"]["overfitting_flag"] = res["overfitting"][inp.chosen]["flag"]
        res["metrics"]["choice_validation_auc"] = res["overfitting"][inp.chosen]["validation_auc"]
    res["metrics"]["final_fit"] = dict(chosen.development)
    res["metrics"]["dropped_candidates"] = dict(inp.dropped_candidates)
    res["rows_used"] = rows_table(inp.sample, inp.has_dates, chosen.development["final_fit"])
    dev, test, oot = (_split(inp, s) for s in ("dev", "test", "oot"))
    res["master_scale"] = chosen.master_scale_.table()
    score = f"score_{inp.chosen}"
    res["score_psi_table"] = psi_table(dev[score].to_numpy(dtype=float), oot[score].to_numpy(dtype=float))
    res["csi"] = pd.DataFrame([{"feature": f, "csi": csi(inp.sample.loc[dev.index, f], inp.sample.loc[oot.index, f])}
                               for f in chosen.estimator.features_]).sort_values("csi", ascending=False)
    res["lift_oot"] = lift_table(oot["target"].to_numpy(), oot[f"pd_{inp.chosen}"].to_numpy()).rename(
        columns={"min_score": "min_pd", "max_score": "max_pd"})  # binned on the PD, riskiest decile first
    bands = bad_rate_by_band(test["target"].to_numpy(), test[score].to_numpy(dtype=float), bins=10)
    res["bad_rate_by_band_test"] = bands
    res["rank_ordering_ok"] = bool(rank_ordering_ok(bands, direction="decreasing"))
    res["cutoff_strategy_test"] = cutoff_table(test["target"].to_numpy(), test[score].to_numpy(dtype=float))
    res["by_month"] = inp.backtest.by_month
    res["walk_forward"] = inp.walk_forward
    res["walk_forward_summary"] = stability_summary(inp.walk_forward)
    res["warnings"] = limitations(inp, res)
    if inp.champion_comparison is not None and inp.promotion_policy is not None:
        res["promotion"] = decide_promotion(gate_evidence(res, contract_status(inp.contract_summary),
                                                          inp.promotion_policy.rank_ordering_alpha),
                                            inp.champion_comparison, inp.promotion_policy)
    if inp.pack is not None:
        res.update(vp.compute_pack(inp, res, inp.pack))
    return res


def beyond_selection(inp: ReportInputs) -> dict[str, list[str]]:
    """Candidate → the features it reads that the scorecard's selection did not keep."""
    selected = set(inp.selection.loc[inp.selection["selected"], "variable"])
    return {name: [f for f in model.estimator.features_ if f not in selected] for name, model in inp.candidates.items()
            if any(f not in selected for f in model.estimator.features_)}


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
    if m.get("overfitting_flag"):  # the AUCs the gap is made of: recorded before any final refit (res["overfitting"])
        o = res["overfitting"][inp.chosen]
        out.append(f"Overfitting: '{inp.chosen}' has AUC {_fmt(o['fit_auc'])} on the fit rows against "
                   f"{_fmt(o['validation_auc'])} on validation, a gap of {_fmt(o['gap'])} above the "
                   f"configured {inp.max_auc_gap}.")
    for name, o in res["overfitting"].items():
        if name != inp.chosen and o["flag"]:
            out.append(f"Overfitting: candidate '{name}' fit–validation AUC gap {_fmt(o['gap'])} > {inp.max_auc_gap}.")
    for split in ("test", "oot"):
        if split not in m:
            continue
        c = m[split]["calibration"]
        where = SPLIT_NAMES[split] if split != "oot" or inp.has_dates else "the second holdout"
        if c["hosmer_lemeshow_p"] < c["alpha"]:
            out.append(f"Calibration: Hosmer–Lemeshow rejects at {c['alpha']:.0%} on {where} "
                       f"(p = {_fmt(c['hosmer_lemeshow_p'])}).")
        if c["binomial_rejected_grades"]:
            out.append(f"Calibration: binomial test at {c['alpha']:.0%}: PD underestimated in grade(s) "
                       f"{c['binomial_rejected_grades']} on {where}.")
        if c["jeffreys_rejected_grades"]:
            out.append(f"Calibration: Jeffreys test at {c['alpha']:.0%}: PD underestimated in grade(s) "
                       f"{c['jeffreys_rejected_grades']} on {where}.")
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
    for _, row in (wf[wf["note"].fillna("") != ""] if "note" in wf.columns else wf.iloc[:0]).iterrows():
        out.append(f"Walk-forward origin {row['origin']:%Y-%m}: '{inp.chosen}' {row['note']} (trained on "
                   f"{row['train_rows']} rows before it).")
    cands = res["candidates"]
    if "scorecard" in cands and "xgboost" in cands and "test" in cands["xgboost"]:
        gap = cands["xgboost"]["test"]["auc"] - cands["scorecard"]["test"]["auc"]
        if gap > 0.02:
            out.append(f"The XGBoost challenger beats the scorecard by {gap:.3f} AUC on test: the scorecard misses "
                       "non-linear or interaction effects.")
        elif gap < 0:
            out.append(f"The XGBoost challenger is {-gap:.3f} AUC below the scorecard on test.")
    for name, why in inp.dropped_candidates.items():
        out.append(f"Candidate '{name}' was dropped as uninformative and not validated: {why}.")
    for name, model in inp.candidates.items():
        for var, why in model.estimator.notes_.items():
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


def calibration_fails(res: dict) -> list[str]:
    """The held-out reported splits (test, out of time) on which a calibration test rejects."""
    return [s for s in ("test", "oot") if s in res["metrics"] and res["metrics"][s]["calibration"]["rejected"]]


def recommendation(inp: ReportInputs, res: dict) -> str:
    auc = res["metrics"]["oot"]["auc"]
    failed = calibration_fails(res)
    if failed:
        return (f"Recommendation: do not promote '{inp.chosen}': its PD calibration is rejected at "
                f"{inp.calibration_alpha:.0%} on {' and '.join(SPLIT_NAMES[s] for s in failed)} (see Calibration); "
                "recalibrate (e.g. models.calibration.long_run_default_rate) before it decides credit.")
    decision = res.get("promotion")  # the promotion policy: gates, then the champion on the same rows
    if decision is None:
        return (f"Recommendation: '{inp.chosen}' (out-of-time AUC {auc:.4f}); this report was not compared with the "
                "model registry.")
    return f"Promotion decision for '{inp.chosen}': {decision.decision} — {decision.reason}."


def overfitting_paragraphs(inp: ReportInputs, res: dict) -> list[str]:
    out = []
    for name, o in res["overfitting"].items():
        if o["flag"]:
            out.append(f"Warning — overfitting: '{name}' has AUC {_fmt(o['fit_auc'])} on the development (fit) rows "
                       f"against {_fmt(o['validation_auc'])} on validation, a gap of {_fmt(o['gap'])} above the "
                       f"configured {inp.max_auc_gap}" + (" (the registered candidate)." if name == inp.chosen else "."))
    return out


def calibration_paragraph(inp: ReportInputs, res: dict) -> str:
    failed = calibration_fails(res)
    alpha = f"{inp.calibration_alpha:.0%}"
    conservative = [s for s in ("test", "oot") if s in res["metrics"] and not res["metrics"][s]["calibration"]["rejected"]
                    and res["metrics"][s]["calibration"]["hosmer_lemeshow_rejected"]]
    if not failed and not conservative:
        return (f"Calibration holds: the per-grade binomial and Jeffreys tests and Hosmer–Lemeshow do not reject at {alpha} "
                "on test or out of time (PD calibrated on the validation rows).")
    if not failed:
        m = res["metrics"]
        return (f"Calibration is conservative: the one-sided binomial and Jeffreys tests (PD underestimated?) do not "
                f"reject at {alpha} on test or out of time, but Hosmer–Lemeshow rejects on "
                + " and ".join(f"{SPLIT_NAMES[s]} (p = {_fmt(m[s]['calibration']['hosmer_lemeshow_p'])}), where the mean "
                               f"PD {_fmt(m[s]['mean_pd'])} is above the observed bad rate {_fmt(m[s]['bad_rate'])}"
                               for s in conservative)
                + f". The PD is calibrated to the validation rows' bad rate {_fmt(m['validation']['bad_rate'])} over "
                  "the development window; a period with fewer defaults than that window (e.g. after a downturn) "
                  "sees the PD overstate risk. Over-prediction is the conservative side, so it does not bar promotion; "
                  "anchor models.calibration.long_run_default_rate to the portfolio's long-run average if the "
                  "development window is not representative of the cycle.")
    return (f"Warning — calibration fails at {alpha} on {' and '.join(SPLIT_NAMES[s] for s in failed)}: "
            + "; ".join(f"{SPLIT_NAMES[s]}: Hosmer–Lemeshow p = {_fmt(res['metrics'][s]['calibration']['hosmer_lemeshow_p'])}, "
                        f"binomial rejects grades {res['metrics'][s]['calibration']['binomial_rejected_grades']}, "
                        f"Jeffreys rejects grades {res['metrics'][s]['calibration']['jeffreys_rejected_grades']}"
                        for s in failed) + ". The model should not be promoted as it is.")


def _candidate_table(res: dict) -> pd.DataFrame:
    rows = []
    for name, splits in res["candidates"].items():
        for split, m in splits.items():
            rows.append({"candidate": name, "split": SPLIT_NAMES[split], "rows": m["rows"], "bads": m["bads"],
                         "bad_rate": m["bad_rate"], "auc": m["auc"], "auc_95_lower": m["auc_lower"],
                         "auc_95_upper": m["auc_upper"], "gini": m["gini"], "ks": m["ks"], "ks_score": m["ks_score"],
                         "psi": m["psi"]})
    return pd.DataFrame(rows)


def _calibrated_on(res: dict) -> str:
    final = res["metrics"]["final_fit"]
    return final["calibrated_on"] if final["final_fit"] == "development" else rows_caption(res, "validation")


def build_sections(inp: ReportInputs, res: dict) -> list[Section]:
    chosen, preds = inp.chosen, inp.backtest.predictions
    t, o = res["metrics"]["test"], res["metrics"]["oot"]
    oot_name = "out of time" if inp.has_dates else "second holdout"
    refit = res["metrics"]["final_fit"]["final_fit"] == "development"
    summary = Section("Summary", "summary", paragraphs=[
        f"Candidate validated: '{chosen}', chosen by validation AUC ({_fmt(res['metrics']['choice_validation_auc'])} on "
        f"{rows_caption(res, 'validation')}{', before the final fit' if refit else ''}). "
        f"Test AUC {_fmt(t['auc'])} (95% DeLong interval {_fmt(t['auc_lower'])}–{_fmt(t['auc_upper'])}), "
        f"Gini {_fmt(t['gini'])}, KS {_fmt(t['ks'])} on {rows_caption(res, 'test')}; {oot_name} AUC {_fmt(o['auc'])} "
        f"({_fmt(o['auc_lower'])}–{_fmt(o['auc_upper'])}), KS {_fmt(o['ks'])}, score PSI {_fmt(o['psi'])} on "
        f"{rows_caption(res, 'oot', oot_name)}.",
        "Development protocol: binning, selection and fitting read the development (fit) rows only; early stopping, "
        "the parameter search, calibration, the master scale and the choice of candidate read the validation rows; "
        "test and out-of-time rows are read once, to report (see the table of rows used below). Repeat applicants "
        "stay in one of development, validation and test.",
        *([f"Final fit: once chosen, the settled configuration (binning settings, variables, parameters, boosting rounds "
           f"scaled to the rows) was refitted on {res['metrics']['final_fit']['fitted_on']} "
           f"({_fmt(res['metrics']['final_fit']['rows'])} rows), and its PD calibrated and master scale cut on "
           f"{res['metrics']['final_fit']['calibrated_on']}. Development and validation numbers of the final model are "
           "therefore in-sample, no longer held out: the validation AUC above is the one the choice read, before the "
           "refit; test and out of time remain untouched."] if refit else []),
        *([f"Final fit: {res['metrics']['final_fit']['reason']}."] if res["metrics"]["final_fit"].get("reason") else []),
        *overfitting_paragraphs(inp, res),
        calibration_paragraph(inp, res),
        recommendation(inp, res),
        f"{len(res['warnings'])} limitation(s) or warning(s) are listed at the end of this report.",
    ], tables=[Table("Discrimination and stability by candidate and split (rows and bads per split in the table)",
                     _candidate_table(res),
                     note="AUC interval: DeLong 95%. KS on points; ks_score is the score where it peaks. "
                          "PSI compares each split's PD with development (fit rows; bins: development deciles)."),
               *([Table("Candidates dropped as uninformative (not validated, not registered)",
                        pd.DataFrame({"candidate": list(inp.dropped_candidates),
                                      "reason": list(inp.dropped_candidates.values())}))]
                 if inp.dropped_candidates else []),
               Table("Rows used by each step of development and validation", res["rows_used"])])

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
            data.tables += vp.contract_tables(rows[cols], inp.contract_summary.get("contract_versions", {}))
    if inp.inferred_types is not None:
        data.tables.append(Table("Column types inferred from the flat file (override with source.types)", inp.inferred_types))
    data.tables.append(Table("Sample design (rows, bads, bad rate per split and application month; split dev = "
                             "development fit rows)", inp.sample_summary))
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

    features = Section("Features", "features", tables=[Table(
        f"Feature selection ({rows_caption(res, 'dev')}; development = fit rows)", inp.selection)])
    selected = inp.selection.loc[inp.selection["selected"], "variable"].tolist()
    for name in selected:
        table = inp.binner.binning_table(name)
        features.tables.append(Table(f"Binning table: {name} (fitted on {rows_caption(res, 'dev')})", table))
        features.plots.append((f"{name}", plots.binning_plot(table, name)))

    models = Section("Models", "models")
    models.paragraphs.append(f"Every candidate is fitted on {rows_caption(res, 'dev')}; early stopping and the "
                             f"parameter search use {rows_caption(res, 'validation')}.")
    for name, extra in beyond_selection(inp).items():
        models.paragraphs.append(
            f"{name} reads {len(extra)} feature(s) the scorecard's selection left out ({', '.join(extra)}): the IV and "
            "WOE-correlation rules serve an additive model on bins, while trees find non-linear and interaction "
            "effects a low IV misses and are indifferent to correlated inputs. They are part of the validated model "
            "(their stability is in the CSI table).")
    for name, model in inp.candidates.items():
        est = model.estimator
        if est.notes_:
            models.paragraphs.append(f"{name}: dropped after fitting — " + "; ".join(f"{v}: {why}" for v, why in est.notes_.items()))
        for title, table in est.report_tables().items():
            models.tables.append(Table(f"{title}: {name}", table))
            if "gain" in table.columns:
                models.plots.append((f"{name}: importance (gain)", plots.hbar_plot(table.iloc[:20, 0], table["gain"].iloc[:20],
                                                                                   f"{name} importance", "gain")))
    models.tables.append(Table(f"Master scale ({chosen}), cut on {_calibrated_on(res)}", res["master_scale"]))

    curves = {f"{c} · {SPLIT_NAMES[s]}": (preds.loc[preds.split == s, "target"].to_numpy(),
                                           preds.loc[preds.split == s, f"pd_{c}"].to_numpy())
              for c in inp.candidates for s in ("test", "oot")}
    oot = _split(inp, "oot")
    ks_label = f"KS {_fmt(o['ks'])} at {_fmt(o['ks_score'])}"
    discrimination = Section("Discrimination", "discrimination", tables=[Table(
        "AUC with DeLong 95% interval, Gini, KS (rows and bads per split in the table)", _candidate_table(res))],
        plots=[(f"ROC curves, {rows_caption(res, 'test')} and {rows_caption(res, 'oot', oot_name)}", plots.roc_plot(curves)),
               (f"KS curve, {chosen}, {rows_caption(res, 'oot', oot_name)}: {ks_label}",
                plots.ks_plot(oot["target"].to_numpy(), oot[f"score_{chosen}"].to_numpy(), o["ks"], o["ks_score"], ks_label)),
               ])
    discrimination.tables.append(Table(f"Lift and capture by PD decile, {chosen}, {rows_caption(res, 'oot', oot_name)}",
                                       res["lift_oot"]))
    discrimination.tables.append(Table(f"Bad rate by score decile, {chosen}, {rows_caption(res, 'test')} (rank ordering "
                                       f"{'holds' if res['rank_ordering_ok'] else 'FAILS'})", res["bad_rate_by_band_test"]))

    calibration = Section("Calibration", "calibration", paragraphs=[
        f"The PD is calibrated and the master scale cut on {_calibrated_on(res)} (held out from the model that scored them). "
        f"Tests at {inp.calibration_alpha:.0%}: binomial, one-sided, H0 the PD is not underestimated; Jeffreys, "
        "Beta(d+½, n−d+½) posterior; Hosmer–Lemeshow over PD deciles. "
        + " ".join(f"{rows_caption(res, s, oot_name)}: Brier {_fmt(res['metrics'][s]['brier'])}, log loss "
                   f"{_fmt(res['metrics'][s]['log_loss'])}, Hosmer–Lemeshow {_fmt(res['metrics'][s]['hosmer_lemeshow'])} "
                   f"(p = {_fmt(res['metrics'][s]['hosmer_lemeshow_p'])})."
                   for s in res["calibration"]),
        calibration_paragraph(inp, res)])
    for split, table in res["calibration"].items():
        calibration.tables.append(Table(f"Predicted vs observed by grade, {rows_caption(res, split, oot_name)}", table))
        calibration.plots.append((f"Predicted vs observed, {rows_caption(res, split, oot_name)}",
                                  plots.calibration_plot(table, SPLIT_NAMES[split])))

    dev = _split(inp, "dev")
    stability = Section("Stability", "stability", tables=[
        Table(f"Score PSI, {rows_caption(res, 'dev')} vs {rows_caption(res, 'oot', oot_name)} ({chosen}): "
              f"{_fmt(o['psi'])}", res["score_psi_table"]),
        Table(f"CSI per feature, {rows_caption(res, 'dev')} vs {rows_caption(res, 'oot', oot_name)}", res["csi"]),
    ], plots=[(f"Score distribution: {rows_caption(res, 'dev')} vs {rows_caption(res, 'oot', oot_name)}",
               plots.distribution_plot({"development": dev[f"score_{chosen}"].to_numpy(), oot_name: oot[f"score_{chosen}"].to_numpy()}))])

    backtest = Section("Backtest", "backtest")
    if len(res["by_month"]):
        backtest.tables.append(Table(f"Out of time, month by month, every candidate ({rows_caption(res, 'oot', oot_name)};"
                                     " rows per month in the table)", res["by_month"]))
        part = res["by_month"][res["by_month"].candidate == chosen]
        backtest.plots.append((f"Out-of-time bad rate (bars) and AUC (line) by month, {chosen}, "
                               f"{rows_caption(res, 'oot', oot_name)}",
                               plots.bar_plot([str(pd.Timestamp(x).date())[:7] for x in part.application_month], part.bad_rate,
                                              "Bad rate and AUC by month", "bad rate", (list(part.auc), "AUC"))))
    else:
        backtest.paragraphs.append("No application dates: there is no month-by-month backtest.")
    if len(res["walk_forward"]):
        backtest.tables.append(Table(
            f"Walk-forward: {chosen} developed afresh (binning, selection, fitting, calibration) on the development, "
            "validation and out-of-time rows before each origin, scored on the months after it (test rows excluded; "
            "train_rows and rows in the table). Origins keep the simpler path: fitted on their fit rows and calibrated "
            "on their validation rows, with no final refit or cross-fitting. Where available_rows exceeds train_rows "
            "the origin developed on a stratified, seeded subsample of the rows before it (models.walk_forward_rows): "
            "the walk-forward measures the procedure's stability over time, not the registered model",
            res["walk_forward"]))
        backtest.tables.append(Table("Walk-forward stability", res["walk_forward_summary"]))

    cutoff = Section("Cut-off strategy", "cutoff", tables=[Table(
        f"Approval rate vs expected bad rate at each score cut-off ({chosen}, {rows_caption(res, 'test')})",
        res["cutoff_strategy_test"],
        note="Applicants at or above the cut-off are approved.")])

    versus = Section("Champion vs challenger", "versus", tables=[Table("Candidates of this run side by side", _candidate_table(res))])
    versus.paragraphs.append(recommendation(inp, res))
    warnings = Section("Limitations and warnings", "warnings", paragraphs=res["warnings"] or ["None detected."])
    promotion = [promotion_section(res["promotion"], inp.champion_comparison)] if res.get("promotion") else []
    sections = [summary, data, features, models, discrimination, calibration, stability, backtest, cutoff, versus,
                *promotion, warnings]
    return vp.pack_sections(sections, res, inp.pack) if inp.pack is not None else sections


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
    headline = [("validation AUC", res["metrics"]["choice_validation_auc"]), ("test AUC", t["auc"]), ("test KS", t["ks"]), ("test Gini", t["gini"]), ("OOT AUC", o["auc"]),
                ("OOT KS", o["ks"]), ("OOT Gini", o["gini"]), ("OOT PSI", o["psi"]), ("loans in sample", int(len(inp.sample))),
                ("warnings", len(res["warnings"]))]
    sections = build_sections(inp, res)
    pack = inp.pack is not None
    html = render_report(f"Validation report · {inp.portfolio}", inp.run_label, headline, sections,
                         identity=inp.pack.identity.rows() if pack and inp.pack.identity else None,
                         verdict=vp.verdict(res, recommendation(inp, res)) if pack else None)
    write_section_files(sections, out_dir)
    if pack:  # the supervisory tables under their ECB names, and the model card, beside the report
        vp.write_pack_files(inp, res, out_dir, recommendation(inp, res))
    report = out_dir / "validation_report.html"
    report.write_text(html, encoding="utf-8")
    metrics_path = write_json(out_dir / "metrics.json", {**res, **vp.as_json(res)} if pack else res)
    return report, metrics_path, res
