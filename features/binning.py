"""Optimal binning and WOE: optbinning's optimiser and binning tables on pre-binned counts.

:class:`WoeBinner` never hands optbinning the raw rows. All variables are summarised in
two vectorised passes (:mod:`features.prebinning`: a mergeable quantile sketch, then
good/bad counts per cell), each variable is solved on its cells
(:mod:`features.optimal_binning`: optbinning's CART pre-binning rule, pure-bin merging
and CP solver), and any table is transformed to WOE in one pass per variable
(:mod:`features.woe`). :meth:`WoeBinner.fit_chunks` does the same over data that does not
fit in memory.

WOE follows optbinning's convention, ``ln(%good / %bad)``: a higher WOE is a safer bin.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.errors import ConfigError, SampleError
from features.fitted_columns import check_fitted_columns
from features.optimal_binning import solve
from features.prebinning import CAPACITY, N_QUANTILE_CELLS, CellCounts, PreBinner, thread_map
from features.woe import METRICS, bin_label, woe_map

MONOTONIC_TRENDS = ("auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "peak", "valley",
                    "convex", "concave", "peak_heuristic", "valley_heuristic")
TABLE_COLUMNS = {"Bin": "bin", "Count": "count", "Count (%)": "share", "Non-event": "goods", "Event": "bads",
                 "Event rate": "bad_rate", "WoE": "woe", "IV": "iv"}


@dataclass(frozen=True)
class BinningSpec:
    """Binning constraints: global defaults plus per-variable overrides.

    ``cat_cutoff``: categories rarer than this share of a variable's non-missing rows are
    grouped into one 'others' bin before the optimiser runs (None: no grouping).
    ``fixed_splits``: numeric splits a modeler imposes; the bins are exactly these, and
    the optimiser's own splits are kept alongside for comparison.
    """

    max_n_bins: int | None = 8  # None: no limit (optbinning's default)
    min_bin_size: float | None = 0.05  # None: min_prebin_size (optbinning's default)
    monotonic_trend: str | None = "auto_asc_desc"
    monotonic_trends: dict[str, str | None] = field(default_factory=dict)
    special_codes: dict[str, list[float]] = field(default_factory=dict)
    fixed_splits: dict[str, list[float]] = field(default_factory=dict)
    cat_cutoff: float | None = None
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05

    def __post_init__(self):
        if self.max_n_bins is not None and (not isinstance(self.max_n_bins, int) or self.max_n_bins < 2):
            raise ConfigError(f"binning.max_n_bins must be an integer of at least 2, got {self.max_n_bins!r}")
        if self.min_bin_size is not None and not 0 < self.min_bin_size <= 0.5:
            raise ConfigError(f"binning.min_bin_size must be in (0, 0.5], got {self.min_bin_size!r}")
        if self.cat_cutoff is not None and not 0 < self.cat_cutoff <= 1:
            raise ConfigError(f"binning.cat_cutoff must be in (0, 1] or None, got {self.cat_cutoff!r}")
        for key, trend in [("monotonic_trend", self.monotonic_trend)] + [
                (f"monotonic_trends.{k}", v) for k, v in self.monotonic_trends.items()]:
            if trend is not None and trend not in MONOTONIC_TRENDS:
                raise ConfigError(f"binning.{key}: unknown monotonic trend {trend!r}; use one of {MONOTONIC_TRENDS} or null")


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
    seed : int
        Seed of the quantile sketch's sample (only used above 131,072 rows per chunk).
    max_exact_values : int
        A variable with at most this many distinct values is pre-binned on every value
        (same bins as optbinning on the rows); above, on ``n_quantiles`` quantile cells.
    n_quantiles : int
        Cells of a variable above ``max_exact_values`` (quantiles of the sketch).
    n_jobs : int or None
        Threads solving variables concurrently (None: ``min(2, os.cpu_count())``); the
        bins do not depend on it.

    Attributes
    ----------
    variables_, numeric_, categorical_ : list of str
    binnings_ : dict of name → fitted ``optbinning.OptimalBinning`` (the bins in use)
    optimal_ : dict of name → fitted ``OptimalBinning`` without the fixed splits
        (variables with ``fixed_splits`` only: the optimiser's answer, for comparison)
    cells_ : dict of name → :class:`~features.prebinning.CellCounts` (the pre-bins)
    maps_ : dict of name → :class:`~features.woe.WoeMap`
    """

    def __init__(self, spec: BinningSpec | None = None, categorical: list[str] = (), seed: int = 0,
                 max_exact_values: int = CAPACITY, n_quantiles: int = N_QUANTILE_CELLS, n_jobs: int | None = None):
        self.spec = spec or BinningSpec()
        self.categorical = list(categorical)
        self.seed = seed
        if max_exact_values < 2 or n_quantiles < 2:
            raise ConfigError(f"WoeBinner: max_exact_values and n_quantiles must be at least 2, got {max_exact_values}, {n_quantiles}")
        self.max_exact_values, self.n_quantiles = max_exact_values, n_quantiles
        if n_jobs is None:
            n_jobs = min(2, os.cpu_count() or 1)
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
            raise ConfigError(f"WoeBinner: n_jobs must be a positive integer or None, got {n_jobs!r}")
        self.n_jobs = n_jobs
        self._fitted = False

    # ------------------------------------------------------------------ fit
    def fit(self, X: pd.DataFrame, y) -> WoeBinner:
        y = self._check_target(np.asarray(y), len(X))
        self._set_variables(X)
        cells = self._prebinner().fit(X, y)
        return self.fit_prebinned(cells)

    def fit_chunks(self, chunks: Callable[[], Iterable[tuple[pd.DataFrame, np.ndarray]]]) -> WoeBinner:
        """Fit from data read chunk by chunk: ``chunks()`` yields ``(X, y)`` and is called twice (two passes)."""
        first = next(iter(chunks()), None)
        if first is None:
            raise SampleError("binning: the chunk source yielded no data")
        self._set_variables(first[0])
        pre = self._prebinner()
        for X, _ in chunks():
            pre.sketch_chunk(X)
        edges = pre.edges()
        cells = None
        for X, y in chunks():
            part = pre.count_chunk(X, self._check_target(np.asarray(y), len(X), single_class_ok=True), edges)
            cells = part if cells is None else {k: cells[k].add(part[k]) for k in cells}
        first = next(iter(cells.values()))
        if int(first.bads.sum() + first.missing[1] + first.special[1]) in (0, first.n):
            raise SampleError("binning: the development target needs both goods and bads")
        return self.fit_prebinned(cells)

    def fit_prebinned(self, cells: dict[str, CellCounts]) -> WoeBinner:
        """Solve every variable on its pre-bins (cells from :class:`~features.prebinning.PreBinner`).

        Variables are independent once counted: with ``n_jobs > 1`` they are solved in a
        thread pool (CP-SAT's search and the CART run without the GIL); results are kept in
        variable order, so the bins are those of the sequential path.
        """
        self._fitted = False  # a refit that fails leaves no half-fitted binner that claims to be fitted
        self.cells_ = cells
        solved = thread_map(self._solve, self.variables_, self.n_jobs)
        self.binnings_ = {name: ob for name, (ob, _) in zip(self.variables_, solved)}
        self.optimal_ = {name: opt for name, (_, opt) in zip(self.variables_, solved) if opt is not None}
        self.maps_ = {name: woe_map(name, "categorical" if name in self.categorical_ else "numeric", self.binnings_[name],
                                    self.spec.special_codes.get(name)) for name in self.variables_}
        self._tables = {}  # optbinning's binning tables, built when first asked for (reports, not the fit, need them)
        self._summary = None
        self._fitted = True
        return self

    @property
    def is_fitted(self) -> bool:
        """True once a fit has produced bins for every variable."""
        return self._fitted

    def _solve(self, name: str):
        """The fitted binning in use, and the optimiser's own when the variable has fixed splits."""
        params = self._params(name)
        fixed = self.spec.fixed_splits.get(name)
        return solve(self.cells_[name], name, params, fixed), (solve(self.cells_[name], name, params) if fixed else None)

    def _table(self, name: str, optimal: bool = False) -> pd.DataFrame:
        key = (name, optimal)
        if key not in self._tables:
            ob = (self.optimal_ if optimal else self.binnings_)[name]
            self._tables[key] = ob.binning_table.build().drop(index="Totals", errors="ignore").reset_index(drop=True)
        return self._tables[key]

    def _check_target(self, y: np.ndarray, n: int, single_class_ok: bool = False) -> np.ndarray:
        if n != len(y):
            raise SampleError(f"binning: X has {n} rows but y has {len(y)}")
        values = set(np.unique(y).tolist())
        if not values <= {0, 1}:
            raise SampleError(f"binning: the target must be 0 (good) / 1 (bad), got values {sorted(values)[:5]}")
        if len(values) != 2 and not single_class_ok:
            raise SampleError("binning: the development target needs both goods and bads")
        return y.astype(np.int64)

    def _set_variables(self, X: pd.DataFrame) -> None:
        unknown = sorted((set(self.spec.monotonic_trends) | set(self.spec.fixed_splits)) - set(X.columns))
        if unknown:
            raise ConfigError(f"binning: per-variable settings name unknown features {unknown}")
        self.variables_ = list(X.columns)
        self.numeric_, self.categorical_ = split_feature_types(X, self.variables_, self.categorical)
        wrong = sorted(set(self.spec.fixed_splits) & set(self.categorical_))
        if wrong:
            raise ConfigError(f"binning.fixed_splits: fixed numeric splits on categorical features {wrong}")

    def _prebinner(self) -> PreBinner:
        return PreBinner(self.numeric_, self.categorical_, special_codes=self.spec.special_codes,
                         fixed_splits=self.spec.fixed_splits, seed=self.seed, capacity=self.max_exact_values,
                         n_quantiles=self.n_quantiles, n_jobs=self.n_jobs)

    def _params(self, name: str) -> dict:
        trend = self.spec.monotonic_trends.get(name, self.spec.monotonic_trend)
        if name in self.categorical_ and trend in ("ascending", "descending", "peak", "valley"):
            trend = None  # monotonic trends on categories order them by bad rate; keep auto there
        p = {"max_n_bins": self.spec.max_n_bins, "min_bin_size": self.spec.min_bin_size, "monotonic_trend": trend,
             "max_n_prebins": self.spec.max_n_prebins, "min_prebin_size": self.spec.min_prebin_size}
        if name in self.spec.special_codes:
            p["special_codes"] = list(self.spec.special_codes[name])
        if name in self.categorical_:
            p["cat_cutoff"] = self.spec.cat_cutoff
        return p

    # ------------------------------------------------------------------ transform
    def transform(self, X: pd.DataFrame, metric: str = "woe", variables: list[str] | None = None) -> pd.DataFrame:
        """WOE (or ``indices`` / ``bins``) of each variable; special and missing values get their own bin's WOE.

        Out-of-range numbers fall in the first or last bin; unseen categories in the
        'others' bin, else the Missing bin (see :mod:`features.woe`).
        """
        if metric not in METRICS:
            raise ConfigError(f"transform: metric must be one of {METRICS}, got {metric!r}")
        variables = check_fitted_columns("binner", self.maps_ if self._fitted else None, variables or None, X.columns,
                                         table="binning transform", error=SampleError)
        if metric == "bins":
            return pd.DataFrame({name: self.maps_[name].transform(X[name].to_numpy(), metric) for name in variables},
                                index=X.index)
        # one column-major block written in place: no per-column arrays stacked afterwards
        out = np.empty((len(X), len(variables)), dtype=float if metric == "woe" else np.int64, order="F")
        # read here: pandas is not asked from threads; a category column stays coded (its bins looked up per category)
        columns = [X[name].array if isinstance(X[name].dtype, pd.CategoricalDtype) else X[name].to_numpy()
                   for name in variables]

        def fill(j: int) -> None:
            self.maps_[variables[j]].transform(columns[j], metric, out=out[:, j])

        thread_map(fill, list(range(len(variables))), self.n_jobs)
        return pd.DataFrame(out, index=X.index, columns=variables, copy=False)

    def stability(self, dev: pd.DataFrame, other: pd.DataFrame, variables: list[str] | None = None) -> pd.Series:
        """CSI of each variable's bins between development rows and other rows (e.g. out-of-time); no target read."""
        from features.selection import csi_by_variable

        variables = list(variables or self.variables_)
        n_bins = {name: len(self.maps_[name].woe) for name in variables}
        return csi_by_variable(self.transform(dev, "indices", variables), self.transform(other, "indices", variables), n_bins)

    # ------------------------------------------------------------------ reports
    def summary(self) -> pd.DataFrame:
        """One row per variable: dtype, number of bins, IV, Gini, quality score, splits source; sorted by IV."""
        if self._summary is None:
            rows = []
            for name in self.variables_:
                ob = self.binnings_[name]
                bt = ob.binning_table
                self._table(name)
                bt.analysis(print_output=False)
                n_bins = len(ob.splits) + (1 if ob.dtype == "numerical" else 0)
                rows.append({"name": name, "dtype": ob.dtype, "n_bins": n_bins, "iv": float(bt.iv), "gini": float(bt.gini),
                             "quality_score": float(bt.quality_score),
                             "splits": "fixed" if name in self.optimal_ else "optimal"})
            self._summary = (pd.DataFrame(rows).sort_values(["iv", "name"], ascending=[False, True])
                             .reset_index(drop=True))
        return self._summary.copy()

    def binning_table(self, name: str) -> pd.DataFrame:
        """optbinning's binning table for one variable, Totals row dropped: bin, count, bad rate, WOE, IV."""
        if name not in self.binnings_:
            raise SampleError(f"binning: variable {name!r} was not binned")
        return _tidy(self._table(name))

    def optimal_table(self, name: str) -> pd.DataFrame | None:
        """For a variable with fixed splits, the optimiser's own binning table (None otherwise)."""
        if name not in self.optimal_:
            return None
        return _tidy(self._table(name, optimal=True))

    def splits_table(self) -> pd.DataFrame:
        """Per variable: the splits in use, where they come from, and the optimiser's splits next to fixed ones."""
        rows = []
        for name in self.variables_:
            ob = self.binnings_[name]
            opt = self.optimal_.get(name, ob)
            self._table(name)
            if name in self.optimal_:
                self._table(name, optimal=True)
            rows.append({"variable": name, "source": "fixed (config)" if name in self.optimal_ else "optimal",
                         "splits": _splits_text(ob), "iv": float(ob.binning_table.iv),
                         "optimal_splits": _splits_text(opt), "optimal_iv": float(opt.binning_table.iv),
                         "exact_prebins": bool(self.cells_[name].exact)})
        return pd.DataFrame(rows)


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    out = table[list(TABLE_COLUMNS)].rename(columns=TABLE_COLUMNS)
    out["bin"] = out["bin"].map(bin_label)
    for col in ("count", "goods", "bads"):
        out[col] = out[col].astype(np.int64)
    for col in ("share", "bad_rate", "woe", "iv"):
        out[col] = out[col].astype(float)
    return out


def _splits_text(ob) -> str:
    if ob.dtype == "numerical":
        return ", ".join(f"{s:.6g}" for s in ob.splits)
    return " | ".join(", ".join(map(str, g)) for g in ob.splits)
