"""Optimal binning and WOE with optbinning's ``BinningProcess``.

WOE follows optbinning's convention, ``ln(%good / %bad)``: a higher WOE is a safer bin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from optbinning import BinningProcess

from features.errors import ConfigError, SampleError


@dataclass(frozen=True)
class BinningSpec:
    """Binning constraints: global defaults plus per-variable overrides."""

    max_n_bins: int = 8
    min_bin_size: float = 0.05
    monotonic_trend: str | None = "auto_asc_desc"
    monotonic_trends: dict[str, str] = field(default_factory=dict)
    special_codes: dict[str, list[float]] = field(default_factory=dict)
    fixed_splits: dict[str, list[float]] = field(default_factory=dict)


def split_feature_types(frame: pd.DataFrame, columns: list[str], categorical: list[str] = ()) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature names: non-numeric dtypes and ``categorical`` are categorical."""
    numeric, cats = [], []
    for col in columns:
        if col in categorical or not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col]):
            cats.append(col)
        else:
            numeric.append(col)
    return numeric, cats


class WoeBinner:
    """Fit optimal bins per feature on development data; transform to WOE.

    Parameters
    ----------
    spec : BinningSpec
    categorical : list of str
        Features to bin as categories (object/category dtypes are found automatically).
    """

    def __init__(self, spec: BinningSpec | None = None, categorical: list[str] = ()):
        self.spec = spec or BinningSpec()
        self.categorical = list(categorical)

    def _fit_params(self, variables: list[str], categorical: list[str]) -> dict[str, dict]:
        params: dict[str, dict] = {}
        for name in variables:
            p: dict = {}
            trend = self.spec.monotonic_trends.get(name, self.spec.monotonic_trend)
            if name in categorical:
                # monotonic trends on categories order them by event rate; keep auto there
                trend = None if trend in ("ascending", "descending", "peak", "valley") else trend
            if trend is not None:
                p["monotonic_trend"] = trend
            if name in self.spec.special_codes:
                p["special_codes"] = list(self.spec.special_codes[name])
            if name in self.spec.fixed_splits:
                if name in categorical:
                    raise ConfigError(f"binning.fixed_splits.{name}: fixed numeric splits on a categorical feature")
                p["user_splits"] = list(self.spec.fixed_splits[name])
                p["user_splits_fixed"] = [True] * len(self.spec.fixed_splits[name])
            params[name] = p
        return params

    def fit(self, X: pd.DataFrame, y) -> "WoeBinner":
        y = np.asarray(y)
        if len(X) != len(y):
            raise SampleError(f"binning: X has {len(X)} rows but y has {len(y)}")
        if len(np.unique(y)) != 2:
            raise SampleError("binning: the development target needs both goods and bads")
        unknown = sorted((set(self.spec.monotonic_trends) | set(self.spec.fixed_splits)) - set(X.columns))
        if unknown:
            raise ConfigError(f"binning: per-variable settings name unknown features {unknown}")
        self.variables_ = list(X.columns)
        self.numeric_, self.categorical_ = split_feature_types(X, self.variables_, self.categorical)
        self.process_ = BinningProcess(
            variable_names=self.variables_,
            categorical_variables=self.categorical_,
            max_n_bins=self.spec.max_n_bins,
            min_bin_size=self.spec.min_bin_size,
            binning_fit_params=self._fit_params(self.variables_, self.categorical_),
        )
        self.process_.fit(self._prepare(X), y)
        return self

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X[self.variables_].copy()
        for col in self.categorical_:
            # optbinning wants object categories; missing stays missing (its own bin)
            values = X[col].astype(str).to_numpy(dtype=object)
            values[X[col].isna().to_numpy()] = np.nan
            X[col] = values
        for col in self.numeric_:
            X[col] = pd.to_numeric(X[col], errors="coerce").astype("float64")
        return X

    def transform(self, X: pd.DataFrame, metric: str = "woe", variables: list[str] | None = None) -> pd.DataFrame:
        """WOE (or ``bins``/``indices``) for each variable; missing and special values get their own bin's WOE."""
        variables = variables or self.variables_
        prepared = self._prepare(X)
        out = {}
        for name in variables:
            out[name] = self.process_.get_binned_variable(name).transform(prepared[name].to_numpy(), metric=metric)
        return pd.DataFrame(out, index=X.index)

    def summary(self) -> pd.DataFrame:
        """One row per variable: dtype, number of bins, IV, Gini, quality score; sorted by IV."""
        s = self.process_.summary()[["name", "dtype", "n_bins", "iv", "gini", "quality_score"]].copy()
        s["iv"] = s["iv"].astype(float)
        return s.sort_values(["iv", "name"], ascending=[False, True]).reset_index(drop=True)

    def binning_table(self, name: str) -> pd.DataFrame:
        """optbinning's binning table for one variable, Totals row dropped: bin, count, bad rate, WOE, IV."""
        table = self.process_.get_binned_variable(name).binning_table.build()
        table = table.drop(index="Totals", errors="ignore").reset_index(drop=True)
        table["Bin"] = table["Bin"].map(_bin_label)
        return table[["Bin", "Count", "Count (%)", "Non-event", "Event", "Event rate", "WoE", "IV"]].rename(
            columns={"Bin": "bin", "Count": "count", "Count (%)": "share", "Non-event": "goods",
                     "Event": "bads", "Event rate": "bad_rate", "WoE": "woe", "IV": "iv"}
        )


def _bin_label(b) -> str:
    """A bin as text: an interval as optbinning writes it, a category group as 'a, b, c'."""
    if not isinstance(b, str) and hasattr(b, "__iter__"):  # category groups (list, ndarray, pandas arrays)
        return ", ".join(map(str, list(b)))
    return str(b)
