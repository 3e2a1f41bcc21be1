"""Validation: backtests and the validation report."""

import json

import dagster as dg
import pandas as pd

from features.binning import WoeBinner
from features.sample import ModelingSample
from models.backtest import BacktestResult, run_backtest, walk_forward
from models.candidate_fitting import FittedCandidates
from models.validation_report import ReportInputs, ReportResult, write_validation_report
from pipelines.config import TableSource
from pipelines.estimators import build_protocol, refit_function
from pipelines.report_pack import validator_pack_inputs
from models.promotion import ChampionComparison
from pipelines.resources import MlflowResource, PortfolioResource, WorkdirResource


@dg.asset(group_name="validation")
def backtest(context: dg.AssetExecutionContext, portfolio: PortfolioResource, modeling_sample: ModelingSample,
             candidates: FittedCandidates) -> BacktestResult:
    """The candidate chosen on validation; every candidate on each split and out-of-time month; walk-forward."""
    cfg = portfolio.load()
    sample, features = modeling_sample.sample, modeling_sample.features
    chosen = build_protocol(cfg).choose(candidates)  # on the validation AUCs recorded before any final refit
    result = run_backtest(candidates, sample, features)
    context.log.info(f"chosen candidate (validation AUC): {chosen}\n" + result.by_split.to_string(index=False))
    labelled = sample[sample["split"] != "test"]  # walk forward over time on everything but the test holdout
    walk = walk_forward(refit_function(cfg, chosen, features), labelled, features, origins=cfg.models.walk_forward_origins,
                        max_train_rows=cfg.models.walk_forward_rows, seed=cfg.sample.seed)
    if len(walk):
        context.log.info("walk-forward:\n" + walk.to_string(index=False))
    return BacktestResult(backtest=result, chosen=chosen, walk_forward=walk)


@dg.asset(group_name="validation")
def validation_report(context: dg.AssetExecutionContext, portfolio: PortfolioResource, workdir: WorkdirResource,
                      mlflow: MlflowResource, loan_outcomes: dict, modeling_sample: ModelingSample, binning: WoeBinner,
                      feature_selection: pd.DataFrame, candidates: FittedCandidates, backtest: BacktestResult,
                      champion_comparison: ChampionComparison) -> ReportResult:
    """Self-contained HTML report and metrics.json in the run's work directory."""
    cfg = portfolio.load()
    run_dir = workdir.run_dir(context.run.run_id)
    has_dates = not (isinstance(cfg.source, TableSource) and not cfg.source.date)
    notes = [] if has_dates else [
        "The source has no application date, so there is no out-of-time sample: the split labelled "
        "'out of time' is a second random stratified holdout, and stability over time is not tested."]
    contract_summary = run_dir / "contracts" / "docs" / "summary.json"
    types_path = run_dir / "inferred_types.csv"
    inputs = ReportInputs(
        portfolio=cfg.portfolio, run_label=f"Dagster run {context.run.run_id}", bad_definition=cfg.bad_definition.model_dump(),
        sample=modeling_sample.sample, sample_summary=modeling_sample.summary, features=modeling_sample.features,
        outcome_tables=loan_outcomes, binner=binning, selection=feature_selection, candidates=candidates,
        dropped_candidates=candidates.dropped,
        backtest=backtest.backtest, chosen=backtest.chosen, walk_forward=backtest.walk_forward,
        champion_comparison=champion_comparison, promotion_policy=cfg.promotion.policy(),
        contract_summary=json.loads(contract_summary.read_text()) if contract_summary.is_file() else None,
        inferred_types=pd.read_csv(types_path) if types_path.is_file() else None,
        notes=notes, has_dates=has_dates, psi_warn=cfg.monitoring.psi_warn, psi_alert=cfg.monitoring.psi_alert,
        calibration_alpha=cfg.models.calibration.test_alpha, max_auc_gap=cfg.models.max_auc_gap,
        pack=validator_pack_inputs(cfg, mlflow, context.run.run_id, backtest.chosen, modeling_sample.sample,
                                   champion_comparison),
    )
    out = run_dir / "report"
    report_path, metrics_path, results = write_validation_report(inputs, out)
    # the in-pipeline scores of the out-of-time sample: the registered model must reproduce them exactly
    preds = backtest.backtest.predictions
    preds[preds["split"] == "oot"].to_csv(out / "oot_scores.csv", index=False)
    for warning in results["warnings"]:
        context.log.warning(f"validation: {warning}")
    context.add_output_metadata({"report": dg.MetadataValue.path(str(report_path)),
                                 "oot_auc": results["metrics"]["oot"]["auc"], "warnings": len(results["warnings"])})
    return ReportResult(report_path=str(report_path), metrics_path=str(metrics_path), report_dir=str(out),
                        contracts_dir=str(run_dir / "contracts"), candidate=backtest.chosen, metrics=results["metrics"],
                        promotion=results.get("promotion"))
