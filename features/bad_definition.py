"""The bad definition: what makes a loan bad, good, indeterminate or immature."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from features.errors import ConfigError
from features.history_input import SEVERITY

CLOSED_EARLY_OPTIONS = ("good_if_clean", "exclude", "immature")


@dataclass(frozen=True)
class BadDefinition:
    """What makes a loan bad, good, indeterminate or immature."""

    dpd_threshold: int = 90
    performance_window: int = 12
    bad_statuses: tuple[str, ...] = ("charged_off",)
    indeterminate_dpd: tuple[int, int] | None = (30, 89)
    closed_early: str = "good_if_clean"

    def __post_init__(self) -> None:
        def _int(name: str, value: Any, minimum: int) -> None:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ConfigError(
                    f"bad definition: {name} must be an integer, got {value!r}"
                )
            object.__setattr__(self, name, int(value))
            if value < minimum:
                raise ConfigError(
                    f"bad definition: {name} must be >= {minimum}, got {value}"
                )

        _int("dpd_threshold", self.dpd_threshold, 1)
        _int("performance_window", self.performance_window, 1)

        statuses = self.bad_statuses
        if isinstance(statuses, str) or not isinstance(statuses, Sequence):
            raise ConfigError(
                "bad definition: bad_statuses must be a list of statuses, "
                f"got {statuses!r}"
            )
        statuses = tuple(statuses)
        allowed = ("charged_off", "delinquent")
        for s in statuses:
            if s not in allowed:
                raise ConfigError(
                    f"bad definition: bad_statuses has {s!r}; allowed: {', '.join(allowed)}"
                )
        object.__setattr__(self, "bad_statuses", statuses)

        band = self.indeterminate_dpd
        if band is not None:
            if (
                isinstance(band, str)
                or not isinstance(band, Sequence)
                or len(band) != 2
                or any(isinstance(b, bool) or not isinstance(b, numbers.Integral) for b in band)
            ):
                raise ConfigError(
                    "bad definition: indeterminate_dpd must be two integers "
                    f"[low, high] or null, got {band!r}"
                )
            lo, hi = int(band[0]), int(band[1])
            if not 1 <= lo <= hi:
                raise ConfigError(
                    "bad definition: indeterminate_dpd must satisfy 1 <= low <= high, "
                    f"got [{lo}, {hi}]"
                )
            if hi >= self.dpd_threshold:
                raise ConfigError(
                    f"bad definition: indeterminate_dpd upper bound {hi} must be below "
                    f"dpd_threshold {self.dpd_threshold} (the band would overlap 'bad')"
                )
            object.__setattr__(self, "indeterminate_dpd", (lo, hi))

        if self.closed_early not in CLOSED_EARLY_OPTIONS:
            raise ConfigError(
                f"bad definition: closed_early must be one of "
                f"{', '.join(CLOSED_EARLY_OPTIONS)}, got {self.closed_early!r}"
            )

    @classmethod
    def from_mapping(cls, config: Mapping[str, Any] | None) -> BadDefinition:
        """Build from a config mapping (YAML section); unknown keys are a ConfigError."""
        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigError(
                f"bad definition: unknown key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        if isinstance(config.get("indeterminate_dpd"), list):
            config["indeterminate_dpd"] = tuple(config["indeterminate_dpd"])
        return cls(**config)

    @property
    def bad_status_codes(self) -> list[int]:
        """The severity codes (features.history_input.SEVERITY) of the bad statuses."""
        return [SEVERITY[s] for s in self.bad_statuses]


def as_bad_definition(bad_definition: Any) -> BadDefinition:
    """A :class:`BadDefinition` from itself or a config mapping."""
    if isinstance(bad_definition, BadDefinition):
        return bad_definition
    if isinstance(bad_definition, Mapping):
        return BadDefinition.from_mapping(bad_definition)
    raise ConfigError(
        f"bad definition: expected a BadDefinition or a mapping, got "
        f"{type(bad_definition).__name__}"
    )
