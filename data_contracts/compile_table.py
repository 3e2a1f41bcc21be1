"""Compiling a table contract (``kind: table``) into checks: columns, keys, ranges,
categories, dates, row rules (in DuckDB) and drift."""

from __future__ import annotations

from typing import Any, Mapping

import duckdb
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd

from features.errors import ConfigError

from .checks import Check, Outcome, esc
from .contract import TableContract
from .drift import add_drift, baseline_columns, column_stats
from .table_run import TableRun


def compile_table(run: TableRun, contract: TableContract, as_of: pd.Timestamp, baseline: Mapping) -> None:
    """Compile a table contract into checks on ``run`` (GX expectations where GX can)."""
    run.key_columns = list(contract.key)
    run.pii = [c for c in contract.pii_columns]
    run.keep_columns = [c for c in contract.columns if c not in run.pii]
    cols = run.work.columns

    run.add_unique_names(contract.default_severity)
    run.add_row_count(contract.row_count.severity, contract.row_count.min, contract.row_count.max)
    for col, spec in contract.columns.items():
        sev = spec.severity
        exists_sev = sev if isinstance(sev, str) else (sev or {}).get("exists", contract.missing_columns)
        run.add_exists(col, exists_sev)
    present = [c for c in contract.columns if c in cols]
    run.checks.append(Check(
        None, "expect_table_columns_to_match_set", contract.extra_columns,
        f"only the contract's {len(contract.columns)} columns",
        gx=gxe.ExpectTableColumnsToMatchSet(column_set=[run.gx_name(c) for c in present], exact_match=True),
    ))

    for col in present:
        spec = contract.columns[col]
        run.type_check(col, spec.type, contract.severity(col, "type"), spec.pii)
        if not run.has(col) or run.n == 0:
            continue
        if not spec.nullable:
            run.add_not_null(col, contract.severity(col, "not_null"), pii=spec.pii)
        elif not spec.allow_all_null and not spec.pii:
            run.add_not_all_null(col, contract.severity(col, "not_all_null"))
        if spec.unique:
            run.add_unique(col, contract.severity(col, "unique"))
        if spec.pii:
            continue
        if spec.min is not None or spec.max is not None:
            smin, smax = contract.severity(col, "min"), contract.severity(col, "max")
            if smin == smax or spec.min is None or spec.max is None:
                run.add_between(col, smin if spec.min is not None else smax, spec.min, spec.max, spec.special_codes)
            else:
                run.add_between(col, smin, spec.min, None, spec.special_codes)
                run.add_between(col, smax, None, spec.max, spec.special_codes)
        cats = contract.categories(col)
        if cats:
            run.add_in_set(col, contract.severity(col, "categories"), cats)
        if spec.type == "date":
            if spec.not_future:
                run.add_between(col, contract.severity(col, "not_future"), None, as_of,
                                what=f"no date after the as-of date {as_of.date()} (no future dates)")
            if spec.min_date:
                run.add_between(col, contract.severity(col, "min_date"), pd.Timestamp(spec.min_date), None,
                                what=f"no date before {spec.min_date}")
        if spec.type == "float":
            run.add_finite(col, contract.severity(col, "finite"))

    if len(contract.key) > 1 and run.n and all(run.has(k) for k in contract.key):
        key = list(contract.key)
        frame = run.work
        run.checks.append(Check(
            ", ".join(key), "expect_compound_columns_to_be_unique", contract.severity(key[0], "unique"),
            "one row per " + " per ".join(key) + " (no duplicate keys)",
            gx=gxe.ExpectCompoundColumnsToBeUnique(column_list=[run.gx_name(k) for k in key]),
            mask_fn=lambda: frame.duplicated(subset=key, keep=False).to_numpy(), show_values=False, cols=tuple(key),
        ))

    for rule in contract.rules:
        needs = sorted(set(rule.needs) | ({rule.column} if rule.column else set()))
        if run.n and all(run.has(c) for c in needs):
            run.checks.append(_rule_check(run, rule, needs))

    base = baseline_columns(baseline, contract.table)
    kinds: dict[str, str] = {}
    for col, spec in contract.columns.items():
        if spec.drift and not spec.pii and col in cols:
            if spec.type in ("integer", "float"):
                kinds[col] = "numeric"
            elif spec.type == "string":
                kinds[col] = "categorical"
    run.stats = {
        "contract_version": contract.version,
        "rows": run.n,
        "columns": {c: column_stats(run, c, k) for c, k in kinds.items() if run.has(c)},
    }
    if base:
        add_drift(run, contract.distribution, base, kinds, {c: s.nullable for c, s in contract.columns.items()})


def _rule_check(run: TableRun, rule: Any, needs: list[str]) -> Check:
    def run_rule() -> Outcome:
        con = duckdb.connect()
        try:
            frame = run.work[needs].assign(__row=np.arange(run.n, dtype=np.int64))
            con.register("t", frame)
            try:
                rows = con.execute(
                    f"SELECT __row AS r, true AS bad FROM t WHERE NOT coalesce(({rule.sql}), true)"
                ).fetchnumpy()
            except duckdb.Error as exc:
                raise ConfigError(f"{run.table} contract rule {rule.name!r}: its sql does not run: {exc}") from None
        finally:
            con.close()
        mask = np.zeros(run.n, dtype=bool)
        mask[rows["r"][rows["bad"].astype(bool)]] = True
        k = int(mask.sum())
        return Outcome(k == 0, f"{k} of {run.n} rows break the rule" if k else f"0 of {run.n} rows break the rule", k, mask, run.n)

    return Check(rule.column, f"expect_rows_to_satisfy_{rule.name}", rule.severity,
                 esc(rule.description or rule.sql) + f" (rule: {esc(rule.sql)})", own=run_rule, engine="duckdb")

