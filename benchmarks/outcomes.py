"""Benchmark of features.outcomes on a synthetic book: 1M loans x 24 months.

    .venv/bin/python benchmarks/outcomes.py [--loans 1000000] [--months 24] [--seed 0]

Builds the tables itself with vectorised numpy (a per-loan delinquency Markov chain,
one vectorised step per month), then times derive_outcomes, vintage_curves, roll_rates
(and history_problems, bucket_to_bad) on pandas inputs, as the pipeline passes them.
Prints seconds per step, the RSS before it (inputs loaded) and the peak RSS while it
runs (sampled every 20 ms). Target:
derive_outcomes < 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import gc
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.outcomes import (  # noqa: E402
    BadDefinition,
    bucket_to_bad,
    derive_outcomes,
    history_problems,
    roll_rates,
    vintage_curves,
)

STATUSES = ["current", "delinquent", "charged_off", "paid_off"]


def rss_mb() -> float:
    """Current resident set size (Linux /proc; falls back to the process peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRSS:
    """Samples RSS every 20 ms in a thread: the peak while the block runs."""

    def __enter__(self) -> "PeakRSS":
        self.before = self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def make_book(
    n_loans: int, months: int, seed: int, reject_share: float = 0.2, status_dtype: str = "str"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Approved loans originated over 12 vintages; every loan has ``months`` monthly
    snapshots (MOB 1..months), terminal statuses repeat after closing."""
    rng = np.random.default_rng(seed)
    n_rej = int(n_loans * reject_share / (1 - reject_share))
    n_apps = n_loans + n_rej
    start = np.datetime64("2021-01", "M")
    app_month = start + rng.integers(0, 12, n_apps).astype("timedelta64[M]")
    app_day = rng.integers(0, 28, n_apps).astype("timedelta64[D]")
    app_date = app_month.astype("datetime64[D]") + app_day
    decision = np.where(np.arange(n_apps) < n_loans, "approved", "rejected")
    perm = rng.permutation(n_apps)
    applications = pd.DataFrame(
        {
            "application_id": np.arange(1, n_apps + 1, dtype=np.int64),
            "application_date": app_date[perm].astype("datetime64[s]"),
            "decision": pd.Categorical(decision[perm]),
        }
    )
    approved = applications[applications["decision"] == "approved"]
    loan_id = approved["application_id"].to_numpy()
    loan_month = approved["application_date"].to_numpy().astype("datetime64[M]")

    # Delinquency chain: k = payments missed (0..4), 5 = charged off, 6 = paid off.
    risk = rng.beta(1.2, 25.0, n_loans)  # monthly probability of a first miss
    k = np.zeros(n_loans, dtype=np.int8)
    dpd = np.empty((months, n_loans), dtype=np.int32)
    state = np.empty((months, n_loans), dtype=np.int8)
    balance = np.empty((months, n_loans), dtype=np.float64)
    principal = rng.uniform(1_000, 20_000, n_loans)
    roll = np.array([0.0, 0.45, 0.55, 0.65, 0.75])  # P(miss again | k missed)
    for m in range(months):
        u = rng.random(n_loans)
        open_ = k <= 4
        p_miss = np.where(k == 0, risk, roll[np.minimum(k, 4)])
        miss = open_ & (u < p_miss)
        pay = open_ & ~miss
        charge = open_ & (k == 4) & miss
        payoff = pay & (k == 0) & (rng.random(n_loans) < 0.015)
        k = np.where(miss, k + 1, np.where(pay, 0, k)).astype(np.int8)
        k = np.where(charge, 5, np.where(payoff, 6, k)).astype(np.int8)
        state[m] = k
        dpd[m] = np.where(k <= 4, 30 * np.minimum(k, 4) - (k > 0) * rng.integers(0, 10, n_loans), 0)
        dpd[m] = np.where(k == 5, 150, dpd[m])
        balance[m] = np.where(k == 6, 0.0, principal * (1 - m / (2 * months)))
    status_code = np.select(
        [state == 0, state <= 4, state == 5], [0, 1, 2], default=3
    ).astype(np.int8)

    mob = np.repeat(np.arange(1, months + 1, dtype=np.int32), n_loans)
    snapshot = (np.tile(loan_month, months) + mob.astype("timedelta64[M]")).astype(
        "datetime64[D]"
    )
    performance = pd.DataFrame(
        {
            "loan_id": np.tile(loan_id, months),
            "snapshot_month": snapshot.astype("datetime64[s]"),
            "months_on_book": mob,
            "balance": balance.ravel(),
            "days_past_due": dpd.ravel(),
            "status": pd.Categorical.from_codes(status_code.ravel(), STATUSES),
        }
    )
    if status_dtype == "str":  # what a warehouse read (DuckDB -> pandas) gives
        performance["status"] = performance["status"].astype("str")
    return applications, performance


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loans", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--status-dtype", choices=["str", "category"], default="str")
    ap.add_argument("--skip-extra", action="store_true", help="only the three core steps")
    args = ap.parse_args(argv)

    results: list[tuple[str, float, float, float, str]] = []

    with PeakRSS() as mem:
        t = time.perf_counter()
        applications, performance = make_book(
            args.loans, args.months, args.seed, status_dtype=args.status_dtype
        )
        secs = time.perf_counter() - t
    gc.collect()
    results.append(
        ("build synthetic book", secs, mem.before, mem.peak,
         f"{len(applications):,} applications, {len(performance):,} rows")
    )
    bd = BadDefinition()

    steps = [
        ("derive_outcomes", lambda: derive_outcomes(applications, performance, bd)),
        ("vintage_curves", lambda: vintage_curves(applications, performance, bd)),
        ("roll_rates", lambda: roll_rates(performance)),
    ]
    if not args.skip_extra:
        steps += [
            ("history_problems", lambda: history_problems(applications, performance)),
            ("bucket_to_bad", lambda: bucket_to_bad(performance, bd)),
        ]
    outcomes = None
    for name, fn in steps:
        gc.collect()
        with PeakRSS() as mem:
            t = time.perf_counter()
            out = fn()
            secs = time.perf_counter() - t
        note = f"{len(out):,} rows out"
        if name == "derive_outcomes":
            outcomes = out
            counts = out["outcome"].value_counts()
            note += " (" + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ")"
        results.append((name, secs, mem.before, mem.peak, note))
        del out

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"\nfeatures.outcomes benchmark: {args.loans:,} loans x {args.months} months, "
          f"{cpus} CPUs, pandas inputs, status dtype {args.status_dtype}")
    print(f"{'step':<22}{'seconds':>9}{'RSS before MB':>15}{'peak RSS MB':>13}  notes")
    for name, secs, before, peak, note in results:
        print(f"{name:<22}{secs:>9.2f}{before:>15.0f}{peak:>13.0f}  {note}")
    if outcomes is not None:
        derive_secs = next(r[1] for r in results if r[0] == "derive_outcomes")
        ok = derive_secs < 30
        print(f"\nderive_outcomes < 30 s: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
