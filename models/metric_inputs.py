"""What every metric function of ``models`` accepts, and the banding they share.

The metric modules (:mod:`models.discrimination`, :mod:`models.stability`,
:mod:`models.calibration_tests`, :mod:`models.rank_ordering`) are plain functions over
numpy / pandas / scipy in the style of ``sklearn.metrics``; this module checks their
inputs once, in one way, and holds the label order and quantile banding they share.

Conventions used by every metric function
-----------------------------------------

* ``y_true`` is the outcome: **1 = bad** (default, event), **0 = good**. Booleans are
  accepted (True = bad). Any other coding (e.g. German credit's 1/2) is refused: map it
  first.
* ``y_score`` is a **risk score: higher = more likely bad** (a PD, a log-odds of bad,
  ...). ``pd`` arguments are probabilities of default in [0, 1].
* The one exception is :func:`models.rank_ordering.cutoff_table`, which takes scorecard **points: higher =
  safer** (applicants with ``score >= cutoff`` are approved).
* WOE sign convention: ``WOE = ln(%good / %bad)`` (``ln(dist_good / dist_bad)``), the
  convention of optbinning. A riskier-than-average bin therefore has a **negative** WOE.
* Discrimination metrics (AUC, Gini, KS, WOE/IV, lift, cut-off table) need both classes
  present; calibration metrics (Brier, log loss, Hosmer-Lemeshow, grade tests, bad rate
  by band) accept a sample with one class only.

Invalid inputs (length mismatch, NaN, non-binary outcome, one class only where both are
needed, PD outside [0, 1], ...) raise :class:`features.errors.ModelError` whose message
names the argument and the problem. Nothing here does I/O or plotting; every table is a
``pandas.DataFrame`` with plain snake_case column names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.errors import ModelError

__all__ = [
    "MISSING_LABEL",
    "as_1d",
    "as_series",
    "bin_order",
    "check_alpha",
    "check_int",
    "check_numeric",
    "check_pd",
    "check_same_length",
    "check_y",
    "edge_text",
    "is_categorical",
    "numeric_edges",
    "quantile_groups",
]


#: The bin of missing values in stability and WOE tables.
MISSING_LABEL = "Missing"


def as_1d(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        arr = x.to_numpy()
    elif isinstance(x, pd.DataFrame):
        raise ModelError(f"{name}: expected a 1-D array or Series, got a DataFrame")
    else:
        arr = np.asarray(x)
    if arr.ndim != 1:
        raise ModelError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ModelError(f"{name}: is empty")
    return arr


def as_series(x: Any, name: str) -> pd.Series:
    """1-D input as a Series with a fresh index; object arrays of numbers and None
    become float (so a numeric feature with missing values stays numeric)."""
    if isinstance(x, pd.Series):
        as_1d(x, name)
        return x.reset_index(drop=True)
    arr = as_1d(x, name)
    return pd.Series(arr).infer_objects()


def check_same_length(**arrays: np.ndarray) -> None:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ModelError(f"length mismatch: {desc} rows")


def check_y(y_true: Any, name: str = "y_true", both_classes: bool = True) -> np.ndarray:
    arr = as_1d(y_true, name)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        num = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ModelError(
            f"{name}: must be binary numeric (1 = bad, 0 = good), got dtype {arr.dtype}"
        ) from None
    n_nan = int(np.isnan(num).sum())
    if n_nan:
        raise ModelError(f"{name}: contains {n_nan} NaN value(s); the outcome must be known")
    values = np.unique(num)
    if not np.isin(values, [0.0, 1.0]).all():
        shown = ", ".join(repr(v.item()) for v in values[:5])
        raise ModelError(
            f"{name}: must be binary with 1 = bad and 0 = good, got values {{{shown}}}"
        )
    out = num.astype(np.int64)
    if both_classes and len(values) < 2:
        only = "bad (1)" if values[0] == 1 else "good (0)"
        raise ModelError(
            f"{name}: only one class present (all {only}); both bads and goods are needed"
        )
    return out


def check_numeric(x: Any, name: str, allow_nan: bool = False) -> np.ndarray:
    arr = as_1d(x, name)
    if arr.dtype == bool:
        arr = arr.astype(float)
    try:
        num = pd.to_numeric(pd.Series(arr), errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ModelError(f"{name}: must be numeric, got dtype {arr.dtype}") from None
    if not allow_nan:
        n_nan = int(np.isnan(num).sum())
        if n_nan:
            raise ModelError(f"{name}: contains {n_nan} NaN value(s)")
    if np.isinf(num).any():
        raise ModelError(f"{name}: contains infinite value(s)")
    return num


def check_pd(x: Any, name: str = "pd") -> np.ndarray:
    num = check_numeric(x, name)
    if (num < 0).any() or (num > 1).any():
        raise ModelError(
            f"{name}: probabilities of default must lie in [0, 1], "
            f"got min {num.min():.6g}, max {num.max():.6g}"
        )
    return num


def check_alpha(alpha: float) -> float:
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 1):
        raise ModelError(f"alpha: must be in (0, 1), got {alpha!r}")
    return float(alpha)


def check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ModelError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def is_categorical(s: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)


def bin_order(x: pd.Series) -> list[Any]:
    present = x.dropna()
    if isinstance(x.dtype, pd.CategoricalDtype):
        seen = set(present.unique())
        return [c for c in x.cat.categories if c in seen]
    labels = list(pd.unique(present))
    try:
        return sorted(labels)
    except TypeError:
        return labels


def quantile_groups(values: np.ndarray, groups: int) -> np.ndarray:
    """Group index 0..k-1 by the ``groups``-quantiles of ``values``; right-closed
    bins, duplicate quantiles merged (tied values are never split between groups)."""
    cuts = np.unique(np.quantile(values, np.linspace(0.0, 1.0, groups + 1)[1:-1]))
    idx = np.searchsorted(cuts, values, side="left")
    _, dense = np.unique(idx, return_inverse=True)  # drop empty groups
    return dense


def numeric_edges(expected: np.ndarray, bins: int, breaks: Sequence[float] | None) -> np.ndarray:
    """Interior cut points: user ``breaks`` or the quantiles of ``expected``."""
    if breaks is not None:
        try:
            cuts = np.asarray(breaks, dtype=float).ravel()
        except (TypeError, ValueError):
            raise ModelError(f"breaks: must be numeric cut points, got {breaks!r}") from None
        if np.isnan(cuts).any():
            raise ModelError("breaks: contains NaN")
        cuts = cuts[np.isfinite(cuts)]  # the outer bins are always open: drop -inf / +inf
        if len(cuts) and np.any(np.diff(cuts) <= 0):
            raise ModelError("breaks: cut points must be strictly increasing")
    else:
        bins = check_int(bins, "bins", 1)
        cuts = np.unique(np.quantile(expected, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    return cuts


def edge_text(v: float) -> str:
    """A band edge as printed in a band label: ``-inf`` / ``inf`` or 6 significant digits."""
    return "inf" if v == np.inf else "-inf" if v == -np.inf else f"{v:.6g}"
