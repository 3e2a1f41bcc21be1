"""Promotion policy: when this run's model becomes champion, challenger, or nothing new.

Pure functions over plain numbers: the evidence of each model (gate metrics on this run's
rows), the like-for-like comparison with the current champion (same test and out-of-time
rows, paired DeLong) and the policy from config. No MLflow, no I/O: the registry asset
enacts the decision this module returns, and the report shows the same decision.

A candidate becomes champion only if it passes every gate **and** beats the champion's
out-of-time AUC on the same rows by more than the margin, or the champion itself now
fails its gates. Otherwise it becomes challenger. The out-of-time rows decide: the
champion may have been fitted on rows that fall in this run's random test split, never
on months newer than its own out-of-time window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from features.errors import ModelError
from models import calibration_tests, discrimination, rank_ordering, stability
from models.comparison import PairedDeLong
from models.lineage import RunFingerprint
from models.report import Section, Table

Decision = Literal["champion", "challenger", "pending", "unchanged"]
ContractStatus = Literal["pass", "warn", "fail"]


@dataclass(frozen=True)
class PromotionPolicy:
    """The gates and the margin (from ``promotion`` in the portfolio config)."""

    min_oot_auc: float = 0.6
    min_oot_ks: float = 0.15
    max_score_psi: float = 0.25
    max_csi: float = 0.25
    require_rank_ordering: bool = True
    rank_ordering_alpha: float = 0.05
    margin: float = 0.005
    four_eyes: bool = False

    def __post_init__(self):
        for name in ("min_oot_auc", "min_oot_ks", "max_score_psi", "max_csi", "margin"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ModelError(f"PromotionPolicy: {name} must be a number >= 0, got {value!r}")
        if not 0 < self.rank_ordering_alpha < 0.5:
            raise ModelError(f"PromotionPolicy: rank_ordering_alpha must be in (0, 0.5), got {self.rank_ordering_alpha!r}")
        if self.min_oot_auc > 1 or self.min_oot_ks > 1 or self.margin >= 1:
            raise ModelError("PromotionPolicy: min_oot_auc, min_oot_ks must be <= 1 and margin < 1, got "
                             f"{self.min_oot_auc}, {self.min_oot_ks}, {self.margin}")


@dataclass(frozen=True)
class GateEvidence:
    """What the gates look at, for one model on this run's rows.

    ``csi``: feature → CSI (development vs out of time) of the model's selected features;
    ``calibration_rejected``: split → whether any calibration test rejects the PD there;
    ``overfitting_flag``: ``None`` when it cannot be measured (a champion on rows it may
    have been fitted on); ``contract_status``: the run's data contracts.
    """

    oot_auc: float
    oot_ks: float
    score_psi: float
    csi: dict[str, float]
    rank_ordering_ok: bool
    calibration_rejected: dict[str, bool]
    overfitting_flag: bool | None
    contract_status: ContractStatus


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    observed: str
    threshold: str

    def describe(self) -> str:
        return f"{self.gate}: {self.observed} ({'pass' if self.passed else 'FAIL'}; required {self.threshold})"


@dataclass(frozen=True)
class ChampionComparison:
    """The current champion re-scored on this run's test and out-of-time rows, and the input fingerprint.

    ``auc`` / ``ks``: split → {"champion": .., "candidate": ..} on the same rows;
    ``delong``: split → paired DeLong of candidate minus champion; ``rows``: split → (rows, bads).
    ``champion_version`` is ``None`` when there is no champion (then every per-model field is empty).
    ``fingerprint``: content hashes of the input tables, config and code (``unchanged_since``: the
    registered version with the same fingerprint).
    """

    candidate: str
    fingerprint: RunFingerprint
    champion_version: str | None = None
    champion_candidate: str | None = None
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    auc: dict[str, dict[str, float]] = field(default_factory=dict)
    ks: dict[str, dict[str, float]] = field(default_factory=dict)
    delong: dict[str, PairedDeLong] = field(default_factory=dict)
    champion_evidence: GateEvidence | None = None
    champion_unscorable: str | None = None  # why the champion cannot score this run's rows, if it cannot
    unchanged_since: str | None = None

    def table(self) -> pd.DataFrame:
        """Champion and candidate side by side, one row per split."""
        rows = []
        for split, d in self.delong.items():
            n, bads = self.rows[split]
            rows.append({"split": split, "rows": n, "bads": bads,
                         "champion_auc": self.auc[split]["champion"], "candidate_auc": self.auc[split]["candidate"],
                         "auc_difference": d.difference, "delong_se": d.se, "delong_z": d.z, "delong_p": d.p_value,
                         "champion_ks": self.ks[split]["champion"], "candidate_ks": self.ks[split]["candidate"]})
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class PromotionDecision:
    """``decision``: champion (alias moves now), pending (four-eyes: waits for approval),
    challenger, or unchanged (nothing registered). ``reasons``: every reason, in order."""

    decision: Decision
    reasons: tuple[str, ...]
    gates: tuple[GateResult, ...] = ()
    champion_gates: tuple[GateResult, ...] = ()
    unchanged_since: str | None = None

    @property
    def promote(self) -> bool:
        return self.decision == "champion"

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    @property
    def gates_passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def as_dict(self) -> dict:
        return {"decision": self.decision, "reasons": list(self.reasons), "unchanged_since": self.unchanged_since,
                "gates": [g.__dict__ for g in self.gates], "champion_gates": [g.__dict__ for g in self.champion_gates]}


def evaluate_gates(ev: GateEvidence, policy: PromotionPolicy) -> tuple[GateResult, ...]:
    """Every gate of the policy on one model's evidence."""
    worst = max(ev.csi.items(), key=lambda kv: kv[1]) if ev.csi else None
    rejected = sorted(s for s, r in ev.calibration_rejected.items() if r)
    gates = [
        GateResult("out-of-time AUC", ev.oot_auc >= policy.min_oot_auc, f"{ev.oot_auc:.4f}", f">= {policy.min_oot_auc}"),
        GateResult("out-of-time KS", ev.oot_ks >= policy.min_oot_ks, f"{ev.oot_ks:.4f}", f">= {policy.min_oot_ks}"),
        GateResult("score PSI", ev.score_psi <= policy.max_score_psi, f"{ev.score_psi:.4f}", f"<= {policy.max_score_psi}"),
        GateResult("feature CSI", worst is None or worst[1] <= policy.max_csi,
                   f"max {worst[1]:.4f} ({worst[0]})" if worst else "no feature", f"<= {policy.max_csi} for every selected feature"),
        GateResult("rank ordering", ev.rank_ordering_ok or not policy.require_rank_ordering,
                   "holds" if ev.rank_ordering_ok else "significant inversion between score deciles on test",
                   f"no inversion significant at {policy.rank_ordering_alpha}" if policy.require_rank_ordering
                   else "not required"),
        GateResult("calibration", not rejected, "rejected on " + ", ".join(rejected) if rejected else "not rejected",
                   "no calibration test rejects on " + ", ".join(sorted(ev.calibration_rejected)) if ev.calibration_rejected
                   else "calibration tests"),
        GateResult("overfitting", ev.overfitting_flag is not True,
                   {True: "flagged", False: "not flagged", None: "not measurable"}[ev.overfitting_flag], "not flagged"),
        GateResult("data contracts", ev.contract_status != "fail", ev.contract_status, "pass (warnings allowed)"),
    ]
    return tuple(gates)


def decide_promotion(candidate: GateEvidence, comparison: ChampionComparison, policy: PromotionPolicy) -> PromotionDecision:
    """The policy: gates, then like for like with the champion on the out-of-time rows."""
    if comparison.unchanged_since is not None:
        return PromotionDecision("unchanged", ((f"unchanged since version {comparison.unchanged_since}: same input "
                                               "tables, config and code; nothing registered"),),
                                 unchanged_since=comparison.unchanged_since)
    gates = evaluate_gates(candidate, policy)
    failed = [g for g in gates if not g.passed]
    if failed:
        return PromotionDecision("challenger", tuple(f"gate failed: {g.describe()}" for g in failed), gates)
    win = "pending" if policy.four_eyes else "champion"
    approval = (" (four-eyes: waits for approval)",) if policy.four_eyes else ()
    if comparison.champion_version is None:
        return PromotionDecision(win, ("every gate passed and there is no champion yet",) + approval, gates)
    if comparison.champion_unscorable:
        return PromotionDecision(win, ("every gate passed", (f"the champion (version {comparison.champion_version}) cannot "
                                       f"score this run's rows: {comparison.champion_unscorable}")) + approval, gates)
    champion_gates = evaluate_gates(comparison.champion_evidence, policy) if comparison.champion_evidence else ()
    champion_failed = [g for g in champion_gates if not g.passed]
    d = comparison.delong["oot"]
    versus = (f"out-of-time AUC on the same {comparison.rows['oot'][0]} rows: this run {d.auc_a:.4f}, champion version "
              f"{comparison.champion_version} {d.auc_b:.4f} (difference {d.difference:+.4f}, paired DeLong p = {d.p_value:.4f})")
    if champion_failed:
        return PromotionDecision(win, ("every gate passed", *(f"the champion (version {comparison.champion_version}) now "
                                                              f"fails its gate {g.describe()}" for g in champion_failed),
                                       versus) + approval, gates, champion_gates)
    if d.difference > policy.margin:
        return PromotionDecision(win, ("every gate passed", versus + f" beats the margin {policy.margin}") + approval,
                                 gates, champion_gates)
    return PromotionDecision("challenger", ("every gate passed", versus + f" does not beat the margin {policy.margin}"),
                             gates, champion_gates)


def contract_status(contract_summary: dict | None) -> ContractStatus:
    """pass / warn / fail from the data contracts' summary (``results`` with ``success`` and ``severity``)."""
    if not contract_summary:
        return "pass"
    failed = [r for r in contract_summary.get("results", []) if not r.get("success")]
    if any(r.get("severity") == "error" for r in failed):
        return "fail"
    return "warn" if failed else "pass"


def rank_ordering_holds(bands: pd.DataFrame, alpha: float) -> bool:
    """No significant inversion of the bad rate between neighbouring score bands (riskiest band first).

    A safer band with a higher bad rate than its riskier neighbour is an inversion; it breaks
    rank ordering when Fisher's exact test (one-sided) finds it significant at ``alpha``.
    Deciles of a few hundred loans invert by noise; a strict monotonicity check would fail
    good models at random.
    """
    n, bads = bands["n"].to_numpy(dtype=int), bands["bads"].to_numpy(dtype=int)
    for i in range(len(n) - 1):
        if n[i] == 0 or n[i + 1] == 0 or bads[i + 1] / n[i + 1] <= bads[i] / n[i]:
            continue
        table = [[bads[i + 1], n[i + 1] - bads[i + 1]], [bads[i], n[i] - bads[i]]]
        if stats.fisher_exact(table, alternative="greater").pvalue < alpha:
            return False
    return True


def gate_evidence(results: dict, contract: ContractStatus, rank_alpha: float = 0.05) -> GateEvidence:
    """The gate evidence of this run's chosen candidate, from the report's results (``metrics.json``'s shape).

    The one place that reads the report's names: ``metrics.oot.{auc, ks, psi}``,
    ``metrics.<split>.calibration.rejected``, ``metrics.overfitting_flag``, ``csi`` (feature, csi)
    and ``bad_rate_by_band_test`` (n, bads per score decile on test, riskiest first).
    """
    m = results["metrics"]
    csi = results["csi"]
    csi = dict(zip(csi["feature"], csi["csi"])) if isinstance(csi, pd.DataFrame) else {r["feature"]: r["csi"] for r in csi}
    bands = pd.DataFrame(results["bad_rate_by_band_test"])
    calibration = {split: bool(m[split]["calibration"]["rejected"]) for split in ("test", "oot")
                   if isinstance(m.get(split), dict) and "calibration" in m[split]}
    return GateEvidence(oot_auc=float(m["oot"]["auc"]), oot_ks=float(m["oot"]["ks"]), score_psi=float(m["oot"]["psi"]),
                        csi={str(k): float(v) for k, v in csi.items()}, rank_ordering_ok=rank_ordering_holds(bands, rank_alpha),
                        calibration_rejected=calibration,
                        overfitting_flag=bool(m["overfitting_flag"]) if "overfitting_flag" in m else None,
                        contract_status=contract)


def calibration_rejected(y, pd_, grade, alpha: float) -> bool:
    """The report's calibration verdict (``metrics[split]["calibration"]["rejected"]``) for any scored model:
    a per-grade binomial or Jeffreys test finds the PD underestimated at ``alpha``, or
    Hosmer-Lemeshow rejects while the observed bad rate is above the mean PD. A PD that errs
    only on the conservative side is a finding, not a failure."""
    grades = calibration_tests.grade_tests(y, pd_, grade, alpha=alpha)
    under = float(np.mean(y)) > float(np.mean(pd_))
    return bool(not grades["binomial_pass"].all() or not grades["jeffreys_pass"].all()
                or (calibration_tests.hosmer_lemeshow(y, pd_).p_value < alpha and under))


def scored_evidence(scored: dict[str, pd.DataFrame], dev_features: pd.DataFrame, oot_features: pd.DataFrame,
                    alpha: float, contract: ContractStatus, rank_alpha: float = 0.05) -> GateEvidence:
    """Gate evidence of a model from its scores on this run's rows (the champion, re-scored).

    ``scored``: split (dev, test, oot) → frame with ``target``, ``pd``, ``score`` (points,
    higher is safer) and ``grade``; ``dev_features`` / ``oot_features``: the model's own
    features on those rows (CSI). The same statistics as the report's: KS on points, PSI
    of the PD against development deciles, rank ordering (:func:`rank_ordering_holds`) over test
    score deciles, calibration by :func:`calibration_rejected` at ``alpha``. Overfitting cannot
    be measured on rows the model may have been fitted on.
    """
    oot, test, dev = scored["oot"], scored["test"], scored["dev"]
    y_oot = oot["target"].to_numpy()
    rejected = {}
    for split in ("test", "oot"):
        part = scored[split]
        y, p = part["target"].to_numpy(), part["pd"].to_numpy(dtype=float)
        rejected[split] = calibration_rejected(y, p, part["grade"].to_numpy(), alpha)
    bands = rank_ordering.bad_rate_by_band(test["target"].to_numpy(), test["score"].to_numpy(dtype=float), bins=10)
    return GateEvidence(
        oot_auc=discrimination.auc(y_oot, oot["pd"].to_numpy(dtype=float)),
        oot_ks=discrimination.ks(y_oot, -oot["score"].to_numpy(dtype=float)).statistic,
        score_psi=stability.psi(dev["pd"].to_numpy(dtype=float), oot["pd"].to_numpy(dtype=float)),
        csi={f: float(stability.csi(dev_features[f], oot_features[f])) for f in dev_features.columns},
        rank_ordering_ok=rank_ordering_holds(bands, rank_alpha),
        calibration_rejected=rejected, overfitting_flag=None, contract_status=contract)


def promotion_section(decision: PromotionDecision, comparison: ChampionComparison) -> Section:
    """The report's promotion section: the decision, every reason, each gate, champion against candidate."""
    words = {"champion": "becomes champion", "pending": "waits for four-eyes approval to become champion",
             "challenger": "becomes challenger (the champion stays)", "unchanged": "is not registered (nothing new)"}
    section = Section("Promotion", "promotion", paragraphs=[
        f"Decision: '{comparison.candidate}' {words[decision.decision]}.", *decision.reasons])
    if decision.gates:
        section.tables.append(Table("Promotion gates: this run's model", pd.DataFrame([g.__dict__ for g in decision.gates])))
    if decision.champion_gates:
        section.tables.append(Table(f"Promotion gates: the champion (version {comparison.champion_version}) on this run's rows",
                                    pd.DataFrame([g.__dict__ for g in decision.champion_gates]),
                                    note="Overfitting cannot be measured for the champion on rows it may have been fitted on."))
    if comparison.delong:
        section.tables.append(Table(
            f"Champion (version {comparison.champion_version}) against this run's model on the same rows", comparison.table(),
            note="Paired DeLong test of equal AUCs (two-sided). The out-of-time rows decide: the champion may have been "
                 "fitted on rows of this run's random test split, never on months after its own out-of-time window."))
    fp = comparison.fingerprint
    section.paragraphs.append(f"Input fingerprint {fp.sha256[:16]}… (config {fp.config_sha256[:12]}…, code "
                              f"{fp.code_sha256[:12]}…): " + ", ".join(f"{t} {v['rows']:,} rows, sha256 {v['sha256'][:12]}…"
                                                                     for t, v in fp.tables.items()) + ".")
    return section
