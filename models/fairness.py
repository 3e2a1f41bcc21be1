"""Fairness across protected attributes (age, sex, marital status, ...), whether the model uses them or not.

For each attribute and each of its groups (numeric attributes banded): the share of
applicants, the approval rate at the cut-off, the mean PD, the observed bad rate and the AUC
within the group, and the **adverse impact ratio** — the group's approval rate over the
highest group approval rate. The four-fifths rule flags a ratio below 0.8 (US EEOC's
rule of thumb, used by lenders for disparate-impact screening).

Nothing here fits anything: the PDs, scores and outcomes come from the validated model's
held-out rows, the attribute values from the modeling sample (which carries protected
attributes kept out of the model for this purpose).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ModelError
from models import discrimination

FOUR_FIFTHS = 0.8
MISSING = "missing"


@dataclass(frozen=True)
class FairnessSpec:
    """Which attributes are protected and how they are grouped.

    ``bands``: cut points per numeric attribute (groups ``[a, b)``); numeric attributes
    with more than ``max_groups`` distinct values and no bands are cut at their quintiles.
    ``min_rows``: smaller groups are shown but not judged by the four-fifths rule.
    """

    attributes: tuple[str, ...]
    bands: dict[str, tuple[float, ...]] = field(default_factory=dict)
    max_groups: int = 10
    min_rows: int = 30

    def __post_init__(self) -> None:
        if self.max_groups < 2:
            raise ModelError(f"fairness: max_groups must be >= 2, got {self.max_groups}")
        unknown = sorted(set(self.bands) - set(self.attributes))
        if unknown:
            raise ModelError(f"fairness: bands given for {unknown}, which are not protected attributes")


def _fmt_edge(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def band(values: pd.Series, cuts: Sequence[float] | None = None, max_groups: int = 10) -> pd.Series:
    """Group labels of one attribute: its values when few, else bands ``[a, b)`` (missing: ``"missing"``)."""
    s = pd.Series(values).reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    if cuts is None and (not numeric or s.nunique(dropna=True) <= max_groups):
        return s.astype(object).where(s.notna(), MISSING).map(str)
    x = s.to_numpy(dtype=float)
    if cuts is None:
        present = x[~np.isnan(x)]
        cuts = np.unique(np.quantile(present, [0.2, 0.4, 0.6, 0.8]))
        if np.all(np.mod(present, 1) == 0):
            cuts = np.unique(np.ceil(cuts))
    cuts = np.asarray(sorted(cuts), dtype=float)
    edges = [-np.inf, *cuts, np.inf]
    labels = [f"< {_fmt_edge(cuts[0])}"] + [f"[{_fmt_edge(a)}, {_fmt_edge(b)})" for a, b in pairwise(cuts)] \
        + [f"≥ {_fmt_edge(cuts[-1])}"]
    idx = np.searchsorted(cuts, x, side="right")
    out = pd.Series(np.array(labels, dtype=object)[np.minimum(idx, len(edges) - 2)])
    out[np.isnan(x)] = MISSING
    out.attrs["order"] = labels + [MISSING]
    return out


def group_table(attribute: str, groups: pd.Series, y_true: Any, pd_: Any, approved: Any, min_rows: int = 30) -> pd.DataFrame:
    """One row per group: rows, share, approval rate, mean PD, bad rate, AUC, adverse impact ratio.

    ``approved``: boolean per row (the model's decision at the cut-off). The adverse impact
    ratio divides by the highest approval rate among groups of at least ``min_rows``.
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(pd_, dtype=float)
    a = np.asarray(approved, dtype=bool)
    g = pd.Series(groups).reset_index(drop=True)
    if not len(y) == len(p) == len(a) == len(g):
        raise ModelError(f"fairness: {attribute}: groups, outcomes, PDs and decisions differ in length")
    frame = pd.DataFrame({"group": g.to_numpy(), "y": y, "pd": p, "approved": a})
    rows = []
    order = g.attrs.get("order") or sorted(frame["group"].unique(), key=str)
    for label in [o for o in order if o in set(frame["group"])]:
        part = frame[frame["group"] == label]
        both = part["y"].min() != part["y"].max()
        rows.append({"attribute": attribute, "group": label, "rows": len(part), "share": len(part) / len(frame),
                     "approval_rate": part["approved"].mean(), "mean_pd": part["pd"].mean(), "bad_rate": part["y"].mean(),
                     "auc": discrimination.auc(part["y"].to_numpy(), part["pd"].to_numpy()) if both else np.nan})
    table = pd.DataFrame(rows)
    judged = table["rows"] >= min_rows
    best = table.loc[judged, "approval_rate"].max() if judged.any() else np.nan
    table["adverse_impact_ratio"] = table["approval_rate"] / best if best and best > 0 else np.nan
    table["four_fifths"] = np.where(~judged, "too few rows",
                                    np.where(table["adverse_impact_ratio"] >= FOUR_FIFTHS, "pass", "FAIL"))
    return table


@dataclass
class FairnessResult:
    table: pd.DataFrame  # every attribute's groups (group_table rows)
    used_as_feature: list[str]  # protected attributes the model uses
    missing: list[str]  # protected attributes the data does not carry
    cutoff: float  # the PD cut-off: approved when PD <= cutoff
    approval_rate: float

    def failures(self) -> pd.DataFrame:
        return self.table[self.table["four_fifths"] == "FAIL"]


def assess_fairness(frame: pd.DataFrame, spec: FairnessSpec, model_features: Sequence[str], *, target: str = "target",
                    pd_column: str = "pd", approval_rate: float = 0.8, cutoff: float | None = None) -> FairnessResult:
    """Fairness tables of ``frame`` (one row per held-out loan: target, PD, protected attributes).

    The model approves a row when its PD is at most ``cutoff``; without one, the cut-off is
    the ``approval_rate`` quantile of the PDs of ``frame``.
    """
    if not 0 < approval_rate <= 1:
        raise ModelError(f"fairness: approval_rate must be in (0, 1], got {approval_rate}")
    for col in (target, pd_column):
        if col not in frame.columns:
            raise ModelError(f"fairness: the scored rows have no column {col!r}")
    p = frame[pd_column].to_numpy(dtype=float)
    cut = float(np.quantile(p, approval_rate, method="lower")) if cutoff is None else float(cutoff)
    approved = p <= cut
    present = [a for a in spec.attributes if a in frame.columns]
    tables = [group_table(a, band(frame[a], spec.bands.get(a), spec.max_groups), frame[target], p, approved, spec.min_rows)
              for a in present]
    used = [a for a in spec.attributes if a in set(model_features)]
    missing = [a for a in spec.attributes if a not in frame.columns]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["attribute", "group", "rows", "share", "approval_rate", "mean_pd", "bad_rate", "auc",
                 "adverse_impact_ratio", "four_fifths"])
    return FairnessResult(table, used, missing, cut, float(approved.mean()))
