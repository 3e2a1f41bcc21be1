"""Scoring raw application rows exactly as in training, and its MLflow pyfunc wrapper."""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

from features.errors import ModelError


class ScoringPipeline:
    """Raw application rows → PD, score, grade and reason codes, with the transforms of training.

    Only ``feature_columns`` are read (so PII and other extra columns never reach the
    model); the id column, if named, is carried to the output; row order is kept.
    """

    def __init__(self, model, feature_columns: list[str], model_name: str, id_column: str | None = None):
        self.model = model
        self.feature_columns = list(feature_columns)
        self.model_name = model_name
        self.id_column = id_column

    def check_columns(self, frame: pd.DataFrame) -> None:
        missing = [c for c in self.feature_columns if c not in frame.columns]
        if missing:
            raise ModelError(f"scoring input: required columns missing: {missing}")

    def input_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input: feature columns only, numbers as float64 (missing = NaN), the rest as text."""
        self.check_columns(frame)
        X = frame[self.feature_columns].copy()
        for col in X.columns:
            if pd.api.types.is_numeric_dtype(X[col]) and not pd.api.types.is_bool_dtype(X[col]):
                X[col] = X[col].astype("float64")
            else:
                values = X[col].astype(str).to_numpy(dtype=object)
                values[X[col].isna().to_numpy()] = None
                X[col] = values
        return X

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        X = self.input_frame(frame)
        if hasattr(self.model, "decide"):  # a CreditModel: PD, score, grade, reason codes
            out = self.model.decide(X)
        else:  # a bare estimator: PD and score
            out = pd.DataFrame({"pd": self.model.predict_proba(X), "score": self.model.score(X)}, index=X.index)
        if self.id_column and self.id_column in frame.columns:
            out.insert(0, self.id_column, frame[self.id_column].to_numpy())
        return out.reset_index(drop=True)



class CreditScoreModel(mlflow.pyfunc.PythonModel):
    """MLflow pyfunc: ``predict`` takes raw application rows and returns PD and score."""

    def __init__(self, pipeline: ScoringPipeline):
        self.pipeline = pipeline

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return self.pipeline.predict(pd.DataFrame(model_input))

