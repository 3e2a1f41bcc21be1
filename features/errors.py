"""The project's one error hierarchy.

Every error a user can meet derives from :class:`CreditPipelineError`; the CLI prints
its message as one paragraph and exits non-zero, never a traceback. Messages name the
table, the column and the problem.
"""

from __future__ import annotations


class CreditPipelineError(Exception):
    """Base class of every error raised on purpose by credit-pipeline."""


class ConfigError(CreditPipelineError):
    """The portfolio config is missing, unreadable, has an unknown key or a bad value."""


class SourceError(CreditPipelineError):
    """The loan history cannot be read: missing file, table, column, or bad URL."""


class DataContractError(CreditPipelineError):
    """Input data broke its data contract (a blocking expectation failed)."""


class OutcomeError(CreditPipelineError):
    """Loan outcomes cannot be derived from the performance history as given."""


class SampleError(CreditPipelineError):
    """The modeling sample cannot be designed (empty split, one class only, ...)."""


class ModelError(CreditPipelineError):
    """A model cannot be fitted, scored, or registered."""


class UninformativeModelError(ModelError):
    """A candidate came out carrying no usable signal (every raw PD equal, a raw PD that ranks goods above
    bads, PDs too concentrated for a master scale). The run drops that candidate, records why, and goes on
    with the others (:func:`models.candidate_fitting.fit_candidates`); a bad input is never this error."""


class PromotionError(CreditPipelineError):
    """The champion could not be updated as the promotion policy requires."""


class TransientIOError(CreditPipelineError):
    """A service the run needs (warehouse, MLflow) is unreachable for now; the same run may succeed on a retry.

    The only error the orchestration retries: a broken contract, config or model is not
    transient and retrying it would only repeat the failure.
    """
