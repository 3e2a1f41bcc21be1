"""Great Expectations plumbing: an ephemeral context, one suite and validation per table,
and Data Docs built by GX's own site builder into ``docs_dir``.

Nothing here writes GX configuration to the repository or the working directory: the
context is ephemeral (in-memory stores); the only files written are the Data Docs site
when a ``docs_dir`` is given.

Checks evaluated outside GX (types, DuckDB rules and cross-table relations, category
shares) are added to the stored validation result as ``expect_contract_check`` results,
so the Data Docs show every expectation of the contract with its severity.  Before the
docs are built every string in the stored results is HTML-escaped (GX's renderer does
not escape values: a category value ``<script>`` would otherwise run in the browser).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import logging
import math
from pathlib import Path
from typing import Any, Optional

import great_expectations as gx
import pandas as pd
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.metadata_types import FailureSeverity

from data_contracts.offline_docs import make_offline

logging.getLogger("great_expectations").setLevel(logging.ERROR)

SITE = "contracts"
GX_SEVERITY = {"error": FailureSeverity.CRITICAL, "warn": FailureSeverity.WARNING}


class ExpectContractCheck(BatchExpectation):
    """A data-contract check evaluated outside GX (pandas / DuckDB), carried in the GX
    validation result so Data Docs render it next to the native expectations."""

    check: str
    column: Optional[str] = None
    engine: str = "duckdb"

    def _validate(self, metrics, runtime_configuration=None, execution_engine=None):  # pragma: no cover
        raise NotImplementedError("evaluated by data_contracts, not by GX")


def esc(obj: Any) -> Any:
    """HTML-escape every string inside ``obj`` (dict keys included)."""
    if isinstance(obj, str):
        return html.escape(obj, quote=False)
    if isinstance(obj, dict):
        return {esc(k) if isinstance(k, str) else k: esc(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [esc(v) for v in obj]
    return obj


def _plain(obj: Any) -> Any:
    """Result values made safe for the stores/renderers: numpy scalars to Python, non-finite
    floats and timestamps to strings."""
    import numpy as np

    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, (pd.Timestamp, dt.date, dt.datetime)):
        return str(obj)
    return obj


@contextlib.contextmanager
def _no_batch_fingerprint():
    """Skip GX's batch fingerprint while validating: an md5 over the whole frame, kept only
    as a batch marker, that costs about half a second per column of 24M rows.  GX skips it
    itself for frames above ``HASH_THRESHOLD`` bytes; we set that threshold to 0."""
    from great_expectations.execution_engine import pandas_execution_engine as pee

    old = getattr(pee, "HASH_THRESHOLD", None)
    if old is None:  # a GX without the knob: fingerprints stay
        yield
        return
    pee.HASH_THRESHOLD = 0
    try:
        yield
    finally:
        pee.HASH_THRESHOLD = old


DATASOURCE = "contracts"


class GxSession:
    """One ephemeral GX context for one validation run (one or more tables)."""

    def __init__(self, run_id: str, docs_dir: Path | None):
        self.run_id = run_id
        self.docs_dir = Path(docs_dir) if docs_dir is not None else None
        sites: dict = {}
        if self.docs_dir is not None:
            sites[SITE] = {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(self.docs_dir.resolve()),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder", "show_cta_footer": False},
                # the suite pages would render the raw suite (unescaped run-time values);
                # the validation pages show every expectation with its result
                "site_section_builders": {"expectations": "0", "profiling": "0"},
            }
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            data_docs_sites=sites,
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self.run_identifier = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.timezone.utc))
        self._keys: dict[str, Any] = {}
        self._results: dict[str, ExpectationSuiteValidationResult] = {}
        self._merged: dict[str, list[ExpectationValidationResult]] = {}

    def validate(
        self, table: str, groups: list[tuple[pd.DataFrame, list]], meta: dict, partial_count: int = 5
    ) -> list[list[ExpectationValidationResult | None]]:
        """Run each group of expectations on its frame; return the GX results per group, in
        order.  The first group holds the table-level expectations (whole frame); the
        others one column (or column set) each, on a frame of just those columns: GX's
        pandas engine filters the whole batch frame for every column-map metric, so narrow
        frames make it scale with rows x expectations instead of rows x columns x
        expectations.  The groups' results are merged into one validation result per
        table for the Data Docs (:meth:`finish_table`)."""
        out: list[list[ExpectationValidationResult | None]] = []
        extra_keys = []
        with _no_batch_fingerprint():
            for i, (frame, expectations) in enumerate(groups):
                out.append(self._validate_group(table, i, frame, expectations, meta, partial_count, extra_keys))
        for k in extra_keys:  # the Data Docs show one merged result per table
            self.context.validation_results_store.remove_key(k)
        return out

    def _validate_group(self, table: str, i: int, frame: pd.DataFrame, expectations: list, meta: dict,
                        partial_count: int, extra_keys: list) -> list[ExpectationValidationResult | None]:
        name = table if i == 0 else f"{table}__{i}"
        # built whole, then added once: adding expectations one by one to a stored suite
        # re-serialises the suite every time (quadratic)
        suite = self.context.suites.add(
            gx.ExpectationSuite(name=name, expectations=list(expectations), meta=_plain(meta))
        )
        asset = self.context.data_sources.add_pandas(DATASOURCE).add_dataframe_asset(name)
        batch = asset.add_batch_definition_whole_dataframe(f"{name}_whole")
        vd = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}_contract", data=batch, suite=suite)
        )
        result = vd.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": partial_count},
            run_id=self.run_identifier,
        )
        # GX keeps every batch it loaded (frame included) in the data source's engine for the context's life,
        # which outlives the run: 12 GB of copies at 10M applications. Only the results are needed from here on,
        # so each group gets a data source of its own, deleted with its engine once the group has run.
        self.context.validation_definitions.delete(vd.name)
        self.context.data_sources.delete(DATASOURCE)
        keys = [k for k in self.context.validation_results_store.list_keys() if k.expectation_suite_identifier.name == name]
        if i == 0:
            self._keys[table] = keys[-1] if keys else None
            self._results[table] = result
            self._merged[table] = list(result.results)
        else:
            extra_keys += keys
            self._merged[table] += list(result.results)
        by_id = {r.expectation_config.id: r for r in result.results}
        return [by_id.get(e.id) for e in suite.expectations]

    def finish_table(self, table: str, extra: list[dict], success: bool, meta: dict) -> None:
        """Add the checks evaluated outside GX to the table's stored validation result,
        escape every string in it and store it back for the Data Docs."""
        result = self._results.get(table)
        key = self._keys.get(table)
        if result is None or key is None or self.docs_dir is None:
            return
        rows: list[ExpectationValidationResult] = []
        for r in self._merged.get(table, result.results):
            cfg = r.expectation_config
            rows.append(
                ExpectationValidationResult(
                    success=r.success,
                    expectation_config=ExpectationConfiguration(
                        type=cfg.type,
                        kwargs=esc(_plain(dict(cfg.kwargs))),
                        meta=esc(_plain(cfg.meta or {})),
                        description=cfg.description,  # composed and escaped by the compiler
                        severity=cfg.severity,
                        id=cfg.id,
                    ),
                    result=esc(_plain(dict(r.result or {}))),
                    exception_info=esc(_plain(r.exception_info or {})),
                )
            )
        for x in extra:
            cfg = ExpectContractCheck(
                check=esc(x["expectation"]),
                column=esc(x["column"]) if x["column"] else None,
                engine=x["engine"],
                description=x["description"],
                severity=GX_SEVERITY[x["severity"]],
                meta={"severity": x["severity"], "engine": x["engine"]},
            ).configuration
            res = {
                "observed_value": x["observed"],
                "element_count": x["element_count"],
                "unexpected_count": x["unexpected_count"],
            }
            if x["element_count"]:
                res["unexpected_percent"] = 100.0 * x["unexpected_count"] / x["element_count"]
            if x.get("examples"):
                res["partial_unexpected_list"] = list(x["examples"])
            rows.append(ExpectationValidationResult(success=x["success"], expectation_config=cfg, result=res))
        n_ok = sum(1 for r in rows if r.success)
        stored = ExpectationSuiteValidationResult(
            success=success,
            results=rows,
            suite_name=result.suite_name,
            suite_parameters={},
            statistics={
                "evaluated_expectations": len(rows),
                "successful_expectations": n_ok,
                "unsuccessful_expectations": len(rows) - n_ok,
                "success_percent": 100.0 * n_ok / len(rows) if rows else 100.0,
            },
            meta={**result.meta, **_plain(meta)},
            batch_id=result.batch_id,
        )
        self.context.validation_results_store.set(key, stored)

    def build_docs(self) -> Path | None:
        if self.docs_dir is None:
            return None
        self.docs_dir.mkdir(parents=True, exist_ok=True)
        self.context.build_data_docs(site_names=[SITE])
        make_offline(self.docs_dir)  # GX links Bootstrap/jQuery from CDNs: the logged docs must render without internet
        index = self.docs_dir / "index.html"
        return index if index.exists() else None
