"""Supervisory PD tests: the ECB's *Instructions for reporting the validation results of
internal models* (February 2019), section 2.5 (PD), as plain functions.

* **predictive ability** — Jeffreys test per grade and for the portfolio: the p-value is
  ``Beta(D + 1/2, N - D + 1/2).cdf(PD)``; a small p-value means the PD underestimates the
  observed default rate;
* **discriminatory power** — the current AUC against the AUC at initial validation,
  ``S = (AUC_init - AUC_now) / s`` with ``s`` the standard error of the current AUC
  (DeLong), p-value ``1 - Phi(S)`` (one-sided: has the AUC fallen?);
* **concentration in rating grades** — Herfindahl index ``HHI = sum R_i^2`` of the grade
  shares ``R_i``, the ECB's normalised ``HI = 1 + ln((CV^2 + 1) / K) / ln K`` with
  ``CV = sqrt(K * sum (R_i - 1/K)^2)``, and the test of a rise against initial validation,
  p-value ``1 - Phi(sqrt(K - 1) (CV_now - CV_init) / sqrt(CV_now^2 (1/2 + CV_now^2)))``;
* **stability** — a grade migration matrix of obligors rated twice and its upper / lower
  matrix weighted bandwidth (MWB, ECB section 2.5.5.1): the distance-weighted share of
  migrations above / below the diagonal, normalised by the largest distance each row
  could have moved.

Each test gets a traffic light from :class:`TrafficLights` (green / amber / red); the
thresholds are the portfolio config's ``supervisory`` block. Grades are integers
``1 .. K`` with 1 the safest (the master scale's convention), so a migration above the
diagonal (to a higher grade number) is a downgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from features.errors import ModelError
from models.calibration_tests import grade_tests
from models.discrimination import auc_delong_ci

GREEN, AMBER, RED, NOT_RUN = "green", "amber", "red", "not run"
LIGHT_ORDER = {GREEN: 0, AMBER: 1, RED: 2, NOT_RUN: -1}

#: ECB test names (as in the instructions' section 2.5), used as the ``test`` column of every table.
TEST_JEFFREYS_PORTFOLIO = "Jeffreys test, portfolio (predictive ability)"
TEST_JEFFREYS_GRADES = "Jeffreys test, per grade (predictive ability)"
TEST_AUC = "Current AUC vs AUC at initial validation (discriminatory power)"
TEST_HERFINDAHL = "Herfindahl index, concentration in rating grades"
TEST_PSI = "Population stability index of the score (stability)"
TEST_CSI = "Characteristic stability index, worst feature (stability)"
TEST_MWB = "Customer migrations: matrix weighted bandwidth (stability)"


@dataclass(frozen=True)
class TrafficLights:
    """Green / amber / red thresholds of the supervisory tests.

    p-value tests are amber below ``p_amber`` and red below ``p_red``; per-grade Jeffreys
    is amber when one grade is red and red when ``red_grades`` or more are; PSI / CSI and
    the larger MWB are amber at or above their ``*_amber`` and red at or above ``*_red``.
    """

    p_amber: float = 0.10
    p_red: float = 0.05
    red_grades: int = 2
    psi_amber: float = 0.10
    psi_red: float = 0.25
    mwb_amber: float = 0.20
    mwb_red: float = 0.30

    def __post_init__(self) -> None:
        if not 0 < self.p_red < self.p_amber < 1:
            raise ModelError(f"traffic lights: need 0 < p_red < p_amber < 1, got p_red={self.p_red}, p_amber={self.p_amber}")
        for name in ("psi", "mwb"):
            amber, red = getattr(self, f"{name}_amber"), getattr(self, f"{name}_red")
            if not 0 < amber < red:
                raise ModelError(f"traffic lights: need 0 < {name}_amber < {name}_red, got {amber}, {red}")
        if self.red_grades < 1:
            raise ModelError(f"traffic lights: red_grades must be >= 1, got {self.red_grades}")

    def from_p(self, p_value: float) -> str:
        if p_value is None or not np.isfinite(p_value):
            return NOT_RUN
        return RED if p_value < self.p_red else AMBER if p_value < self.p_amber else GREEN

    def from_level(self, value: float, amber: float, red: float) -> str:
        if value is None or not np.isfinite(value):
            return NOT_RUN
        return RED if value >= red else AMBER if value >= amber else GREEN


# --------------------------------------------------------------------------- calibration


def jeffreys_test(y_true: Any, pd_: Any, grade: Any) -> pd.DataFrame:
    """Jeffreys test per grade and for the whole portfolio (last row, ``grade`` = "portfolio").

    Columns: ``grade, n, defaults, mean_pd, observed_dr, jeffreys_p_value``. The grade's
    PD is the mean PD of its obligors; the p-value is the posterior probability
    ``Beta(D + 1/2, N - D + 1/2).cdf(PD)`` that the true default rate is below it.
    """
    table = grade_tests(y_true, pd_, np.asarray(grade))[["grade", "n", "defaults", "mean_pd", "observed_dr", "jeffreys_p_value"]]
    table = table.sort_values("grade").reset_index(drop=True)
    y, p = np.asarray(y_true, dtype=float), np.asarray(pd_, dtype=float)
    n, d, mean_pd = len(y), int(y.sum()), float(p.mean())
    portfolio = {"grade": "portfolio", "n": n, "defaults": d, "mean_pd": mean_pd, "observed_dr": d / n,
                 "jeffreys_p_value": float(stats.beta.cdf(mean_pd, d + 0.5, n - d + 0.5))}
    table["grade"] = table["grade"].astype(object)
    return pd.concat([table, pd.DataFrame([portfolio])], ignore_index=True)


# --------------------------------------------------------------------------- discrimination


@dataclass(frozen=True)
class AucComparison:
    auc_initial: float
    auc_current: float
    se_current: float
    statistic: float
    p_value: float


def auc_vs_initial(y_true: Any, y_score: Any, auc_initial: float) -> AucComparison:
    """The ECB's test of the current AUC against the AUC at initial validation.

    ``S = (auc_initial - auc_current) / s`` with ``s`` the DeLong standard error of the
    current AUC; p-value ``1 - Phi(S)``: small when the AUC has fallen significantly.
    ``y_score``: higher = riskier (a PD).
    """
    if not 0 <= float(auc_initial) <= 1:
        raise ModelError(f"auc_initial: must be in [0, 1], got {auc_initial!r}")
    res = auc_delong_ci(y_true, y_score)
    if res.se <= 0:
        raise ModelError("y_score: the current AUC has a zero standard error (perfect separation); the test is undefined")
    s = (float(auc_initial) - res.auc) / res.se
    return AucComparison(float(auc_initial), res.auc, res.se, float(s), float(stats.norm.sf(s)))


# --------------------------------------------------------------------------- concentration


def grade_counts(grade: Any, n_grades: int) -> np.ndarray:
    """Obligors per grade ``1 .. n_grades`` (zeros for empty grades)."""
    g = np.asarray(grade)
    if len(g) == 0:
        raise ModelError("grade: is empty")
    if not np.issubdtype(g.dtype, np.integer) or g.min() < 1 or g.max() > n_grades:
        raise ModelError(f"grade: must be integers 1..{n_grades}, got values from {g.min()} to {g.max()}")
    return np.bincount(g - 1, minlength=n_grades)


@dataclass(frozen=True)
class Concentration:
    hhi: float  # sum of squared grade shares, in [1/K, 1]
    hi: float  # the ECB's normalised Herfindahl index, in [0, 1]
    cv: float  # coefficient of variation of the grade shares


def concentration(counts: Any) -> Concentration:
    """Herfindahl index of a grade distribution (counts per grade, empty grades included)."""
    c = np.asarray(counts, dtype=float)
    k = len(c)
    if k < 2 or c.sum() <= 0 or (c < 0).any():
        raise ModelError(f"counts: need >= 2 grades with non-negative counts and at least one obligor, got {list(c)}")
    r = c / c.sum()
    cv = float(np.sqrt(k * np.sum((r - 1.0 / k) ** 2)))
    return Concentration(float(np.sum(r**2)), float(1.0 + np.log((cv**2 + 1.0) / k) / np.log(k)), cv)


@dataclass(frozen=True)
class ConcentrationComparison:
    initial: Concentration
    current: Concentration
    statistic: float
    p_value: float


def concentration_vs_initial(initial_counts: Any, current_counts: Any) -> ConcentrationComparison:
    """The ECB's test of a rise in grade concentration since initial validation (one-sided)."""
    init, now = concentration(initial_counts), concentration(current_counts)
    k = len(np.asarray(current_counts))
    if len(np.asarray(initial_counts)) != k:
        raise ModelError(f"initial_counts: has {len(np.asarray(initial_counts))} grades, current_counts {k}")
    denom = np.sqrt(now.cv**2 * (0.5 + now.cv**2))
    if denom == 0:  # a perfectly even current distribution cannot be more concentrated
        return ConcentrationComparison(init, now, float("-inf"), 1.0)
    z = np.sqrt(k - 1) * (now.cv - init.cv) / denom
    return ConcentrationComparison(init, now, float(z), float(stats.norm.sf(z)))


# --------------------------------------------------------------------------- migrations


def migration_matrix(grade_from: Any, grade_to: Any, n_grades: int) -> pd.DataFrame:
    """Counts of obligors by grade at the first rating (rows) and the second (columns)."""
    a, b = np.asarray(grade_from), np.asarray(grade_to)
    if len(a) != len(b):
        raise ModelError(f"grade_to: has {len(b)} values, grade_from {len(a)}")
    grade_counts(a, n_grades), grade_counts(b, n_grades)  # range checks
    counts = np.zeros((n_grades, n_grades), dtype=np.int64)
    np.add.at(counts, (a - 1, b - 1), 1)
    labels = list(range(1, n_grades + 1))
    return pd.DataFrame(counts, index=pd.Index(labels, name="grade_from"), columns=pd.Index(labels, name="grade_to"))


@dataclass(frozen=True)
class Bandwidth:
    upper: float  # migrations to a higher grade number (downgrades on a 1 = safest scale)
    lower: float  # migrations to a lower grade number (upgrades)


def matrix_weighted_bandwidth(counts: Any) -> Bandwidth:
    """Upper and lower matrix weighted bandwidth of a migration count matrix (ECB 2.5.5.1).

    ``MWB_upper = sum_{i<K} sum_{j>i} |i - j| n_ij / M_upper`` with
    ``M_upper = sum_{i<K} max(|i - K|, |i - 1|) sum_{j>i} n_ij`` (``n_ij = N_i p_ij``), and
    the mirror image below the diagonal. A side with no migration has bandwidth 0.
    """
    n = np.asarray(counts, dtype=float)
    if n.ndim != 2 or n.shape[0] != n.shape[1] or n.shape[0] < 2 or (n < 0).any():
        raise ModelError(f"counts: must be a square non-negative matrix of >= 2 grades, got shape {n.shape}")
    k = n.shape[0]
    i = np.arange(1, k + 1)[:, None]
    j = np.arange(1, k + 1)[None, :]
    reach = np.maximum(np.abs(i - k), np.abs(i - 1))  # the farthest row i could move
    out = {}
    for side, mask in (("upper", j > i), ("lower", j < i)):
        num = float((np.abs(i - j) * n * mask).sum())
        den = float((reach * (n * mask).sum(axis=1, keepdims=True)).sum())
        out[side] = num / den if den > 0 else 0.0
    return Bandwidth(**out)


def repeat_pairs(frame: pd.DataFrame, customer: str, month: str, grade: str = "grade",
                 horizon_months: int | None = 12) -> pd.DataFrame:
    """Pairs of a customer's consecutive ratings (applications) 1 to ``horizon_months`` months apart.

    Returns ``grade_from, grade_to, months_apart``; ``month`` holds the rating dates (any
    datetime-like; compared by calendar month). The ECB migration matrix compares ratings a
    fixed period apart, so pairs farther apart than the horizon are left out (``None``: all
    consecutive pairs); ratings in the same month are one rating, not a migration.
    """
    seen = frame.dropna(subset=[customer, month]).sort_values([customer, month], kind="stable")
    period = pd.to_datetime(seen[month]).dt.to_period("M")
    months = (period.dt.year * 12 + period.dt.month).to_numpy()
    same = seen[customer].to_numpy()[1:] == seen[customer].to_numpy()[:-1]
    gap = months[1:] - months[:-1]
    keep = same & (gap >= 1) & (gap <= (horizon_months if horizon_months is not None else np.iinfo(np.int64).max))
    g = seen[grade].to_numpy()
    return pd.DataFrame({"grade_from": g[:-1][keep], "grade_to": g[1:][keep], "months_apart": gap[keep]})


# --------------------------------------------------------------------------- the pack


def initial_reference(y_true: Any, pd_: Any, grade: Any, n_grades: int, sample: str) -> dict:
    """The numbers of a model's initial validation, to store with its version when it is
    first promoted and to test every later run against (JSON-ready)."""
    y = np.asarray(y_true)
    res = auc_delong_ci(y, pd_)
    return {"auc": float(res.auc), "auc_se": float(res.se), "grade_counts": grade_counts(grade, n_grades).tolist(),
            "n_grades": int(n_grades), "rows": len(y), "defaults": int(y.sum()), "sample": str(sample)}


def check_reference(reference: dict, n_grades: int) -> dict:
    """A stored initial-validation reference, checked: it must carry ``auc`` and ``grade_counts`` of ``n_grades``."""
    missing = [k for k in ("auc", "grade_counts", "sample") if k not in reference]
    if missing:
        raise ModelError(f"initial-validation reference: missing {missing}")
    if len(reference["grade_counts"]) != n_grades:
        raise ModelError(f"initial-validation reference: has {len(reference['grade_counts'])} grades, the model {n_grades}")
    return reference


@dataclass
class SupervisoryResult:
    """The supervisory pack of one run: a summary row per test and the detail tables.

    Every frame has a ``test`` column with the ECB test name (they are written as CSV)."""

    summary: pd.DataFrame
    jeffreys: pd.DataFrame
    discrimination: pd.DataFrame
    concentration: pd.DataFrame
    migration: pd.DataFrame  # counts, grade_from x grade_to (empty when nobody was rated twice)
    reference_note: str

    def tables(self) -> dict[str, pd.DataFrame]:
        mig = self.migration.reset_index() if len(self.migration) else self.migration
        return {"supervisory_summary": self.summary, "jeffreys_test": self.jeffreys,
                "auc_vs_initial": self.discrimination, "herfindahl_index": self.concentration,
                "migration_matrix": mig.assign(test=TEST_MWB) if len(mig) else mig}


def _row(test: str, sample: str, statistic: str, value: float, p_value: float | None, light: str, detail: str) -> dict:
    return {"test": test, "sample": sample, "statistic": statistic, "value": value,
            "p_value": np.nan if p_value is None else p_value, "light": light, "detail": detail}


def run_supervisory_tests(y_true: Any, pd_: Any, grade: Any, n_grades: int, reference: dict, *, sample: str,
                          score_psi: float, csi: pd.DataFrame | None = None, migrations: pd.DataFrame | None = None,
                          lights: TrafficLights | None = None, migration_source: str = "") -> SupervisoryResult:
    """The ECB section 2.5 tests of the PDs ``pd_`` (grades ``grade``) against outcomes ``y_true``.

    ``reference``: the model's initial validation (:func:`initial_reference`); ``sample``
    names the current sample; ``score_psi``: the score PSI of that sample against
    development; ``csi``: a ``feature, csi`` table; ``migrations``: ``grade_from,
    grade_to`` of obligors rated twice (``migration_source`` says who they are).
    """
    lights = lights or TrafficLights()
    check_reference(reference, n_grades)
    y, p, g = np.asarray(y_true), np.asarray(pd_, dtype=float), np.asarray(grade)
    rows = []

    jeff = jeffreys_test(y, p, g)
    jeff["light"] = [lights.from_p(v) for v in jeff["jeffreys_p_value"]]
    jeff.insert(0, "test", [TEST_JEFFREYS_PORTFOLIO if gr == "portfolio" else TEST_JEFFREYS_GRADES for gr in jeff["grade"]])
    port = jeff.iloc[-1]
    rows.append(_row(TEST_JEFFREYS_PORTFOLIO, sample, "p-value", port["jeffreys_p_value"], port["jeffreys_p_value"],
                     port["light"], f"{int(port['defaults'])} defaults in {int(port['n'])}: observed "
                     f"{port['observed_dr']:.2%} vs mean PD {port['mean_pd']:.2%}"))
    grades = jeff.iloc[:-1]
    n_red = int((grades["light"] == RED).sum())
    light = RED if n_red >= lights.red_grades else AMBER if n_red else GREEN
    worst = grades["jeffreys_p_value"].min()
    rows.append(_row(TEST_JEFFREYS_GRADES, sample, "grades red", n_red, worst, light,
                     f"{n_red} of {len(grades)} grades with p < {lights.p_red}" +
                     (f": {grades.loc[grades['light'] == RED, 'grade'].tolist()}" if n_red else "")))

    cmp = auc_vs_initial(y, p, reference["auc"])
    auc_light = lights.from_p(cmp.p_value)
    discrimination = pd.DataFrame([{"test": TEST_AUC, "initial_sample": reference["sample"], "auc_initial": cmp.auc_initial,
                                    "current_sample": sample, "auc_current": cmp.auc_current, "se_current": cmp.se_current,
                                    "statistic_s": cmp.statistic, "p_value": cmp.p_value, "light": auc_light}])
    rows.append(_row(TEST_AUC, sample, "S", cmp.statistic, cmp.p_value, auc_light,
                     f"AUC {cmp.auc_current:.3f} now vs {cmp.auc_initial:.3f} at initial validation ({reference['sample']})"))

    now_counts = grade_counts(g, n_grades)
    conc = concentration_vs_initial(reference["grade_counts"], now_counts)
    conc_light = lights.from_p(conc.p_value)
    init_share = np.asarray(reference["grade_counts"], dtype=float) / np.sum(reference["grade_counts"])
    concentration_table = pd.DataFrame({"test": TEST_HERFINDAHL, "grade": np.arange(1, n_grades + 1),
                                        "initial_count": reference["grade_counts"], "initial_share": init_share,
                                        "current_count": now_counts, "current_share": now_counts / now_counts.sum()})
    concentration_table = pd.concat([concentration_table, pd.DataFrame([
        {"test": TEST_HERFINDAHL, "grade": "HHI (sum of squared shares)", "initial_share": conc.initial.hhi, "current_share": conc.current.hhi},
        {"test": TEST_HERFINDAHL, "grade": "HI (ECB, normalised)", "initial_share": conc.initial.hi, "current_share": conc.current.hi},
        {"test": TEST_HERFINDAHL, "grade": "CV", "initial_share": conc.initial.cv, "current_share": conc.current.cv},
    ])], ignore_index=True)
    rows.append(_row(TEST_HERFINDAHL, sample, "HI now", conc.current.hi, conc.p_value, conc_light,
                     f"HI {conc.current.hi:.3f} now vs {conc.initial.hi:.3f} at initial validation "
                     f"(HHI {conc.current.hhi:.3f} vs {conc.initial.hhi:.3f})"))

    rows.append(_row(TEST_PSI, sample, "PSI", score_psi, None, lights.from_level(score_psi, lights.psi_amber, lights.psi_red),
                     f"score distribution of {sample} vs development; amber ≥ {lights.psi_amber}, red ≥ {lights.psi_red}"))
    if csi is not None and len(csi):
        top = csi.sort_values("csi", ascending=False).iloc[0]
        rows.append(_row(TEST_CSI, sample, "CSI", float(top["csi"]), None,
                         lights.from_level(float(top["csi"]), lights.psi_amber, lights.psi_red),
                         f"largest shift: {top['feature']}"))

    migration = pd.DataFrame()
    if migrations is not None and len(migrations):
        migration = migration_matrix(migrations["grade_from"].to_numpy(), migrations["grade_to"].to_numpy(), n_grades)
        mwb = matrix_weighted_bandwidth(migration.to_numpy())
        worst_mwb = max(mwb.upper, mwb.lower)
        stay = float(np.trace(migration.to_numpy())) / len(migrations)
        rows.append(_row(TEST_MWB, migration_source or "obligors rated twice", "max(upper, lower) MWB", worst_mwb, None,
                         lights.from_level(worst_mwb, lights.mwb_amber, lights.mwb_red),
                         f"{len(migrations)} pairs of ratings; upper (to riskier grades) {mwb.upper:.3f}, lower (to safer) "
                         f"{mwb.lower:.3f}; {stay:.0%} kept their grade"))
    else:
        rows.append(_row(TEST_MWB, migration_source or "–", "MWB", np.nan, None, NOT_RUN,
                         "no obligor was rated twice in this run"))
    note = (f"Initial validation: {reference['sample']} ({reference.get('rows', '–')} loans).")
    summary = pd.DataFrame(rows)
    summary["value"] = pd.Series([r["value"] for r in rows], dtype=object)  # counts stay integers beside statistics
    return SupervisoryResult(summary, jeff, discrimination, concentration_table, migration, note)


def overall_light(summary: pd.DataFrame) -> str:
    """The worst light of the tests that ran."""
    ran = [v for v in summary["light"] if v != NOT_RUN]
    return max(ran, key=LIGHT_ORDER.get) if ran else NOT_RUN


def hanley_mcneil_se(auc: float, n_bads: int, n_goods: int) -> float:
    """Standard error of an AUC from its value and class counts alone (Hanley & McNeil, 1982), for
    when the scores themselves are not at hand (a champion's AUC re-measured elsewhere)."""
    if not 0 < auc < 1 or n_bads < 1 or n_goods < 1:
        raise ModelError(f"hanley_mcneil_se: need 0 < auc < 1 and both classes, got {auc}, {n_bads}, {n_goods}")
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_bads - 1) * (q1 - auc**2) + (n_goods - 1) * (q2 - auc**2)) / (n_bads * n_goods)
    return float(np.sqrt(var))


def champion_auc_row(reference: dict, auc_now: float, rows: int, bads: int, sample: str, lights: TrafficLights) -> dict:
    """The ECB AUC test of the champion: its AUC re-measured on this run's rows against the AUC stored at its
    initial validation (standard error from Hanley & McNeil, as only the AUC and counts are at hand)."""
    se = hanley_mcneil_se(auc_now, bads, rows - bads)
    s = (float(reference["auc"]) - auc_now) / se
    p = float(stats.norm.sf(s))
    return _row(f"{TEST_AUC} — champion version {reference.get('version', '?')}", sample, "S", s, p, lights.from_p(p),
                f"AUC {auc_now:.3f} on this run's {sample} rows vs {float(reference['auc']):.3f} at its initial validation "
                f"({reference['sample']}); s by Hanley–McNeil")
