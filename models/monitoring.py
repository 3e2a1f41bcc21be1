"""Monitoring the champion on the newest applications: score PSI, CSI per feature, alert levels."""

from __future__ import annotations

import pandas as pd

from models import metrics


def stability_status(value: float, warn: float, alert: float) -> str:
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def monitor_population(dev_scores, recent_scores, dev_features: pd.DataFrame, recent_features: pd.DataFrame,
                       psi_warn: float = 0.1, psi_alert: float = 0.25) -> dict:
    """Score PSI and per-feature CSI of recent applications against development."""
    score_psi = metrics.psi(dev_scores, recent_scores)
    rows = []
    for col in dev_features.columns:
        value = metrics.csi(dev_features[col], recent_features[col])
        rows.append({"feature": col, "csi": value, "status": stability_status(value, psi_warn, psi_alert)})
    csi = pd.DataFrame(rows).sort_values("csi", ascending=False, kind="stable").reset_index(drop=True)
    return {"score_psi": score_psi, "status": stability_status(score_psi, psi_warn, psi_alert),
            "recent_rows": int(len(recent_scores)), "csi": csi}
