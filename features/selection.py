"""Feature selection on binned development data: IV range, WOE correlation, count."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class SelectionRules:
    min_iv: float = 0.02
    max_iv: float | None = None  # above: dropped as a likely leak (off by default)
    warn_iv: float = 0.5  # above: kept, but flagged for the validator (check for leakage)
    max_correlation: float = 0.7
    max_features: int = 20


def select_features(iv: pd.Series, woe_dev: pd.DataFrame, rules: SelectionRules) -> pd.DataFrame:
    """Greedy selection by IV; returns one row per variable with ``selected`` and ``reason``.

    Variables are taken in order of decreasing IV (ties by name, for determinism); one is
    kept if its IV is at least ``min_iv`` (and at most ``max_iv`` when set), its absolute WOE correlation with every
    variable already kept is at most ``max_correlation``, and fewer than ``max_features``
    are kept.
    """
    order = sorted(iv.index, key=lambda name: (-float(iv[name]), name))
    corr = woe_dev[order].corr().abs().fillna(0.0)
    kept: list[str] = []
    rows = []
    for name in order:
        value = float(iv[name])
        reason = ""
        if value < rules.min_iv:
            reason = f"IV {value:.4f} below {rules.min_iv}"
        elif rules.max_iv is not None and value > rules.max_iv:
            reason = f"IV {value:.4f} above {rules.max_iv}: suspiciously strong, check for leakage"
        else:
            clash = [(other, corr.loc[name, other]) for other in kept if corr.loc[name, other] > rules.max_correlation]
            if clash:
                other, c = max(clash, key=lambda t: t[1])
                reason = f"WOE correlation {c:.2f} with {other}"
            elif len(kept) >= rules.max_features:
                reason = f"beyond max_features={rules.max_features}"
        if not reason:
            kept.append(name)
        max_corr = max((corr.loc[name, o] for o in kept if o != name), default=0.0)
        flag = f"IV {value:.2f} above {rules.warn_iv}: unusually strong, check for leakage" if value > rules.warn_iv else ""
        rows.append({"variable": name, "iv": value, "max_abs_correlation": float(max_corr),
                     "selected": not reason, "reason": reason, "flag": flag})
    return pd.DataFrame(rows)
