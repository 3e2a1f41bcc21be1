"""What the tree candidates (XGBoost, scikit-learn's histogram boosting) read: raw feature frames and constraints.

Raw inputs
    Numeric features go in as float64 and missing values use the booster's native
    missing handling (a learned default direction per split). Categorical features go
    in as a pandas ``category`` dtype whose categories are fixed at fit time (the
    sorted distinct development values), so a category never seen in development is
    a missing value at predict time, never an error and never a new code.

Monotone constraints
    ``monotone={"feature": +1}`` means the PD may only rise with the feature,
    ``-1`` only fall (numeric features only). :func:`monotone_from_binning` derives
    them from the WOE trend of a fitted :class:`~features.binning.WoeBinner`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from features.binning import WoeBinner
from features.errors import ModelError

__all__ = ["RawFeatureFrame", "check_monotone", "check_xy", "fit_raw_features", "monotone_from_binning",
           "require_eval_set"]


def monotone_from_binning(binner: WoeBinner, variables: Sequence[str] | None = None) -> dict[str, int]:
    """Monotone constraints from each numeric variable's fitted WOE trend.

    Only the regular bins with development rows count (the Special and Missing bins
    sit outside the numeric order). WOE = ln(%good/%bad), so a WOE that never rises
    and falls at least once along the bins means risk rises with the feature: ``+1``
    (PD increases with it); a WOE that never falls and rises at least once: ``-1``.
    Flat, non-monotone, single-bin and categorical variables are left out.
    """
    if not isinstance(binner, WoeBinner):
        raise ModelError(f"monotone_from_binning: needs a WoeBinner, got {type(binner).__name__}")
    if not binner.is_fitted:
        raise ModelError("monotone_from_binning: the binner is not fitted")
    names = list(binner.numeric_) if variables is None else list(variables)
    unknown = [v for v in names if v not in binner.variables_]
    if unknown:
        raise ModelError(f"monotone_from_binning: variables {unknown} were not binned")
    out: dict[str, int] = {}
    for name in names:
        if name not in binner.numeric_:
            continue
        table = binner.binning_table(name)
        regular = table[~table["bin"].isin(["Special", "Missing"]) & (table["count"] > 0)]
        woe = regular["woe"].to_numpy(dtype=float)
        if len(woe) < 2:
            continue
        step = np.diff(woe)
        if np.all(step <= 0) and np.any(step < 0):
            out[name] = 1
        elif np.all(step >= 0) and np.any(step > 0):
            out[name] = -1
    return out


class RawFeatureFrame:
    """Turns raw feature frames into the booster's input with the types of fit time.

    Numeric columns → float64 (text that is not a number → NaN); categorical columns →
    ``category`` dtype with the development categories, so unseen values → NaN.
    """

    def __init__(self, categorical: Sequence[str] = ()):
        self.categorical = list(categorical)

    def fit(self, X: pd.DataFrame) -> "RawFeatureFrame":
        if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
            raise ModelError("challenger: X must be a DataFrame with at least one feature column")
        unknown = [c for c in self.categorical if c not in X.columns]
        if unknown:
            raise ModelError(f"challenger: categorical features {unknown} are not columns of X")
        self.features_ = [str(c) for c in X.columns]
        self.categories_: dict[str, list[str]] = {}
        for col in X.columns:
            s = X[col]
            if col in self.categorical or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                self.categories_[col] = sorted(set(self._text(s)) - {None})
        self.numeric_ = [c for c in self.features_ if c not in self.categories_]
        return self

    @staticmethod
    def _text(s: pd.Series) -> np.ndarray:
        values = s.astype(str).to_numpy(dtype=object)
        values[s.isna().to_numpy()] = None
        return values

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        self._check_columns(X)
        return pd.DataFrame({col: self._column(X, col) for col in self.features_}, index=X.index, columns=self.features_)

    def booster_matrix(self, X: pd.DataFrame) -> np.ndarray:
        """:meth:`transform` as XGBoost reads it (``DMatrix(..., enable_categorical=True, missing=nan)``), without
        the frame: a float32 ``rows × features`` matrix, numbers rounded to float32, a categorical column as its
        category codes, NaN where missing or unseen. What :class:`models.path_attribution.PathAttribution` walks."""
        self._check_columns(X)
        out = np.empty((len(X), len(self.features_)), dtype=np.float32)
        for j, col in enumerate(self.features_):
            values = self._column(X, col)
            if isinstance(values, pd.Categorical):
                out[:, j] = np.where(values.codes < 0, np.nan, values.codes)
            else:
                with np.errstate(over="ignore"):  # beyond float32's range: inf, refused below by name
                    out[:, j] = values
            infinite = int(np.isinf(out[:, j]).sum())
            if infinite:  # XGBoost refuses them too ("Input data contains inf or a value too large")
                raise ModelError(f"challenger: feature column {col!r} holds {infinite} infinite value(s) or value(s) "
                                 "beyond float32's range; XGBoost reads neither")
        return out

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [c for c in self.features_ if c not in X.columns]
        if missing:
            raise ModelError(f"challenger: required feature columns missing: {missing}")

    def _column(self, X: pd.DataFrame, col: str) -> pd.Categorical | np.ndarray:
        """Column ``col`` of ``X`` with its fit-time type: categories of development, or float64."""
        s = X[col]
        if col not in self.categories_:
            return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
        if isinstance(s.dtype, pd.CategoricalDtype):  # coded already (the scoring reader): recode, no text
            return s.cat.set_categories(self.categories_[col]).array
        return pd.Categorical(self._text(s), categories=self.categories_[col])


def check_xy(X, y, what: str) -> np.ndarray:
    y = np.asarray(y)
    if len(X) != len(y):
        raise ModelError(f"challenger: {what} X has {len(X)} rows but y has {len(y)}")
    if y.dtype == bool:
        y = y.astype(int)
    if not np.isin(y, (0, 1)).all():
        raise ModelError(f"challenger: {what} y must be 0 (good) / 1 (bad)")
    if len(np.unique(y)) != 2:
        raise ModelError(f"challenger: {what} y needs both goods and bads")
    return y.astype(int)


def require_eval_set(X_valid, y_valid) -> None:
    if X_valid is None or y_valid is None:
        raise ModelError("challenger: an evaluation set (X_valid, y_valid) is required for early stopping")


def fit_raw_features(X: pd.DataFrame, categorical: Sequence[str],
                     monotone: dict[str, int]) -> tuple[RawFeatureFrame, list[str], dict[str, int]]:
    """What every tree candidate's fit starts with: the fitted frame reader of ``X``, the features it reads, and
    the monotone constraints checked against them."""
    frame = RawFeatureFrame(categorical).fit(X)
    return frame, list(frame.features_), check_monotone(monotone, frame)


def check_monotone(monotone: dict[str, int], frame: RawFeatureFrame) -> dict[str, int]:
    for name, sign in monotone.items():
        if name not in frame.features_:
            raise ModelError(f"challenger: monotone constraint on unknown feature {name!r}")
        if name in frame.categories_:
            raise ModelError(f"challenger: monotone constraint on categorical feature {name!r}")
        if sign not in (-1, 0, 1):
            raise ModelError(f"challenger: monotone constraint for {name!r} must be +1, -1 or 0, got {sign!r}")
    return {k: int(v) for k, v in monotone.items() if v}
