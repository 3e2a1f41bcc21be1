"""The model card: one Markdown page about the validated model, for whoever meets it later.

Intended use, data and bad definition, performance with intervals, calibration, fairness,
limitations and approval status — every number taken from the report's results
(``metrics.json``), nothing recomputed. Written next to the report, so it is logged with
the run and travels with the registered model version.
"""

from __future__ import annotations

import pandas as pd

from models.report import _fmt, format_column

SPLITS = {"validation": "validation", "test": "test", "oot": "out of time"}


def _md_table(frame: pd.DataFrame, max_rows: int = 30) -> str:
    head = frame.head(max_rows)
    cols = [format_column(head.iloc[:, i]) for i in range(head.shape[1])]
    lines = ["| " + " | ".join(str(c) for c in head.columns) + " |", "|" + "---|" * head.shape[1]]
    lines += ["| " + " | ".join(cols[c][r].replace("|", "\\|") for c in range(len(cols))) + " |" for r in range(len(head))]
    if len(frame) > max_rows:
        lines.append(f"\n_First {max_rows} of {len(frame)} rows; the full table is in the run's `tables/`._")
    return "\n".join(lines)


def model_card(res: dict, *, intended_use: str, decision: str, oot_name: str = "out of time") -> str:
    """The card as Markdown. ``res``: the report's results (with the validator pack's
    ``identity``, ``supervisory``, ``fairness`` and ``limitations``); ``decision``: the
    promotion decision in words (approval status)."""
    ident = res.get("identity") or {}
    m = res["metrics"]
    name = ident.get("model_name", "model")
    out = [f"# Model card: {name} · version {ident.get('model_version', '–')}", ""]
    out += ["| | |", "|---|---|"] + [f"| {k.replace('_', ' ')} | {v} |" for k, v in ident.items()] + [""]
    out += ["## Intended use", "", intended_use, "",
            ("Out of scope: applicants unlike the approved loans it learned from (rejected applications had no outcome "
             "and no reject inference), other products or markets, and any use after its monitoring turns red."), ""]
    out += ["## Data and bad definition", "", f"Bad definition: {ident.get('bad_definition', '–')}.", ""]
    rows = [{"split": SPLITS.get(s, s) if s != "oot" else oot_name, "rows": m[s]["rows"], "bads": m[s]["bads"],
             "bad_rate": m[s]["bad_rate"]} for s in SPLITS if s in m]
    out += [_md_table(pd.DataFrame(rows)), ""]
    out += ["## Performance (held-out rows; AUC with DeLong 95% interval)", ""]
    perf = [{"split": r["split"], "auc": m[s]["auc"], "auc_95_lower": m[s]["auc_lower"], "auc_95_upper": m[s]["auc_upper"],
             "gini": m[s]["gini"], "ks": m[s]["ks"], "psi_vs_development": m[s]["psi"]}
            for r, s in zip(rows, [s for s in SPLITS if s in m])]
    out += [_md_table(pd.DataFrame(perf)), ""]
    out += ["## Calibration", ""]
    for s in ("test", "oot"):
        if s in m:
            out.append(f"- {SPLITS[s] if s != 'oot' else oot_name}: mean PD {_fmt(m[s]['mean_pd'])} vs observed bad rate "
                       f"{_fmt(m[s]['bad_rate'])}; Brier {_fmt(m[s]['brier'])}; Hosmer–Lemeshow p = {_fmt(m[s]['hosmer_lemeshow_p'])}.")
    sup = res.get("supervisory")
    if sup is not None:
        out += ["", f"Supervisory PD tests (ECB 2019, section 2.5), overall **{res.get('supervisory_light', '–')}**:", "",
                _md_table(sup.summary[["test", "sample", "statistic", "value", "p_value", "light"]]), "", sup.reference_note]
    out += ["", "## Fairness", ""]
    fair = res.get("fairness")
    if fair is None:
        out.append("No protected attributes were configured (`protected.attributes`).")
    else:
        out.append(f"Approval at PD ≤ {_fmt(fair.cutoff)} ({fair.approval_rate:.0%} of held-out loans). "
                   f"Protected attributes used as features: {fair.used_as_feature or 'none'}; "
                   f"not in the data: {fair.missing or 'none'}.")
        if len(fair.table):
            out += ["", _md_table(fair.table[["attribute", "group", "rows", "approval_rate", "mean_pd", "bad_rate", "auc",
                                              "adverse_impact_ratio", "four_fifths"]], max_rows=60)]
    out += ["", "## Limitations", ""]
    limits = res.get("limitations") or [{"severity": "medium", "limitation": w} for w in res.get("warnings", [])]
    out += [f"- **{r['severity']}** — {r['limitation']}" for r in limits] or ["- None detected."]
    out += ["", "## Approval status", "", decision, ""]
    return "\n".join(out)
