"""Outcomes: bad / good / indeterminate / immature per loan, and the diagnostics behind the bad definition."""

import dagster as dg
import pandas as pd

from features import outcomes as oc
from features.flat_table import flat_table_outcomes
from features.history_rules import months_on_book
from pipelines.config import TableSource
from pipelines.resources import PortfolioResource


@dg.asset(group_name="outcomes")
def loan_outcomes(context: dg.AssetExecutionContext, portfolio: PortfolioResource,
                  applications: pd.DataFrame, performance: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Outcome per application, vintage curves, roll rates and counts by vintage."""
    cfg = portfolio.load()
    src = cfg.source
    if isinstance(src, TableSource):  # a ready target: no history to derive it from
        outcomes = flat_table_outcomes(applications, src.target, src.bad_values, id="application_id",
                                       date="application_date" if src.date else None)
        return _log_counts(context, {"outcomes": outcomes, "counts_by_vintage": oc.outcome_counts_by_vintage(outcomes)})
    bad_definition = cfg.bad_definition.build()
    outcomes = oc.derive_outcomes(applications, performance, bad_definition, as_of=src.as_of)
    tables = {
        "outcomes": outcomes,
        "counts_by_vintage": oc.outcome_counts_by_vintage(outcomes),
        "vintage_curves": oc.vintage_curves(applications, performance, bad_definition),
        "roll_rates": oc.roll_rates(performance),
        # without a months_on_book column, MOB comes from the dates
        "bucket_to_bad": oc.bucket_to_bad(months_on_book(applications, performance), bad_definition),
        "history_problems": oc.history_problems(applications, performance, as_of=src.as_of),
    }
    problems = tables["history_problems"]
    for _, p in problems[problems["rows"] > 0].iterrows():
        context.log.warning(f"performance history: {p['kind']}: {p['rows']} rows on {p['loans']} loans "
                            f"(e.g. {p['example_loan_ids']}): {p['description']}")
    return _log_counts(context, tables)


def _log_counts(context: dg.AssetExecutionContext, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    counts = tables["outcomes"]["outcome"].value_counts().to_dict()
    context.log.info(f"outcomes: {counts}")
    context.add_output_metadata({k: int(v) for k, v in counts.items()})
    return tables
