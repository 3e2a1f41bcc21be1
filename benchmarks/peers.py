"""Peer scorecard libraries on a given split: the peer side of benchmarks/quality.py.

Runs inside the separate peer venv ``.benchvenv`` (Python 3.11, pandas < 3, numpy < 2,
pinned in benchmarks/requirements-peers.txt), never in the project venv: toad and
scorecardpy do not support pandas 3 / numpy 2. Imports nothing from the project.

    .benchvenv/bin/python benchmarks/peers.py --spec SPEC.json --out OUT.json

SPEC.json: ``data`` (CSV path), ``target``, ``bad_values``, ``id`` (id column, or null:
the row position is the id, as the project does), ``features`` (the project's feature
list), ``ids`` (CSV with columns ``application_id,split``; split in dev / test / oot),
``peers`` (names to run). Each peer is fitted with its default settings on the rows the
project's development reads (``dev`` and ``validation``: peers need no held-out rows of
their own) and scores the test and oot rows. OUT.json: per peer ``{"ok": true, "seconds": fit+score
wall time (imports excluded), "version": ..., "settings": ..., "risk": {"test": [...], "oot": [...]}}`` with
``risk`` higher = more likely bad, in the order of the ids file; or ``{"ok": false,
"error": "..."}``. Metrics are computed by the caller, with the project's own functions,
so every model is measured the same way.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
import traceback
import warnings

import numpy as np
import pandas as pd


def load(spec: dict) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    raw = pd.read_csv(spec["data"])
    bad = {str(v) for v in spec["bad_values"]}
    raw["__target"] = raw[spec["target"]].astype(str).isin(bad).astype(int)
    if spec["id"]:
        raw["__id"] = raw[spec["id"]].astype(str)
    else:
        raw["__id"] = np.arange(len(raw)).astype(str)
    ids = pd.read_csv(spec["ids"], dtype={"application_id": str})
    frame = raw.set_index("__id")
    parts = {s: frame.loc[ids.loc[ids["split"] == s, "application_id"]] for s in ("test", "oot")}
    parts["dev"] = frame.loc[ids.loc[ids["split"].isin(["dev", "validation"]), "application_id"]]
    return frame, parts


def run_toad(dev: pd.DataFrame, others: dict[str, pd.DataFrame], features: list[str]) -> dict:
    """toad's usual steps, defaults: Combiner (chi merge) -> WOETransformer -> ScoreCard (LogisticRegression())."""
    import toad

    X, y = dev[features], dev["__target"]
    combiner = toad.transform.Combiner()
    combiner.fit(X, y)  # method='chi', toad's default stop rule
    transer = toad.transform.WOETransformer()
    woe = transer.fit_transform(combiner.transform(X), y)
    card = toad.ScoreCard(combiner=combiner, transer=transer)  # LogisticRegression() defaults inside
    card.fit(woe, y)
    risk = {k: (-np.asarray(card.predict(v[features]), dtype=float)).tolist() for k, v in others.items()}
    return {"version": toad.__version__, "risk": risk,
            "settings": "Combiner().fit(method='chi' default) + WOETransformer + ScoreCard() (LogisticRegression defaults)"}


def run_scorecardpy(dev: pd.DataFrame, others: dict[str, pd.DataFrame], features: list[str]) -> dict:
    """scorecardpy: woebin (defaults) -> woebin_ply -> LogisticRegression() -> sc.scorecard -> scorecard_ply."""
    import scorecardpy as sc
    from importlib.metadata import version
    from sklearn.linear_model import LogisticRegression

    dt = dev[features + ["__target"]].rename(columns={"__target": "target"})
    bins = sc.woebin(dt, y="target", x=features, print_step=0)
    woe = sc.woebin_ply(dt, bins, print_step=0)
    xcols = [c for c in woe.columns if c != "target"]
    lr = LogisticRegression().fit(woe[xcols], woe["target"])
    card = sc.scorecard(bins, lr, xcols)
    risk = {}
    for k, v in others.items():
        score = sc.scorecard_ply(v[features], card, print_step=0)["score"]
        risk[k] = (-score.to_numpy(dtype=float)).tolist()
    return {"version": version("scorecardpy"), "risk": risk,
            "settings": "woebin() defaults (tree, 8 bins, 5% min) + woebin_ply + LogisticRegression() + scorecard()"}


PEERS = {"toad": run_toad, "scorecardpy": run_scorecardpy}
MODULES = {"toad": ["toad"], "scorecardpy": ["scorecardpy", "sklearn.linear_model"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    _, parts = load(spec)
    others = {k: parts[k] for k in ("test", "oot") if len(parts[k])}
    results = {}
    for name in spec.get("peers", list(PEERS)):
        try:
            for module in MODULES[name]:  # imports are not part of the timed fit + score
                importlib.import_module(module)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = PEERS[name](parts["dev"], others, spec["features"])
            results[name] = {"ok": True, "seconds": time.perf_counter() - t0, **res}
        except Exception as exc:  # a peer failing is a result, not a crash
            tb = traceback.format_exc().strip().splitlines()
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}".strip()[:300],
                             "where": tb[-3] if len(tb) >= 3 else ""}
    with open(args.out, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
