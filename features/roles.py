"""A lender's loan history in our roles: their column names and codes, our vocabulary.

Library code (no I/O). The ``applications`` table needs three roles (application id,
application date, decision); the ``performance`` table needs loan id, snapshot month and
delinquency (days past due, or bucket codes mapped to days). Everything else is optional
or, on ``applications``, a candidate feature under the lender's own name.

:class:`HistoryRoles` holds the mapping; :meth:`HistoryRoles.applications` and
:meth:`HistoryRoles.performance` return copies in our shape:

* role columns renamed to ours (``application_id``, ``days_past_due``, ...);
* ``decision`` codes mapped to ``approved`` / ``rejected``; an unmapped code is kept as it
  is, so the data contract names it;
* delinquency bucket codes mapped to days past due; an unmapped code is a
  :class:`~features.errors.SourceError` naming table, column and codes (no number of days
  can be made up for it);
* ``status`` codes mapped to ``current`` / ``delinquent`` / ``charged_off`` / ``paid_off``;
  once a status map is given (or when there is no status column) an unmapped status is
  derived from days past due: ``delinquent`` when > 0, else ``current``;
* ``months_on_book`` counted from 1 in the month after the application month (a 0-based
  count is shifted); without the column it is left to the dates (see
  :func:`features.history.rules.months_on_book`).

The input frames are never modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.errors import ConfigError, SourceError
from features.loan_book import APPLICATIONS, CATEGORIES, PERFORMANCE

APPLICATION_ROLES: dict[str, bool] = {  # role -> required
    "application_id": True,
    "application_date": True,
    "decision": True,
    "customer_id": False,
    "product": False,
    "requested_amount": False,
    "approved_amount": False,
    "term_months": False,
}
PERFORMANCE_ROLES: dict[str, bool] = {
    "loan_id": True,
    "snapshot_month": True,
    "days_past_due": True,
    "status": False,
    "months_on_book": False,
    "balance": False,
}
ROLES = {APPLICATIONS: APPLICATION_ROLES, PERFORMANCE: PERFORMANCE_ROLES}


def _code_text(values: pd.Series) -> pd.Series:
    """Codes as text, so ``1``, ``1.0`` and ``"1"`` are one code; nulls stay null."""
    if pd.api.types.is_float_dtype(values.dtype):
        v = values.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isfinite(v) & (v == np.round(v))
        text = values.astype(object).where(values.isna(), values.astype(str))
        text[whole] = v[whole].astype(np.int64).astype(str)
        return text.astype(object)
    return values.astype(object).where(values.isna(), values.astype(str))


def _inverse(mapping: Mapping[str, Sequence], what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for ours, codes in mapping.items():
        for code in codes:
            code = str(code)
            if code in out and out[code] != ours:
                raise ConfigError(f"source.values.{what}: code {code!r} is mapped to both {out[code]!r} and {ours!r}")
            out[code] = ours
    return out


@dataclass(frozen=True)
class HistoryRoles:
    """The lender's names and codes for the roles of the loan history.

    ``columns``: per table, our role -> the lender's column. ``decision`` / ``status``:
    our value -> the lender's codes. ``delinquency_codes``: the lender's bucket code ->
    days past due (``None``: the column holds days). ``months_on_book_starts_at``: 1 when
    the first month on book is counted 1, 0 when it is counted 0.
    """

    columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    decision: Mapping[str, Sequence[str]] = field(default_factory=dict)
    status: Mapping[str, Sequence[str]] = field(default_factory=dict)
    delinquency_codes: Mapping[str, int] | None = None
    months_on_book_starts_at: int = 1

    def __post_init__(self) -> None:
        for table in self.columns:
            if table not in ROLES:
                raise ConfigError(f"source.columns: unknown table {table!r} (tables: {', '.join(ROLES)})")
        if self.months_on_book_starts_at not in (0, 1):
            raise ConfigError(f"source.months_on_book_starts_at must be 0 or 1, got {self.months_on_book_starts_at!r}")
        for ours in self.decision:
            if ours not in CATEGORIES["decision"]:
                raise ConfigError(f"source.values.decision: {ours!r} is not one of {', '.join(CATEGORIES['decision'])}")
        for ours in self.status:
            if ours not in CATEGORIES["status"]:
                raise ConfigError(f"source.values.status: {ours!r} is not one of {', '.join(CATEGORIES['status'])}")
        _inverse(self.decision, "decision")
        _inverse(self.status, "status")

    # -- names -------------------------------------------------------------------------
    def source_column(self, table: str, role: str) -> str:
        """The lender's name of a role column (our name when not mapped)."""
        return self.columns.get(table, {}).get(role, role)

    def source_names(self, table: str) -> dict[str, str]:
        """Our name -> the lender's, for every mapped column of ``table``."""
        return dict(self.columns.get(table, {}))

    def _renamed(self, frame: pd.DataFrame, table: str) -> pd.DataFrame:
        theirs_to_ours = {theirs: ours for ours, theirs in self.columns.get(table, {}).items() if theirs != ours}
        clash = [ours for theirs, ours in theirs_to_ours.items() if ours in frame.columns and ours not in theirs_to_ours]
        if clash:
            raise SourceError(f"{table}: column(s) {', '.join(map(repr, clash))} exist and are also the name a mapped "
                              "column is given (source.columns); rename or exclude one of them")
        return frame.rename(columns=theirs_to_ours)

    # -- tables ------------------------------------------------------------------------
    def applications(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``applications`` in our roles (a copy)."""
        out = self._renamed(frame, APPLICATIONS)
        if self.decision and "decision" in out.columns:
            codes = _code_text(out["decision"])
            mapped = codes.map(_inverse(self.decision, "decision"))
            # an unmapped code stays as it is: the contract names it among the decision values
            out["decision"] = mapped.where(mapped.notna(), codes).astype(object)
        return out

    def performance(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``performance`` in our roles (a copy)."""
        out = self._renamed(frame, PERFORMANCE)
        if self.delinquency_codes is not None and "days_past_due" in out.columns:
            out["days_past_due"] = self._days_from_codes(out["days_past_due"])
        if "months_on_book" in out.columns and self.months_on_book_starts_at == 0:
            mob = out["months_on_book"]
            if pd.api.types.is_numeric_dtype(mob.dtype) and not pd.api.types.is_bool_dtype(mob.dtype):
                out["months_on_book"] = mob + 1  # ours: 1 in the month after the application month
        if self.status or "status" not in out.columns:
            out["status"] = self._status(out)
        return out

    def _days_from_codes(self, codes: pd.Series) -> pd.Series:
        text = _code_text(codes)
        days = text.map({str(k): int(v) for k, v in self.delinquency_codes.items()})
        unmapped = text.notna() & days.isna()
        if unmapped.any():
            col = self.source_column(PERFORMANCE, "days_past_due")
            found = sorted(pd.unique(text[unmapped]).tolist(), key=str)[:5]
            raise SourceError(
                f"{PERFORMANCE}.{col}: {int(unmapped.sum())} row(s) hold delinquency code(s) {found} that "
                f"source.delinquency_codes does not map to days past due (mapped codes: "
                f"{', '.join(sorted(map(str, self.delinquency_codes)))})")
        return days.astype("Int64")

    def _status(self, perf: pd.DataFrame) -> pd.Series:
        dpd = pd.to_numeric(perf["days_past_due"], errors="coerce") if "days_past_due" in perf.columns else \
            pd.Series(np.nan, index=perf.index)
        derived = pd.Series(np.where(dpd > 0, "delinquent", "current"), index=perf.index, dtype=object)
        derived[dpd.isna().to_numpy()] = None
        if "status" not in perf.columns:
            return derived
        codes = _code_text(perf["status"])
        mapped = codes.map(_inverse(self.status, "status"))
        ours = codes.where(codes.isin(CATEGORIES["status"]))
        return mapped.fillna(ours).fillna(derived).astype(object)
