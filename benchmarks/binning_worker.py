"""One binning tool on one dataset, in its own process: the worker behind benchmarks/binning.py.

    PYTHON benchmarks/binning_worker.py --tool TOOL --data DIR --out OUT.json

Runs in the project venv (tools ``creditpipe``, ``optbinning``) or in the peer venv
``.benchvenv`` (``toad``, ``scorecardpy``; pandas 2 / numpy 1), so it imports nothing from
the project at module level. DIR holds ``X_train.npy``, ``y_train.npy``, ``X_test.npy``,
``y_test.npy`` and ``columns.json``. Measured: fit seconds (on train), transform seconds
(train), peak RSS of the process after fit + transform, IV per variable, and the test AUC
of ``LogisticRegression(max_iter=1000)`` fitted on the tool's train WOE.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def iv_from_woe(woe: pd.DataFrame, y: np.ndarray) -> dict[str, float]:
    """IV per variable with the rows grouped by their WOE value (for tools without an IV of their own)."""
    out = {}
    bads, goods = y.sum(), len(y) - y.sum()
    for col in woe.columns:
        t = pd.DataFrame({"w": woe[col].to_numpy(), "y": y}).groupby("w")["y"].agg(["sum", "count"])
        b, g = t["sum"].to_numpy() / bads, (t["count"] - t["sum"]).to_numpy() / goods
        ok = (b > 0) & (g > 0)
        out[col] = float(np.sum((g[ok] - b[ok]) * np.log(g[ok] / b[ok])))
    return out


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM; ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def clock() -> np.ndarray:
    """(wall seconds, CPU seconds of this process): on a shared machine wall time also counts waiting for a core."""
    return np.array([time.perf_counter(), time.process_time()])


def run_creditpipe(X, y, X_test):
    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root))
    from features.binning import BinningSpec, WoeBinner

    # BinningProcess's default constraints, so bins, IV and AUC compare like for like with optbinning
    spec = BinningSpec(max_n_bins=None, min_bin_size=None, monotonic_trend="auto")
    t0 = clock()
    binner = WoeBinner(spec).fit(X, y)
    t1 = clock()
    woe = binner.transform(X)
    t2 = clock()
    iv = binner.summary().set_index("name")["iv"].astype(float).to_dict()
    return t1 - t0, t2 - t1, woe, lambda: binner.transform(X_test), iv, "WoeBinner(max_n_bins=None, min_bin_size=None, monotonic_trend='auto'), i.e. BinningProcess's constraints, on pre-binned cells"


def run_optbinning(X, y, X_test):
    from optbinning import BinningProcess

    t0 = clock()
    process = BinningProcess(variable_names=list(X.columns)).fit(X, y)
    t1 = clock()
    woe = process.transform(X, metric="woe")
    t2 = clock()
    iv = process.summary().set_index("name")["iv"].astype(float).to_dict()
    import optbinning
    return t1 - t0, t2 - t1, woe, lambda: process.transform(X_test, metric="woe"), iv, \
        f"optbinning {optbinning.__version__} BinningProcess(variable_names) defaults"


def run_toad(X, y, X_test):
    import toad

    t0 = clock()
    combiner = toad.transform.Combiner()
    combiner.fit(X, y, method="chi")
    binned = combiner.transform(X)
    transer = toad.transform.WOETransformer()
    transer.fit(binned, y)
    t1 = clock()
    woe = transer.transform(combiner.transform(X))
    t2 = clock()
    return t1 - t0, t2 - t1, woe, lambda: transer.transform(combiner.transform(X_test)), None, \
        f"toad {toad.__version__} Combiner(method='chi') + WOETransformer, defaults"


def run_scorecardpy(X, y, X_test):
    from importlib.metadata import version

    import scorecardpy as sc

    dt = X.assign(target=y)
    t0 = clock()
    bins = sc.woebin(dt, y="target", print_step=0)
    t1 = clock()
    woe = sc.woebin_ply(X, bins, print_step=0)
    t2 = clock()
    woe = woe[[f"{c}_woe" for c in X.columns]]
    woe.columns = list(X.columns)
    iv = {c: float(bins[c]["total_iv"].iloc[0]) for c in X.columns}

    def test():
        w = sc.woebin_ply(X_test, bins, print_step=0)[[f"{c}_woe" for c in X.columns]]
        w.columns = list(X.columns)
        return w
    return t1 - t0, t2 - t1, woe, test, iv, f"scorecardpy {version('scorecardpy')} woebin + woebin_ply, defaults"


TOOLS = {"creditpipe": run_creditpipe, "optbinning": run_optbinning, "toad": run_toad, "scorecardpy": run_scorecardpy}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True, choices=list(TOOLS))
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    data = Path(args.data)
    columns = json.loads((data / "columns.json").read_text())
    # column-major on disk, wrapped without a copy: each column contiguous, as read from Parquet
    X = pd.DataFrame(np.load(data / "X_train.npy"), columns=columns, copy=False)
    y = np.load(data / "y_train.npy").astype(int)
    X_test = pd.DataFrame(np.load(data / "X_test.npy", mmap_mode="r"), columns=columns, copy=False)
    y_test = np.load(data / "y_test.npy").astype(int)
    rss_loaded = peak_rss_mb()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_s, transform_s, woe, test_woe, iv, settings = TOOLS[args.tool](X, y, X_test)
        peak = peak_rss_mb()
        if iv is None:
            iv = iv_from_woe(woe, y)
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import roc_auc_score

        woe = woe[columns].astype(float).fillna(0.0)
        lr = LogisticRegression(max_iter=1000).fit(woe.to_numpy(), y)
        auc = roc_auc_score(y_test, lr.predict_proba(test_woe()[columns].astype(float).fillna(0.0).to_numpy())[:, 1])
    Path(args.out).write_text(json.dumps({"ok": True, "fit_s": fit_s[0], "transform_s": transform_s[0], "fit_cpu_s": fit_s[1],
                                          "transform_cpu_s": transform_s[1], "peak_mb": peak,
                                          "loaded_mb": rss_loaded, "iv": iv, "auc": float(auc), "settings": settings}))


if __name__ == "__main__":
    main()
