"""`creditpipe`: the command line of credit-pipeline.

    creditpipe demo-data --applications N --months M --seed S --warehouse PATH
    creditpipe run [--config FILE] [--workdir DIR]
    creditpipe validate [--config FILE]
    creditpipe bin [--config FILE] --output DIR
    creditpipe score --model models:/NAME@champion --input FILE --output FILE
    creditpipe approve --model NAME --version V [--reject --reason TEXT]
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

from features.errors import CreditPipelineError

def _error_names(cls: type = CreditPipelineError) -> set[str]:
    """Our error classes' names, at every depth (e.g. UninformativeModelError under ModelError)."""
    return {cls.__name__}.union(*(_error_names(sub) for sub in cls.__subclasses__()))


_OUR_ERRORS = _error_names()


def _fail(message: str, code: int = 1) -> int:
    print("\n" + textwrap.fill("creditpipe: " + " ".join(message.split()), width=100, break_on_hyphens=False,
                                break_long_words=False) if "\n" not in message.strip()
          else "\ncreditpipe: " + message.strip(), file=sys.stderr)
    return code


def cmd_demo_data(args: argparse.Namespace) -> int:
    from features.demo_book import generate_loan_book, write_duckdb

    start = time.perf_counter()
    print(f"generating a demo loan book: {args.applications:,} applications over {args.months} months (seed {args.seed})")
    apps, perf = generate_loan_book(n_applications=args.applications, months=args.months, seed=args.seed)
    write_duckdb(args.warehouse, apps, perf)
    print(f"wrote {len(apps):,} applications and {len(perf):,} performance rows to {args.warehouse} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    import pandas as pd

    from pipelines.checks import read_and_validate
    from pipelines.config import load_config

    cfg = load_config(args.config)
    run_id = "validate-" + time.strftime("%Y%m%d-%H%M%S")
    report = read_and_validate(cfg, args.workdir, run_id)
    frame = report.to_frame()
    failed = frame[~frame["success"].astype(bool)]
    print(f"data contracts for portfolio '{cfg.portfolio}': {len(frame)} expectations, "
          f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)")
    if len(failed):
        cols = [c for c in ("severity", "table", "column", "expectation", "expected", "observed", "example_keys") if c in failed]
        with pd.option_context("display.max_colwidth", 60, "display.width", 200):
            print(failed.sort_values(["severity", "table", "column"])[cols].to_string(index=False))
    if report.data_docs_path:
        print(f"Data Docs: {report.data_docs_path}")
    if not report.success:
        return _fail(report.failure_message())
    print("contracts passed" + (" with warnings" if report.warnings else ""))
    return 0


def cmd_contract_init(args: argparse.Namespace) -> int:
    from pipelines.config import load_config
    from pipelines.contract_init import init_contracts, print_drafts

    cfg = load_config(args.config)
    start = time.perf_counter()
    paths, drafts, _ = init_contracts(cfg, args.output, margin=args.margin, max_categories=args.max_categories)
    print_drafts(paths, drafts)
    print(f"\ndrafted {len(paths)} contracts in {time.perf_counter() - start:.1f} s")
    return 0


def _user_error(error) -> tuple[str, str] | None:
    """The first error of ours in a Dagster error chain: (class name, message)."""
    while error is not None:
        if error.cls_name in _OUR_ERRORS:
            return error.cls_name, error.message.split(": ", 1)[-1].strip()
        error = error.cause
    return None


def explain_failure(result) -> str:
    """One paragraph on why a nightly run failed, from its events (no traceback)."""
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    if failed_checks:
        parts = []
        for ev in failed_checks:  # both checks carry the one report's message: say it once
            text = ev.metadata.get("failures")
            text = str(text.value if hasattr(text, "value") else text or f"{ev.asset_key.to_user_string()} failed its contract")
            if text not in parts:
                parts.append(text)
        return ("the loan book broke its data contract; nothing was trained and the registry and champion are unchanged.\n"
                + "\n".join(parts))
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        ours = _user_error(error)
        if ours:
            return f"stage '{event.step_key}' failed ({ours[0]}): {ours[1]}"
        while error.cause is not None:  # the user-code error under Dagster's wrapper
            error = error.cause
        return (f"stage '{event.step_key}' failed unexpectedly: {error.cls_name}: {error.message.strip().splitlines()[0][:300]} "
                "(the Dagster event log has the full traceback)")
    return "the nightly run failed; see the Dagster event log"


def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.config import load_config
    from pipelines.definitions import build_definitions
    from pipelines.launch import code_location_instance, execute_job
    from pipelines.storage import clean_old_runs
    from pipelines.resources import default_tracking_uri

    cfg = load_config(args.config)  # a bad config fails here, before Dagster starts
    oot_label = "oot" if cfg.source.kind == "warehouse" or cfg.source.date else "holdout 2"
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    tracking_uri = default_tracking_uri()
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    defs = build_definitions(args.config, str(workdir), tracking_uri)
    start = time.perf_counter()
    # DAGSTER_HOME (default .data/dagster) with the project's dagster.yaml if it has none: no first-run banner;
    # the run is one of the code location 'pipelines', on the UI's timeline like a run launched there
    with code_location_instance() as instance:
        result = execute_job(defs, "nightly_retrain", instance,
                             run_config={"loggers": {"concise": {"config": {"log_level": args.log_level}}}},
                             capture=("registered_model", "validation_report", "monitoring"))  # what the summary reads
        if not result.success:
            return _fail(explain_failure(result))
        registered = result.output_for_node("registered_model")
        report = result.output_for_node("validation_report")
        monitoring = result.output_for_node("monitoring")
        if cfg.orchestration.retention_days is not None:  # old runs' directories go, as the daemon's schedule does
            clean_old_runs(cfg.orchestration.retention_days, workdir, instance.storage_directory())
    m = report.metrics
    summary = {
        "dagster_run_id": result.run_id,
        "mlflow_run_id": registered.mlflow_run_id,
        "mlflow_tracking_uri": tracking_uri,
        "model_name": registered.model_name,
        "model_version": registered.model_version,  # None: nothing new was registered
        "champion_version": registered.champion_version,
        "challenger_version": registered.challenger_version,
        "decision": registered.decision,
        "promoted": registered.promoted,
        "promotion_reason": "; ".join(registered.reasons),
        "dropped_candidates": m["dropped_candidates"],  # uninformative candidates: name -> reason
        "metrics": {"test": {k: m["test"][k] for k in ("auc", "ks", "gini")},
                    "oot": {k: m["oot"][k] for k in ("auc", "ks", "gini", "psi")}},
        "monitoring": ({"score_psi": monitoring.score_psi, "status": monitoring.status} if monitoring is not None
                       else {"score_psi": None, "status": "no champion"}),
        "report_path": report.report_path,
        "seconds": round(time.perf_counter() - start, 1),
    }
    (workdir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    t, o = summary["metrics"]["test"], summary["metrics"]["oot"]
    print(textwrap.dedent(f"""
        nightly run {result.run_id} succeeded in {summary['seconds']} s
          model      {summary['model_name']} version {summary['model_version'] or '– (nothing new registered)'}: {summary['decision']}  (champion: version {summary['champion_version'] or '–'}; {summary['promotion_reason']})
          test       AUC {t['auc']:.4f}  KS {t['ks']:.4f}  Gini {t['gini']:.4f}
          {oot_label:<10} AUC {o['auc']:.4f}  KS {o['ks']:.4f}  Gini {o['gini']:.4f}  PSI {o['psi']:.4f}
          dropped    {'; '.join(f'{n} ({why})' for n, why in summary['dropped_candidates'].items()) or 'none'}
          monitoring {summary['monitoring']['status']}: champion score PSI, through the door now vs its development window, {summary['monitoring']['score_psi'] if summary['monitoring']['score_psi'] is None else round(summary['monitoring']['score_psi'], 4)}
          report     {summary['report_path']}
          summary    {workdir / 'summary.json'}
          MLflow     {tracking_uri}  (run {summary['mlflow_run_id']})
    """))
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    import mlflow
    from mlflow.exceptions import MlflowException
    from tqdm import tqdm

    from features.errors import ModelError
    from pipelines.scoring import count_rows, score_file
    from pipelines.tracking import default_tracking_uri  # noqa: I001  (not pipelines.resources: no Dagster to score)

    mlflow.set_tracking_uri(default_tracking_uri())
    try:
        info = mlflow.models.get_model_info(args.model)
        model = mlflow.pyfunc.load_model(args.model)
    except (MlflowException, OSError) as exc:
        raise ModelError(f"cannot load model {args.model}: {str(exc).splitlines()[0]}") from None
    version = _model_version(args.model, info)
    start = time.perf_counter()
    with tqdm(total=count_rows(Path(args.input)) if Path(args.input).is_file() else None, unit="rows",
              desc="scoring", disable=args.quiet) as bar:
        summary = score_file(model, args.input, args.output, version, chunk_rows=args.chunk_rows, progress=bar)
    print(f"scored {summary.rows:,} applications with {args.model} (version {version}) into {args.output} "
          f"in {time.perf_counter() - start:.1f} s")
    print(summary.text() + f"\n  summary    {args.output}.summary.json")
    return 0


def _model_version(uri: str, info) -> str:
    """The registry version behind a models:/ URI (alias or number), else the run id."""
    from mlflow import MlflowClient

    if uri.startswith("models:/"):
        ref = uri[len("models:/"):]
        client = MlflowClient()
        if "@" in ref:
            name, alias = ref.split("@", 1)
            return str(client.get_model_version_by_alias(name, alias).version)
        name, _, version = ref.partition("/")
        if version.isdigit():
            return version
    return str(getattr(info, "run_id", "") or "")


def cmd_bin(args: argparse.Namespace) -> int:
    from pipelines.bin_command import run_bin
    from pipelines.config import load_config

    run_bin(load_config(args.config), args.output)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="creditpipe", description="Batch credit-model training and validation pipeline.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo-data", help="write a synthetic demo loan book into a DuckDB file")
    p.add_argument("--applications", type=int, default=50_000)
    p.add_argument("--months", type=int, default=36)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--warehouse", default=".data/warehouse.duckdb")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("run", help="run the nightly job end to end through Dagster")
    p.add_argument("--config", default=None, help="portfolio config YAML (default: the embedded demo config)")
    p.add_argument("--workdir", default=".data/work", help="where summary.json and the run's report go")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="run only the data contracts on the portfolio's source")
    p.add_argument("--config", default=None, help="portfolio config YAML (default: the embedded demo config)")
    p.add_argument("--workdir", default=".data/work", help="where Data Docs, the summary and quarantine files go")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("bin", help="read, outcomes, sample, binning and selection only: binning tables, plots, selection")
    p.add_argument("--config", default=None, help="portfolio config YAML (default: the embedded demo config)")
    p.add_argument("--output", required=True, help="directory for bins/*.csv, plots/*.png, splits.csv, selection.csv")
    p.set_defaults(func=cmd_bin)

    p = sub.add_parser("contract", help="data contracts of a portfolio: `contract init` drafts them from the source")
    csub = p.add_subparsers(dest="contract_command", required=True)
    p = csub.add_parser("init", help="profile the source tables and write a draft contract per table for review")
    p.add_argument("--config", required=True, help="portfolio config YAML (source, roles, codes)")
    p.add_argument("--output", required=True, help="directory for <portfolio>_applications.yaml and _performance.yaml")
    p.add_argument("--margin", type=float, default=0.5, help="ranges: quantile span widened by this share on each side")
    p.add_argument("--max-categories", type=int, default=20, help="text with at most this many values gets categories")
    p.set_defaults(func=cmd_contract_init)

    p = sub.add_parser("score", help="score a CSV or Parquet file of applications with a registered model")
    p.add_argument("--model", required=True, help="model URI, e.g. models:/credit-pipeline-demo@champion")
    p.add_argument("--input", required=True, help="CSV or Parquet of raw application rows")
    p.add_argument("--output", required=True, help="CSV or Parquet to write (pd, score, grade, reasons, model_version)")
    p.add_argument("--chunk-rows", type=int, default=200_000)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_score)

    from pipelines.approval import add_parser as add_approve
    add_approve(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CreditPipelineError as exc:
        return _fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
