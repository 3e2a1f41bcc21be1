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
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import loan_book as lb
from features.errors import ConfigError, SourceError

__all__ = ["generate_loan_book", "write_duckdb"]

FIRST_APPLICATION_ID = 10_000_001
FIRST_CUSTOMER_ID = 50_000_001

# Performance-chain states (index = state code).
_S_CURRENT, _S_EARLY = 0, 1  # 0 DPD, 1..29 DPD
# 2..6 = 30, 60, 90, 120, 150 DPD
_S_CHARGED_OFF, _S_PAID_OFF = 7, 8
_STATUS_OF_STATE = np.array([0, 1, 1, 1, 1, 1, 1, 2, 3], dtype=np.int8)  # -> CATEGORIES["status"]

_FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Robin", "Jamie", "Avery",
    "Riley", "Quinn", "Rowan", "Emery", "Hayden", "Skyler", "Dana", "Kim", "Lee",
    "Noor", "Ari", "Mika", "Sasha", "Nico", "Remy", "Eden", "Jules", "Kai", "Luca",
    "Milan", "Noa", "Paz", "Reese", "Sage", "Tove", "Uma", "Vic", "Wren", "Yael",
    "Zora", "Ilya",
)
_LAST_NAMES = (
    "Ashdown", "Birchwell", "Coldmere", "Dunstable", "Elmsworth", "Fairbrook",
    "Greystone", "Hollowell", "Ironside", "Juniper", "Kestrel", "Larkfield",
    "Marlowe", "Northcott", "Oakhurst", "Pembrook", "Quarry", "Redfern", "Stillwater",
    "Thornbury", "Upwood", "Valemont", "Whitcombe", "Yarrow", "Zephyrine", "Ambleton",
    "Brackwood", "Cresswold", "Dovecote", "Eastmarch", "Foxglove", "Glenmoor",
    "Heathcliffe", "Inglewood", "Kingsmere", "Lowbridge", "Millbank", "Netherby",
    "Orchardson", "Penhallow",
)
_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


# --------------------------------------------------------------------------- helpers
def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _pick(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``logits`` (n, k) by the Gumbel-max trick."""
    g = rng.gumbel(size=logits.shape)
    return np.argmax(logits + g, axis=1).astype(np.int8)


def _codes_to_str(codes: np.ndarray, categories: Sequence[str], mask: np.ndarray | None = None) -> pd.Series:
    arr = pa.array(list(categories)).take(pa.array(codes.astype(np.int32), mask=mask))
    return arr.to_pandas()


def _nullable_int(values: np.ndarray, mask: np.ndarray, dtype=np.int32) -> pd.arrays.IntegerArray:
    v = np.where(mask, 0, values).astype(dtype)
    return pd.arrays.IntegerArray(v, mask.copy())


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


# --------------------------------------------------------------------------- public API
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

    apps, hidden = _applications(rng, n, T, month_starts, macro, mix_trend, drift * (np.arange(T) >= T - drift_months))
    perf = _performance(rng, hidden, T, month_starts, macro)
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


# --------------------------------------------------------------------------- applications
def _applications(
    rng: np.random.Generator, n: int, T: int, month_starts: np.ndarray, macro: np.ndarray,
    mix_trend: float = 1.0, shift_by_month: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict]:
    shift_by_month = np.zeros(T) if shift_by_month is None else np.asarray(shift_by_month, dtype=float)
    cats = lb.CATEGORIES

    # ---- volume by month: growth, seasonality, a dip in the downturn
    m = np.arange(T)
    moy = (month_starts.astype(np.int64) % 12) + 1
    weight = np.exp(0.02 * m) * (1 + 0.08 * np.sin(2 * np.pi * (moy - 3) / 12)) * (1 - 0.15 * macro / macro.max())
    counts = rng.multinomial(n, weight / weight.sum())
    app_m = np.repeat(m, counts).astype(np.int16)
    first_day = month_starts.astype("datetime64[D]")
    days_in = ((month_starts + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    day = np.floor(rng.random(n) * days_in[app_m]).astype(np.int64)
    date_d = np.sort(first_day[app_m].astype(np.int64) + day)  # app_m stays sorted: dates within a month
    years_to_end = mix_trend * (app_m - (T - 1)) / 12.0  # <= 0
    shift = shift_by_month[app_m]  # injected drift of the newest months (0 elsewhere)

    # ---- customers: ~3.5% of applications come from an earlier applicant
    src = np.arange(n)
    repeat = np.flatnonzero(rng.random(n) < 0.035)
    repeat = repeat[repeat > 0]
    src[repeat] = np.floor(rng.random(repeat.size) * repeat).astype(np.int64)
    for _ in range(64):  # resolve chains to the first application of each customer
        nxt = src[src]
        if np.array_equal(nxt, src):
            break
        src = nxt
    first_app = np.flatnonzero(src == np.arange(n))
    cust_rank = np.empty(n, dtype=np.int64)
    cust_rank[first_app] = np.arange(first_app.size)
    customer_id = FIRST_CUSTOMER_ID + cust_rank[src]

    # ---- channel drifts to mobile/online; the pool's risk differs by channel
    ch_logit = np.column_stack([
        np.log(0.18) - 0.25 * years_to_end,  # branch (shrinking going forward)
        np.log(0.30) + 0.00 * years_to_end,  # online
        np.log(0.40) + 0.35 * years_to_end,  # mobile (rising)
        np.log(0.12) - 0.10 * years_to_end,  # broker
    ])
    ch_logit += shift[:, None] * np.array([-1.0, 0.0, 0.5, 1.0])  # towards mobile and broker
    channel = _pick(rng, ch_logit)
    is_mobile = channel == 2
    digital = (channel == 1) | (channel == 2)
    r = rng.standard_normal(n) + np.array([-0.10, 0.0, 0.10, 0.25])[channel]  # latent risk, higher = worse
    # a downturn vintage attracts a slightly worse pool
    r += 0.15 * macro[app_m] + 0.5 * shift
    r[repeat] = r[src[repeat]]  # the same person keeps their creditworthiness

    # ---- product by channel, POS lending rising
    prod_p = np.log(np.array([
        [0.45, 0.20, 0.25, 0.10],  # branch: personal, card, auto, pos
        [0.40, 0.35, 0.10, 0.15],  # online
        [0.30, 0.40, 0.05, 0.25],  # mobile
        [0.25, 0.05, 0.45, 0.25],  # broker
    ]))
    prod_logit = prod_p[channel]
    prod_logit[:, 3] += 0.25 * years_to_end  # pos share rises towards end_month
    product = _pick(rng, prod_logit)

    # ---- applicant
    a_shape = np.where(is_mobile, 2.0, 2.3)
    b_shape = np.where(is_mobile, 4.3, 3.6)
    age = (18 + np.floor(63 * rng.beta(a_shape, b_shape))).astype(np.int32)
    age = np.clip(age, 18, 80)
    age = np.minimum(age[src] + (app_m - app_m[src]) // 12, 80).astype(np.int32)  # repeat: same person
    emp_logit = np.column_stack([
        np.zeros(n),  # salaried
        -1.6 + 0.10 * r,  # self_employed
        -2.8 + 0.65 * r,  # unemployed
        np.where(age >= 55, -5.0 + 0.35 * (age - 55), -30.0),  # retired
        np.where(age <= 30, 1.0 - 0.40 * (age - 18), -30.0),  # student
    ])
    emp = _pick(rng, emp_logit)
    working = (emp == 0) | (emp == 1) | (emp == 3)
    emp_years = np.minimum(age - 18, rng.gamma(1.6, 3.5, n) * np.exp(-0.25 * r) + 0.1)
    emp_years = np.round(np.maximum(emp_years, 0.0), 1)
    emp_years_null = ~working | (rng.random(n) < 0.04)

    edu_latent = -0.5 * r + rng.standard_normal(n)
    edu = np.searchsorted(np.array([-1.55, -0.25, 0.35, 1.35]), edu_latent).astype(np.int8)
    edu = np.where((emp == 4) & (edu == 4), 3, edu).astype(np.int8)
    edu = np.where(src != np.arange(n), np.maximum(edu, edu[src]), edu).astype(np.int8)

    mar_logit = np.column_stack([
        1.2 - 0.08 * (age - 25),  # single
        -0.5 + 0.05 * (age - 25) - 0.15 * r,  # married
        -2.8 + 0.04 * (age - 18) + 0.20 * r,  # divorced
        np.where(age >= 50, -6.5 + 0.09 * (age - 50) * 1.5, -30.0),  # widowed
    ])
    marital = _pick(rng, mar_logit)
    dependents = rng.poisson(np.array([0.25, 1.4, 0.9, 0.4])[marital] * np.where(age > 60, 0.4, 1.0))
    dependents = np.minimum(dependents, 6).astype(np.int32)

    hou_logit = np.column_stack([
        -1.5 + 0.05 * (age - 30) - 0.30 * r,  # own
        -0.6 + 0.03 * (age - 30) - 0.30 * r - 0.1 * (age - 60).clip(0),  # mortgage
        0.2 + 0.25 * r,  # rent
        np.where(age < 30, 0.8 - 0.15 * (age - 18), -1.5) + 0.2 * r,  # family
    ])
    housing = _pick(rng, hou_logit)
    region = _pick(rng, np.tile(np.log(np.array([0.20, 0.22, 0.18, 0.20, 0.20])), (n, 1)))[src]

    log_inc = (
        7.65
        + np.array([-0.25, 0.0, 0.08, 0.30, 0.50])[edu]
        + 0.35 * (1 - ((age - 48) / 30.0) ** 2)
        + np.array([0.0, 0.10, -0.95, -0.30, -0.90])[emp]
        + 0.20 * (region == 4)
        - 0.22 * r
        + rng.standard_normal(n) * np.where(emp == 1, 0.60, 0.40)
    )
    income = np.round(np.exp(log_inc), -1).clip(150.0)
    income_null = rng.random(n) < np.where(emp == 1, 0.08, 0.035)

    # ---- bureau: no hit / thin file more common for the young, students, mobile
    young = np.clip((26 - age) / 8.0, 0, 1)
    p_nohit = _sigmoid(-3.2 + 1.6 * young + 0.9 * (emp == 4) + 0.4 * is_mobile + 0.2 * r)
    p_thin = _sigmoid(-3.3 + 1.5 * young + 0.7 * (emp == 4) + 0.3 * is_mobile)
    u = rng.random(n)
    no_hit = u < p_nohit
    thin = ~no_hit & (u < p_nohit + p_thin)
    hit = ~no_hit & ~thin

    bscore = np.round(665 - 72 * (0.80 * r + 0.60 * rng.standard_normal(n)) + 1.2 * (age - 40).clip(-15, 25) - 40 * shift)
    bscore = np.clip(bscore, 300, 850).astype(np.int32)
    bscore = np.where(no_hit, lb.BUREAU_NO_HIT, np.where(thin, lb.BUREAU_THIN_FILE, bscore)).astype(np.int32)

    open_acc = rng.poisson(np.exp(1.25 + 0.012 * (age - 40) + 0.08 * r + 0.1 * np.log(np.exp(log_inc) / 2000)))
    open_acc = np.where(thin, rng.integers(0, 3, n), np.minimum(open_acc, 40))
    inquiries = np.minimum(rng.poisson(np.exp(-0.35 + 0.45 * r + 0.25 * is_mobile)), 25)
    inquiries = np.where(thin, np.minimum(inquiries, 4), inquiries)
    worst_latent = 0.9 * r + rng.standard_normal(n)
    worst_bucket = np.searchsorted(np.array([1.25, 1.85, 2.25, 2.6, 3.0]), worst_latent)
    worst_dpd = np.array([0, 30, 60, 90, 120, 180])[worst_bucket].astype(np.int32)
    delinq = np.where(worst_bucket == 0, 0, 1 + rng.poisson(0.3 + 0.35 * worst_bucket)).astype(np.int32)
    util = 1.5 * _sigmoid(-1.25 + 0.85 * r + 0.85 * rng.standard_normal(n))
    util = np.where(rng.random(n) < 0.07, 0.0, np.round(util, 3))
    total_debt = np.exp(log_inc) * 12 * np.exp(np.log(0.55) + 0.30 * r + 0.75 * rng.standard_normal(n))
    total_debt = np.where(open_acc == 0, 0.0, np.round(total_debt, -1))
    total_debt = np.where(thin, np.round(total_debt * 0.15, -1), total_debt)
    oldest = np.floor((age - 18) * 12 * rng.beta(2.2, 1.4, n) * np.exp(-0.08 * r).clip(0, 1.0)) + 3
    oldest = np.minimum(oldest, (age - 18) * 12 + 3)
    oldest = np.where(thin, rng.integers(1, 24, n), oldest).astype(np.int32)

    # ---- behaviour / alternative data
    dev_logit = np.column_stack([
        np.log(np.array([0.30, 0.20, 0.55, 0.50]))[channel] + 0.0 * r,  # android
        np.log(np.array([0.20, 0.15, 0.40, 0.25]))[channel] - 0.35 * r,  # ios
        np.log(np.array([0.40, 0.60, 1e-9, 0.15]))[channel],  # web
        np.log(np.array([0.10, 0.05, 0.05, 0.10]))[channel],  # other
    ])
    device = _pick(rng, dev_logit)
    has_app = (device == 0) | (device == 1) | ((device == 3) & (rng.random(n) < 0.5)) | is_mobile
    sessions = rng.poisson(np.exp(3.0 + 0.25 * is_mobile + 0.5 * rng.standard_normal(n)))
    payments = rng.poisson(np.exp(3.3 + 0.30 * np.log(np.exp(log_inc) / 2000) - 0.15 * r + 0.4 * rng.standard_normal(n)))
    spend = np.exp(np.log(280) + 0.5 * np.log(np.exp(log_inc) / 2000) + 0.15 * r + 0.9 * rng.standard_normal(n))
    spend = np.where(rng.random(n) < 0.14, 0.0, np.round(spend, 2))
    night = np.round(_sigmoid(-1.7 + 0.45 * r + 0.30 * (age < 30) + 0.7 * rng.standard_normal(n)), 3)
    no_app = ~has_app

    # ---- requested loan
    inc_fill = np.exp(log_inc)
    req_median = np.array([7000.0, 2500.0, 18000.0, 900.0])[product]
    requested = req_median * (inc_fill / 2500.0) ** 0.4 * np.exp(0.5 * rng.standard_normal(n))
    requested = np.maximum(np.round(requested / 50.0) * 50.0, 100.0)
    term_choices = [
        (np.array([12, 24, 36, 48, 60]), np.array([0.15, 0.30, 0.30, 0.15, 0.10])),  # personal
        (np.array([12, 24, 36]), np.array([0.30, 0.40, 0.30])),  # card instalment plan
        (np.array([36, 48, 60, 72]), np.array([0.20, 0.30, 0.35, 0.15])),  # auto
        (np.array([6, 10, 12, 18, 24]), np.array([0.25, 0.20, 0.30, 0.15, 0.10])),  # pos
    ]
    term = np.zeros(n, dtype=np.int32)
    u = rng.random(n)
    for p, (terms, probs) in enumerate(term_choices):
        sel = product == p
        term[sel] = terms[np.searchsorted(np.cumsum(probs), u[sel], side="right").clip(0, len(terms) - 1)]

    # ---- the risk that drives the monthly hazard: latent plus non-linear attribute effects
    util_eff = np.where(hit, 1.8 * np.maximum(util - 0.70, 0.0) - 0.25 * (util < 0.02), 0.0)
    age_eff = 0.20 * ((age - 46) / 13.0) ** 2 - 0.20
    night_eff = np.where(has_app, np.where(digital, 5.0, -1.5) * (night - 0.18), 0.0)
    dti = requested / (term * inc_fill)
    risk = (
        r
        + age_eff
        + util_eff
        + night_eff
        + 0.6 * np.minimum(dti, 1.0)
        + np.array([0.0, 0.15, -0.35, 0.20])[product]
        + np.array([0.05, 0.0, -0.05, 0.05, -0.10])[region]
        + 0.15 * (emp == 1)
        + 0.70 * (hit & (util > 0.6) & (inquiries >= 3))  # credit-hungry and maxed out
        + 0.40 * (emp == 1) * np.maximum(dti - 0.15, 0.0) / 0.15  # self-employed and stretched
        + 0.50 * ((age < 25) & (product == 3))  # young buyers on point-of-sale credit
        + 0.30 * no_hit
        + 0.20 * thin
    )

    # ---- decision: a noisy policy score, tighter in the downturn
    policy = 0.70 * r + 0.35 * no_hit + 0.20 * thin + 0.4 * np.minimum(dti, 1.0) + 0.65 * rng.standard_normal(n)
    cutoff = 0.50 - 0.20 * macro[app_m]
    approved = policy < cutoff
    reduced = approved & (rng.random(n) < _sigmoid(-1.6 + 1.2 * policy))
    approved_amount = np.where(
        reduced, np.maximum(np.round(requested * rng.uniform(0.5, 0.95, n) / 50.0) * 50.0, 100.0), requested
    )
    base_rate = np.array([0.11, 0.19, 0.065, 0.14])[product]
    rate = base_rate + 0.045 * (policy + 0.3) + 0.008 * rng.standard_normal(n) + 0.01 * macro[app_m]
    rate = np.round(np.clip(rate, 0.029, 0.39), 4)

    # ---- PII (fake, built from the customer id)
    pii = _pii(customer_id, cust_rank[src])

    application_id = FIRST_APPLICATION_ID + np.arange(n, dtype=np.int64)
    rejected = ~approved
    bureau_na = no_hit
    bureau_thin_na = no_hit | thin
    apps = pd.DataFrame(
        {
            "application_id": application_id,
            "customer_id": customer_id.astype(np.int64),
            "application_date": date_d.astype("datetime64[D]").astype("datetime64[ns]"),
            "decision": _codes_to_str(rejected.astype(np.int8), cats["decision"]),
            "product": _codes_to_str(product, cats["product"]),
            "channel": _codes_to_str(channel, cats["channel"]),
            "requested_amount": requested,
            "approved_amount": np.where(approved, approved_amount, np.nan),
            "term_months": term,
            "interest_rate": np.where(approved, rate, np.nan),
            "age": age,
            "monthly_income": np.where(income_null, np.nan, income),
            "employment_type": _codes_to_str(emp, cats["employment_type"]),
            "employment_years": np.where(emp_years_null, np.nan, emp_years),
            "education": _codes_to_str(edu, cats["education"]),
            "marital_status": _codes_to_str(marital, cats["marital_status"]),
            "dependents": dependents,
            "housing": _codes_to_str(housing, cats["housing"]),
            "region": _codes_to_str(region, cats["region"]),
            "bureau_score": bscore,
            "bureau_open_accounts": _nullable_int(open_acc, bureau_na),
            "bureau_inquiries_6m": _nullable_int(inquiries, bureau_na),
            "bureau_worst_dpd_24m": _nullable_int(worst_dpd, bureau_thin_na),
            "bureau_delinquencies_24m": _nullable_int(delinq, bureau_thin_na),
            "bureau_revolving_utilisation": np.where(bureau_thin_na, np.nan, util),
            "bureau_total_debt": np.where(bureau_na, np.nan, total_debt),
            "bureau_months_since_oldest": _nullable_int(oldest, bureau_na),
            "device_os": _codes_to_str(device, cats["device_os"]),
            "app_sessions_3m": _nullable_int(sessions, no_app),
            "payment_transactions_3m": _nullable_int(payments, no_app),
            "ecommerce_spend_3m": spend,
            "night_activity_ratio": np.where(no_app, np.nan, night),
            **pii,
        }
    )
    assert list(apps.columns) == list(lb.APPLICATION_COLUMNS)

    loans = np.flatnonzero(approved)
    hidden = {
        "loan_pos": loans,
        "application_id": application_id[loans],
        "vintage": app_m[loans].astype(np.int32),
        "risk": risk[loans],
        "amount": approved_amount[loans],
        "rate": rate[loans],
        "term": term[loans],
        "product": product[loans],
    }
    return apps, hidden


def _pii(customer_id: np.ndarray, rank: np.ndarray) -> dict[str, pd.Series]:
    """Fake names, national ids ('NI' + 9 digits), phones (+999 ...) and e-mails."""
    mix = (rank * 2_654_435_761) % (2**32)
    first_i = (mix % len(_FIRST_NAMES)).astype(np.int32)
    last_i = ((mix // 64) % len(_LAST_NAMES)).astype(np.int32)
    first = pa.array(_FIRST_NAMES).take(pa.array(first_i))
    last = pa.array(_LAST_NAMES).take(pa.array(last_i))
    full_name = pc.binary_join_element_wise(first, last, " ")
    # bijections of the customer id modulo 10**9 (multipliers coprime with 10): unique per customer
    nid = (customer_id * 7_919 + 104_729) % 1_000_000_000
    national_id = pc.binary_join_element_wise("NI", pc.utf8_lpad(pc.cast(pa.array(nid), pa.string()), 9, "0"), "")
    ph = (customer_id * 3_571 + 7_777_777) % 1_000_000_000
    phone_digits = pc.utf8_lpad(pc.cast(pa.array(ph), pa.string()), 9, "0")
    phone = pc.binary_join_element_wise(
        "+999 ", pc.utf8_slice_codeunits(phone_digits, 0, 3), " ", pc.utf8_slice_codeunits(phone_digits, 3, 9), ""
    )
    domain = pa.array(_EMAIL_DOMAINS).take(pa.array((customer_id % 3).astype(np.int32)))
    local = pc.utf8_lower(
        pc.binary_join_element_wise(first, ".", last, pc.cast(pa.array(customer_id % 100_000), pa.string()), "")
    )
    email = pc.binary_join_element_wise(local, "@", domain, "")
    return {
        "full_name": full_name.to_pandas(),
        "national_id": national_id.to_pandas(),
        "phone": phone.to_pandas(),
        "email": email.to_pandas(),
    }


# --------------------------------------------------------------------------- performance
# Per delinquent state (index 2..6 = 30..150 DPD): base logit of a full cure, and fixed
# probabilities of a partial cure (one bucket back), staying, and an early charge-off.
_CURE_BASE = np.array([0, 0, 0.20, -0.80, -1.70, -2.60, -3.20])
_PARTIAL = np.array([0, 0, 0.00, 0.08, 0.06, 0.04, 0.03])
_STAY = np.array([0, 0, 0.15, 0.10, 0.08, 0.06, 0.05])
_EARLY_CO = np.array([0, 0, 0.002, 0.004, 0.01, 0.10, 0.0])


def _performance(
    rng: np.random.Generator, loans: dict, T: int, month_starts: np.ndarray, macro: np.ndarray
) -> pd.DataFrame:
    vintage = loans["vintage"]
    risk = loans["risk"].astype(np.float32)
    term = loans["term"].astype(np.int16)
    starts = np.searchsorted(vintage, np.arange(T + 1))  # loans are sorted by vintage

    roll_base = (-4.35 + 1.15 * risk).astype(np.float32)  # 0 -> 30 DPD
    early_base = (-4.2 + 0.6 * risk).astype(np.float32)  # 0 -> 1..29 DPD
    prepay_base = (-4.6 - 0.40 * risk + np.array([0.0, 0.3, -0.2, 0.2])[loans["product"]]).astype(np.float32)

    active = np.zeros(0, dtype=np.int32)
    state = np.zeros(0, dtype=np.int8)
    out_loan, out_t, out_mob, out_state, out_dpd, out_k = [], [], [], [], [], []
    for t in range(1, T):
        new = np.arange(starts[t - 1], starts[t], dtype=np.int32)
        active = np.concatenate([active, new])
        state = np.concatenate([state, np.zeros(new.size, dtype=np.int8)])
        if active.size == 0:
            continue
        mob = (t - vintage[active]).astype(np.int16)
        rk = risk[active]
        mac = np.float32(macro[t])
        u = rng.random(active.size, dtype=np.float32)
        ns = state.copy()

        # current: prepay / early late payment / miss a payment (30 DPD) / stay current
        cur = state == _S_CURRENT
        idx = np.flatnonzero(cur)
        if idx.size:
            m = mob[idx]
            mob_eff = np.where(m <= 2, -0.5, 0.0) - 0.03 * np.maximum(m - 18, 0)
            p_pp = _sigmoid(prepay_base[active[idx]] + 0.12 * np.minimum(m, 6))
            p_early = _sigmoid(early_base[active[idx]] + 0.5 * mac)
            p_roll = _sigmoid(roll_base[active[idx]] + 1.0 * mac + mob_eff)
            uu = u[idx]
            ns[idx] = np.where(
                uu < p_pp, _S_PAID_OFF,
                np.where(uu < p_pp + p_early, _S_EARLY, np.where(uu < p_pp + p_early + p_roll, 2, _S_CURRENT)),
            )
        # 1..29 DPD: cure, roll to 30, or stay
        idx = np.flatnonzero(state == _S_EARLY)
        if idx.size:
            p_cure = _sigmoid(1.0 - 0.6 * rk[idx] - 0.4 * mac)
            uu = u[idx]
            ns[idx] = np.where(uu < p_cure, 0, np.where(uu < p_cure + (1 - p_cure) * 0.75, 2, 1))
        # 30..150 DPD: cure, partial cure, stay, early charge-off, roll
        idx = np.flatnonzero(state >= 2)
        if idx.size:
            s = state[idx].astype(np.int64)
            p_cure = np.minimum(_sigmoid(_CURE_BASE[s] - 0.6 * rk[idx] - 0.5 * mac), 0.7)
            c1 = p_cure + _PARTIAL[s]
            c2 = c1 + _STAY[s]
            c3 = c2 + _EARLY_CO[s]
            uu = u[idx]
            roll = np.where(s + 1 >= _S_CHARGED_OFF, _S_CHARGED_OFF, s + 1)
            ns[idx] = np.where(
                uu < p_cure, 0,
                np.where(uu < c1, s - 1, np.where(uu < c2, s, np.where(uu < c3, _S_CHARGED_OFF, roll))),
            )
        # a loan current at (or after) its last instalment is paid off
        tm = term[active]
        ns = np.where((ns == _S_CURRENT) & (mob >= tm), _S_PAID_OFF, ns).astype(np.int8)

        # days past due and instalments paid (k) as of the snapshot
        dpd = np.where((ns >= 2) & (ns < _S_CHARGED_OFF), 30 * (ns.astype(np.int16) - 1), 0).astype(np.int16)
        early = ns == _S_EARLY
        dpd[early] = rng.integers(1, 30, int(early.sum()), dtype=np.int16)
        co = ns == _S_CHARGED_OFF
        dpd[co] = 30 * state[co].astype(np.int16)
        # instalments behind schedule: none for 1..29 DPD (paid late within the month), one per
        # 30 DPD; a delinquent loan keeps a balance even past its term
        missed = dpd // 30
        cap = np.where((ns == _S_CURRENT) | (ns == _S_PAID_OFF), tm, tm - 1)
        k = np.clip(mob - missed, 0, cap).astype(np.int16)

        out_loan.append(active)
        out_t.append(np.full(active.size, t, dtype=np.int16))
        out_mob.append(mob)
        out_state.append(ns)
        out_dpd.append(dpd)
        out_k.append(k)

        keep = ns < _S_CHARGED_OFF
        active = active[keep]
        state = ns[keep]

    if out_loan:
        loan = np.concatenate(out_loan)
        order = np.argsort(loan, kind="stable")
        loan = loan[order]
        t_arr = np.concatenate(out_t)[order]
        mob = np.concatenate(out_mob)[order]
        st = np.concatenate(out_state)[order]
        dpd = np.concatenate(out_dpd)[order]
        k = np.concatenate(out_k)[order].astype(np.float64)
        del order
    else:
        loan = np.zeros(0, dtype=np.int32)
        t_arr = mob = dpd = np.zeros(0, dtype=np.int16)
        st = np.zeros(0, dtype=np.int8)
        k = np.zeros(0)

    # annuity balance after k instalments; 0 once paid off
    i = loans["rate"][loan] / 12.0
    n_term = loans["term"][loan].astype(np.float64)
    g_n = np.power(1.0 + i, n_term)
    balance = loans["amount"][loan] * (g_n - np.power(1.0 + i, k)) / (g_n - 1.0)
    balance = np.where(st == _S_PAID_OFF, 0.0, np.round(balance, 2))
    del i, n_term, g_n, k

    return pd.DataFrame(
        {
            "loan_id": loans["application_id"][loan].astype(np.int64),
            "snapshot_month": month_starts[t_arr].astype("datetime64[D]").astype("datetime64[ns]"),
            "months_on_book": mob.astype(np.int32),
            "balance": balance,
            "days_past_due": dpd.astype(np.int32),
            "status": _codes_to_str(_STATUS_OF_STATE[st], lb.CATEGORIES["status"]),
        }
    )
