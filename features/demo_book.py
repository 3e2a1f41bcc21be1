"""Synthetic demo loan book: ``applications`` and ``performance`` as in features/loan_book.py.

The book is made for modelling, not for show: one latent creditworthiness drives the
applicant, bureau and behaviour attributes, the (noisy) policy decision and the monthly
delinquency chain of every approved loan, so the usual credit-risk workflow (bad
definition, WOE scorecard, gradient-boosted challenger, PSI/CSI, vintage curves, roll
rates) finds what it is meant to find:

* non-linear effects a scorecard only partly captures: a U-shaped age effect, a kink in
  revolving utilisation, night activity that matters for mobile/online applicants only;
* a macro factor with a mild downturn in the middle of the window, raising roll rates
  and lowering cure rates in calendar time (so vintages differ), and a slightly tighter
  approval cut-off while it lasts;
* a channel/product mix drifting towards mobile and POS lending over time;
* special codes in ``bureau_score`` (no hit, thin file) and realistic missing values;
* fake PII built from short name lists and ids (``example.*`` e-mail domains, the
  unassigned ``+999`` phone prefix), never a real person.

Everything is vectorised over loans (the performance chain loops over calendar months
only) and fully determined by ``seed`` and the arguments: nothing reads today's date.

Modules: this one (the window, the macro factor, the public API and the DuckDB writer),
:mod:`features.demo_applications` (applicants, decision, booked loans),
:mod:`features.demo_performance` (the monthly delinquency chain), :mod:`features.demo_pii`
(fake identities) and :mod:`features.demo_draws` (shared random draws).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from features import loan_book as lb
from features.demo_applications import draw_applications
from features.demo_performance import draw_performance
from features.errors import ConfigError, SourceError

__all__ = ["generate_loan_book", "write_duckdb"]


def _parse_end_month(end_month: str) -> np.datetime64:
    if not isinstance(end_month, str) or not re.fullmatch(r"\d{4}-\d{2}", end_month):
        raise ConfigError(f"demo book: end_month must be 'YYYY-MM', got {end_month!r}")
    month = int(end_month[5:])
    if not 1 <= month <= 12:
        raise ConfigError(f"demo book: end_month {end_month!r} has no month {month}")
    return np.datetime64(end_month, "M")


def _macro(n_months: int) -> np.ndarray:
    """Macro stress by calendar month of the window: a mild downturn centred mid-window."""
    t = np.arange(n_months, dtype=np.float64)
    centre = 0.5 * (n_months - 1)
    width = max(1.5, n_months / 9.0)
    return 1.1 * np.exp(-0.5 * ((t - centre) / width) ** 2)


def generate_loan_book(
    n_applications: int = 50_000,
    months: int = 36,
    seed: int = 42,
    end_month: str = "2025-12",
    mix_trend: float = 1.0,
    drift_months: int = 0,
    drift: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a synthetic loan book: ``(applications, performance)`` DataFrames.

    ``months`` application months end with ``end_month``; performance rows run from the
    month after each application up to ``end_month`` or a terminal status. Same arguments
    give identical frames.

    ``mix_trend`` scales the gradual channel/product drift (0: a stationary mix, the
    "undrifted" book). ``drift`` > 0 shifts the newest ``drift_months`` application months
    abruptly: more broker and mobile applications, a worse applicant pool and lower bureau
    scores (monitoring tests inject drift this way).
    """
    if drift < 0 or drift_months < 0 or mix_trend < 0:
        raise ConfigError(f"demo book: mix_trend, drift and drift_months must be >= 0, got {mix_trend}, {drift}, {drift_months}")
    if isinstance(n_applications, bool) or not isinstance(n_applications, (int, np.integer)) or n_applications < 1:
        raise ConfigError(f"demo book: n_applications must be a positive integer, got {n_applications!r}")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ConfigError(f"demo book: months must be a positive integer, got {months!r}")
    if n_applications >= 900_000_000:
        raise ConfigError(f"demo book: n_applications {n_applications} is too large (ids must stay unique)")
    end = _parse_end_month(end_month)
    rng = np.random.default_rng(seed)
    n, T = int(n_applications), int(months)

    month_starts = (np.arange(T) - (T - 1) + end).astype("datetime64[M]")
    macro = _macro(T)

    apps, hidden = draw_applications(rng, n, T, month_starts, macro, mix_trend, drift * (np.arange(T) >= T - drift_months))
    perf = draw_performance(rng, hidden, T, month_starts, macro)
    return apps, perf


def write_duckdb(path: str | os.PathLike, applications: pd.DataFrame, performance: pd.DataFrame) -> None:
    """Create or replace tables ``applications`` and ``performance`` in the DuckDB file ``path``.

    Columns are written in the order and with the SQL types of features/loan_book.py;
    parent directories are created. Both tables are replaced in one transaction.
    """
    import duckdb

    for table, frame, columns in (
        (lb.APPLICATIONS, applications, lb.APPLICATION_COLUMNS),
        (lb.PERFORMANCE, performance, lb.PERFORMANCE_COLUMNS),
    ):
        if not isinstance(frame, pd.DataFrame):
            raise SourceError(f"demo book: table {table} must be a pandas DataFrame, got {type(frame).__name__}")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise SourceError(f"demo book: table {table} is missing column(s) {', '.join(missing)}")

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target))
    try:
        con.execute("BEGIN TRANSACTION")
        for table, frame, columns in (
            (lb.APPLICATIONS, applications, lb.APPLICATION_COLUMNS),
            (lb.PERFORMANCE, performance, lb.PERFORMANCE_COLUMNS),
        ):
            view = f"_demo_book_{table}"
            con.register(view, frame[list(columns)])
            ddl = ", ".join(f'"{c}" {t}' for c, t in columns.items())
            select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns.items())
            con.execute(f'CREATE OR REPLACE TABLE "{table}" ({ddl})')
            con.execute(f'INSERT INTO "{table}" SELECT {select} FROM "{view}"')
            con.unregister(view)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
