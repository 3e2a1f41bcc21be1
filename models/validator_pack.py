"""The validator's pack in the validation report: what was validated, the supervisory PD
tests with traffic lights, fairness across protected attributes, scorecard coefficient
statistics, limitations with a severity, and where live monitoring stands.

:func:`compute_pack` adds its numbers to the report's results (``metrics.json``);
:func:`pack_sections` places its sections among the report's. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from features.errors import ModelError
from models import supervisory as sv
from models.coefficient_stats import coefficient_table
from models.fairness import FairnessResult, FairnessSpec, assess_fairness
from models.model_card import model_card
from models.report import Section, Table
from models.scorecard import WoeLogisticScorecard

SEVERITIES = ("high", "medium", "low")


@dataclass(frozen=True)
class ReportIdentity:
    """What the report validated, shown in its header and written to ``metrics.json``."""

    portfolio: str
    model_name: str
    model_version: str  # the registry version this run's model gets (or "not registered")
    candidate: str
    as_of: str  # the newest application month of the sample (YYYY-MM)
    bad_definition: str
    data_fingerprint: str
    config_hash: str
    code_version: str
    generated_at: str  # UTC, ISO 8601
    run_id: str

    def rows(self) -> list[tuple[str, str]]:
        return [("portfolio", self.portfolio), ("model", f"{self.model_name} · version {self.model_version}"),
                ("candidate", self.candidate), ("as of", self.as_of), ("bad definition", self.bad_definition),
                ("data fingerprint", self.data_fingerprint), ("config hash", self.config_hash),
                ("code version", self.code_version), ("generated", self.generated_at), ("run", self.run_id)]


@dataclass
class PackInputs:
    """What the pack needs beyond the report's own inputs.

    ``champion_reference``: the initial-validation reference stored with the champion's
    version (:func:`models.supervisory.initial_reference`), if any; ``protected_as_feature``:
    ``warn`` or ``error`` when a protected attribute is a model feature; ``monitoring``:
    the champion's latest live-monitoring result (``score_psi``, ``status``, ``recent_rows``)
    when the report can have it, else ``monitoring_note`` says where it lives.
    """

    identity: ReportIdentity | None = None
    lights: sv.TrafficLights = field(default_factory=sv.TrafficLights)
    champion_reference: dict | None = None
    fairness: FairnessSpec | None = None
    protected_as_feature: str = "warn"
    approval_rate: float = 0.8
    customer_column: str = "customer_id"
    migration_months: int = 12
    monitoring: dict | None = None
    monitoring_note: str = ""


def limitation(severity: str, text: str) -> dict:
    if severity not in SEVERITIES:
        raise ModelError(f"limitation severity must be one of {SEVERITIES}, got {severity!r}")
    return {"severity": severity, "limitation": text}


# --------------------------------------------------------------------------- numbers


def _pd_col(chosen: str) -> str:
    return f"pd_{chosen}"


def supervisory_pack(inp, res: dict, pack: PackInputs) -> sv.SupervisoryResult:
    """The ECB section 2.5 tests of the chosen candidate: out of time against its initial
    validation on the test split (its first validation is this run)."""
    preds, chosen = inp.backtest.predictions, inp.candidates[inp.chosen]
    n_grades = len(chosen.master_scale_.table())
    test, oot = preds[preds["split"] == "test"], preds[preds["split"] == "oot"]
    grade = lambda part: chosen.master_scale_.grade(part[_pd_col(inp.chosen)].to_numpy())
    run = f" of Dagster run {pack.identity.run_id}" if pack.identity else ""
    reference = sv.initial_reference(test["target"], test[_pd_col(inp.chosen)], grade(test), n_grades, f"test split{run}")
    res["initial_reference"] = reference  # stored with the model version (tag initial_validation) at registration
    migrations, source = None, ""
    if pack.customer_column in inp.sample.columns and "application_month" in inp.sample.columns:
        frame = inp.sample.loc[preds.index, [pack.customer_column, "application_month"]].assign(grade=grade(preds))
        migrations = sv.repeat_pairs(frame, pack.customer_column, "application_month", horizon_months=pack.migration_months)
        source = f"repeat applicants, consecutive applications ≤ {pack.migration_months} months apart"
    oot_name = "out of time" if inp.has_dates else "second holdout"
    result = sv.run_supervisory_tests(oot["target"], oot[_pd_col(inp.chosen)], grade(oot), n_grades, reference,
                                      sample=oot_name, score_psi=res["metrics"]["oot"]["psi"], csi=res["csi"],
                                      migrations=migrations, lights=pack.lights, migration_source=source)
    result.reference_note = ("This model has no earlier validation: its initial-validation reference is this run's "
                             f"test split ({reference['rows']:,} loans, AUC {reference['auc']:.4f}), and the current "
                             f"sample is the {oot_name} split.")
    comparison, stored = inp.champion_comparison, pack.champion_reference
    if stored is not None and comparison is not None and "oot" in comparison.auc:
        n, bads = comparison.rows["oot"]
        row = sv.champion_auc_row(stored, comparison.auc["oot"]["champion"], n, bads, oot_name, pack.lights)
        result.summary = pd.concat([result.summary, pd.DataFrame([row])], ignore_index=True)
        result.reference_note += (f" The champion (version {stored.get('version', '?')}) is tested against the reference "
                                  "stored with it when it was first promoted.")
    elif comparison is not None and comparison.champion_version is not None:
        result.reference_note += (f" The champion (version {comparison.champion_version}) carries no stored "
                                  "initial-validation reference, so its AUC is not tested against one.")
    return result


def fairness_pack(inp, pack: PackInputs) -> FairnessResult | None:
    """Fairness on the held-out rows (test and out of time) of the chosen candidate."""
    if pack.fairness is None:
        return None
    preds = inp.backtest.predictions
    held = preds[preds["split"].isin(["test", "oot"])]
    attrs = [a for a in pack.fairness.attributes if a in inp.sample.columns]
    frame = pd.concat([held[["target"]], held[_pd_col(inp.chosen)].rename("pd"), inp.sample.loc[held.index, attrs]], axis=1)
    read = sorted({a for m in inp.candidates.values() for a in model_features(m)})
    used = sorted(set(read) & set(pack.fairness.attributes))
    if used and pack.protected_as_feature == "error":
        raise ModelError(f"protected attributes {used} are model features and protected.used_as_feature is 'error': "
                         "exclude them from the features (source.exclude) or set it to 'warn'")
    return assess_fairness(frame.reset_index(drop=True), pack.fairness, read, approval_rate=pack.approval_rate)


def model_features(model) -> list[str]:
    """The features a fitted candidate reads."""
    return list(model.estimator.features_)


def scorecard_statistics(inp) -> dict[str, pd.DataFrame]:
    """Intercept, standard errors, p-values and VIF of each scorecard, on its fit rows (WOE, development)."""
    out = {}
    dev = inp.sample[inp.sample["split"] == "dev"]
    for name, model in inp.candidates.items():
        est = model.estimator
        if not isinstance(est, WoeLogisticScorecard):
            continue
        woe = est.binner.transform(dev[inp.features], variables=est.variables)[est.variables].to_numpy(dtype=float)
        out[name] = coefficient_table(woe, est.variables, est.estimator_.intercept_[0], est.estimator_.coef_[0])
    return out


def pack_limitations(inp, res: dict, fairness: FairnessResult | None, supervisory: sv.SupervisoryResult) -> list[dict]:
    """Limitations the validator pack adds, each with a severity."""
    out = []
    counts = inp.outcome_tables.get("counts_by_vintage")
    if counts is not None and len(counts) and "rejected" in counts:
        rejected, apps = int(counts["rejected"].sum()), int(counts["applications"].sum())
        if rejected:
            share = rejected / apps
            out.append(limitation("high" if share >= 0.2 else "medium",
                                  f"Rejected applications ({rejected:,} of {apps:,}, {share:.0%}) have no outcome and no "
                                  "reject inference was applied: the model learned from approved loans only, so its PDs "
                                  "for applicants like past rejects are extrapolated."))
        for outcome, why in (("immature", "younger than the performance window"), ("indeterminate", "in the indeterminate band")):
            n = int(counts[outcome].sum()) if outcome in counts else 0
            if n:
                out.append(limitation("medium" if outcome == "immature" else "low",
                                      f"{n:,} {outcome} loans ({why}) are left out of the sample; their outcome is unknown."))
    oot = res["metrics"]["oot"]
    oot_rows = inp.backtest.predictions[inp.backtest.predictions["split"] == "oot"]
    months = oot_rows["application_month"].nunique() if "application_month" in oot_rows and inp.has_dates else 0
    if oot["bads"] < 200 or oot["rows"] < 2000:
        severity = "high" if oot["bads"] < 50 or oot["rows"] < 1000 else "medium"
        span = f"{months} month(s), " if months else ""
        out.append(limitation(severity, f"Small out-of-time sample: {span}{oot['rows']:,} loans, {oot['bads']:,} bads "
                                        f"(AUC 95% interval {oot['auc_lower']:.3f}–{oot['auc_upper']:.3f})."))
    if fairness is not None:
        if fairness.used_as_feature:
            used_by = "; ".join(f"{a} (by {', '.join(n for n, m in inp.candidates.items() if a in model_features(m))})"
                                for a in fairness.used_as_feature)
            out.append(limitation("high", f"Protected attribute(s) used as model features: {used_by}. "
                                          "Check the legal basis or exclude them (source.exclude)."))
        if fairness.missing:
            out.append(limitation("low", f"Protected attribute(s) not in the data, fairness not measured: {fairness.missing}."))
        for _, row in fairness.failures().iterrows():
            out.append(limitation("high", f"Four-fifths rule: {row['attribute']} = {row['group']} has an approval rate "
                                          f"{row['approval_rate']:.1%}, adverse impact ratio {row['adverse_impact_ratio']:.2f} < 0.8."))
    for _, row in supervisory.summary.iterrows():
        if row["light"] == sv.RED:
            out.append(limitation("high", f"Supervisory test red: {row['test']} — {row['detail']}."))
    return out


def compute_pack(inp, res: dict, pack: PackInputs) -> dict:
    """The pack's numbers, to merge into the report's results."""
    supervisory = supervisory_pack(inp, res, pack)
    fairness = fairness_pack(inp, pack)
    # the report's own warnings carry no severity: they are "medium" unless the pack says otherwise
    # the pack's small-sample note (months, severity) replaces the report's own
    own = [w for w in res["warnings"] if not w.startswith("Small out-of-time sample")]
    limits = pack_limitations(inp, res, fairness, supervisory) + [limitation("medium", w) for w in own]
    limits.sort(key=lambda r: SEVERITIES.index(r["severity"]))
    tl = pack.lights
    thresholds = (f"Lights: p-value tests red below {tl.p_red}, amber below {tl.p_amber}; per-grade Jeffreys red from "
                  f"{tl.red_grades} red grades; PSI/CSI amber from {tl.psi_amber}, red from {tl.psi_red}; MWB amber from "
                  f"{tl.mwb_amber}, red from {tl.mwb_red} (config: supervisory, monitoring). The promotion gates test "
                  "calibration at their own level (models.calibration.test_alpha).")
    return {"identity": pack.identity.__dict__ if pack.identity else None, "supervisory": supervisory,
            "supervisory_thresholds": thresholds, "migration_months": pack.migration_months,
            "supervisory_light": sv.overall_light(supervisory.summary), "fairness": fairness,
            "scorecard_statistics": scorecard_statistics(inp), "limitations": limits,
            "monitoring": pack.monitoring}


# --------------------------------------------------------------------------- sections


def supervisory_summary_table(res: dict) -> Table:
    sup: sv.SupervisoryResult = res["supervisory"]
    return Table(f"Supervisory PD tests (ECB instructions 2019, section 2.5): overall {res['supervisory_light']}",
                 sup.summary, note=f"{sup.reference_note} p-values are one-sided. {res['supervisory_thresholds']} "
                                   "Details in the Supervisory tests section.")


def supervisory_section(res: dict) -> Section:
    sup: sv.SupervisoryResult = res["supervisory"]
    section = Section("Supervisory tests", "supervisory", paragraphs=[sup.reference_note])
    section.tables += [Table("Jeffreys test per grade and for the portfolio (Beta(D+½, N−D+½) at the grade's mean PD)", sup.jeffreys),
                       Table("Current AUC vs AUC at initial validation (S = (AUC_init − AUC_now) / s, DeLong s)", sup.discrimination),
                       Table("Concentration in rating grades: Herfindahl index, initial vs now", sup.concentration)]
    if len(sup.migration):
        section.tables.append(Table("Grade migration matrix of repeat applicants (rows: earlier application, columns: the "
                                    f"next one, at most {res['migration_months']} months later)",
                                    sup.migration.reset_index().rename(columns={"grade_from": "from \\ to"})))
    else:
        section.paragraphs.append("No obligor was rated twice in this sample, so there is no migration matrix.")
    return section


def fairness_section(res: dict, spec: FairnessSpec | None) -> Section | None:
    fair: FairnessResult | None = res["fairness"]
    if fair is None:
        return None
    section = Section("Fairness", "fairness", paragraphs=[(
        f"Protected attributes: {list(spec.attributes)}. Measured on the held-out loans (test and out of time) of the "
        f"chosen model, approved when the PD is at most {fair.cutoff:.4f} (approves {fair.approval_rate:.1%}). "
        "Adverse impact ratio: the group's approval rate over the highest group's; below 0.8 fails the four-fifths rule. "
        "Rejected applicants are not in these rows.")])
    if fair.used_as_feature:
        section.paragraphs.append(f"WARNING: used as model features: {fair.used_as_feature}.")
    if fair.missing:
        section.paragraphs.append(f"Not in the data (not measured): {fair.missing}.")
    if len(fair.table):
        section.tables.append(Table("Approval rate, mean PD, bad rate, AUC and adverse impact ratio per group", fair.table))
    return section


def monitoring_section(res: dict, note: str) -> Section:
    mon = res.get("monitoring")
    section = Section("Live monitoring", "monitoring")
    if mon:
        section.tables.append(Table("The champion on the newest applications", pd.DataFrame(
            [{k: v for k, v in mon.items() if not isinstance(v, (pd.DataFrame, dict, list))}])))
    section.paragraphs.append(note or "Live monitoring of the champion runs after registration (the `monitoring` "
                                      "asset); its results are in Dagster's asset metadata and the run's MLflow record.")
    return section


def limitations_section(res: dict) -> Section:
    table = pd.DataFrame(res["limitations"], columns=["severity", "limitation"])
    counts = table["severity"].value_counts()
    return Section("Limitations and warnings", "warnings", paragraphs=[
        "Counts by severity: " + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in SEVERITIES) + "."],
        tables=[Table("Limitations, most severe first", table, max_rows=500)] if len(table) else [])


def pack_sections(sections: list[Section], res: dict, pack: PackInputs) -> list[Section]:
    """The report's sections with the pack's: the supervisory summary opens the report,
    coefficient statistics join the models, fairness / supervisory / monitoring come before
    the limitations, which become a table with severities."""
    by_anchor = {s.anchor: s for s in sections}
    at_a_glance = Section("Supervisory tests at a glance", "lights", tables=[supervisory_summary_table(res)])
    if "models" in by_anchor:
        for name, table in res["scorecard_statistics"].items():
            by_anchor["models"].tables.append(Table(
                f"Coefficient statistics: {name} (Wald tests from the information matrix on development; VIF of the WOE)", table))
    extra = [s for s in (supervisory_section(res), fairness_section(res, pack.fairness),
                         monitoring_section(res, pack.monitoring_note)) if s is not None]
    if "versus" in by_anchor:  # its table was the summary's again; the promotion section compares on the same rows
        versus = by_anchor["versus"]
        versus.tables = []
        versus.paragraphs.append("This run's candidates side by side: the first table of the Summary. The current "
                                 "champion against this run's model on the same rows: the Promotion section"
                                 + ("." if "promotion" in by_anchor else " (no champion to compare with)."))
    out = [s for s in sections if s.anchor != "warnings"]
    return [at_a_glance] + out + extra + [limitations_section(res)]


def contract_tables(results: pd.DataFrame, versions: dict) -> list[Table]:
    """Data-contract results: pass/fail counts per table and severity first, the failures, then the passing
    checks folded away (most are "column exists")."""
    ok = results["success"].astype(bool)
    counts = (results.assign(passed=ok, failed=~ok).groupby(["table", "severity"], sort=True)[["passed", "failed"]].sum()
              .reset_index().assign(checks=lambda f: f["passed"] + f["failed"]))
    note = "Contract versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())
    out = [Table(f"Data contracts: {int(ok.sum()):,} checks passed, {int((~ok).sum()):,} failed", counts[[
        "table", "severity", "checks", "passed", "failed"]], note=note)]
    if (~ok).any():
        out.append(Table("Data-contract checks that failed (errors first)", results[~ok]))
    out.append(Table("Data-contract checks that passed", results[ok], folded=True, max_rows=1000))
    return out


def verdict(res: dict, decision_text: str | None) -> tuple[str, str]:
    """The banner under the header: the promotion decision (or recommendation) and the overall light."""
    light = res["supervisory_light"]
    text = decision_text or "No promotion decision was recorded for this run."
    return (light if light != sv.NOT_RUN else "amber", f"{text} Supervisory tests overall: {light}.")


def as_json(res: dict) -> dict:
    """The pack's results in ``metrics.json`` form (tables as records)."""
    sup: sv.SupervisoryResult = res["supervisory"]
    fair: FairnessResult | None = res["fairness"]
    return {"supervisory": {**sup.tables(), "overall_light": res["supervisory_light"], "reference_note": sup.reference_note},
            "fairness": None if fair is None else {"table": fair.table, "used_as_feature": fair.used_as_feature,
                                                   "missing": fair.missing, "cutoff_pd": fair.cutoff,
                                                   "approval_rate": fair.approval_rate},
            "scorecard_statistics": res["scorecard_statistics"]}


def pack_tables(res: dict) -> dict[str, pd.DataFrame]:
    """Every pack table for ``tables/`` as CSV, named by the ECB test they hold."""
    sup: sv.SupervisoryResult = res["supervisory"]
    out = {f"supervisory_{k}" if not k.startswith("supervisory") else k: v for k, v in sup.tables().items() if len(v)}
    if res["fairness"] is not None:
        out["fairness_by_group"] = res["fairness"].table
    for name, t in res["scorecard_statistics"].items():
        out[f"coefficient_statistics_{name}"] = t
    out["limitations"] = pd.DataFrame(res["limitations"], columns=["severity", "limitation"])
    return out




def intended_use(inp) -> str:
    return (f"Probability of default at application for the '{inp.portfolio}' portfolio: to approve or decline new "
            "applications and set limits or prices by score band, with reason codes for declined applicants. The PD "
            "is calibrated on held-out development rows and graded on the master scale; it is a point-in-time "
            "application PD, not a through-the-cycle capital PD.")


def write_pack_files(inp, res: dict, out_dir, decision_text: str) -> None:
    """The pack's tables as CSV under ``tables/`` (named by ECB test) and ``model_card.md``, next to the report."""
    tables = out_dir / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    for name, frame in pack_tables(res).items():
        frame.to_csv(tables / f"{name}.csv", index=False)
    card = model_card(res, intended_use=intended_use(inp), decision=decision_text,
                      oot_name="out of time" if inp.has_dates else "second holdout")
    (out_dir / "model_card.md").write_text(card, encoding="utf-8")
