"""Flat application tables with a ready target: any lender's extract, any public dataset.

The three steps, each in the module that holds its rules:

1. :func:`read_flat_table` (:mod:`features.table_files`) -- CSV or Parquet into a
   DataFrame (CSV values as text), or a :class:`~features.errors.SourceError` naming the
   file and the problem; the same module reads scoring files chunk by chunk.
2. :func:`infer_types` / :class:`~features.input_reader.InputReader`
   (:mod:`features.input_reader`) -- numeric vs categorical per column with the rule that
   decided it and the fitted conversions (units, percent, separators, decimal comma:
   :mod:`features.number_text`), overridable per column. The fitted reader is part of the
   registered model, so scoring reads a raw file as training read the extract.
3. :func:`flat_table_outcomes` (:mod:`features.flat_outcomes`) -- the outcome table (one
   row per application) in the shape :func:`features.outcomes.derive_outcomes` returns
   for a warehouse.

This module only gathers those names for callers that think in "flat tables".
"""

from features.flat_outcomes import OUTCOME_COLUMNS, flat_table_outcomes
from features.input_reader import TYPES_TABLE_COLUMNS, InputReader, infer_types
from features.number_text import parse_number_text
from features.pii_names import is_pii_name
from features.table_files import (
    CSV_SUFFIXES,
    NA_TOKENS,
    PARQUET_SUFFIXES,
    read_flat_table,
)

__all__ = [
    "CSV_SUFFIXES",
    "NA_TOKENS",
    "OUTCOME_COLUMNS",
    "PARQUET_SUFFIXES",
    "TYPES_TABLE_COLUMNS",
    "InputReader",
    "flat_table_outcomes",
    "infer_types",
    "is_pii_name",
    "parse_number_text",
    "read_flat_table",
]
