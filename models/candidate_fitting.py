"""Fitting the candidates of a run: an uninformative candidate is dropped with its reason, the others go on.

On a small book (a few thousand applications) a candidate can come out carrying no
signal a PD can be built on: boosted trees that never split (every raw PD equal), a raw
PD that ranks goods above bads on held-out rows (Platt slope not positive), calibrated
PDs too concentrated to cut a master scale. Calibration and the master scale raise
:class:`~features.errors.UninformativeModelError` for those. A credit-risk team would not
lose the night's run to one such challenger: :func:`fit_candidates` drops it, keeps the
reason (for the Dagster log, the report and the run summary) and validates the others.

Everything else still stops the run: a bad input, a contract, a config value (any other
:class:`~features.errors.CreditPipelineError`), a run left with no candidate at all, and
``choose_by: scorecard`` with the scorecard dropped. Those errors name every reason.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pandas as pd

from features.errors import ModelError, UninformativeModelError
from models.candidate import Candidate, CreditModel
from models.protocol import DevelopmentProtocol

__all__ = ["FittedCandidates", "fit_candidates"]


@dataclass(frozen=True)
class FittedCandidates(Mapping[str, CreditModel]):
    """The run's fitted candidates (name → :class:`~models.candidate.CreditModel`, in the
    config's order) and those dropped as uninformative (``dropped``: name → reason).

    A read-only mapping of the kept models, so the choice, the backtest, the report and the
    registry iterate it as they would a dict.
    """

    models: dict[str, CreditModel]
    dropped: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> CreditModel:
        return self.models[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)


def fit_candidates(protocol: DevelopmentProtocol, estimators: Mapping[str, Candidate], sample: pd.DataFrame,
                   features: list[str]) -> FittedCandidates:
    """Each estimator through ``protocol.fit`` on its own; an uninformative one is dropped with its reason.

    Raises :class:`~features.errors.ModelError` naming the reasons when no candidate is left,
    or when the protocol always registers the scorecard and the scorecard was dropped.
    """
    models: dict[str, CreditModel] = {}
    dropped: dict[str, str] = {}
    for name, estimator in estimators.items():
        try:  # one candidate at a time, so one uninformative candidate costs only itself
            models[name] = protocol.fit({name: estimator}, sample, features)[name]
        except UninformativeModelError as exc:
            dropped[name] = str(exc)
    reasons = "; ".join(f"{name}: {why}" for name, why in dropped.items())
    if not models:
        raise ModelError(f"candidates: every candidate came out uninformative, so there is no model to validate "
                         f"({reasons}). The development rows may be too few or the features carry no signal; "
                         "check the sample design and the feature selection before re-running.")
    if protocol.choose_by == "scorecard" and "scorecard" in dropped:
        raise ModelError(f"candidates: models.choose_by is 'scorecard' but the scorecard came out uninformative "
                         f"({dropped['scorecard']}); choose by validation AUC or fix the scorecard's inputs.")
    return FittedCandidates(models=models, dropped=dropped)
