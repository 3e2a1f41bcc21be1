"""The monitoring asset's computation with a champion (`monitor_champion`) on a small demo book.

It reads and scores every row once, without reason codes, from the columns the champion reads;
the reference is the straightforward computation: each population taken from the applications
whole and scored with the registered pipeline's own `predict` (reason codes and all) and
`input_frame`. Both champions (scorecard and XGBoost) must give the same result to the bit.
"""

from __future__ import annotations

from types import SimpleNamespace

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from features import outcomes as oc
from features.sample import newest_applications
from models.candidate_fitting import fit_candidates
from models.monitoring import ChampionMonitor, early_delinquency, month_numbers
from models.serving import CreditScoreModel, scoring_pipelines
from pipelines.assets.ingest import applications as applications_asset
from pipelines.assets.ingest import performance as performance_asset
from pipelines.assets.modeling import modeling_sample as modeling_sample_asset
from pipelines.assets.monitoring import model_features, monitor_champion, policy
from pipelines.config import load_config
from pipelines.estimators import (
    build_estimators,
    build_protocol,
    fit_binner,
    selected_features,
    selection_table,
)
from pipelines.resources import PortfolioResource, WarehouseResource, WorkdirResource
from pipelines.scoring import fitted_reader, scoring_names
from tests.conftest import demo_warehouse


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """Applications, performance, modeling sample and both candidates' scoring pipelines, built in-process."""
    tmp = tmp_path_factory.mktemp("monitoring_champion")
    book = demo_warehouse(tmp / "book.duckdb", n_applications=4_000, months=36, seed=11)
    config = tmp / "portfolio.yaml"
    config.write_text(f"source:\n  kind: warehouse\n  url: duckdb:///{book}\n"
                      "models:\n  xgboost: {n_search: 1}\n  final_fit: fit_rows\n")
    cfg = load_config(config)
    portfolio, warehouse = PortfolioResource(config_path=str(config)), WarehouseResource(url=cfg.source.url)
    apps = applications_asset(dg.build_asset_context(), portfolio=portfolio, warehouse=warehouse,
                              workdir=WorkdirResource(path=str(tmp / "work")))
    perf = performance_asset(dg.build_asset_context(), portfolio=portfolio, warehouse=warehouse)
    outcomes = oc.derive_outcomes(apps, perf, cfg.bad_definition.build(), as_of=cfg.source.as_of)
    sample = modeling_sample_asset(dg.build_asset_context(), portfolio=portfolio, applications=apps,
                                   loan_outcomes={"outcomes": outcomes})
    dev = sample.split("dev")
    binner = fit_binner(cfg, dev, sample.features)
    estimators = build_estimators(cfg, binner, selected_features(selection_table(cfg, binner, dev)))
    models = fit_candidates(build_protocol(cfg), estimators, sample.sample, sample.features)
    id_column, names = scoring_names(cfg)
    pipelines = scoring_pipelines(models, sample.features, dev, fitted_reader(cfg, apps, sample.features),
                                  cfg.model_name, id_column, names)
    return cfg, apps, perf, sample, pipelines


def champion_of(pipeline):
    """What `load_champion_model(...).model` is as far as monitoring reads it: a pyfunc around the pipeline."""
    wrapper = CreditScoreModel(pipeline)
    return SimpleNamespace(unwrap_python_model=lambda: wrapper)


def reference_monitoring(cfg, champion, applications, performance, sample):
    """Every population copied out of the applications and scored whole with `predict` (reason codes included)."""
    m = cfg.monitoring
    pipeline = champion.unwrap_python_model().pipeline
    dated = "application_date" in applications.columns
    approved = lambda frame: (frame["decision"] == "approved").to_numpy()
    current = newest_applications(applications, m.recent_months)
    if not dated:  # the development rows themselves; no early delinquency without dates
        reference = applications[applications["application_id"].isin(sample.split("dev")["application_id"])]
        monitor = ChampionMonitor(policy(cfg), m.approval_cutoff).fit(
            pipeline.predict(reference), pipeline.input_frame(reference), approved(reference),
            np.full(len(reference), np.nan))
        return monitor.evaluate(pipeline.predict(current), pipeline.input_frame(current), approved(current), None,
                                model_features=model_features(champion))
    app_month = pd.to_datetime(applications["application_date"]).dt.to_period("M")
    dev_months = pd.to_datetime(sample.split("dev")["application_month"]).dt.to_period("M").unique()
    reference = applications[app_month.isin(dev_months).to_numpy()]
    early = early_delinquency(performance, app_month.set_axis(applications["application_id"].to_numpy()),
                              m.early_dpd, m.early_mob)
    observed = early.dropna()
    loans = applications[applications["application_id"].isin(observed.index)]
    months = app_month[loans.index]
    loans = loans[months.isin(np.sort(months.unique())[-m.early_vintages:]).to_numpy()]
    recent = pd.DataFrame({"grade": pipeline.predict(loans)["grade"].to_numpy(),
                           "early": observed.reindex(loans["application_id"].to_numpy()).to_numpy()})
    monitor = ChampionMonitor(policy(cfg), m.approval_cutoff).fit(
        pipeline.predict(reference), pipeline.input_frame(reference), approved(reference),
        early.reindex(reference["application_id"].to_numpy()).to_numpy())
    return monitor.evaluate(pipeline.predict(current), pipeline.input_frame(current), approved(current), recent,
                            model_features=model_features(champion))


@pytest.mark.parametrize("candidate", ["scorecard", "xgboost"])
def test_monitoring_equals_scoring_each_population_whole(job, candidate):
    cfg, apps, perf, sample, pipelines = job
    champion = champion_of(pipelines[candidate])
    got = monitor_champion(cfg, champion, apps, perf, sample)
    want = reference_monitoring(cfg, champion, apps, perf, sample)
    assert want.populations["current_rows"].iloc[0] > 0 and len(want.early) > 1  # something was compared
    assert got.summary() == want.summary()
    for name in ("populations", "csi", "grades", "early"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)


def test_undated_applications_compare_the_development_rows_with_every_application(job):
    cfg, apps, perf, sample, pipelines = job
    undated = apps.drop(columns="application_date")
    champion = champion_of(pipelines["scorecard"])
    got = monitor_champion(cfg, champion, undated, perf, sample)
    want = reference_monitoring(cfg, champion, undated, perf, sample)
    assert got.populations["reference_rows"].iloc[0] == len(sample.split("dev"))
    assert got.populations["current_rows"].iloc[0] == len(apps) and got.early.empty
    assert got.summary() == want.summary()


@pytest.mark.parametrize("candidate", ["scorecard", "xgboost"])
def test_decisions_are_score_without_reason_codes(job, candidate):
    _, apps, _, _, pipelines = job
    rows = apps.sample(700, random_state=2)
    X, decided = pipelines[candidate].decisions(rows)
    scored = pipelines[candidate].predict(rows)
    pd.testing.assert_frame_equal(X, pipelines[candidate].input_frame(rows))
    assert decided.index.equals(rows.index)
    for col in ("pd", "score", "grade"):
        np.testing.assert_array_equal(decided[col].to_numpy(), scored[col].to_numpy())


def test_month_numbers_are_period_arithmetic():
    dates = pd.Series(pd.to_datetime(["2019-12-31", "2020-01-01", None, "1969-07-20", "2024-02-29"]))
    periods = dates.dt.to_period("M")
    want = np.array([np.nan if pd.isna(p) else (p.year - 1970) * 12 + p.month - 1 for p in periods])
    np.testing.assert_array_equal(month_numbers(dates), want)
    np.testing.assert_array_equal(month_numbers(periods), want)
    np.testing.assert_array_equal(month_numbers(dates.dt.strftime("%Y-%m-%d")), want)  # text dates as read from a file


def test_early_delinquency_equals_period_arithmetic_and_a_group_by(job):
    """Against the straightforward computation: monthly periods, a loan-id index and a group-by per loan."""
    cfg, apps, perf, _, _ = job
    m = cfg.monitoring
    app_month = pd.to_datetime(apps["application_date"]).dt.to_period("M").set_axis(apps["application_id"].to_numpy())
    snap = pd.to_datetime(perf["snapshot_month"]).dt.to_period("M")
    loan_month = app_month.reindex(perf["loan_id"].to_numpy())
    mob_of_row = ((snap.dt.year.to_numpy() * 12 + snap.dt.month.to_numpy())
                  - (loan_month.dt.year.to_numpy() * 12 + loan_month.dt.month.to_numpy()))
    bad = (perf["days_past_due"].to_numpy() >= m.early_dpd) & (mob_of_row >= 1) & (mob_of_row <= m.early_mob)
    flag = pd.Series(bad, index=perf["loan_id"].to_numpy()).groupby(level=0).max().astype(float)
    newest = snap.max()
    observable = app_month[(newest.year * 12 + newest.month) - (app_month.dt.year * 12 + app_month.dt.month)
                           >= m.early_mob]
    want = flag.reindex(observable.index).fillna(0.0).reindex(app_month.index)
    got = early_delinquency(perf, app_month, m.early_dpd, m.early_mob)
    assert want.notna().sum() > 1000 and 0 < want.sum() < want.notna().sum()  # observed loans, some early bads
    pd.testing.assert_series_equal(got, want, check_exact=True)
    pd.testing.assert_series_equal(early_delinquency(perf, app_month.dt.to_timestamp(), m.early_dpd, m.early_mob), want,
                                   check_exact=True)  # dates read as dates
