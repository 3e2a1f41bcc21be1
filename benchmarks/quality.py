"""The registered champion against peers on data it never saw (German and Taiwan credit).

    .venv/bin/python benchmarks/quality.py [--datasets german_credit taiwan_credit_card_default]
                                           [--no-peers] [--rebuild-peer-env]

For german_credit and taiwan_credit_card_default (configs/<name>.yaml) it prints, for the
test split and the second random holdout (``h2``: these datasets have no dates, so the
out-of-time split is a second holdout), AUC with its 95% DeLong interval, KS and Gini of

* the **champion**: the candidate ``creditpipe run --config configs/<name>.yaml`` registers
  (throw-away MLflow SQLite store, no DAGSTER_HOME), chosen on the validation rows; and the
  project's scorecard and XGBoost challenger. Their scores come from an in-process rerun of
  the same library chain (:class:`models.protocol.DevelopmentProtocol`), checked to reproduce
  the job's test AUC to 1e-9;
* **plain XGBoost** (``XGBClassifier()`` defaults, native categories), **optbinning**
  ``Scorecard`` (``BinningProcess(features)`` + ``LogisticRegression()``), in this venv;
* **toad** and **scorecardpy** (defaults), which need pandas < 3 / numpy < 2 and so run in
  the separate venv ``.benchvenv`` (benchmarks/requirements-peers.txt) via benchmarks/peers.py.

Same rows for everyone: the project fits on ``dev`` and uses ``validation`` for early
stopping, the search, calibration and the choice; every peer is fitted on ``dev`` +
``validation`` (they need no held-out rows). Nobody sees a test or h2 row before scoring,
and nothing is tuned on them. All metrics come from ``models.discrimination``, from each model's
risk ranking (PD, or minus the score).

Bars per dataset and holdout: champion AUC >= the best peer's AUC; project scorecard AUC >=
optbinning's (PASS / FAIL).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features.errors import UninformativeModelError  # noqa: E402
from features.flat_table import flat_table_outcomes  # noqa: E402
from features.loan_book import PII_COLUMNS  # noqa: E402
from features.pii import mask_pii  # noqa: E402
from features.sample import SampleDesign, build_modeling_sample  # noqa: E402
from models import discrimination  # noqa: E402
from pipelines.assets.modeling import never_features  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.estimators import build_estimators, build_protocol, fit_binner, selected_features, selection_table  # noqa: E402
from pipelines.sources import read_flat_applications  # noqa: E402

DATASETS = ["german_credit", "taiwan_credit_card_default"]
PEER_VENV = ROOT / ".benchvenv"
PEER_REQS = ROOT / "benchmarks" / "requirements-peers.txt"
PEER_SCRIPT = ROOT / "benchmarks" / "peers.py"
PEER_PYTHON = os.environ.get("BENCH_PEER_PYTHON", "python3.11")
CITATION = ("Data: UCI Machine Learning Repository, CC BY 4.0 -- Statlog (German Credit Data), Hofmann 1994; "
            "Default of Credit Card Clients, Yeh & Lien 2009 (SEX, MARRIAGE, AGE excluded).")


# --------------------------------------------------------------------------- the real job


def run_job(config: Path, tmp: Path) -> dict:
    """``creditpipe run`` as a user runs it; returns summary, report metrics and wall seconds."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp / 'mlflow.db'}"
    workdir = tmp / "work"
    exe = Path(sys.executable).with_name("creditpipe")
    cmd = [str(exe) if exe.exists() else "creditpipe", "run", "--config", str(config), "--workdir", str(workdir)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"creditpipe run failed ({proc.returncode}): {(proc.stderr or proc.stdout)[-800:]}")
    summary = json.loads((workdir / "summary.json").read_text())
    report = Path(summary["report_path"]).parent
    return {"summary": summary, "metrics": json.loads((report / "metrics.json").read_text()),
            "oot_scores": pd.read_csv(report / "oot_scores.csv", dtype={"application_id": str}), "seconds": seconds}


# --------------------------------------------------------------------------- the split


def rebuild_sample(cfg) -> tuple[pd.DataFrame, list[str]]:
    """The job's modeling sample, through the same library calls the assets make."""
    apps, _ = read_flat_applications(cfg.source)
    apps = mask_pii(apps, PII_COLUMNS, os.environ.get("CREDITPIPE_PII_SALT", "credit-pipeline"))
    outcomes = flat_table_outcomes(apps, cfg.source.target, cfg.source.bad_values, id="application_id",
                                   date="application_date" if cfg.source.date else None)
    return build_modeling_sample(apps, outcomes, SampleDesign(**cfg.sample.model_dump()),
                                 never_features=never_features(cfg), performance_window=None)


# --------------------------------------------------------------------------- models


HOLDOUTS = ("test", "oot")


def measure(y: np.ndarray, risk: np.ndarray) -> dict:
    dl = discrimination.auc_delong_ci(y, risk)
    return {"auc": dl.auc, "lo": dl.lower, "hi": dl.upper, "ks": discrimination.ks(y, risk).statistic, "gini": 2 * dl.auc - 1}


def _parts(sample: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The rows development reads (dev + validation) and the holdouts."""
    train = sample[sample["split"].isin(["dev", "validation"])]
    return train, {s: sample[sample["split"] == s] for s in HOLDOUTS}


def project_refit(cfg, sample: pd.DataFrame, features: list[str]) -> dict:
    """The modeling assets' library chain (binning, selection, protocol fit), timed per model."""
    fit_rows = sample[sample["split"] == "dev"]
    _, holdouts = _parts(sample)
    t0 = time.perf_counter()
    binner = fit_binner(cfg, fit_rows, features)
    selected = selected_features(selection_table(cfg, binner, fit_rows))
    shared = time.perf_counter() - t0
    protocol, out = build_protocol(cfg), {}
    for name, est in build_estimators(cfg, binner, selected).items():
        t0 = time.perf_counter()
        try:  # as the job's fit_candidates: an uninformative candidate is dropped with its reason
            model = protocol.fit({name: est}, sample, features)[name]
        except UninformativeModelError as exc:
            out[name] = {"dropped": str(exc)}
            continue
        risk = {s: model.predict_proba(h[features]) for s, h in holdouts.items()}
        out[name] = {"seconds": shared + time.perf_counter() - t0, "risk": risk, "model": model}
    kept = {k: v["model"] for k, v in out.items() if "model" in v}
    out["__chosen__"] = protocol.choose(kept) if kept else None
    out["__n_selected__"] = len(selected)
    return out


def plain_xgboost(sample: pd.DataFrame, features: list[str], seed: int) -> dict:
    """XGBClassifier() with its defaults; text columns as pandas categories (XGBoost's native categorical support)."""
    import xgboost as xgb

    train, holdouts = _parts(sample)

    def frame(X: pd.DataFrame) -> pd.DataFrame:
        out = X.copy()
        for c in out.columns:
            if not pd.api.types.is_numeric_dtype(out[c]) or pd.api.types.is_bool_dtype(out[c]):
                out[c] = pd.Categorical(out[c].astype(str), categories=sorted(train[c].astype(str).unique()))
        return out

    t0 = time.perf_counter()
    model = xgb.XGBClassifier(enable_categorical=True, random_state=seed, n_jobs=2)
    model.fit(frame(train[features]), train["target"].to_numpy())
    risk = {s: model.predict_proba(frame(h[features]))[:, 1] for s, h in holdouts.items()}
    return {"seconds": time.perf_counter() - t0, "risk": risk}


def optbinning_default(sample: pd.DataFrame, features: list[str]) -> dict:
    """optbinning Scorecard, defaults: BinningProcess(variable_names) + LogisticRegression()."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    train, holdouts = _parts(sample)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card = Scorecard(binning_process=BinningProcess(variable_names=list(features)), estimator=LogisticRegression())
        card.fit(train[features], train["target"].to_numpy())
        risk = {s: card.predict_proba(h[features])[:, 1] for s, h in holdouts.items()}
    return {"seconds": time.perf_counter() - t0, "risk": risk}


# --------------------------------------------------------------------------- peer venv


def peer_env(rebuild: bool) -> tuple[Path | None, str]:
    """``.benchvenv`` with the pinned peers, created once; (python, "") or (None, reason)."""
    py = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".installed"
    want = hashlib.sha256(PEER_REQS.read_bytes()).hexdigest()
    if not rebuild and py.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return py, ""
    base = shutil.which(PEER_PYTHON)
    if base is None:
        return None, f"{PEER_PYTHON} not found on PATH (set BENCH_PEER_PYTHON)"
    print(f"creating the peer venv {PEER_VENV.name} ({PEER_PYTHON}, {PEER_REQS.name}); cached for later runs ...",
          file=sys.stderr, flush=True)
    if PEER_VENV.exists():
        shutil.rmtree(PEER_VENV)
    steps = [[base, "-m", "venv", str(PEER_VENV)],
             [str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
             [str(py), "-m", "pip", "install", "--quiet", "-r", str(PEER_REQS)]]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            err = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip() and "is ignored" not in ln]
            return None, f"peer venv: '{' '.join(cmd[-3:])}' failed: {' | '.join(err[-2:])[:200]}"
    (PEER_VENV / ".gitignore").write_text("*\n")
    stamp.write_text(want)
    return py, ""


def run_peers(py: Path, cfg, sample: pd.DataFrame, features: list[str], tmp: Path) -> dict:
    ids = tmp / "split_ids.csv"
    sample[["application_id", "split"]].to_csv(ids, index=False)
    src = cfg.source
    spec = {"data": str(Path(src.path).resolve()), "target": src.target, "bad_values": list(src.bad_values),
            "id": src.id, "features": list(features), "ids": str(ids), "peers": ["toad", "scorecardpy"]}
    (tmp / "spec.json").write_text(json.dumps(spec))
    out = tmp / "peers.json"
    proc = subprocess.run([str(py), str(PEER_SCRIPT), "--spec", str(tmp / "spec.json"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0 or not out.exists():
        reason = (proc.stderr or proc.stdout).strip().splitlines()
        return {p: {"ok": False, "error": f"peers.py failed: {reason[-1][:200] if reason else proc.returncode}"}
                for p in spec["peers"]}
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- one dataset


def bench_dataset(name: str, py: Path | None, peer_reason: str, tmp: Path) -> dict:
    cfg_path = ROOT / "configs" / f"{name}.yaml"
    cwd = os.getcwd()
    os.chdir(ROOT)  # config paths are relative to the repository root
    try:
        cfg = load_config(cfg_path)
        job = run_job(cfg_path, tmp)
        sample, features = rebuild_sample(cfg)
    finally:
        os.chdir(cwd)
    notes = []
    job_oot = set(job["oot_scores"].loc[job["oot_scores"]["split"] == "oot", "application_id"])
    ours_oot = set(sample.loc[sample["split"] == "oot", "application_id"].astype(str))
    if job_oot != ours_oot:
        notes.append(f"WARNING {name}: rebuilt holdout-2 ids differ from the job's ({len(job_oot ^ ours_oot)} rows)")
    y = {s: sample.loc[sample["split"] == s, "target"].to_numpy() for s in HOLDOUTS}
    cands, chosen = job["metrics"]["candidates"], job["metrics"].get("chosen_candidate")
    refit = project_refit(cfg, sample, features)
    if refit["__chosen__"] != chosen:
        notes.append(f"WARNING {name}: in-process choice {refit['__chosen__']} vs the job's {chosen}")
    rows = []

    def add(label: str, kind: str, risk: dict, seconds: float) -> None:
        rows.append({"model": label, "kind": kind, "seconds": seconds, **{s: measure(y[s], np.asarray(risk[s])) for s in HOLDOUTS}})

    for cand, label in (("scorecard", "project WOE scorecard"), ("xgboost", "project XGBoost challenger")):
        if "dropped" in refit.get(cand, {}):
            rows.append({"model": label, "error": f"dropped as uninformative: {refit[cand]['dropped']}"[:120]})
            continue
        if cand not in cands:
            rows.append({"model": label, "error": "not in the job's candidates (disabled in the config?)"})
            continue
        diff = measure(y["test"], refit[cand]["risk"]["test"])["auc"] - cands[cand]["test"]["auc"]
        if abs(diff) > 1e-9:
            notes.append(f"WARNING {name}/{cand}: in-process rerun test AUC differs from the job's by {diff:+.1e}")
        add(label + (" = CHAMPION" if cand == chosen else ""), "champion" if cand == chosen else "project",
            refit[cand]["risk"], refit[cand]["seconds"])
    for label, run in (("plain XGBoost (defaults)", lambda: plain_xgboost(sample, features, cfg.sample.seed)),
                       ("optbinning Scorecard (defaults)", lambda: optbinning_default(sample, features))):
        try:
            res = run()
            add(label, "peer", res["risk"], res["seconds"])
        except Exception as exc:  # noqa: BLE001 - a peer failing is a row, not a crash
            rows.append({"model": label, "error": f"{type(exc).__name__}: {exc}"[:120]})
    peers = run_peers(py, cfg, sample, features, tmp) if py else {}
    versions = {}
    for peer, label in (("toad", "toad ScoreCard (defaults)"), ("scorecardpy", "scorecardpy scorecard (defaults)")):
        res = peers.get(peer, {"ok": False, "error": peer_reason or "not run"})
        if not res.get("ok"):
            rows.append({"model": label, "error": res.get("error", "?")})
            continue
        versions[peer] = res.get("version")
        add(label, "peer", res["risk"], res["seconds"])
    sizes = sample["split"].value_counts()
    return {"name": name, "rows": rows, "notes": notes, "versions": versions, "job_seconds": job["seconds"],
            "registered": (job["summary"]["model_name"], job["summary"]["model_version"], chosen),
            "sizes": {s: (int(sizes.get(s, 0)), int(sample.loc[sample["split"] == s, "target"].sum()))
                      for s in ("dev", "validation", *HOLDOUTS)},
            "n_features": len(features), "n_selected": refit["__n_selected__"]}


# --------------------------------------------------------------------------- printing


def fmt(results: list[dict]) -> str:
    cell = "{auc:6.4f} [{lo:6.4f}-{hi:6.4f}] {ks:6.4f}"
    head = (f"{'dataset':<27} {'model':<42} {'test AUC [95% DeLong]   KS':<33} {'h2 AUC [95% DeLong]     KS':<33}"
            f" {'seconds':>8}")
    lines = [head, "-" * len(head)]
    bars = []
    for r in results:
        for x in r["rows"]:
            if "error" in x:
                lines.append(f"{r['name']:<27} {x['model']:<42} ERROR: {x['error']}")
                continue
            lines.append(f"{r['name']:<27} {x['model']:<42} {cell.format(**x['test']):<33} {cell.format(**x['oot']):<33}"
                         f" {x['seconds']:8.2f}")
        lines.append("")
        ok_rows = [x for x in r["rows"] if "error" not in x]
        champ = next((x for x in ok_rows if x["kind"] == "champion"), None)
        peers = [x for x in ok_rows if x["kind"] == "peer"]
        card = next((x for x in ok_rows if x["model"].startswith("project WOE scorecard")), None)
        opt = next((x for x in ok_rows if x["model"].startswith("optbinning")), None)
        for split, label in (("test", "test"), ("oot", "h2")):
            if champ and peers:
                best = max(peers, key=lambda x: x[split]["auc"])
                ok = champ[split]["auc"] >= best[split]["auc"]
                b1 = (f"champion {champ[split]['auc']:.4f} >= best peer {best[split]['auc']:.4f} ({best['model']}) "
                      f"{'PASS' if ok else 'FAIL'}")
            else:
                b1 = "champion vs peers: FAIL (a model is missing)"
            if card and opt:
                ok2 = card[split]["auc"] >= opt[split]["auc"]
                b2 = f"scorecard {card[split]['auc']:.4f} >= optbinning {opt[split]['auc']:.4f} {'PASS' if ok2 else 'FAIL'}"
            else:
                b2 = "scorecard vs optbinning: FAIL (a model is missing)"
            bars.append(f"  {r['name']:<27} {label:<4}  {b1};  {b2}")
    lines.append("Bars (issue #9): champion AUC >= best peer AUC, project scorecard AUC >= optbinning's, on every holdout")
    lines += bars
    lines.append("")
    for r in results:
        s = r["sizes"]
        mname, mver, chosen = r["registered"]
        lines.append(f"{r['name']}: fit {s['dev'][0]} ({s['dev'][1]} bad) / validation {s['validation'][0]} "
                     f"({s['validation'][1]} bad) / test {s['test'][0]} ({s['test'][1]} bad) / h2 {s['oot'][0]} "
                     f"({s['oot'][1]} bad); {r['n_features']} features, {r['n_selected']} selected for the scorecard; "
                     f"creditpipe run {r['job_seconds']:.1f} s wall, registered {mname} v{mver} ({chosen}, chosen on validation)")
        lines += [f"  {n}" for n in r["notes"]]
    versions = {}
    for r in results:
        versions.update(r["versions"])
    from importlib.metadata import version
    peer_v = ", ".join(f"{k} {v}" for k, v in versions.items())
    lines.append(f"Peers: xgboost {version('xgboost')}, optbinning {version('optbinning')} (this venv); "
                 f"{peer_v or 'toad/scorecardpy not run'} (.benchvenv). Peers fit on fit + validation rows with defaults.")
    lines.append("h2 = second random holdout (no dates). seconds = fit + score (binning + selection included for project models).")
    lines.append(CITATION)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=DATASETS, choices=DATASETS)
    ap.add_argument("--no-peers", action="store_true", help="skip toad / scorecardpy (no peer venv)")
    ap.add_argument("--rebuild-peer-env", action="store_true", help="recreate .benchvenv")
    args = ap.parse_args()
    py, reason = (None, "skipped (--no-peers)") if args.no_peers else peer_env(args.rebuild_peer_env)
    results = []
    with tempfile.TemporaryDirectory(prefix="creditpipe-quality-") as tmp:
        for name in args.datasets:
            print(f"{name}: running creditpipe run, the in-process refit and the peers ...", file=sys.stderr, flush=True)
            d = Path(tmp) / name
            d.mkdir()
            results.append(bench_dataset(name, py, reason, d))
    print(fmt(results))


if __name__ == "__main__":
    main()
