"""Validation: backtests and the validation report."""

import dagster as dg
import pandas as pd

from models.backtest import Backtest, run_backtest
from models.validation_report import ReportInputs, write_validation_report
from features.binning import WoeBinner
from pipelines.config import TableSource
from pipelines.resources import PortfolioResource, WorkdirResource


@dg.asset(group_name="validation")
def backtest(context: dg.AssetExecutionContext, modeling_sample: dict, candidates: dict) -> Backtest:
    """Every candidate scored on dev / test / oot and on each out-of-time month."""
    result = run_backtest(candidates, modeling_sample["sample"], modeling_sample["features"])
    context.log.info("\n" + result.by_split.to_string(index=False))
    return result


@dg.asset(group_name="validation")
def validation_report(context: dg.AssetExecutionContext, portfolio: PortfolioResource, workdir: WorkdirResource,
                      loan_outcomes: dict, modeling_sample: dict, binning: WoeBinner, feature_selection: pd.DataFrame,
                      candidates: dict, backtest: Backtest) -> dict:
    """Self-contained HTML report and metrics.json in the run's work directory."""
    cfg = portfolio.load()
    champion = "scorecard"
    selected = feature_selection.loc[feature_selection["selected"], "variable"].tolist()
    notes = []
    if isinstance(cfg.source, TableSource) and not cfg.source.date:
        notes.append("The source has no application date, so there is no out-of-time sample: the split labelled "
                     "'out of time' is a second random stratified holdout, and stability over time is not tested.")
    inputs = ReportInputs(notes=notes, 
        portfolio=cfg.portfolio, run_label=f"Dagster run {context.run_id}", bad_definition=cfg.bad_definition.model_dump(),
        sample=modeling_sample["sample"], sample_summary=modeling_sample["summary"], outcome_tables=loan_outcomes,
        binning_summary=binning.summary(), binning_tables={v: binning.binning_table(v) for v in selected},
        selection=feature_selection, candidates=candidates, backtest=backtest, champion=champion,
    )
    metrics = backtest.metrics(champion)
    out = workdir.run_dir(context.run_id) / "report"
    report_path, metrics_path = write_validation_report(inputs, out, metrics)
    context.add_output_metadata({"report": dg.MetadataValue.path(str(report_path)), "oot_auc": metrics["oot"]["auc"]})
    return {"report_path": str(report_path), "metrics_path": str(metrics_path), "report_dir": str(out),
            "candidate": champion, "metrics": metrics}
