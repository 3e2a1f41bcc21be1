"""The development domain of a model's features: what a scored row may hold that development never did.

:class:`FeatureDomain` records, from the development rows, each numeric feature's range
and each categorical feature's categories. At scoring it counts the values outside them;
it never changes a value. What the model does with them is fixed by construction:

* a number **below the development minimum or above the maximum** falls into the end
  bins: the scorecard's outer bins are open (``(-inf, first split)``, ``[last split,
  inf)``) and a tree's splits lie between development values, so the row is scored
  exactly as at the nearest development extreme;
* a **category development never saw** gets the model's unknown treatment: the
  scorecard's binning puts it in the 'others' bin when rare categories were grouped, else
  in the Missing bin (:mod:`features.woe`); the tree models read it as missing (the
  learned default direction of each split).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import ModelError

__all__ = ["FeatureDomain"]


class FeatureDomain:
    """Development range per numeric feature and categories per categorical feature.

    Fitted attributes: ``ranges_`` (feature -> (min, max) of the non-missing development
    values), ``categories_`` (feature -> sorted development categories).
    """

    def fit(self, X: pd.DataFrame) -> "FeatureDomain":
        if not isinstance(X, pd.DataFrame) or X.empty:
            raise ModelError("feature domain: fit needs the development rows as a non-empty DataFrame")
        self.ranges_: dict[str, tuple[float, float]] = {}
        self.categories_: dict[str, list[str]] = {}
        for col in X.columns:
            s = X[col]
            if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
                values = s.to_numpy(dtype=float, na_value=np.nan)
                values = values[~np.isnan(values)]
                self.ranges_[str(col)] = (float(values.min()), float(values.max())) if len(values) else (np.nan, np.nan)
            else:
                self.categories_[str(col)] = sorted({str(v) for v in s.dropna().tolist()})
        return self

    def check(self, X: pd.DataFrame) -> dict[str, dict[str, int]]:
        """Per feature, the rows ``below_range``, ``above_range`` or with an ``unseen_category`` (only non-zero counts)."""
        if not hasattr(self, "ranges_"):
            raise ModelError("feature domain: not fitted; call fit(X_dev) first")
        out: dict[str, dict[str, int]] = {}
        for col, (lo, hi) in self.ranges_.items():
            if col not in X.columns or np.isnan(lo):
                continue
            values = pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            counts = {"below_range": int(np.count_nonzero(values < lo)), "above_range": int(np.count_nonzero(values > hi))}
            counts = {k: v for k, v in counts.items() if v}
            if counts:
                out[col] = counts
        for col, cats in self.categories_.items():
            if col not in X.columns:
                continue
            s = X[col]
            if isinstance(s.dtype, pd.CategoricalDtype):  # count per category, not per row
                unseen = ~pd.Index(s.cat.categories.astype(str)).isin(cats)
                n = int(np.bincount(s.cat.codes.to_numpy()[s.cat.codes.to_numpy() >= 0],
                                    minlength=len(unseen))[unseen].sum()) if unseen.any() else 0
            else:
                n = int((s.notna() & ~s.astype(str).isin(cats)).sum())
            if n:
                out[col] = {"unseen_category": n}
        return out
