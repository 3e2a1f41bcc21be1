"""Distribution checks against the last accepted batch (the baseline): null rate, mean and
category shares per column, and reading a stored baseline."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

import great_expectations.expectations as gxe
import numpy as np

from features.errors import ConfigError

from .checks import Check, Outcome, esc, fmt_num, is_finite_number
from .table_run import TableRun


def column_stats(tr: TableRun, col: str, kind: str, max_categories: int = 50) -> dict[str, Any]:
    s = tr.work[col]
    st: dict[str, Any] = {"null_rate": float(s.isna().mean()) if tr.n else 0.0}
    if kind == "numeric":
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        fin = vals[np.isfinite(vals)]
        st["mean"] = float(fin.mean()) if len(fin) else None
        st["std"] = float(fin.std()) if len(fin) else None
    elif kind == "categorical":
        shares = s.value_counts(normalize=True, dropna=True)
        st["shares"] = {str(k): float(v) for k, v in shares.head(max_categories).items()}
    return st


def add_drift(tr: TableRun, dist: Any, base_cols: Mapping[str, Any], cols: Mapping[str, str], nullable: Mapping[str, bool]) -> None:
    """Null rate, mean and category shares against the last accepted batch."""
    if tr.n < dist.min_rows:
        return
    sev = dist.severity
    for col, kind in cols.items():
        base = base_cols.get(col)
        if not isinstance(base, Mapping) or not tr.has(col):
            continue
        if kind == "numeric" and is_finite_number(base.get("mean")):
            m0 = float(base["mean"])
            allowed = dist.mean_tolerance * abs(m0) if abs(m0) > 1e-12 else dist.mean_tolerance
            # numpy, not GX: GX's column.mean scans every value in Python looking for
            # Decimals (about a second per million values)
            tr.checks.append(_mean_check(tr, col, m0, allowed, dist.mean_tolerance, sev))
        if nullable.get(col, True) and is_finite_number(base.get("null_rate")):
            r0 = float(base["null_rate"])
            tol = dist.null_rate_tolerance
            lo, hi = max(0.0, 1 - r0 - tol), min(1.0, 1 - r0 + tol)
            tr.checks.append(Check(
                col, "expect_column_proportion_of_non_null_values_to_be_between", sev,
                f"null rate within {fmt_num(tol)} of the last accepted batch's {r0:.4f} (non-null share in [{lo:.4f}, {hi:.4f}])",
                gx=gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(column=tr.gx_name(col), min_value=lo, max_value=hi), cols=(col,),
            ))
        if kind == "categorical" and isinstance(base.get("shares"), Mapping) and base["shares"]:
            tr.checks.append(_share_check(tr, col, {str(k): float(v) for k, v in base["shares"].items()}, dist.share_tolerance, sev))


def _mean_check(tr: TableRun, col: str, m0: float, allowed: float, tol: float, sev: str) -> Check:
    s = tr.work[col]
    lo, hi = m0 - allowed, m0 + allowed

    def run() -> Outcome:
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            m = float(np.nanmean(vals)) if np.isfinite(vals).any() or np.isinf(vals).any() else math.nan
        if math.isnan(m):
            return Outcome(False, "no value (all null)", 0, None, tr.n)
        ratio = f", {m / m0:.3g}x the baseline" if m0 else ""
        return Outcome(lo <= m <= hi, f"mean {m:.6g}{ratio}", 0, None, tr.n)

    return Check(col, "expect_column_mean_to_be_between", sev,
                 f"mean within {fmt_num(tol * 100)}% of the last accepted batch's {fmt_num(m0)} "
                 f"([{fmt_num(lo)}, {fmt_num(hi)}])", own=run, engine="pandas")


def _share_check(tr: TableRun, col: str, base: dict[str, float], tol: float, sev: str) -> Check:
    s = tr.work[col]

    def run() -> Outcome:
        now = {str(k): float(v) for k, v in s.value_counts(normalize=True, dropna=True).items()}
        diffs = {k: now.get(k, 0.0) - base.get(k, 0.0) for k in set(now) | set(base)}
        worst = max(diffs, key=lambda k: abs(diffs[k])) if diffs else None
        if worst is None:
            return Outcome(True, "no values")
        d = diffs[worst]
        obs = (f"largest change: {esc(repr(worst))} share {now.get(worst, 0.0):.3f} now vs "
               f"{base.get(worst, 0.0):.3f} in the last accepted batch ({d:+.3f})")
        return Outcome(abs(d) <= tol, obs, 0, None, tr.n)

    return Check(col, "expect_column_category_shares_to_be_stable", sev,
                 f"each category's share within {fmt_num(tol)} of the last accepted batch", own=run, engine="pandas")


def load_baseline(baseline: Any) -> dict:
    if baseline is None:
        return {}
    if isinstance(baseline, (str, Path)):
        path = Path(baseline)
        if not path.is_file():
            raise ConfigError(f"baseline file {path} does not exist")
        try:
            baseline = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ConfigError(f"baseline file {path} is not valid JSON: {exc}") from None
    if not isinstance(baseline, Mapping):
        raise ConfigError(f"baseline must be a mapping (report.baseline()), got {type(baseline).__name__}")
    return dict(baseline)


def baseline_columns(baseline: Mapping, table: str) -> dict:
    t = baseline.get(table)
    if isinstance(t, Mapping) and isinstance(t.get("columns"), Mapping):
        return dict(t["columns"])
    return {}

