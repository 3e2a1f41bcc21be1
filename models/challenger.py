"""The XGBoost challenger to the WOE scorecard, on the raw features (scikit-learn's histogram boosting is
:mod:`models.hist_gradient_boosting`).

Both tree candidates implement :class:`models.candidate.Candidate`: ``fit(X, y, X_valid, y_valid)``
(the evaluation set is required: it drives early stopping), ``predict_proba(X) -> PD``,
``score(X) -> integer points`` (higher = safer, the scorecard's
:class:`~models.scorecard.ScoreScaling` applied to the PD) and ``attributions``, taking raw
feature frames: numeric columns as float (NaN = missing), categoricals as str/object
(None = missing).

Raw inputs and monotone constraints
    As :mod:`models.tree_inputs` reads and checks them for every tree candidate
    (:class:`~models.tree_inputs.RawFeatureFrame`, :func:`~models.tree_inputs.monotone_from_binning`).

Search (:class:`XGBoostChallenger`)
    A small, deterministic, time-boxed search: candidate 0 is the default parameter
    set, candidates 1..n_search-1 are drawn from a fixed grid with
    ``numpy.random.default_rng(seed)``; user ``params`` override every candidate.
    Each candidate is fitted with early stopping on the validation split (AUC), and
    the search stops starting new candidates once ``search_seconds`` have elapsed
    (the first candidate always runs). With ``choose="best_auc"`` the winner is the
    highest validation AUC, ties going to the earlier candidate. With
    ``choose="simplest_within_one_se"`` (the pipeline's default) it is the cheapest
    candidate whose validation AUC is within one standard error of the best one's: the
    one-standard-error rule of Breiman et al. (1984) and Hastie, Tibshirani & Friedman
    (2009, 7.10), with the standard error of the *paired* difference (DeLong, on the same
    validation rows, :func:`models.comparison.delong_paired`), so candidates whose AUCs
    the validation rows cannot tell apart are ranked by cost: boosting rounds times
    ``max_depth``, the splits a row passes through, which is what scoring and its path
    attributions cost (ties: the earlier candidate). Either way, with ``max_auc_gap``,
    only candidates whose AUC on the fit rows exceeds their validation AUC by at most
    that much compete (when none does, all: the report then flags the overfitting).
    Same data, seed and number of candidates
    evaluated → identical predictions (``tree_method="hist"``, fixed seed; two
    candidates are fitted at once, on one thread each, and each gets the booster it
    would get alone; refits use ``nthread=2``); a time box that cuts the search at a different candidate is the one source
    of run-to-run difference, and ``search_log_`` records where it stopped.

    With ``search_rows`` and more fit rows than that, the candidates are fitted on a
    stratified, seeded subsample of ``search_rows`` fit rows (the search's cost stays
    flat as the book grows; its ranking of parameter sets needs far fewer rows than the
    final model) and the winner is then refitted on all fit rows, early-stopped on the
    validation rows as before. Validation stays whole: early stopping and the choice read
    every validation row, and no other role is read. The subsample is drawn by row, not by
    customer: it is a training set only (the validation rows, the search's one evaluation
    set, are customer-disjoint from every fit row already).

Early stopping
    Every fit of the search (and the winner's refit) stops on the validation AUC: the
    booster is cut at the round of the best validation AUC once ``early_stopping_rounds``
    (50) rounds have passed without a better one. With ``eval_every=k`` the validation
    AUC is taken every ``k``-th round (and at the round cap) instead of every round, so
    the best round is the best of those: scoring the validation rows and computing their
    AUC each round cost more than growing the tree on a 50k-row search subsample (12 ms
    against 8 ms a round at 52k validation rows), and one round in five resolves the
    stopping point to within rounds whose AUCs differ in the fifth decimal. Only the
    validation rows are read, as before; ``eval_every=1`` is plain per-round early stopping.

The evaluation set drives both early stopping and the choice of parameters, so its AUC
is mildly optimistic; :class:`models.protocol.DevelopmentProtocol` passes the validation
rows, never test or out of time, which stay unbiased.

Features
    The challengers read every candidate feature, not only those the scorecard's
    selection kept: IV and WOE-correlation rules serve an additive model on binned
    features, while trees pick up non-linear and interaction effects a low IV misses
    and are indifferent to correlated inputs. The report lists the features a
    challenger reads beyond the selection.
"""

from __future__ import annotations

import queue
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import xgboost as xgb

from features.errors import ModelError
from features.sample import stratified_holdout
from models.comparison import delong_paired
from models.discrimination import auc

# models registered before the tree candidates' modules were split name these classes here; unpickling a
# registered champion looks them up in this module, so they stay importable from it
from models.hist_gradient_boosting import HistGradientBoostingCandidate  # noqa: F401
from models.scorecard import ScoreScaling
from models.tree_inputs import (  # RawFeatureFrame: models registered before the split name it here too
    RawFeatureFrame,  # noqa: F401
    check_xy,
    fit_raw_features,
    require_eval_set,
)

__all__ = ["XGBoostChallenger"]

#: Parameters of search candidate 0 (and the base every drawn candidate starts from).
DEFAULT_PARAMS: dict = {
    "learning_rate": 0.05,
    "max_depth": 4,
    "min_child_weight": 5.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "reg_alpha": 0.0,
    "gamma": 0.0,
    "max_cat_to_onehot": 4,
}

#: The grid the other search candidates are drawn from.
SEARCH_GRID: dict[str, list] = {
    "learning_rate": [0.03, 0.05, 0.1],
    "max_depth": [2, 3, 4, 5, 6],
    "min_child_weight": [1.0, 5.0, 10.0, 25.0, 50.0],
    "subsample": [0.7, 0.8, 0.9, 1.0],
    "colsample_bytree": [0.6, 0.8, 1.0],
    "reg_lambda": [0.5, 1.0, 5.0, 10.0],
    "gamma": [0.0, 0.5, 1.0],
}

#: Parameters the challenger owns: determinism and the objective are not searchable.
FIXED_PARAMS: dict = {"objective": "binary:logistic", "eval_metric": "auc", "tree_method": "hist", "nthread": 2}

_ROUND_KEYS = ("n_estimators", "num_boost_round", "early_stopping_rounds")

#: How the search picks its winner (see "Search" in the module docstring), as the report's search table says it.
_CHOICE_CAPTIONS = {
    "best_auc": "the winner has the highest validation AUC",
    "simplest_within_one_se": "the winner is the cheapest candidate, rounds x max_depth, whose validation AUC is within "
                              "one paired DeLong standard error of the best",
}
CHOICE_RULES = tuple(_CHOICE_CAPTIONS)

#: Search candidates fitted at once, each on FIXED_PARAMS["nthread"] / SEARCH_WORKERS threads: on the search
#: subsample (50k rows) one booster keeps two threads busy only part of the time, and two single-threaded boosters
#: at once fit the 1M book's six candidates in 10.3 s against 14.6 s one after the other (same boosters: a
#: candidate's result does not depend on the others).
SEARCH_WORKERS = 2

#: Rows of every scored batch whose compiled PD and path attribution are checked against XGBoost's own.
_CHECKED_ROWS = 32

#: XGBoost's own max_depth when a parameter set does not name one.
_XGBOOST_DEFAULT_DEPTH = 6


class _EarlyStopping(xgb.callback.TrainingCallback):
    """Stops training once ``patience`` rounds pass without a better validation AUC, read every ``every``-th
    round and at the round cap (see "Early stopping" above); ``best_round`` is 0-based.

    The validation margins come from the booster's prediction cache (each reading adds the trees grown since the
    last), and the AUC is :func:`models.discrimination.auc` of them: the PD's ranking, without float32 ties.
    """

    def __init__(self, dvalid: xgb.DMatrix, y_valid: np.ndarray, every: int, patience: int, n_rounds: int):
        super().__init__()
        self.dvalid, self.y_valid, self.every, self.patience, self.n_rounds = dvalid, y_valid, every, patience, n_rounds
        self.curve: dict[int, float] = {}
        self.best_round, self.best_auc = -1, -np.inf

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: dict) -> bool:
        if (epoch + 1) % self.every and epoch + 1 < self.n_rounds:
            return False
        value = auc(self.y_valid, model.predict(self.dvalid, output_margin=True))
        self.curve[epoch] = value
        if value > self.best_auc:  # strictly better: a tie keeps the earlier, smaller booster
            self.best_round, self.best_auc = epoch, value
        return epoch - self.best_round >= self.patience


@dataclass
class _SearchFit:
    """One parameter set of the search, early-stopped: its booster (cut at ``best_round``, 0-based), the
    validation AUCs early stopping read (``curve``, round → AUC), its validation PDs and AUC, its AUC on the
    rows it was fitted on, and its scoring cost (rounds × max_depth)."""

    params: dict
    booster: xgb.Booster
    best_round: int
    curve: dict[int, float]
    valid_pd: np.ndarray
    valid_auc: float
    fit_auc: float
    cost: float


class XGBoostChallenger:
    """XGBoost on the raw features with a time-boxed, seeded parameter search.

    Parameters
    ----------
    scaling : ScoreScaling
        Turns the PD into points, as for the scorecard.
    monotone : dict feature → +1/-1, optional
        +1 = PD non-decreasing in the feature, -1 = non-increasing (numeric features).
    params : dict, optional
        XGBoost parameters fixed for every candidate (override the search); may also
        hold ``n_estimators`` (the round cap, 2000) and ``early_stopping_rounds`` (50).
    search_seconds : float
        Time box of the search; no new candidate starts after it.
    n_search : int
        Number of candidates (candidate 0 = defaults).
    seed : int
        Seeds both the candidate draw and XGBoost.
    categorical : list of str
        Numeric-coded features to treat as categories (text columns always are).
    max_auc_gap : float, optional
        Largest fit-minus-validation AUC gap a search winner may have.
    search_rows : int, optional
        Fit rows the search's candidates are fitted on (a stratified, seeded subsample
        when there are more); the winner is refitted on all fit rows. None: all rows.
    eval_every : int
        Rounds between two validation AUCs of early stopping (1: every round).
    choose : {"best_auc", "simplest_within_one_se"}
        How the search picks its winner (see "Search" above).

    Fitted attributes: ``best_params_``, ``best_iteration_`` (0-based round of the best
    validation AUC; the booster is cut there), ``valid_auc_``, ``search_log_``,
    ``evals_result_`` (round → validation AUC of the chosen candidate, at the rounds early
    stopping read), ``booster_``.
    """

    def __init__(self, scaling: ScoreScaling | None = None, monotone: dict[str, int] | None = None,
                 params: dict | None = None, search_seconds: float = 60, n_search: int = 8, seed: int = 42,
                 categorical: Sequence[str] = (), max_auc_gap: float | None = None, fixed_rounds: int | None = None,
                 search_rows: int | None = None, eval_every: int = 1, choose: str = "best_auc"):
        if fixed_rounds is not None and fixed_rounds < 1:
            raise ModelError(f"challenger: fixed_rounds must be at least 1, got {fixed_rounds}")
        self.fixed_rounds = fixed_rounds  # set by frozen(): no search, no early stopping, no evaluation set
        if n_search < 1:
            raise ModelError(f"challenger: n_search must be at least 1, got {n_search}")
        if search_seconds < 0:
            raise ModelError(f"challenger: search_seconds must be >= 0, got {search_seconds}")
        params = dict(params or {})
        clash = sorted(set(params) & {"objective", "eval_metric", "monotone_constraints"})
        if clash:
            raise ModelError(f"challenger: params {clash} are set by the challenger itself")
        self.scaling = scaling or ScoreScaling()
        self.monotone = dict(monotone or {})
        self.params = params
        self.search_seconds = float(search_seconds)
        self.n_search = int(n_search)
        self.seed = int(seed)
        self.categorical = list(categorical)
        if max_auc_gap is not None and not 0 < max_auc_gap < 1:
            raise ModelError(f"challenger: max_auc_gap must be in (0, 1), got {max_auc_gap!r}")
        self.max_auc_gap = max_auc_gap
        if search_rows is not None and (isinstance(search_rows, bool) or not isinstance(search_rows, (int, np.integer))
                                        or search_rows < 100):
            raise ModelError(f"challenger: search_rows must be an integer of at least 100 or None, got {search_rows!r}")
        self.search_rows = None if search_rows is None else int(search_rows)
        if isinstance(eval_every, bool) or not isinstance(eval_every, (int, np.integer)) or eval_every < 1:
            raise ModelError(f"challenger: eval_every must be an integer of at least 1, got {eval_every!r}")
        self.eval_every = int(eval_every)
        if choose not in CHOICE_RULES:
            raise ModelError(f"challenger: choose must be one of {list(CHOICE_RULES)}, got {choose!r}")
        self.choose = choose

    # ------------------------------------------------------------------ search
    def candidates(self) -> list[dict]:
        """The search's candidate parameter sets, in order (a pure function of seed and params)."""
        rng = np.random.default_rng(self.seed)
        user = {k: v for k, v in self.params.items() if k not in _ROUND_KEYS}
        out = [{**DEFAULT_PARAMS, **user}]
        while len(out) < self.n_search:
            drawn = {k: grid[int(rng.integers(len(grid)))] for k, grid in SEARCH_GRID.items()}
            out.append({**DEFAULT_PARAMS, **drawn, **user})
        return out

    def _dmatrix(self, X: pd.DataFrame, y=None) -> xgb.DMatrix:
        return xgb.DMatrix(self.frame_.transform(X), label=y, enable_categorical=True, missing=np.nan, nthread=2)

    def search_subsample(self, y: np.ndarray) -> np.ndarray | None:
        """Positions of the fit rows the search's candidates are fitted on; None when they take every row."""
        if self.search_rows is None or self.n_search == 1 or len(y) <= self.search_rows:
            return None
        take = stratified_holdout(y, self.search_rows / len(y), np.random.default_rng(self.seed))
        return np.flatnonzero(take)

    def fit(self, X: pd.DataFrame, y, X_valid: pd.DataFrame | None = None, y_valid=None) -> "XGBoostChallenger":
        """Search candidates with early stopping on (X_valid, y_valid); keep the best by validation AUC.

        With :meth:`search_subsample` rows, the candidates fit on those and the winner is refitted on all
        fit rows, early-stopped on (X_valid, y_valid).

        A :meth:`frozen` copy instead fits its one parameter set for ``fixed_rounds`` rounds
        on ``(X, y)`` alone.
        """
        if self.fixed_rounds is not None:
            return self._fit_fixed(X, y)
        require_eval_set(X_valid, y_valid)
        y = check_xy(X, y, "development")
        y_valid = check_xy(X_valid, y_valid, "validation")
        self.frame_, self.features_, monotone = fit_raw_features(X, self.categorical, self.monotone)
        subsample = self.search_subsample(y)
        search_y = y if subsample is None else y[subsample]
        n_rounds = int(self.params.get("n_estimators", self.params.get("num_boost_round", 2000)))
        patience = int(self.params.get("early_stopping_rounds", 50))
        fixed = {**FIXED_PARAMS, "seed": self.seed, "verbosity": 0}
        if monotone:
            fixed["monotone_constraints"] = "(" + ",".join(str(monotone.get(f, 0)) for f in self.features_) + ")"

        candidates = self.candidates()
        workers = min(SEARCH_WORKERS, len(candidates))
        # each worker fits on its own copy of the search's inputs: XGBoost builds a matrix's histogram index on
        # first use, and two boosters must not build it at once
        inputs: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(workers):
            inputs.put((self._dmatrix(X if subsample is None else X.iloc[subsample], search_y),
                        self._dmatrix(X_valid, y_valid)))
        search_fixed = {**fixed, "nthread": FIXED_PARAMS["nthread"] // workers or 1}
        start = time.monotonic()

        def fit_one(i: int, cand: dict) -> tuple[dict, _SearchFit | None]:
            if i > 0 and time.monotonic() - start >= self.search_seconds:
                return {"candidate": i, **cand, "status": "skipped: time box", "best_iteration": None,
                        "valid_auc": np.nan, "fit_auc": np.nan, "seconds": 0.0}, None
            t0 = time.monotonic()
            dtrain, dvalid = inputs.get()
            try:
                result = self._train(cand, search_fixed, dtrain, search_y, dvalid, y_valid, n_rounds, patience)
            finally:
                inputs.put((dtrain, dvalid))
            return {"candidate": i, **cand, "status": "fitted", "rows": len(search_y),
                    "best_iteration": result.best_round, "valid_auc": result.valid_auc, "fit_auc": result.fit_auc,
                    "cost": result.cost, "seconds": time.monotonic() - t0}, result

        with ThreadPoolExecutor(workers) as pool:  # started in candidate order, so the time box cuts as before
            done = list(pool.map(fit_one, range(len(candidates)), candidates))
        rows = [row for row, _ in done]
        fitted = {i: result for i, (_, result) in enumerate(done) if result is not None}
        chosen, standing = self._choose(fitted, y_valid)
        for row in rows:
            row.update(standing.get(row["candidate"], {}))
        final = fitted[chosen]
        _, dvalid = inputs.get()
        while not inputs.empty():  # the other workers' copies go before the refit
            inputs.get()
        del fitted, done
        if subsample is not None:  # the winner on every fit row, early-stopped on validation as in the search
            t0 = time.monotonic()
            final = self._train(final.params, fixed, self._dmatrix(X, y), y, dvalid, y_valid, n_rounds, patience)
            rows.append({"candidate": chosen, **final.params, "status": "winner refitted on all fit rows",
                         "rows": len(y), "best_iteration": final.best_round, "valid_auc": final.valid_auc,
                         "fit_auc": final.fit_auc, "cost": final.cost, "seconds": time.monotonic() - t0})
        self.valid_auc_, self.fit_auc_, self.best_params_ = final.valid_auc, final.fit_auc, final.params
        self.booster_, self.best_iteration_ = final.booster, final.best_round
        self.evals_result_ = {int(r): float(a) for r, a in final.curve.items()}
        self.n_rounds_, self.early_stopping_rounds_ = n_rounds, patience
        log = pd.DataFrame(rows)
        log["chosen"] = log["candidate"] == chosen
        self.search_log_ = log
        return self

    def _choose(self, fitted: dict[int, "_SearchFit"], y_valid: np.ndarray) -> tuple[int, dict[int, dict]]:
        """The winner's candidate number, and per candidate in the running its standing against the best AUC
        (difference, paired DeLong standard error, within one of it) under ``simplest_within_one_se``."""
        pool = {i: f for i, f in fitted.items() if self.max_auc_gap is None or f.fit_auc - f.valid_auc <= self.max_auc_gap}
        pool = pool or fitted
        best = min(pool, key=lambda i: (-pool[i].valid_auc, i))  # best validation AUC, ties: the earlier candidate
        if self.choose == "best_auc":
            return best, {}
        standing = {}
        for i, f in pool.items():
            gap = delong_paired(y_valid, pool[best].valid_pd, f.valid_pd)
            standing[i] = {"auc_below_best": gap.difference, "se_of_difference": gap.se,
                           "within_one_se": bool(gap.difference <= gap.se)}
        eligible = [i for i in pool if standing[i]["within_one_se"]]
        return min(eligible, key=lambda i: (pool[i].cost, i)), standing

    def _train(self, cand: dict, fixed: dict, dtrain: xgb.DMatrix, y: np.ndarray, dvalid: xgb.DMatrix,
               y_valid: np.ndarray, n_rounds: int, patience: int) -> "_SearchFit":
        """One parameter set, early-stopped on the validation rows, the booster cut at the best round."""
        stop = _EarlyStopping(dvalid, y_valid, self.eval_every, patience, n_rounds)
        booster = xgb.train({**cand, **fixed}, dtrain, num_boost_round=n_rounds, callbacks=[stop], verbose_eval=False)
        booster = booster[: stop.best_round + 1]
        valid_pd = booster.predict(dvalid)
        depth = int(cand.get("max_depth", _XGBOOST_DEFAULT_DEPTH)) or np.inf  # 0: unlimited depth, the costliest
        return _SearchFit(params=cand, booster=booster, best_round=stop.best_round, curve=stop.curve,
                          valid_pd=valid_pd, valid_auc=auc(y_valid, valid_pd), fit_auc=auc(y, booster.predict(dtrain)),
                          cost=float((stop.best_round + 1) * depth))

    def frozen(self, rounds_scale: float = 1.0) -> "XGBoostChallenger":
        """An unfitted copy with the search winner fixed, to refit on other rows without an evaluation set.

        The chosen parameters, and the early-stopping round count times ``rounds_scale``
        (the protocol passes new rows / fit rows: more rows carry more rounds at the same
        learning rate before they overfit, the usual rule when refitting on all data).
        """
        if not hasattr(self, "booster_"):
            raise ModelError("challenger: frozen() needs a fitted challenger (it fixes the search's winner)")
        rounds = max(1, int(round((self.best_iteration_ + 1) * float(rounds_scale))))
        copy = XGBoostChallenger(self.scaling, monotone=self.monotone, params=dict(self.best_params_), n_search=1,
                                 seed=self.seed, categorical=self.categorical, fixed_rounds=rounds, choose=self.choose)
        copy.search_log_ = self.search_log_  # the report still shows how the configuration was found
        return copy

    def _fit_fixed(self, X: pd.DataFrame, y) -> "XGBoostChallenger":
        y = check_xy(X, y, "development")
        self.frame_, self.features_, monotone = fit_raw_features(X, self.categorical, self.monotone)
        fixed = {**FIXED_PARAMS, "seed": self.seed, "verbosity": 0}
        if monotone:
            fixed["monotone_constraints"] = "(" + ",".join(str(monotone.get(f, 0)) for f in self.features_) + ")"
        self.best_params_ = {k: v for k, v in self.params.items() if k not in _ROUND_KEYS}
        self.booster_ = xgb.train({**self.best_params_, **fixed}, self._dmatrix(X, y), num_boost_round=self.fixed_rounds)
        self.n_rounds_, self.best_iteration_ = self.fixed_rounds, self.fixed_rounds - 1
        self.early_stopping_rounds_ = None
        if not hasattr(self, "search_log_"):
            self.search_log_ = pd.DataFrame([{"candidate": 0, **self.best_params_, "status": "fixed", "best_iteration":
                                              self.best_iteration_, "chosen": True}])
        return self

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise ModelError("challenger: not fitted; call fit(X, y, X_valid, y_valid) first")

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """PD (probability of bad)."""
        self._check_fitted()
        return self.booster_.predict(self._dmatrix(X)).astype(float)

    def score(self, X: pd.DataFrame, pd_raw: np.ndarray | None = None) -> np.ndarray:
        """Integer points, higher = safer: the scaling's ``pd_to_score`` of the PD, rounded."""
        return np.rint(self.scaling.pd_to_score(self.predict_proba(X) if pd_raw is None else pd_raw)).astype(int)

    @property
    def notes_(self) -> dict[str, str]:
        return {}  # nothing is dropped after fitting

    def attributions(self, X: pd.DataFrame, exact: bool = False) -> pd.DataFrame:
        """Log-odds each feature adds to each row's PD: exact TreeSHAP, or path attribution (Saabas, the default)."""
        return self.explain(X, exact=exact)[2]

    def explain(self, X: pd.DataFrame, exact: bool = False) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        """``predict_proba``, ``score`` and ``attributions`` of the same rows from one reading of them.

        Path attribution (``exact=False``) and the PD come from one compiled walk of the trees
        (:class:`~models.path_attribution.PathAttribution`), equal to the bit to XGBoost's ``predict`` and
        ``approx_contribs``; a sample of every batch is checked against XGBoost itself, and a batch where they
        differ is scored by XGBoost, with a warning. Exact TreeSHAP is XGBoost's ``pred_contribs``.
        """
        self._check_fitted()
        if exact:
            data = self._dmatrix(X)
            raw = self.booster_.predict(data)
            values = self.booster_.predict(data, pred_contribs=True)[:, :-1]
        else:
            raw, values = self._path_explain(X)
        raw = raw.astype(float)
        return raw, self.score(X, pd_raw=raw), pd.DataFrame(values, index=X.index, columns=self.features_)

    def _path_explain(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        # imported here: a process that never explains a tree model (the Dagster webserver and daemon loading the
        # code location) does not load numba and LLVM (0.3 s, ~100 MB)
        from models.path_attribution import PathAttribution

        if getattr(self, "_path_attribution", None) is None:  # compiled per process; not part of the pickle
            self._path_attribution = PathAttribution().fit(self.booster_)
        raw, values = self._path_attribution.explain(self.frame_.booster_matrix(X))
        check = np.unique(np.linspace(0, len(X) - 1, num=min(len(X), _CHECKED_ROWS)).astype(int))
        if PathAttribution.agrees(self.booster_, self._dmatrix(X.iloc[check]), raw[check], values[check]):
            return raw, values
        warnings.warn("challenger: the compiled path attribution differs from XGBoost's own on this batch; the batch "
                      f"is scored by XGBoost (xgboost {xgb.__version__})", RuntimeWarning, stacklevel=3)
        data = self._dmatrix(X)
        return (self.booster_.predict(data),
                self.booster_.predict(data, pred_contribs=True, approx_contribs=True)[:, :-1])

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_path_attribution", None)
        return state

    def report_tables(self) -> dict[str, pd.DataFrame]:
        return {"Feature importance": self.feature_importance(),
                f"Parameter search (validation AUC; {_CHOICE_CAPTIONS[self.choose]})": self.search_log_}

    def contributions(self, X: pd.DataFrame, approx: bool = False) -> pd.DataFrame:
        """Per-feature contributions to the log-odds of bad, plus a ``bias`` column, as XGBoost computes them.

        Exact TreeSHAP by default; ``approx=True`` is XGBoost's path attribution (Saabas,
        ``approx_contribs``). Either way each row sums to the model's log-odds:
        ``sigmoid(row.sum()) == predict_proba``.
        """
        self._check_fitted()
        values = self.booster_.predict(self._dmatrix(X), pred_contribs=True, approx_contribs=approx)
        return pd.DataFrame(values, index=X.index, columns=[*self.features_, "bias"])

    def feature_importance(self) -> pd.DataFrame:
        """One row per feature: gain (mean per split), total_gain, weight (splits), cover; by gain, descending."""
        self._check_fitted()
        kinds = ("gain", "total_gain", "weight", "cover")
        scores = {k: self.booster_.get_score(importance_type=k) for k in kinds}
        table = pd.DataFrame({"feature": self.features_})
        for k in kinds:
            table[k] = [float(scores[k].get(f, 0.0)) for f in self.features_]
        return table.sort_values(["gain", "feature"], ascending=[False, True]).reset_index(drop=True)
