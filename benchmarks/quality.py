"""Model quality against peer scorecard libraries on the two public datasets.

    .venv/bin/python benchmarks/quality.py [--datasets german_credit taiwan_credit_card_default]
                                           [--no-peers] [--rebuild-peer-env]

For german_credit and taiwan_credit_card_default (configs/<name>.yaml) it prints one table:
test AUC, KS and Gini of

* this project's WOE scorecard and XGBoost challenger, as the real job computes them:
  ``creditpipe run --config configs/<name>.yaml`` with a throw-away MLflow SQLite store and
  no DAGSTER_HOME; the numbers are read from the run's report ``metrics.json``
  (``candidates.<name>.test``) and ``summary.json``;
* optbinning's ``Scorecard`` with default settings (``BinningProcess(features)`` +
  ``LogisticRegression()``), in this venv (a project dependency);
* toad (Combiner -> WOETransformer -> ScoreCard, defaults) and scorecardpy (woebin ->
  woebin_ply -> LogisticRegression() -> scorecard), which need pandas < 3 / numpy < 2 and
  so run in a separate venv ``.benchvenv`` (Python 3.11, benchmarks/requirements-peers.txt,
  created once and cached) through benchmarks/peers.py;

every model fitted on the same development rows and scored on the same test rows: the
split is rebuilt with ``features.sample.build_modeling_sample`` from the config, checked
against the job's own holdout-2 ids (``oot_scores.csv``), and the row ids are handed to the
peers in a CSV. The project's models are also refitted in process on that split to time
them (and to check that the rebuilt split reproduces the job's test AUC). All metrics are
computed with ``models.metrics`` from each model's risk ranking (PD, or minus the score).

Columns: AUC / KS / Gini on test, dAUC and ratio against the project's scorecard, AUC on
the second random holdout (``oot`` split; these datasets have no dates), and fit + score
wall seconds (imports and the job's MLflow / report overhead excluded). Then the issue's
quality bar per dataset: scorecard AUC >= optbinning default - 0.005, and XGBoost AUC >=
scorecard AUC (PASS / FAIL). A peer that fails to install or run shows the reason in its row.
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

from features.binning import BinningSpec, WoeBinner  # noqa: E402
from features.flat_table import flat_table_outcomes  # noqa: E402
from features.loan_book import PII_COLUMNS  # noqa: E402
from features.pii import mask_pii  # noqa: E402
from features.sample import SampleDesign, build_modeling_sample  # noqa: E402
from features.selection import SelectionRules, select_features  # noqa: E402
from models import metrics  # noqa: E402
from models.candidate import CreditModel  # noqa: E402
from models.scorecard import WoeLogisticScorecard  # noqa: E402
from pipelines.assets.modeling import never_features  # noqa: E402
from pipelines.config import load_config  # noqa: E402
from pipelines.estimators import build_estimators  # noqa: E402
from pipelines.sources import read_flat_applications  # noqa: E402

DATASETS = ["german_credit", "taiwan_credit_card_default"]
PEER_VENV = ROOT / ".benchvenv"
PEER_REQS = ROOT / "benchmarks" / "requirements-peers.txt"
PEER_SCRIPT = ROOT / "benchmarks" / "peers.py"
PEER_PYTHON = os.environ.get("BENCH_PEER_PYTHON", "python3.11")
AUC_TOLERANCE = 0.005  # the bar: scorecard >= optbinning default - 0.005
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


def measure(y: np.ndarray, risk: np.ndarray) -> dict:
    return {"auc": metrics.auc(y, risk), "ks": metrics.ks(y, risk).statistic, "gini": metrics.gini(y, risk)}


def project_refit(cfg, sample: pd.DataFrame, features: list[str]) -> dict:
    """The modeling assets' library chain, timed per model (binning + selection counted in each)."""
    dev, test, oot = (sample[sample["split"] == s] for s in ("dev", "test", "oot"))
    t0 = time.perf_counter()
    binner = WoeBinner(BinningSpec(**cfg.binning.model_dump(exclude={"categorical"})), categorical=cfg.binning.categorical)
    binner.fit(dev[features], dev["target"])
    table = select_features(binner.summary().set_index("name")["iv"], binner.transform(dev),
                            SelectionRules(**cfg.selection.model_dump()))
    shared = time.perf_counter() - t0
    selected = table.loc[table["selected"], "variable"].tolist()
    out = {}
    for name, est in build_estimators(cfg, binner, selected).items():
        t0 = time.perf_counter()
        if isinstance(est, WoeLogisticScorecard):
            est.fit(dev[features], dev["target"])
        else:
            est.fit(dev[features], dev["target"], test[features], test["target"])
        m = cfg.models
        model = CreditModel(name, est, m.calibration, m.grades, m.reason_codes, m.labels).fit_calibration(
            dev[features], dev["target"])
        risk = {"test": model.predict_proba(test[features]), "oot": model.predict_proba(oot[features])}
        out[name] = {"seconds": shared + time.perf_counter() - t0, "risk": risk, "n_selected": len(selected)}
    return out


def optbinning_default(sample: pd.DataFrame, features: list[str]) -> dict:
    """optbinning Scorecard, defaults: BinningProcess(variable_names) + LogisticRegression()."""
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegression

    dev, test, oot = (sample[sample["split"] == s] for s in ("dev", "test", "oot"))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        card = Scorecard(binning_process=BinningProcess(variable_names=list(features)), estimator=LogisticRegression())
        card.fit(dev[features], dev["target"].to_numpy())
        risk = {k: card.predict_proba(v[features])[:, 1] for k, v in (("test", test), ("oot", oot))}
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
    y = {s: sample.loc[sample["split"] == s, "target"].to_numpy() for s in ("test", "oot")}
    cands = job["metrics"]["candidates"]
    refit = project_refit(cfg, sample, features)
    rows = []
    for cand, label in (("scorecard", "project WOE scorecard"), ("xgboost", "project XGBoost challenger")):
        if cand not in cands:
            rows.append({"model": label, "error": "not in the job's candidates (disabled in the config?)"})
            continue
        ours = measure(y["test"], refit[cand]["risk"]["test"])
        diff = ours["auc"] - cands[cand]["test"]["auc"]
        if abs(diff) > 1e-9:  # the table shows the job's numbers; the refit only times the model
            notes.append(f"{'WARNING ' if abs(diff) > 1e-3 else 'note: '}{name}/{cand}: in-process refit test AUC "
                         f"{ours['auc']:.6f} vs job {cands[cand]['test']['auc']:.6f} (diff {diff:+.1e})")
        rows.append({"model": label, **{k: cands[cand]["test"][k] for k in ("auc", "ks", "gini")},
                     "auc_h2": cands[cand]["oot"]["auc"], "seconds": refit[cand]["seconds"]})
    try:
        ob = optbinning_default(sample, features)
        rows.append({"model": "optbinning Scorecard (defaults)", **measure(y["test"], ob["risk"]["test"]),
                     "auc_h2": metrics.auc(y["oot"], ob["risk"]["oot"]), "seconds": ob["seconds"]})
    except Exception as exc:  # noqa: BLE001 - a peer failing is a row, not a crash
        rows.append({"model": "optbinning Scorecard (defaults)", "error": f"{type(exc).__name__}: {exc}"[:120]})
    peers = run_peers(py, cfg, sample, features, tmp) if py else {}
    versions = {}
    for peer, label in (("toad", "toad ScoreCard (defaults)"), ("scorecardpy", "scorecardpy scorecard (defaults)")):
        res = peers.get(peer, {"ok": False, "error": peer_reason or "not run"})
        if not res.get("ok"):
            rows.append({"model": label, "error": res.get("error", "?")})
            continue
        versions[peer] = res.get("version")
        rows.append({"model": label, **measure(y["test"], np.asarray(res["risk"]["test"])),
                     "auc_h2": metrics.auc(y["oot"], np.asarray(res["risk"]["oot"])), "seconds": res["seconds"]})
    sizes = sample["split"].value_counts()
    return {"name": name, "rows": rows, "notes": notes, "versions": versions, "job_seconds": job["seconds"],
            "registered": (job["summary"]["model_name"], job["summary"]["model_version"],
                           job["metrics"].get("chosen_candidate"), job["summary"]["metrics"]["test"]["auc"]),
            "sizes": {s: (int(sizes.get(s, 0)), int(sample.loc[sample["split"] == s, "target"].sum()))
                      for s in ("dev", "test", "oot")},
            "n_features": len(features), "n_selected": refit["scorecard"]["n_selected"]}


# --------------------------------------------------------------------------- printing


def fmt(results: list[dict]) -> str:
    head = f"{'dataset':<27} {'model':<33} {'AUC':>6} {'KS':>6} {'Gini':>6} {'dAUC':>7} {'ratio':>6} {'AUC h2':>7} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    bars = []
    for r in results:
        base = next((x for x in r["rows"] if x["model"].startswith("project WOE") and "auc" in x), None)
        for x in r["rows"]:
            if "error" in x:
                lines.append(f"{r['name']:<27} {x['model']:<33} ERROR: {x['error']}")
                continue
            d = f"{x['auc'] - base['auc']:+7.4f}" if base else f"{'':>7}"
            q = f"{x['auc'] / base['auc']:6.3f}" if base else f"{'':>6}"
            lines.append(f"{r['name']:<27} {x['model']:<33} {x['auc']:6.4f} {x['ks']:6.4f} {x['gini']:6.4f} {d} {q}"
                         f" {x['auc_h2']:7.4f} {x['seconds']:8.2f}")
        lines.append("")
        by = {x["model"]: x for x in r["rows"] if "auc" in x}
        sc_ = by.get("project WOE scorecard")
        ob = by.get("optbinning Scorecard (defaults)")
        xg = by.get("project XGBoost challenger")
        if sc_ and ob:
            ok = sc_["auc"] >= ob["auc"] - AUC_TOLERANCE
            b1 = f"scorecard {sc_['auc']:.4f} >= optbinning {ob['auc']:.4f} - {AUC_TOLERANCE} {'PASS' if ok else 'FAIL'}"
        else:
            ok, b1 = False, "scorecard vs optbinning: FAIL (a model is missing)"
        if sc_ and xg:
            ok2 = xg["auc"] >= sc_["auc"]
            b2 = f"XGBoost {xg['auc']:.4f} >= scorecard {sc_['auc']:.4f} {'PASS' if ok2 else 'FAIL'}"
        else:
            ok2, b2 = False, "XGBoost vs scorecard: FAIL (a model is missing)"
        bars.append(f"  {r['name']:<27} {'PASS' if ok and ok2 else 'FAIL'}:  {b1};  {b2}")
    lines.append("Quality bar (issue): project scorecard test AUC >= optbinning default - 0.005, "
                 "and XGBoost test AUC >= project scorecard")
    lines += bars
    lines.append("")
    for r in results:
        s = r["sizes"]
        mname, mver, chosen, mauc = r["registered"]
        lines.append(f"{r['name']}: dev {s['dev'][0]} ({s['dev'][1]} bad) / test {s['test'][0]} ({s['test'][1]} bad) / "
                     f"holdout-2 {s['oot'][0]} ({s['oot'][1]} bad); {r['n_features']} features, {r['n_selected']} in the "
                     f"scorecard; creditpipe run {r['job_seconds']:.1f} s wall, registered {mname} v{mver} "
                     f"({chosen}, test AUC {mauc:.4f})")
        lines += [f"  {n}" for n in r["notes"]]
    versions = {}
    for r in results:
        versions.update(r["versions"])
    from importlib.metadata import version
    peer_v = ", ".join(f"{k} {v}" for k, v in versions.items())
    lines.append(f"Peers: optbinning {version('optbinning')} (this venv); {peer_v or 'toad/scorecardpy not run'} "
                 "(.benchvenv, pandas 2 / numpy 1). Defaults: optbinning BinningProcess(features) + LogisticRegression(); "
                 "toad Combiner(chi) + WOETransformer + ScoreCard(); scorecardpy woebin + woebin_ply + LogisticRegression() + scorecard().")
    lines.append("AUC/KS/Gini on the test split (models.metrics); dAUC, ratio vs project scorecard; AUC h2 = second random "
                 "holdout (no dates); seconds = fit + score (binning + selection included for project models).")
    lines.append("Note: the project's XGBoost uses the test split for early stopping and its parameter search, "
                 "and the job picks the registered candidate by test AUC.")
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
