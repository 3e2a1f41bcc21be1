"""Feature selection on binned development data, with a reason for every dropped variable.

Rules, in the order they are checked for each variable (variables taken by decreasing
IV, ties by name, so the result is deterministic):

1. IV below ``min_iv`` — too weak;
2. IV above ``max_iv`` (when set) — suspiciously strong, a likely leak of the outcome;
3. CSI above ``max_csi`` — the variable's bin distribution moved between development
   and the comparison rows (when the caller gives them, e.g. out-of-time);
4. absolute WOE correlation above ``max_correlation`` with a variable already kept;
5. VIF above ``max_vif`` against the variables already kept;
6. ``max_features`` already kept.

Kept variables with IV above ``warn_iv`` are flagged for the validator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import ConfigError


@dataclass(frozen=True)
class SelectionRules:
    min_iv: float = 0.02
    max_iv: float | None = None  # above: dropped as a likely leak (off by default)
    warn_iv: float = 0.5  # above: kept, but flagged for the validator (check for leakage)
    max_correlation: float = 0.7
    max_vif: float = 10.0
    max_csi: float = 0.25  # applied when comparison rows (e.g. out-of-time) are given
    max_features: int = 20

    def __post_init__(self):
        if self.max_vif < 1:
            raise ConfigError(f"selection.max_vif must be at least 1, got {self.max_vif}")
        if not 0 < self.max_correlation <= 1:
            raise ConfigError(f"selection.max_correlation must be in (0, 1], got {self.max_correlation}")


def vif_against(corr: np.ndarray) -> float:
    """VIF of the last variable regressed on the others, from their correlation matrix.

    ``1 / (1 - R^2) = [corr^-1]_jj`` (the least-squares R^2 of ``x_j`` on the others with an
    intercept); ``inf`` when the others explain it exactly.
    """
    if len(corr) == 1:
        return 1.0
    try:
        inv = np.linalg.inv(corr)
    except np.linalg.LinAlgError:
        return float("inf")
    value = float(inv[-1, -1])
    return float("inf") if not np.isfinite(value) or value <= 0 or value > 1e12 else max(value, 1.0)


def bin_shares(indices: pd.DataFrame, n_rows_per_variable: dict[str, int]) -> dict[str, np.ndarray]:
    """Share of rows in each binning-table row, per variable (from ``transform(metric='indices')``)."""
    return {name: np.bincount(indices[name].to_numpy(dtype=np.int64), minlength=n) / max(len(indices), 1)
            for name, n in n_rows_per_variable.items()}


def csi_by_variable(dev_indices: pd.DataFrame, other_indices: pd.DataFrame, n_bins: dict[str, int]) -> pd.Series:
    """CSI (= PSI of the variable's bins, empty shares floored as ``models.stability``) per variable."""
    from models.stability import psi_from_shares

    dev = bin_shares(dev_indices, n_bins)
    other = bin_shares(other_indices, n_bins)
    return pd.Series({name: psi_from_shares(dev[name], other[name]) for name in n_bins}, dtype=float)


def select_features(iv: pd.Series, woe_dev: pd.DataFrame, rules: SelectionRules, csi: pd.Series | None = None) -> pd.DataFrame:
    """Greedy selection by IV; one row per variable with ``selected``, ``reason`` (empty when kept) and ``flag``.

    ``csi``: per-variable CSI against comparison rows (None: the CSI rule is not applied).
    """
    order = sorted(iv.index, key=lambda name: (-float(iv[name]), name))
    corr = woe_dev[order].corr().fillna(0.0)
    for name in order:  # a constant WOE (one bin) correlates with nothing
        corr.loc[name, name] = 1.0
    abs_corr = corr.abs()
    kept: list[str] = []
    rows = []
    for name in order:
        value = float(iv[name])
        shift = float(csi[name]) if csi is not None and name in csi.index else float("nan")
        vif = float("nan")
        reason = ""
        if value < rules.min_iv:
            reason = f"IV {value:.4f} below {rules.min_iv}"
        elif rules.max_iv is not None and value > rules.max_iv:
            reason = f"IV {value:.4f} above {rules.max_iv}: suspiciously strong, check for leakage"
        elif shift > rules.max_csi:
            reason = f"CSI {shift:.3f} above {rules.max_csi}: unstable between development and comparison rows"
        else:
            clash = [(other, abs_corr.loc[name, other]) for other in kept if abs_corr.loc[name, other] > rules.max_correlation]
            vif = vif_against(corr.loc[kept + [name], kept + [name]].to_numpy())
            if clash:
                other, c = max(clash, key=lambda t: t[1])
                reason = f"WOE correlation {c:.2f} with {other} (above {rules.max_correlation})"
            elif vif > rules.max_vif:
                reason = f"VIF {vif:.2f} above {rules.max_vif} against the variables already kept"
            elif len(kept) >= rules.max_features:
                reason = f"beyond max_features={rules.max_features}"
        if not reason:
            kept.append(name)
        max_corr = max((abs_corr.loc[name, o] for o in kept if o != name), default=0.0)
        flag = f"IV {value:.2f} above {rules.warn_iv}: unusually strong, check for leakage" if value > rules.warn_iv else ""
        rows.append({"variable": name, "iv": value, "max_abs_correlation": float(max_corr), "vif": vif, "csi": shift,
                     "selected": not reason, "reason": reason, "flag": flag})
    return pd.DataFrame(rows)
