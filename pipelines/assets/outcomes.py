"""Outcomes: bad / good / indeterminate / immature per loan, and the diagnostics behind the bad definition."""

import dagster as dg
import pandas as pd

from features import outcomes as oc
from pipelines.resources import PortfolioResource


@dg.asset(group_name="outcomes")
def loan_outcomes(context: dg.AssetExecutionContext, portfolio: PortfolioResource,
                  applications: pd.DataFrame, performance: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Outcome per application, vintage curves, roll rates and counts by vintage."""
    cfg = portfolio.load()
    bad_definition = cfg.bad_definition.build()
    outcomes = oc.derive_outcomes(applications, performance, bad_definition, as_of=cfg.source.as_of)
    tables = {
        "outcomes": outcomes,
        "counts_by_vintage": oc.outcome_counts_by_vintage(outcomes),
        "vintage_curves": oc.vintage_curves(applications, performance, bad_definition),
        "roll_rates": oc.roll_rates(performance),
        "bucket_to_bad": oc.bucket_to_bad(performance, bad_definition),
    }
    counts = tables["outcomes"]["outcome"].value_counts().to_dict()
    context.log.info(f"outcomes: {counts}")
    context.add_output_metadata({k: int(v) for k, v in counts.items()})
    return tables
