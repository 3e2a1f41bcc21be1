"""Backtests: discrimination and stability of each candidate per split and per out-of-time month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.errors import ModelError, UninformativeModelError
from features.sample import stratified_holdout
from models import calibration_tests, discrimination, stability


@dataclass
class Backtest:
    """Per-candidate metrics by split, and the month-by-month out-of-time table."""

    by_split: pd.DataFrame  # candidate, split, rows, bads, bad_rate, auc, gini, ks, psi
    by_month: pd.DataFrame  # candidate, application_month, rows, bads, bad_rate, auc, gini, ks, psi
    predictions: pd.DataFrame  # application id, split, month, target, and pd_/score_ per candidate


@dataclass
class BacktestResult:
    """What the ``backtest`` asset passes on: every candidate's backtest, the chosen
    candidate's name and the walk-forward table of the chosen candidate."""

    backtest: Backtest
    chosen: str
    walk_forward: pd.DataFrame


def _discrimination(y: np.ndarray, pd_: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """AUC with its DeLong 95% interval and Gini on the PD; KS on the points and the score where it peaks."""
    if len(y) == 0 or y.min() == y.max():  # one class only: AUC/KS undefined
        return {"auc": np.nan, "auc_lower": np.nan, "auc_upper": np.nan, "gini": np.nan, "ks": np.nan, "ks_score": np.nan}
    dl = discrimination.auc_delong_ci(y, pd_)
    k = discrimination.ks(y, -np.asarray(score, dtype=float))  # riskier = lower points; the threshold back in points
    return {"auc": dl.auc, "auc_lower": dl.lower, "auc_upper": dl.upper, "gini": 2 * dl.auc - 1,
            "ks": k.statistic, "ks_score": -k.threshold}


def _calibration(y: np.ndarray, pd_: np.ndarray) -> dict[str, float]:
    hl = calibration_tests.hosmer_lemeshow(y, pd_)
    return {"brier": calibration_tests.brier(y, pd_), "log_loss": calibration_tests.log_loss(y, pd_), "hosmer_lemeshow": hl.statistic,
            "hosmer_lemeshow_p": hl.p_value, "mean_pd": float(pd_.mean())}


SPLIT_ORDER = {"dev": 0, "validation": 1, "test": 2, "oot": 3}


def run_backtest(candidates: dict, sample: pd.DataFrame, features: list[str], date_column: str = "application_month",
                 id_column: str = "application_id") -> Backtest:
    """Score every candidate on every row of the sample and measure it per split and OOT month.

    These are the numbers of record: the console, the report, ``metrics.json`` and MLflow
    all read them from here. AUC (DeLong 95% interval) and Gini are on the calibrated PD,
    KS on the points. PSI compares each split's PD distribution with development (bins:
    development deciles).
    """
    preds = sample[[c for c in (id_column, "split", date_column, "target") if c in sample.columns]].copy()
    for name, model in candidates.items():
        preds[f"pd_{name}"], preds[f"score_{name}"] = model.pd_and_score(sample[features])
    split_rows, month_rows = [], []
    for name in candidates:
        dev_pd = preds.loc[preds["split"] == "dev", f"pd_{name}"].to_numpy()
        for split, part in preds.groupby("split", sort=False):
            y, p, sc = part["target"].to_numpy(), part[f"pd_{name}"].to_numpy(), part[f"score_{name}"].to_numpy()
            split_rows.append({"candidate": name, "split": split, "rows": len(part), "bads": int(y.sum()),
                               "bad_rate": float(y.mean()), **_discrimination(y, p, sc),
                               "psi": stability.psi(dev_pd, p), **_calibration(y, p)})
        if date_column in preds.columns:
            oot = preds[preds["split"] == "oot"]
            for month, part in oot.groupby(date_column, sort=True):
                y, p, sc = part["target"].to_numpy(), part[f"pd_{name}"].to_numpy(), part[f"score_{name}"].to_numpy()
                month_rows.append({"candidate": name, "application_month": month, "rows": len(part), "bads": int(y.sum()),
                                   "bad_rate": float(y.mean()), **_discrimination(y, p, sc), "psi": stability.psi(dev_pd, p)})
    by_split = pd.DataFrame(split_rows).sort_values(
        ["candidate", "split"], key=lambda s: s.map(SPLIT_ORDER) if s.name == "split" else s)
    return Backtest(by_split=by_split.reset_index(drop=True), by_month=pd.DataFrame(month_rows), predictions=preds)


def walk_forward(develop, sample: pd.DataFrame, features: list[str], origins: int = 3,
                 date_column: str = "application_month", max_train_rows: int | None = None,
                 seed: int = 42) -> pd.DataFrame:
    """Develop afresh at ``origins`` earlier origins and score the months after each.

    The labelled months are cut at ``origins`` evenly spaced origins before the newest
    month; at each origin ``develop(train)`` gets the labelled rows dated before the
    origin (every column, so it can re-run binning, selection and fitting on them and
    nothing else) and returns a model whose PD and points score the loans from the origin
    up to the next origin (the last window runs to the newest month).

    With ``max_train_rows``, an origin with more rows before it develops on a stratified
    (bad rate kept), seeded subsample of that many of them: the backtest measures how
    stable the development procedure is over time, not the model that is registered, and
    its cost then stays flat as the book grows. A capped origin's AUC is, if anything,
    conservative (fewer rows than the registered model had). The scored rows are never
    subsampled.

    Returns one row per origin: origin, ``available_rows`` (labelled rows before the origin),
    ``train_rows`` (those ``develop`` got), scored rows, bads, AUC (DeLong interval), Gini, KS, and ``note``:
    when the candidate comes out uninformative on an origin's rows
    (:class:`~features.errors.UninformativeModelError`, e.g. too few rows early in the history),
    that origin is not scored and the note says why; the backtest goes on.
    """
    if max_train_rows is not None and (isinstance(max_train_rows, bool) or not isinstance(max_train_rows, (int, np.integer))
                                       or max_train_rows < 100):
        raise ModelError(f"walk_forward: max_train_rows must be an integer of at least 100 or None, got {max_train_rows!r}")
    columns = ["origin", "available_rows", "train_rows", "rows", "bads", "auc", "auc_lower", "auc_upper", "gini", "ks",
               "ks_score", "note"]
    if date_column not in sample.columns or sample[date_column].isna().all():
        return pd.DataFrame(columns=columns)
    months = np.sort(pd.to_datetime(sample[date_column]).unique())
    if len(months) < origins + 2:
        origins = max(len(months) - 2, 0)
    # origins split the newer half of the history into equal windows
    start = len(months) // 2
    cut_idx = np.linspace(start, len(months), origins + 1, dtype=int)[:-1] if origins else []
    dates = pd.to_datetime(sample[date_column])
    rows = []
    for i, idx in enumerate(cut_idx):
        origin = months[idx]
        until = months[cut_idx[i + 1]] if i + 1 < len(cut_idx) else None
        train = sample[(dates < origin).to_numpy()]
        scored = sample[((dates >= origin) & ((dates < until) if until is not None else True)).to_numpy()]
        if train["target"].nunique() < 2 or scored["target"].nunique() < 2:
            continue
        available = len(train)
        if max_train_rows is not None and available > max_train_rows:
            train = train[stratified_holdout(train["target"].to_numpy(), max_train_rows / available,
                                             np.random.default_rng(seed))]
        y = scored["target"].to_numpy()
        row = {"origin": pd.Timestamp(origin), "available_rows": available, "train_rows": len(train), "rows": len(scored),
               "bads": int(y.sum())}
        try:
            model = develop(train)
        except UninformativeModelError as exc:  # a finding about this origin's history, not a reason to stop the run
            rows.append({**row, "note": f"not developed: {exc}"})
            continue
        rows.append({**row, **_discrimination(y, *model.pd_and_score(scored[features])), "note": ""})
    return pd.DataFrame(rows, columns=columns)


def stability_summary(walk: pd.DataFrame) -> pd.DataFrame:
    """Mean, min and max of AUC and KS over the walk-forward origins."""
    if walk.empty:
        return pd.DataFrame(columns=["metric", "mean", "min", "max"])
    return pd.DataFrame([{"metric": m, "mean": walk[m].mean(), "min": walk[m].min(), "max": walk[m].max()}
                         for m in ("auc", "ks")])
