"""Monitoring the champion on like-for-like populations, and the early performance of recent vintages.

Population stability compares *through-the-door* applications now with the through-the-door
applications of the champion's development window (and approved with approved, where the
approval mix matters): score PSI, CSI per feature, the grade distribution and the approval
rate at the cut-off. Comparing approved development loans with every new application (rejects
included) would report drift that is only the approval policy.

Early performance: the share of loans of the newest observable vintages that reached
``early_dpd``+ days past due by ``early_mob`` months on book, per grade, against the rate that
grade showed on the champion's development vintages — what the champion's PD ranking implied
for the early indicator — with a one-sided binomial test per grade (H1: worse than implied).

Tiers: below ``amber`` green, from ``amber`` amber, from ``red`` red. An early-delinquency tier
needs the excess to be significant at ``significance`` as well as large.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import numpy as np
import pandas as pd
from scipy import stats

from features.errors import ModelError
from models import stability

TIERS = ("green", "amber", "red")


def tier(value: float, amber: float, red: float) -> str:
    """``green`` below ``amber``, ``amber`` from ``amber``, ``red`` from ``red`` (NaN: green, nothing to judge)."""
    if not amber < red:
        raise ModelError(f"tier bands: amber ({amber}) must be below red ({red})")
    if value is None or np.isnan(value):
        return "green"
    return "red" if value >= red else "amber" if value >= amber else "green"


def worst(tiers) -> str:
    tiers = list(tiers)
    return max(tiers, key=TIERS.index) if tiers else "green"


@dataclass(frozen=True)
class Bands:
    """Tier bands of one measure."""

    amber: float
    red: float

    def __post_init__(self):
        if not 0 < self.amber < self.red:
            raise ModelError(f"monitoring bands: need 0 < amber < red, got amber={self.amber}, red={self.red}")


@dataclass(frozen=True)
class MonitoringPolicy:
    psi: Bands = Bands(0.10, 0.25)
    csi: Bands = Bands(0.10, 0.25)
    early_ratio: Bands = Bands(1.25, 1.5)
    significance: float = 0.05

    def __post_init__(self):
        if not 0 < self.significance < 0.5:
            raise ModelError(f"monitoring significance must be in (0, 0.5), got {self.significance}")


@dataclass
class MonitoringResult:
    """What the monitoring asset reports, logs and alerts on."""

    status: str  # worst tier over score PSI, CSI and early delinquency
    score_psi: float  # through-the-door now vs through-the-door of the development window
    score_tier: str
    approved_score_psi: float  # approved now vs approved then (NaN without approvals)
    populations: pd.DataFrame  # population, reference_rows, current_rows, score_psi, tier
    csi: pd.DataFrame  # feature, in_model, csi, tier (info: an input the champion does not read)
    grades: pd.DataFrame  # grade, reference_share, current_share
    approval: dict  # cutoff, reference_rate, current_rate
    early: pd.DataFrame  # grade, loans, delinquent, observed_rate, expected_rate, ratio, p_value, tier
    early_tier: str
    csi_tier: str
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """A JSON-ready dict (tables as records)."""
        def records(frame):
            return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                    for r in frame.to_dict("records")]
        return {"status": self.status, "score_psi": self.score_psi, "score_tier": self.score_tier,
                "approved_score_psi": None if np.isnan(self.approved_score_psi) else self.approved_score_psi,
                "csi_tier": self.csi_tier, "early_tier": self.early_tier, "approval": self.approval,
                "populations": records(self.populations), "csi": records(self.csi), "grades": records(self.grades),
                "early_delinquency": records(self.early), "notes": self.notes}


def early_delinquency(performance: pd.DataFrame, application_month: pd.Series, dpd: int, mob: int) -> pd.Series:
    """Per application (``application_month`` indexed by application id, dates or monthly periods):
    1 if its loan reached ``dpd``+ days past due within ``mob`` months on book, else 0.

    Months on book count from the application month (the month after it is MOB 1). Loans
    whose vintage has not reached ``mob`` by the newest snapshot month are left out (NaN).
    """
    if dpd < 1 or mob < 1:
        raise ModelError(f"early delinquency: dpd and mob must be >= 1, got dpd={dpd}, mob={mob}")
    app_month = month_numbers(application_month)
    snap = month_numbers(performance["snapshot_month"])
    # each performance row's application by position (-1: a loan without an application), no loan-id index
    # and no group-by: a few arrays of the performance table's length (6.7M rows at 1M applications)
    at = application_month.index.get_indexer(performance["loan_id"].to_numpy())
    mob_of_row = snap - np.where(at >= 0, app_month[at], np.nan)  # NaN (never a MOB) without an application month
    early_rows = (mob_of_row >= 1) & (mob_of_row <= mob)
    del mob_of_row
    bad = (pd.to_numeric(performance["days_past_due"], errors="coerce").to_numpy() >= dpd) & early_rows
    flag = np.zeros(len(application_month))
    flag[at[bad]] = 1.0
    observable = np.nanmax(snap) - app_month >= mob
    return pd.Series(np.where(observable, flag, np.nan), index=application_month.index)


def month_numbers(values: pd.Series) -> np.ndarray:
    """Months since January 1970 of dates or monthly periods, as floats (NaN where missing): month arithmetic
    on plain numbers (a period's year and month attributes cost a second per million rows)."""
    if isinstance(values.dtype, pd.PeriodDtype):
        if values.dtype != pd.PeriodDtype("M"):
            values = values.dt.asfreq("M")
        ordinals, missing = values.array.asi8, values.isna().to_numpy()
    else:
        dates = pd.to_datetime(values)
        ordinals = dates.to_numpy().astype("datetime64[M]").astype(np.int64)
        missing = dates.isna().to_numpy()
    out = ordinals.astype(float)
    out[missing] = np.nan
    return out


class ChampionMonitor:
    """Fit on the development window (reference), then :meth:`evaluate` a current population.

    ``fit`` takes the champion's decisions (``pd``, ``score``, ``grade`` columns) on the
    through-the-door applications of the development window, their features, whether each was
    approved, and the early-delinquency flag of the approved loans (NaN where unobserved).
    """

    def __init__(self, policy: MonitoringPolicy = MonitoringPolicy(), approval_cutoff: float | None = None):
        self.policy = policy
        self.approval_cutoff = approval_cutoff

    def fit(self, decisions: pd.DataFrame, features: pd.DataFrame, approved, early) -> ChampionMonitor:
        _check_decisions(decisions, "reference")
        approved = np.asarray(approved, dtype=bool)
        if len(decisions) == 0:
            raise ModelError("monitoring reference: the development window has no applications")
        self.reference_ = decisions.reset_index(drop=True)
        self.reference_features_ = features.reset_index(drop=True)
        self.reference_approved_ = approved
        self.cutoff_ = (float(self.approval_cutoff) if self.approval_cutoff is not None else
                        _cutoff_for_rate(self.reference_["score"].to_numpy(), approved.mean()))
        early = pd.Series(np.asarray(early, dtype=float))
        grades = self.reference_["grade"]
        seen = early.notna().to_numpy() & approved
        self.expected_early_ = early[seen].groupby(grades[seen].to_numpy()).mean()
        self.expected_loans_ = early[seen].groupby(grades[seen].to_numpy()).size()
        return self

    def evaluate(self, decisions: pd.DataFrame, features: pd.DataFrame, approved,
                 recent_early: pd.DataFrame | None = None, model_features: list[str] | None = None) -> MonitoringResult:
        """``recent_early``: grade and early-delinquency flag of the loans of the recent observable vintages.

        ``model_features``: the inputs the champion actually reads (default: every column); only
        their CSI sets the tier, the other inputs are reported with tier ``info``.
        """
        _check_decisions(decisions, "current")
        approved = np.asarray(approved, dtype=bool)
        p, ref = self.policy, self.reference_
        notes = []
        ttd_psi = stability.psi(ref["score"], decisions["score"])
        both_approved = self.reference_approved_.any() and approved.any()
        app_psi = (stability.psi(ref["score"][self.reference_approved_], decisions["score"].to_numpy()[approved])
                   if both_approved else float("nan"))
        populations = pd.DataFrame([
            {"population": "through the door", "reference_rows": len(ref), "current_rows": len(decisions),
             "score_psi": ttd_psi, "tier": tier(ttd_psi, p.psi.amber, p.psi.red)},
            {"population": "approved", "reference_rows": int(self.reference_approved_.sum()), "current_rows": int(approved.sum()),
             "score_psi": app_psi, "tier": tier(app_psi, p.psi.amber, p.psi.red)},
        ])
        score_tier = worst(populations["tier"])
        used = set(self.reference_features_.columns if model_features is None else model_features)
        rows = []
        for col in self.reference_features_.columns:
            value = stability.csi(self.reference_features_[col], features[col].reset_index(drop=True))
            rows.append({"feature": col, "in_model": col in used,
                         "csi": value, "tier": tier(value, p.csi.amber, p.csi.red) if col in used else "info"})
        csi = pd.DataFrame(rows, columns=["feature", "in_model", "csi", "tier"]).sort_values(
            ["in_model", "csi"], ascending=False, kind="stable")
        grade_index = sorted(set(ref["grade"]) | set(decisions["grade"]))
        grades = pd.DataFrame({"grade": grade_index,
                               "reference_share": ref["grade"].value_counts(normalize=True).reindex(grade_index, fill_value=0).to_numpy(),
                               "current_share": decisions["grade"].value_counts(normalize=True).reindex(grade_index, fill_value=0).to_numpy()})
        approval = {"cutoff": self.cutoff_,
                    "reference_rate": float((ref["score"] >= self.cutoff_).mean()),
                    "current_rate": float((decisions["score"] >= self.cutoff_).mean()),
                    "reference_approved_share": float(self.reference_approved_.mean()),
                    "current_approved_share": float(approved.mean())}
        early = self._early(recent_early)
        if early.empty:
            notes.append("no recent vintage is old enough to be observed at the early-delinquency MOB")
        early_tier = worst(early["tier"]) if len(early) else "green"
        csi_tier = worst(csi.loc[csi["in_model"], "tier"])
        return MonitoringResult(status=worst([score_tier, csi_tier, early_tier]), score_psi=ttd_psi, score_tier=score_tier,
                                approved_score_psi=app_psi, populations=populations, csi=csi.reset_index(drop=True),
                                grades=grades, approval=approval, early=early, early_tier=early_tier, csi_tier=csi_tier,
                                notes=notes)

    def _early(self, recent: pd.DataFrame | None) -> pd.DataFrame:
        cols = ["grade", "loans", "delinquent", "observed_rate", "expected_rate", "ratio", "p_value", "tier"]
        if recent is None or recent["early"].notna().sum() == 0:
            return pd.DataFrame(columns=cols)
        p = self.policy
        recent = recent[recent["early"].notna()]
        rows = []
        groups = [(str(g), part["early"]) for g, part in recent.groupby("grade")] + [("all", recent["early"])]
        for grade, flags in groups:
            n, k = len(flags), int(flags.sum())
            if grade == "all":  # the pooled expectation follows the recent grade mix
                expected = float(recent["grade"].map(self.expected_early_).mean())
            else:
                expected = float(self.expected_early_.get(int(grade) if grade.isdigit() else grade, np.nan))
            if np.isnan(expected):
                rows.append({"grade": grade, "loans": n, "delinquent": k, "observed_rate": k / n, "expected_rate": np.nan,
                             "ratio": np.nan, "p_value": np.nan, "tier": "green"})
                continue
            ratio = (k / n) / expected if expected > 0 else (np.inf if k else 1.0)
            p_value = float(stats.binomtest(k, n, min(max(expected, 1e-12), 1.0), alternative="greater").pvalue)
            level = tier(ratio, p.early_ratio.amber, p.early_ratio.red) if p_value < p.significance else "green"
            rows.append({"grade": grade, "loans": n, "delinquent": k, "observed_rate": k / n, "expected_rate": expected,
                         "ratio": ratio, "p_value": p_value, "tier": level})
        return pd.DataFrame(rows, columns=cols)


def _cutoff_for_rate(scores: np.ndarray, rate: float) -> float:
    """The score at or above which ``rate`` of the applications fall (higher score = better)."""
    if rate <= 0:
        return float(np.max(scores)) + 1.0
    return float(np.quantile(scores, 1.0 - min(rate, 1.0), method="higher"))


def _check_decisions(decisions: pd.DataFrame, name: str) -> None:
    missing = {"pd", "score", "grade"} - set(decisions.columns)
    if missing:
        raise ModelError(f"monitoring {name}: decisions lack columns {sorted(missing)} (need the champion's pd, score, grade)")


def render_html(result: MonitoringResult, title: str) -> str:
    """A self-contained monitoring report."""
    colour = {"green": "#1a7f37", "amber": "#b35900", "red": "#c62828"}

    def table(frame: pd.DataFrame) -> str:
        if frame.empty:
            return "<p><em>none</em></p>"
        head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
        body = []
        for _, r in frame.iterrows():
            cells = []
            for c, v in r.items():
                text = f"{v:.4f}" if isinstance(v, float) else str(v)
                style = f' style="color:{colour[v]};font-weight:bold"' if c == "tier" and v in colour else ""
                cells.append(f"<td{style}>{escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        return f"<table><tr>{head}</tr>{''.join(body)}</table>"

    a = result.approval
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}</style></head><body>
<h1>{escape(title)}</h1>
<p>Overall status: <b style="color:{colour[result.status]}">{result.status.upper()}</b>
 (score {result.score_tier}, CSI {result.csi_tier}, early delinquency {result.early_tier})</p>
<h2>Score stability (like-for-like populations)</h2>{table(result.populations)}
<h2>Approval rate at the cut-off</h2>
<p>cut-off score {a['cutoff']:.1f}: development window {a['reference_rate']:.1%}, now {a['current_rate']:.1%}
 (the lender's own approvals: {a['reference_approved_share']:.1%} then, {a['current_approved_share']:.1%} now)</p>
<h2>Grade distribution (through the door)</h2>{table(result.grades)}
<h2>Characteristic stability (CSI per feature)</h2>{table(result.csi)}
<h2>Early delinquency of recent vintages against the champion's grades</h2>{table(result.early)}
<ul>{notes}</ul></body></html>"""
