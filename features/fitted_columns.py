"""The guard a fitted reader of tables runs before it reads: it is fitted, it learned every
column it is asked for, and the table has them all.

One definition for the WOE binner's transform and the input reader (and any fitted
object that reads named columns), so each failure reads the same way and names the
table and the columns.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from features.errors import CreditPipelineError

__all__ = ["check_fitted_columns"]


def check_fitted_columns(owner: str, fitted: Collection[str] | None, requested: Sequence[str] | None,
                         present: Collection[str], *, table: str, error: type[CreditPipelineError]) -> list[str]:
    """The columns to read: ``requested``, or every ``fitted`` one when it is None.

    ``fitted`` is what ``owner`` learned at fit (None: not fitted), ``present`` the table's
    columns. Raises ``error`` when ``owner`` is not fitted, when a requested column was not
    fitted, or when ``table`` lacks one, naming the columns.
    """
    if fitted is None:
        raise error(f"{owner}: not fitted; call fit first")
    columns = list(fitted) if requested is None else list(requested)
    unknown = [c for c in columns if c not in fitted]
    if unknown:
        raise error(f"{table}: the {owner} was not fitted on column(s) {unknown}")
    missing = [c for c in columns if c not in present]
    if missing:
        raise error(f"{table}: required column(s) missing: {missing}")
    return columns
