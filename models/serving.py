"""Scoring raw application rows exactly as in training, and its MLflow pyfunc wrapper.

:class:`ScoringPipeline` is what is registered: the fitted input reader of training
(:class:`features.input_reader.InputReader`: types, unit/percent/separator conversions,
category normalisation), the development domain of the features
(:class:`features.feature_domain.FeatureDomain`) and the candidate
(:class:`models.candidate.CreditModel`). ``score`` reads a raw chunk as training read the
extract, counts what development never saw, and returns PD, score, grade and reason
codes in input order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mlflow.pyfunc
import pandas as pd

from features.errors import ModelError
from features.feature_domain import FeatureDomain
from features.input_reader import InputReader, ReadReport
from features.number_text import plain_numbers

__all__ = ["CreditScoreModel", "ScoringCounts", "ScoringPipeline", "scoring_pipelines"]

#: What a scoring summary counts per feature, in the order it prints them.
COUNT_KINDS = ("missing", "unreadable", "normalised", "new_category", "unseen_category", "below_range", "above_range")


@dataclass
class ScoringCounts:
    """What scoring found, summed over chunks: rows, per-feature counts, a few examples."""

    rows: int = 0
    features: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, column: str, kind: str, n: int) -> None:
        if n:
            col = self.features.setdefault(column, {})
            col[kind] = col.get(kind, 0) + int(n)

    def merge(self, other: ScoringCounts) -> None:
        self.rows += other.rows
        for col, counts in other.features.items():
            for kind, n in counts.items():
                self.add(col, kind, n)
        for key, values in other.examples.items():
            shown = self.examples.setdefault(key, [])
            shown.extend(v for v in values if v not in shown and len(shown) < 3)

    def totals(self) -> dict[str, int]:
        """Rows per kind over all features (a row counts once per feature)."""
        return {k: sum(c.get(k, 0) for c in self.features.values()) for k in COUNT_KINDS}


class ScoringPipeline:
    """Raw application rows -> PD, score, grade and reason codes, with the reading of training.

    Only ``feature_columns`` are read (so PII and other extra columns never reach the
    model); the id column, if named, is carried to the output; row order is kept.
    ``reader`` is the fitted input reader of training (``None``: the input is already
    typed: numbers as numbers, text as categories); ``domain`` the development domain
    (``None``: nothing is counted against it); ``source_names`` the lender's name of a
    feature our roles renamed (e.g. ``term_months`` -> ``TERM``), so a raw file is read
    under the lender's names.
    """

    def __init__(self, model, feature_columns: list[str], model_name: str, id_column: str | None = None,
                 reader: InputReader | None = None, domain: FeatureDomain | None = None,
                 source_names: dict[str, str] | None = None):
        self.model = model
        self.feature_columns = list(feature_columns)
        self.model_name = model_name
        self.id_column = id_column
        self.reader = reader
        self.domain = domain
        self.source_names = {f: (source_names or {}).get(f, f) for f in self.feature_columns}

    def __setstate__(self, state: dict) -> None:
        # a pipeline registered before the reader and the domain were part of the model reads typed input
        state.setdefault("reader", None)
        state.setdefault("domain", None)
        state.setdefault("source_names", {f: f for f in state.get("feature_columns", [])})
        self.__dict__.update(state)

    @property
    def input_columns(self) -> list[str]:
        """The columns a raw file must hold (the lender's names)."""
        return [self.source_names[f] for f in self.feature_columns]

    def _ours(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The feature columns under our names: the lender's name when the frame has it, else ours (rows already read)."""
        return pd.DataFrame({f: frame[t if t in frame.columns else f] for f, t in self.source_names.items()},
                            index=frame.index)

    def check_columns(self, columns, source: str = "scoring input") -> None:
        missing = [t for f, t in self.source_names.items() if t not in columns and f not in columns]
        if missing:
            raise ModelError(f"{source}: required column(s) missing: {missing} (the model reads "
                             f"{len(self.feature_columns)} columns; extra columns are ignored)")

    def read(self, frame: pd.DataFrame, source: str = "scoring input",
             category_dtype: bool = False) -> tuple[pd.DataFrame, ScoringCounts]:
        """The model's input read from raw rows as in training, and what reading found."""
        self.check_columns(frame.columns, source)
        frame = self._ours(frame)
        if self.reader is not None:
            X, report = self.reader.read(frame, self.feature_columns, table=source, category_dtype=category_dtype)
        else:
            X, report = _typed(frame), ReadReport(rows=len(frame))
        counts = ScoringCounts(rows=len(frame), examples=dict(report.examples))
        for col, found in report.counts.items():
            for kind, n in found.items():
                counts.add(col, kind, n)
        for col, n in X.isna().sum().items():
            counts.add(col, "missing", int(n))
        if self.domain is not None:
            for col, found in self.domain.check(X).items():
                for kind, n in found.items():
                    counts.add(col, kind, n)
        return X, counts

    def input_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input (feature columns only, read as in training)."""
        return self.read(frame)[0]

    def score(self, frame: pd.DataFrame, source: str = "scoring input") -> tuple[pd.DataFrame, ScoringCounts]:
        """PD, score, grade, reason codes (and the id column) per row in input order, and the counts."""
        X, counts = self.read(frame, source, category_dtype=True)
        out = self.model.decide(X)
        if self.id_column and self.id_column in frame.columns:
            out.insert(0, self.id_column, frame[self.id_column].to_numpy())
        return out.reset_index(drop=True), counts

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.score(frame)[0]

    def decisions(self, frame: pd.DataFrame, source: str = "scoring input") -> tuple[pd.DataFrame, pd.DataFrame]:
        """The model's input (as :meth:`input_frame`) and PD, score and grade per row (``frame``'s index) without
        reason codes: what monitoring reads, at a fraction of :meth:`score`'s cost for a tree model (its
        attributions cost several predictions). The values are :meth:`score`'s, to the bit.

        The rows are read once, with categories coded for the model as :meth:`score` reads them; the
        input returned has them as text again (:meth:`input_frame`'s values and dtypes).
        """
        X = self.read(frame, source, category_dtype=True)[0]
        decided = self.model.decide(X, reasons=False)
        coded = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
        return X.astype({c: "str" for c in coded}) if coded else X, decided


def _typed(X: pd.DataFrame) -> pd.DataFrame:
    """Without a fitted reader: numbers (and text that is all plain numbers) as float64, other values as text."""
    X = X.copy()
    for col in X.columns:
        numbers = None
        if pd.api.types.is_string_dtype(X[col]) and not pd.api.types.is_object_dtype(X[col]):
            stripped = X[col].str.strip()
            numbers = plain_numbers(stripped.mask(stripped == ""))
        if numbers is not None:
            X[col] = numbers
        elif pd.api.types.is_numeric_dtype(X[col]) and not pd.api.types.is_bool_dtype(X[col]):
            X[col] = X[col].astype("float64")
        else:
            values = X[col].astype(str).to_numpy(dtype=object)
            values[X[col].isna().to_numpy()] = None
            X[col] = values
    return X


def scoring_pipelines(candidates: dict, features: list[str], development: pd.DataFrame, reader: InputReader,
                      model_name: str, id_column: str | None,
                      source_names: dict[str, str] | None = None) -> dict[str, ScoringPipeline]:
    """One :class:`ScoringPipeline` per candidate, with the run's reader and the development domain."""
    domain = FeatureDomain().fit(development[features])
    return {name: ScoringPipeline(model, features, model_name=model_name, id_column=id_column, reader=reader,
                                  domain=domain, source_names=source_names)
            for name, model in candidates.items()}


class CreditScoreModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc: ``predict`` takes raw application rows and returns PD, score, grade and reasons."""

    def __init__(self, pipeline: ScoringPipeline):
        self.pipeline = pipeline

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.pipeline.predict(pd.DataFrame(model_input))
