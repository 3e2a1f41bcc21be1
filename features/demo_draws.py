"""Random draws and column builders shared by the demo book's generators
(:mod:`features.demo_applications`, :mod:`features.demo_performance`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["codes_to_str", "nullable_int", "pick", "sigmoid"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function: a log-odds to a probability."""
    return 1.0 / (1.0 + np.exp(-x))


def pick(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``logits`` (n, k) by the Gumbel-max trick."""
    g = rng.gumbel(size=logits.shape)
    return np.argmax(logits + g, axis=1).astype(np.int8)


def codes_to_str(codes: np.ndarray, categories: Sequence[str], mask: np.ndarray | None = None) -> pd.Series:
    """Category codes as a text column (through Arrow: one take, no Python loop); ``mask`` rows missing."""
    arr = pa.array(list(categories)).take(pa.array(codes.astype(np.int32), mask=mask))
    return arr.to_pandas()


def nullable_int(values: np.ndarray, mask: np.ndarray, dtype=np.int32) -> pd.arrays.IntegerArray:
    """``values`` as a nullable integer column, ``mask`` rows missing."""
    v = np.where(mask, 0, values).astype(dtype)
    return pd.arrays.IntegerArray(v, mask.copy())
