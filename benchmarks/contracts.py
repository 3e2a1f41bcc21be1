"""Benchmark: data-contract validation of a 1M-application / 24M-performance-row loan book.

    .venv/bin/python benchmarks/contracts.py [--apps 1000000] [--perf 24000000] [--docs]

Columns are generated with numpy in realistic types (int64 ids, datetime64 dates, pandas
str categories, float64 amounts with missing values, nullable Int32 bureau counts) so the
book passes its contracts.  Prints a table of timings: generation, the full validation
(GX suites + type checks + DuckDB relations), and a second run against a baseline
(adds the distribution checks), optionally with Data Docs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data_contracts import validate_loan_book  # noqa: E402
from features import loan_book as lb  # noqa: E402


def _cat(rng: np.random.Generator, column: str, n: int, null_rate: float = 0.0) -> pd.Series:
    cats = np.array(lb.CATEGORIES[column], dtype=object)
    codes = rng.integers(0, len(cats), n)
    values = cats[codes]
    if null_rate:
        values[rng.random(n) < null_rate] = None
    return pd.Series(values, dtype="str")


def _nullable_int(rng: np.random.Generator, lo: int, hi: int, n: int, null_rate: float) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(rng.integers(lo, hi, n).astype(np.int32), rng.random(n) < null_rate)


def generate(n_apps: int, n_perf: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = n_apps
    start = np.datetime64("2022-01-01", "D")
    app_date = start + rng.integers(0, 365 * 2, n).astype("timedelta64[D]")
    approved = rng.random(n) < 0.6
    requested = np.round(rng.lognormal(8.5, 0.8, n), 2)
    approved_amount = np.where(approved, np.round(requested * rng.uniform(0.5, 1.0, n), 2), np.nan)
    score = rng.integers(300, 851, n).astype(np.int32)
    special = rng.random(n)
    score[special < 0.03] = -1
    score[(special >= 0.03) & (special < 0.05)] = -2
    apps = pd.DataFrame({
        "application_id": np.arange(10_000_001, 10_000_001 + n, dtype=np.int64),
        "customer_id": rng.integers(50_000_001, 50_000_001 + n, n).astype(np.int64),
        "application_date": app_date.astype("datetime64[ns]"),
        "decision": pd.Series(np.where(approved, "approved", "rejected"), dtype="str"),
        "product": _cat(rng, "product", n),
        "channel": _cat(rng, "channel", n),
        "requested_amount": requested,
        "approved_amount": approved_amount,
        "term_months": rng.choice([6, 12, 24, 36, 48, 60], n).astype(np.int32),
        "interest_rate": np.where(approved, np.round(rng.uniform(0.05, 0.35, n), 4), np.nan),
        "age": rng.integers(18, 80, n).astype(np.int32),
        "monthly_income": np.where(rng.random(n) < 0.05, np.nan, np.round(rng.lognormal(7.8, 0.6, n), 2)),
        "employment_type": _cat(rng, "employment_type", n),
        "employment_years": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.gamma(1.6, 3.5, n), 1)),
        "education": _cat(rng, "education", n),
        "marital_status": _cat(rng, "marital_status", n),
        "dependents": rng.integers(0, 5, n).astype(np.int32),
        "housing": _cat(rng, "housing", n),
        "region": _cat(rng, "region", n),
        "bureau_score": score,
        "bureau_open_accounts": _nullable_int(rng, 0, 20, n, 0.03),
        "bureau_inquiries_6m": _nullable_int(rng, 0, 10, n, 0.03),
        "bureau_worst_dpd_24m": _nullable_int(rng, 0, 120, n, 0.03),
        "bureau_delinquencies_24m": _nullable_int(rng, 0, 6, n, 0.03),
        "bureau_revolving_utilisation": np.where(rng.random(n) < 0.03, np.nan, rng.uniform(0, 1.4, n)),
        "bureau_total_debt": np.round(rng.lognormal(9, 1.2, n), 2),
        "bureau_months_since_oldest": _nullable_int(rng, 0, 400, n, 0.03),
        "device_os": _cat(rng, "device_os", n, 0.02),
        "app_sessions_3m": _nullable_int(rng, 0, 200, n, 0.1),
        "payment_transactions_3m": _nullable_int(rng, 0, 300, n, 0.1),
        "ecommerce_spend_3m": np.where(rng.random(n) < 0.1, np.nan, np.round(rng.lognormal(5, 1, n), 2)),
        "night_activity_ratio": np.where(rng.random(n) < 0.1, np.nan, rng.beta(2, 8, n)),
        "full_name": pd.Series(np.char.add("Person ", np.arange(n).astype(str)), dtype="str"),
        "national_id": pd.Series(np.char.add("ID", np.arange(n).astype(str)), dtype="str"),
        "phone": pd.Series(np.char.add("+999", np.arange(n).astype(str)), dtype="str"),
        "email": pd.Series(np.char.add(np.arange(n).astype(str), "@example.com"), dtype="str"),
    })

    # performance: n_perf rows spread over the approved loans, consecutive months from MOB 1
    loans = apps.loc[approved, ["application_id", "application_date"]].reset_index(drop=True)
    k = len(loans)
    per_loan = np.full(k, n_perf // k)
    per_loan[: n_perf - per_loan.sum()] += 1
    loan_idx = np.repeat(np.arange(k), per_loan)
    starts = np.cumsum(per_loan) - per_loan
    mob = (np.arange(n_perf) - np.repeat(starts, per_loan) + 1).astype(np.int32)
    app_month = loans["application_date"].to_numpy().astype("datetime64[M]")
    snap = (app_month[loan_idx] + mob.astype("timedelta64[M]")).astype("datetime64[ns]")
    dpd = np.where(rng.random(n_perf) < 0.9, 0, rng.integers(1, 180, n_perf)).astype(np.int32)
    status = np.where(dpd > 0, "delinquent", "current").astype(object)
    perf = pd.DataFrame({
        "loan_id": loans["application_id"].to_numpy()[loan_idx],
        "snapshot_month": snap,
        "months_on_book": mob,
        "balance": np.round(rng.uniform(0, 20000, n_perf), 2),
        "days_past_due": dpd,
        "status": pd.Series(status, dtype="str"),
    })
    return apps, perf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", type=int, default=1_000_000)
    ap.add_argument("--perf", type=int, default=24_000_000)
    ap.add_argument("--docs", action="store_true", help="also build Data Docs and summary.json")
    ap.add_argument("--corrupt", action="store_true",
                    help="also time a failing run: 1%% negative DPD, 0.1%% age 250, quarantine files written")
    args = ap.parse_args()

    rows = []
    t0 = time.perf_counter()
    apps, perf = generate(args.apps, args.perf)
    rows.append(("generate (numpy)", time.perf_counter() - t0, ""))
    as_of = "2030-12-31"  # the generated history runs into 2027
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs" if args.docs else None
        t0 = time.perf_counter()
        report = validate_loan_book(apps, perf, as_of=as_of, docs_dir=docs, run_id="bench")
        el = time.perf_counter() - t0
        rows.append(("validate (no baseline)", el, f"success={report.success} expectations={len(report.results)}"))
        if not report.success:
            print(report.failure_message())
        base = report.baseline()
        t0 = time.perf_counter()
        report2 = validate_loan_book(apps, perf, as_of=as_of, baseline=base, docs_dir=docs, run_id="bench2")
        el2 = time.perf_counter() - t0
        rows.append(("validate (with baseline)", el2, f"success={report2.success} expectations={len(report2.results)} "
                     f"warnings={len(report2.warnings)}"))
        by_engine = report2.to_frame().groupby("engine").size().to_dict()
        stages = dict(report2.timings)
        if args.corrupt:
            rng = np.random.default_rng(1)
            bad_a = apps.copy(deep=False)
            bad_a["age"] = np.where(rng.random(len(apps)) < 0.001, 250, apps["age"].to_numpy())
            bad_p = perf.copy(deep=False)
            bad_p["days_past_due"] = np.where(rng.random(len(perf)) < 0.01, -1, perf["days_past_due"].to_numpy())
            t0 = time.perf_counter()
            report3 = validate_loan_book(bad_a, bad_p, as_of=as_of, docs_dir=docs, quarantine_dir=Path(tmp) / "q",
                                         run_id="bench3")
            rows.append(("validate (corrupted)", time.perf_counter() - t0,
                         f"success={report3.success} errors={len(report3.errors)} quarantined="
                         f"{sum(e.unexpected_count for e in report3.errors):,} rows"))

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"\nloan book: {args.apps:,} applications x {apps.shape[1]} columns, {args.perf:,} performance rows; "
          f"cores available: {len(os.sched_getaffinity(0))}; docs: {'yes' if args.docs else 'no'}")
    print(f"{'step':<28}{'seconds':>10}  notes")
    print("-" * 80)
    for name, sec, note in rows:
        print(f"{name:<28}{sec:>10.1f}  {note}")
    print("-" * 80)
    print("stages of the run with baseline:")
    for name, sec in stages.items():
        print(f"  {name:<44}{sec:>8.1f}")
    print(f"expectations by engine (with baseline): {by_engine}")
    print(f"peak RSS: {peak:.1f} GiB")


if __name__ == "__main__":
    main()
