"""Promotion policy: when a newly registered model becomes the champion."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    reason: str


def decide_promotion(candidate_oot_auc: float, champion_oot_auc: float | None, min_improvement: float = 0.0) -> PromotionDecision:
    """The first model becomes champion; a later one only if its out-of-time AUC is higher.

    "Higher" means by more than ``min_improvement`` (default 0: strictly higher).
    """
    if champion_oot_auc is None:
        return PromotionDecision(True, "no champion yet: the first registered model becomes champion")
    if candidate_oot_auc > champion_oot_auc + min_improvement:
        return PromotionDecision(True, f"out-of-time AUC {candidate_oot_auc:.4f} beats the champion's {champion_oot_auc:.4f}")
    return PromotionDecision(False, f"out-of-time AUC {candidate_oot_auc:.4f} does not beat the champion's {champion_oot_auc:.4f}"
                                    + (f" by more than {min_improvement}" if min_improvement else ""))
