"""Pre-binning: candidate cells and good/bad counts per cell for every variable.

The optimiser never sees raw rows. Each numeric variable is summarised in two vectorised
passes over the data, each of which can run chunk by chunk (data that does not fit in
memory, or partitions of a distributed engine):

1. :class:`QuantileSketch` — a mergeable weighted summary of the values. Small data and
   low-cardinality variables keep every distinct value (exact); large ones keep a seeded
   random sample compressed to ``capacity`` weighted points. Sketches of chunks merge.
2. :class:`CellCounts` — good/bad counts per cell between consecutive cut points taken
   from the merged sketch (``np.searchsorted`` + ``np.bincount``), plus missing and
   special-code counts. Counts of chunks add up.

A variable whose every value is a cut point is *exact*: its cells are its distinct
values, and the optimiser on the cells gives the same bins as on the raw rows.
Categorical variables are counted per category (always exact).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.errors import ConfigError

#: clean values of one chunk sorted in full below this; above, a seeded sample of this size
SAMPLE_SIZE = 1 << 17
#: distinct values a sketch keeps before it compresses to weighted quantile points
CAPACITY = 1 << 15
#: cells of an inexact (continuous, large) variable: quantile cut points from the sketch
N_QUANTILE_CELLS = 1024


class QuantileSketch:
    """Mergeable weighted quantile summary of one numeric column (NaN and special codes excluded).

    ``values_`` are sorted distinct data values and ``weights_`` the number of rows each
    stands for. ``exact_`` is True while the summary holds every row exactly.
    """

    def __init__(self, capacity: int = CAPACITY, sample_size: int = SAMPLE_SIZE, seed: int = 0):
        if capacity < 2:
            raise ConfigError(f"QuantileSketch: capacity must be at least 2, got {capacity}")
        self.capacity, self.sample_size, self.seed = capacity, sample_size, seed
        self.values_ = np.empty(0)
        self.weights_ = np.empty(0)
        self.exact_ = True
        self.n_ = 0

    def update(self, values: np.ndarray) -> QuantileSketch:
        """Add a chunk of clean values."""
        values = np.asarray(values, dtype=float)
        n = len(values)
        if n == 0:
            return self
        exact = n <= self.sample_size
        if exact:
            s = np.sort(values)
            w = 1.0
        else:
            # the chunk's own seed keeps the sample reproducible whatever the chunking order
            rng = np.random.default_rng([self.seed, n, self.n_])
            s = np.sort(values[rng.integers(0, n, self.sample_size)])
            w = n / self.sample_size
        keep = np.concatenate(([True], s[1:] != s[:-1]))
        starts = np.flatnonzero(keep)
        uniq, counts = s[starts], np.diff(np.append(starts, len(s))) * w
        if not exact and len(uniq) <= self.capacity // 2:
            uniq, counts, exact = _exact_counts(values, uniq)  # few distinct values: count them all
        self._absorb(uniq, counts, exact)
        self.n_ += n
        return self

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """Combine with the sketch of another chunk (in place; returns self)."""
        self._absorb(other.values_, other.weights_, other.exact_)
        self.n_ += other.n_
        return self

    def _absorb(self, values: np.ndarray, weights: np.ndarray, exact: bool) -> None:
        if not len(self.values_):  # the first chunk: already sorted and distinct
            self.values_, self.weights_, self.exact_ = values, np.asarray(weights, dtype=float), self.exact_ and exact
            if len(self.values_) > self.capacity:
                self.values_, self.weights_ = _compress(self.values_, self.weights_, self.capacity)
                self.exact_ = False
            return
        v = np.concatenate((self.values_, values))
        w = np.concatenate((self.weights_, weights))
        order = np.argsort(v, kind="stable")
        v, w = v[order], w[order]
        keep = np.concatenate(([True], v[1:] != v[:-1])) if len(v) else np.empty(0, bool)
        starts = np.flatnonzero(keep)
        self.values_, self.weights_ = v[starts], np.add.reduceat(w, starts) if len(v) else w
        self.exact_ = self.exact_ and exact
        if len(self.values_) > self.capacity:
            self.values_, self.weights_ = _compress(self.values_, self.weights_, self.capacity)
            self.exact_ = False

    def cut_points(self, n_quantiles: int = N_QUANTILE_CELLS) -> np.ndarray:
        """Lower edges of the cells: every distinct value when exact, else ``n_quantiles`` quantiles."""
        if self.exact_ or len(self.values_) <= n_quantiles:
            return self.values_.copy()
        cum = np.cumsum(self.weights_)
        targets = np.linspace(0, cum[-1], n_quantiles, endpoint=False)
        return np.unique(self.values_[np.searchsorted(cum, targets, side="right").clip(0, len(cum) - 1)])


#: integer-valued variables spanning at most this many values are located by offset, not binary search
MAX_INTEGER_SPAN = 1 << 20


def _integer_offsets(values: np.ndarray) -> tuple[np.ndarray, float] | None:
    """``values - min`` as integers when every value is an integer in a span of at most MAX_INTEGER_SPAN."""
    if not len(values) or not np.array_equal(np.floor(values[:1000]), values[:1000]):  # cheap early no
        return None
    lo, hi = float(values.min()), float(values.max())
    if hi - lo >= MAX_INTEGER_SPAN:
        return None
    offsets = (values - lo).astype(np.int64)
    if not np.array_equal(offsets + lo, values):  # a fraction somewhere: not integer-valued
        return None
    return offsets, lo


def _exact_counts(values: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Every distinct value of ``values`` and its count, given the distinct values of a sample."""
    ints = _integer_offsets(values)
    if ints is not None:  # counts, ages, months: a bincount over the span
        counts = np.bincount(ints[0]).astype(float)
        present = np.flatnonzero(counts)
        return present + ints[1], counts[present], True
    idx = np.searchsorted(seen, values).clip(0, len(seen) - 1)
    hit = seen[idx] == values
    counts = np.bincount(idx[hit], minlength=len(seen)).astype(float)
    rest, rest_counts = np.unique(values[~hit], return_counts=True)  # values the sample missed (rare)
    uniq = np.concatenate((seen, rest))
    order = np.argsort(uniq, kind="stable")
    return uniq[order], np.concatenate((counts, rest_counts.astype(float)))[order], True


def _compress(values: np.ndarray, weights: np.ndarray, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """``capacity`` points at evenly spaced cumulative weight; each takes the weight of its group."""
    cum = np.cumsum(weights)
    group = np.minimum((cum - weights) * capacity // cum[-1], capacity - 1).astype(np.int64)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    return values[starts], np.add.reduceat(weights, starts)


@dataclass
class CellCounts:
    """Good/bad counts of one variable: per cell, missing and special.

    Numeric: cell ``j`` holds ``[edges[j-1], edges[j])`` (``edges[-1] = -inf``), so cell 0
    is below the first cut point. Categorical: cell ``j`` is ``categories[j]``, in order of
    first appearance in the data.
    """

    kind: str  # "numeric" or "categorical"
    edges: np.ndarray | None = None
    categories: list = field(default_factory=list)
    goods: np.ndarray | None = None
    bads: np.ndarray | None = None
    missing: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))  # goods, bads
    special: np.ndarray = field(default_factory=lambda: np.zeros(2, np.int64))
    exact: bool = True
    lo: float = np.inf  # smallest and largest clean value (numeric)
    hi: float = -np.inf

    def add(self, other: CellCounts) -> CellCounts:
        """Counts of two chunks of the same variable (same edges / categories)."""
        if self.kind == "categorical":
            cats = list(dict.fromkeys(self.categories + other.categories))
            pos = {c: i for i, c in enumerate(cats)}
            g, b = np.zeros(len(cats), np.int64), np.zeros(len(cats), np.int64)
            for src in (self, other):
                idx = np.array([pos[c] for c in src.categories], dtype=np.int64)
                np.add.at(g, idx, src.goods)
                np.add.at(b, idx, src.bads)
            return CellCounts("categorical", categories=cats, goods=g, bads=b, missing=self.missing + other.missing,
                              special=self.special + other.special)
        return CellCounts("numeric", edges=self.edges, goods=self.goods + other.goods, bads=self.bads + other.bads,
                          missing=self.missing + other.missing, special=self.special + other.special,
                          exact=self.exact and other.exact, lo=min(self.lo, other.lo), hi=max(self.hi, other.hi))

    @property
    def n(self) -> int:
        return int(self.goods.sum() + self.bads.sum() + self.missing.sum() + self.special.sum())


def special_mask(values: np.ndarray, codes) -> np.ndarray:
    if not codes:
        return np.zeros(len(values), dtype=bool)
    return np.isin(values, np.asarray(list(codes), dtype=values.dtype))


def count_numeric(values: np.ndarray, y: np.ndarray, edges: np.ndarray, special_codes=(), check_exact: bool = True) -> CellCounts:
    """Good/bad counts per cell of ``edges`` (one vectorised pass).

    ``check_exact=False`` when the edges come from a compressed sketch (fewer cells than
    distinct values, so the cells cannot be single values): skips the check.
    """
    values = np.asarray(values, dtype=float)
    miss = np.isnan(values)
    spec = special_mask(values, special_codes) if special_codes else None
    clean = ~miss if spec is None else ~(miss | spec)
    n_cells = len(edges) + 1
    head = values[:1000][~miss[:1000]]
    ints = _integer_offsets(values[clean]) if len(edges) and np.array_equal(np.floor(head), head) else None
    if ints is not None:
        # integer values: the cell of every value in the span from a lookup table, not a binary search
        lut = np.searchsorted(edges, ints[1] + np.arange(int(ints[0].max()) + 1), side="right")
        idx = np.full(len(values), n_cells, dtype=np.int64)
        idx[clean] = lut[ints[0]]
    else:
        idx = np.searchsorted(edges, values, side="right")  # NaN sorts last; its cell is overwritten below
    # missing and special rows go to two extra cells, so one bincount over the whole column counts everything
    idx[miss] = n_cells
    if spec is not None:
        idx[spec & ~miss] = n_cells + 1
    counts = np.bincount(idx * 2 + y, minlength=2 * (n_cells + 2)).reshape(-1, 2).astype(np.int64)
    exact = False
    if check_exact:
        x = values[clean]
        cell = idx[clean]
        exact = bool(np.all(cell > 0) and np.array_equal(edges[np.maximum(cell - 1, 0)], x))
    any_clean = bool(clean.any())
    return CellCounts("numeric", edges=edges, goods=counts[:n_cells, 0], bads=counts[:n_cells, 1],
                      missing=counts[n_cells], special=counts[n_cells + 1], exact=exact,
                      lo=float(np.min(values, where=clean, initial=np.inf)) if any_clean else np.inf,
                      hi=float(np.max(values, where=clean, initial=-np.inf)) if any_clean else -np.inf)


def count_categorical(values: pd.Series, y: np.ndarray, special_codes=()) -> CellCounts:
    """Good/bad counts per category; missing separately."""
    miss = values.isna().to_numpy()
    text = values.astype(str).to_numpy(dtype=object)
    spec = special_mask(text, [str(c) for c in special_codes]) & ~miss if special_codes else np.zeros(len(text), bool)
    clean = ~(miss | spec)
    codes, cats = pd.factorize(text[clean])  # order of first appearance (optbinning lists rare categories so)
    counts = np.bincount(codes * 2 + y[clean], minlength=2 * len(cats)).reshape(-1, 2)
    return CellCounts("categorical", categories=list(cats), goods=counts[:, 0].astype(np.int64),
                      bads=counts[:, 1].astype(np.int64), missing=_pair(y[miss]), special=_pair(y[spec]))


def _pair(y: np.ndarray) -> np.ndarray:
    bad = int(y.sum())
    return np.array([len(y) - bad, bad], dtype=np.int64)


def clean_values(values: np.ndarray, special_codes=()) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    if special_codes:
        keep &= ~special_mask(values, special_codes)
    return values[keep]


def thread_map(fn, items: list, n_jobs: int) -> list:
    """``[fn(i) for i in items]``, in a pool of ``n_jobs`` threads when more than one: results in item order.

    For per-variable work that is independent and spends its time in code that releases
    the GIL (numpy, CP-SAT); the first exception in item order is raised, as sequentially.
    """
    if n_jobs > 1 and len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(n_jobs, len(items))) as pool:
            return list(pool.map(fn, items))
    return [fn(i) for i in items]


class PreBinner:
    """Cells and counts of every variable of a table, in memory or chunk by chunk.

    In memory: :meth:`fit`. Chunked (two passes): :meth:`sketch_chunk` on every chunk,
    :meth:`edges` once, then :meth:`count_chunk` on every chunk and ``CellCounts.add``.
    """

    def __init__(self, numeric: list[str], categorical: list[str], special_codes: dict | None = None,
                 fixed_splits: dict | None = None, seed: int = 0, capacity: int = CAPACITY,
                 sample_size: int = SAMPLE_SIZE, n_quantiles: int = N_QUANTILE_CELLS, n_jobs: int = 1):
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.special_codes = dict(special_codes or {})
        self.fixed_splits = dict(fixed_splits or {})
        self.capacity, self.sample_size, self.n_quantiles, self.seed = capacity, sample_size, n_quantiles, seed
        self.n_jobs = n_jobs
        self.sketches_ = {name: QuantileSketch(capacity, sample_size, seed=seed + i) for i, name in enumerate(self.numeric)}

    def _values(self, X: pd.DataFrame, name: str) -> np.ndarray:
        col = X[name]
        if pd.api.types.is_float_dtype(col.dtype) and not isinstance(col.dtype, pd.ArrowDtype):
            return col.to_numpy(dtype=float, na_value=np.nan)
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def _each(self, fn, names: list[str]) -> list:
        # numpy's sort, searchsorted and bincount run without the GIL; every variable has its own sketch
        return thread_map(fn, names, self.n_jobs)

    def sketch_chunk(self, X: pd.DataFrame) -> PreBinner:
        self._each(lambda name: self.sketches_[name].update(clean_values(self._values(X, name), self.special_codes.get(name))),
                   self.numeric)
        return self

    def edges(self) -> dict[str, np.ndarray]:
        """Cell lower edges per numeric variable: the sketch's cut points plus any fixed splits."""
        out = {}
        for name in self.numeric:
            cuts = self.sketches_[name].cut_points(self.n_quantiles)
            if name in self.fixed_splits:
                cuts = np.union1d(cuts, np.asarray(self.fixed_splits[name], dtype=float))
            out[name] = cuts
        return out

    def count_chunk(self, X: pd.DataFrame, y: np.ndarray, edges: dict[str, np.ndarray]) -> dict[str, CellCounts]:
        counted = self._each(lambda name: count_numeric(self._values(X, name), y, edges[name], self.special_codes.get(name),
                                                        check_exact=self.sketches_[name].exact_), self.numeric)
        out = dict(zip(self.numeric, counted))
        for name in self.categorical:
            out[name] = count_categorical(X[name], y, self.special_codes.get(name))
        return out

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> dict[str, CellCounts]:
        """Both passes over an in-memory table."""
        self.sketch_chunk(X)
        return self.count_chunk(X, y, self.edges())
