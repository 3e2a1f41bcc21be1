"""Benchmark the demo loan-book generator: generate, write to a temporary DuckDB file, report.

Usage: .venv/bin/python benchmarks/generator.py [--applications 1000000 --months 24 --seed 42]
Budget: 1M applications x 24 months in under 2 minutes and 8 GB peak RSS on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.demo_book import generate_loan_book, write_duckdb  # noqa: E402


def _peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-month", default="2025-12")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    apps, perf = generate_loan_book(args.applications, args.months, seed=args.seed, end_month=args.end_month)
    t_gen = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t1 = time.perf_counter()
        write_duckdb(Path(tmp) / "warehouse.duckdb", apps, perf)
        t_write = time.perf_counter() - t1
    total = t_gen + t_write
    rss = _peak_rss_mb()

    rows = [
        ("applications", f"{len(apps):,}"),
        ("months", f"{args.months}"),
        ("approved", f"{(apps['decision'] == 'approved').mean():.1%}"),
        ("performance rows", f"{len(perf):,}"),
        ("generate seconds", f"{t_gen:.1f}"),
        ("write seconds", f"{t_write:.1f}"),
        ("total seconds", f"{total:.1f}"),
        ("peak RSS MB", f"{rss:,.0f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v:>12}")
    ok = total < 120 and rss < 8 * 1024
    print("within budget (<120 s, <8 GB):", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
