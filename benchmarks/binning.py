"""Binning speed, memory and quality: the project's WoeBinner against plain optbinning, toad and scorecardpy.

    .venv/bin/python benchmarks/binning.py                 # 1M x 40 generated table + Taiwan, all tools
    .venv/bin/python benchmarks/binning.py --rows 100000   # smaller generated table while developing

Datasets: a generated table (default 1,000,000 rows × 40 numeric columns, 8 % bad, 5 %
missing; 300,000 more rows from the same generator are the test rows) and Taiwan credit
card default (UCI; stratified 70 / 30 split, seed 0; SEX, MARRIAGE, AGE left out as in
quality.py). Every tool runs in its own subprocess (benchmarks/binning_worker.py) with a
time limit (default 10 minutes; 30 for plain optbinning, the reference of the speed target): ``creditpipe`` (WoeBinner defaults) and ``optbinning``
(``BinningProcess`` defaults) in the project venv, ``toad`` (``Combiner(method="chi")`` +
``WOETransformer``) and ``scorecardpy`` (``woebin`` + ``woebin_ply``) in ``.benchvenv``
(created by benchmarks/quality.py's peer_env; pandas 2 / numpy 1).

Per tool: fit seconds (train rows), transform seconds (train rows), wall and CPU (the
CPU seconds of its process: a shared machine makes wall time also count waits), peak RSS of its
process after fit + transform (data and libraries included), total IV (the tool's own IV;
toad's from its WOE groups), the largest relative IV difference per variable against
optbinning, and the test AUC of ``LogisticRegression(max_iter=1000)`` on the tool's WOE.
Targets: fit + transform of the generated table >= 10x faster than optbinning in the same
run and <= 1.5 GB peak; IV per variable within 2 % of optbinning's; Taiwan AUC not below
the best peer's by more than 0.002.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "benchmarks" / "binning_worker.py"
PROJECT_PY = Path(sys.executable)
TAIWAN = Path(os.environ.get("CREDITPIPE_DATASETS", "/work/shared/datasets")) / "taiwan_credit_card_default.csv"
PROJECT_TOOLS = ("creditpipe", "optbinning")
PEER_TOOLS = ("toad", "scorecardpy")


def generate(rows: int, columns: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A credit-like table: every column a noisy, differently shaped view of one risk factor; 8 % bad, 5 % missing."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(rows)
    X = np.empty((rows, columns))
    for j in range(columns):
        strength = 0.15 + 0.6 * (j % 8) / 7  # IV from weak to strong
        v = strength * z + rng.standard_normal(rows)
        shape = j % 4
        if shape == 1:
            v = np.exp(v)  # skewed, like income or balances
        elif shape == 2:
            v = np.round(v * 8)  # ordinal counts
        elif shape == 3:
            v = v ** 2 * np.sign(v)  # heavy tails
        v[rng.random(rows) < 0.05] = np.nan
        X[:, j] = v
    y = (rng.random(rows) < 1 / (1 + np.exp(-(-2.75 + 0.9 * z)))).astype(np.int8)
    return X, y


def write_dataset(path: Path, X_train, y_train, X_test, y_test, columns) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, arr in (("X_train", X_train), ("y_train", y_train), ("X_test", X_test), ("y_test", y_test)):
        np.save(path / f"{name}.npy", np.asfortranarray(arr) if arr.ndim == 2 else arr)
    (path / "columns.json").write_text(json.dumps(list(columns)))
    return path


def taiwan_split(path: Path) -> tuple:
    frame = pd.read_csv(path)
    y = frame["default_next_month"].to_numpy().astype(np.int8)
    X = frame.drop(columns=["ID", "default_next_month", "SEX", "MARRIAGE", "AGE"])
    rng = np.random.default_rng(0)
    test = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):  # stratified 30 % test
        idx = np.flatnonzero(y == cls)
        test[rng.permutation(idx)[: round(0.3 * len(idx))]] = True
    Xv = X.to_numpy(dtype=float)
    return Xv[~test], y[~test], Xv[test], y[test], list(X.columns)


def run_tool(python: Path, tool: str, data: Path, timeout: float) -> dict:
    out = data / f"{tool}.json"
    start = time.perf_counter()
    try:
        proc = subprocess.run([str(python), str(WORKER), "--tool", tool, "--data", str(data), "--out", str(out)],
                              cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"did not finish in {timeout / 60:.0f} min (fit + transform)"}
    if proc.returncode != 0 or not out.exists():
        last = (proc.stderr or proc.stdout).strip().splitlines()
        return {"ok": False, "error": f"failed: {last[-1][:150] if last else proc.returncode}"}
    res = json.loads(out.read_text())
    res["wall_s"] = time.perf_counter() - start
    return res


def fmt(dataset: str, rows: int, results: dict[str, dict]) -> list[dict]:
    ref = results.get("optbinning", {})
    out = []
    for tool, r in results.items():
        if not r.get("ok"):
            out.append({"dataset": dataset, "tool": tool, "fit s": "-", "transform s": "-", "fit+transform s": "-",
                        "CPU s": "-", "speed-up vs optbinning (wall / CPU)": "-", "peak RSS MB": "-", "total IV": "-", "max |dIV|/IV vs optbinning": "-",
                        "test AUC (logistic on WOE)": "-", "note": r["error"]})
            continue
        total, cpu = r["fit_s"] + r["transform_s"], r["fit_cpu_s"] + r["transform_cpu_s"]
        speed = (ref["fit_s"] + ref["transform_s"]) / total if ref.get("ok") else float("nan")
        speed_cpu = (ref["fit_cpu_s"] + ref["transform_cpu_s"]) / cpu if ref.get("ok") else float("nan")
        div = "-"
        if ref.get("ok"):
            rel = [abs(r["iv"][k] - v) / v for k, v in ref["iv"].items() if v > 0]
            div = f"{max(rel):.2%}"
        out.append({"dataset": dataset, "tool": tool, "fit s": f"{r['fit_s']:.2f}", "transform s": f"{r['transform_s']:.2f}",
                    "fit+transform s": f"{total:.2f}", "CPU s": f"{cpu:.2f}",
                    "speed-up vs optbinning (wall / CPU)": f"{speed:.1f}x / {speed_cpu:.1f}x",
                    "peak RSS MB": f"{r['peak_mb']:.0f}", "total IV": f"{sum(r['iv'].values()):.4f}",
                    "max |dIV|/IV vs optbinning": div, "test AUC (logistic on WOE)": f"{r['auc']:.4f}", "note": ""})
    return out


def verdicts(synthetic: dict, taiwan: dict) -> list[str]:
    lines = []
    ours, ref = synthetic.get("creditpipe", {}), synthetic.get("optbinning", {})
    if ours.get("ok") and ref.get("ok"):
        speed = (ref["fit_s"] + ref["transform_s"]) / (ours["fit_s"] + ours["transform_s"])
        cpu = (ref["fit_cpu_s"] + ref["transform_cpu_s"]) / (ours["fit_cpu_s"] + ours["transform_cpu_s"])
        lines.append(f"{'PASS' if speed >= 10 else 'FAIL'}  generated table: fit + transform {speed:.1f}x faster than "
                     f"optbinning in wall time, {cpu:.1f}x in CPU time (target >= 10x)")
        lines.append(f"{'PASS' if ours['peak_mb'] <= 1536 else 'FAIL'}  generated table: peak RSS {ours['peak_mb']:.0f} MB "
                     "(target <= 1536 MB)")
    for name, res in (("generated table", synthetic), ("Taiwan", taiwan)):
        o, r = res.get("creditpipe", {}), res.get("optbinning", {})
        if o.get("ok") and r.get("ok"):
            rel = {k: abs(o["iv"][k] - v) / v for k, v in r["iv"].items() if v > 0}
            worst = max(rel, key=rel.get)
            lines.append(f"{'PASS' if rel[worst] <= 0.02 else 'FAIL'}  {name}: IV per variable within "
                         f"{rel[worst]:.2%} of optbinning's (worst {worst}; target <= 2%)")
    peers = [r["auc"] for t, r in taiwan.items() if t in PEER_TOOLS and r.get("ok")]
    if taiwan.get("creditpipe", {}).get("ok") and peers:
        gap = taiwan["creditpipe"]["auc"] - max(peers)
        lines.append(f"{'PASS' if gap >= -0.002 else 'FAIL'}  Taiwan: logistic AUC {taiwan['creditpipe']['auc']:.4f} vs best "
                     f"peer {max(peers):.4f} (difference {gap:+.4f}; target >= -0.002)")
    elif taiwan.get("creditpipe", {}).get("ok"):
        lines.append("n/a   Taiwan: no peer finished, AUC target not checked")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated table (train)")
    ap.add_argument("--columns", type=int, default=40)
    ap.add_argument("--seed", type=int, default=20261202)
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per peer tool and dataset")
    ap.add_argument("--reference-timeout", type=float, default=1800.0,
                    help="seconds for plain optbinning, the reference of the speed target (a shared machine can be slow)")
    ap.add_argument("--tools", default=",".join(PROJECT_TOOLS + PEER_TOOLS))
    ap.add_argument("--datasets", default="generated,taiwan")
    args = ap.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    load_before = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} "
          "(shared machine)", flush=True)
    peer_py, peer_reason = None, "not asked"
    if any(t in PEER_TOOLS for t in tools):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        sys.path.insert(0, str(ROOT))
        from quality import peer_env  # the one definition of the peer venv

        peer_py, peer_reason = peer_env(False)
    rows, all_results = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-binning-") as tmp:
        for dataset in [d.strip() for d in args.datasets.split(",") if d.strip()]:
            if dataset == "generated":
                X, y = generate(args.rows + 300_000, args.columns, args.seed)
                data = write_dataset(Path(tmp) / dataset, X[: args.rows], y[: args.rows], X[args.rows:], y[args.rows:],
                                     [f"x{j:02d}" for j in range(args.columns)])
                label, n = f"generated {args.rows:,} x {args.columns}", args.rows
                del X, y
            else:
                Xtr, ytr, Xte, yte, cols = taiwan_split(TAIWAN)
                data = write_dataset(Path(tmp) / dataset, Xtr, ytr, Xte, yte, cols)
                label, n = f"Taiwan {len(ytr):,} x {len(cols)}", len(ytr)
            results = {}
            for tool in tools:
                python = PROJECT_PY if tool in PROJECT_TOOLS else peer_py
                print(f"  {label}: {tool} ...", flush=True)
                limit = args.reference_timeout if tool == "optbinning" else args.timeout
                results[tool] = (run_tool(python, tool, data, limit) if python is not None
                                 else {"ok": False, "error": f"peer venv unavailable: {peer_reason}"})
            all_results[dataset] = results
            rows += fmt(label, n, results)
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 20, "display.max_colwidth", 60):
        print()
        print(table.to_string(index=False))
    print()
    for line in verdicts(all_results.get("generated", {}), all_results.get("taiwan", {})):
        print(line)
    load_after = os.getloadavg()
    print(f"\nload average at the end {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; settings: "
          + "; ".join(f"{t}: {r['settings']}" for t, r in next(iter(all_results.values()), {}).items() if r.get("ok")))


if __name__ == "__main__":
    main()
