"""The demo book's applications: applicants, bureau and behaviour attributes, the policy
decision and the loans it books (see :mod:`features.demo_book` for what the book is made
to show). One latent creditworthiness per application drives every attribute and, through
the returned hidden loan table, the performance chain of :mod:`features.demo_performance`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import loan_book as lb
from features.demo_draws import codes_to_str, nullable_int, pick, sigmoid
from features.demo_pii import fake_pii

__all__ = ["FIRST_APPLICATION_ID", "FIRST_CUSTOMER_ID", "draw_applications"]


FIRST_APPLICATION_ID = 10_000_001
FIRST_CUSTOMER_ID = 50_000_001


def draw_applications(
    rng: np.random.Generator, n: int, T: int, month_starts: np.ndarray, macro: np.ndarray,
    mix_trend: float = 1.0, shift_by_month: np.ndarray | None = None,
) -> tuple[pd.DataFrame, dict]:
    """``(applications, loans)``: the applications table of features/loan_book.py, in date order, and the
    booked loans' hidden attributes (position, id, vintage, latent risk, amount, rate, term, product)
    that drive :func:`features.demo_performance.draw_performance`."""
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
    channel = pick(rng, ch_logit)
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
    product = pick(rng, prod_logit)

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
    emp = pick(rng, emp_logit)
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
    marital = pick(rng, mar_logit)
    dependents = rng.poisson(np.array([0.25, 1.4, 0.9, 0.4])[marital] * np.where(age > 60, 0.4, 1.0))
    dependents = np.minimum(dependents, 6).astype(np.int32)

    hou_logit = np.column_stack([
        -1.5 + 0.05 * (age - 30) - 0.30 * r,  # own
        -0.6 + 0.03 * (age - 30) - 0.30 * r - 0.1 * (age - 60).clip(0),  # mortgage
        0.2 + 0.25 * r,  # rent
        np.where(age < 30, 0.8 - 0.15 * (age - 18), -1.5) + 0.2 * r,  # family
    ])
    housing = pick(rng, hou_logit)
    region = pick(rng, np.tile(np.log(np.array([0.20, 0.22, 0.18, 0.20, 0.20])), (n, 1)))[src]

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
    p_nohit = sigmoid(-3.2 + 1.6 * young + 0.9 * (emp == 4) + 0.4 * is_mobile + 0.2 * r)
    p_thin = sigmoid(-3.3 + 1.5 * young + 0.7 * (emp == 4) + 0.3 * is_mobile)
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
    util = 1.5 * sigmoid(-1.25 + 0.85 * r + 0.85 * rng.standard_normal(n))
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
    device = pick(rng, dev_logit)
    has_app = (device == 0) | (device == 1) | ((device == 3) & (rng.random(n) < 0.5)) | is_mobile
    sessions = rng.poisson(np.exp(3.0 + 0.25 * is_mobile + 0.5 * rng.standard_normal(n)))
    payments = rng.poisson(np.exp(3.3 + 0.30 * np.log(np.exp(log_inc) / 2000) - 0.15 * r + 0.4 * rng.standard_normal(n)))
    spend = np.exp(np.log(280) + 0.5 * np.log(np.exp(log_inc) / 2000) + 0.15 * r + 0.9 * rng.standard_normal(n))
    spend = np.where(rng.random(n) < 0.14, 0.0, np.round(spend, 2))
    night = np.round(sigmoid(-1.7 + 0.45 * r + 0.30 * (age < 30) + 0.7 * rng.standard_normal(n)), 3)
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
    reduced = approved & (rng.random(n) < sigmoid(-1.6 + 1.2 * policy))
    approved_amount = np.where(
        reduced, np.maximum(np.round(requested * rng.uniform(0.5, 0.95, n) / 50.0) * 50.0, 100.0), requested
    )
    base_rate = np.array([0.11, 0.19, 0.065, 0.14])[product]
    rate = base_rate + 0.045 * (policy + 0.3) + 0.008 * rng.standard_normal(n) + 0.01 * macro[app_m]
    rate = np.round(np.clip(rate, 0.029, 0.39), 4)

    # ---- PII (fake, built from the customer id)
    pii = fake_pii(customer_id, cust_rank[src])

    application_id = FIRST_APPLICATION_ID + np.arange(n, dtype=np.int64)
    rejected = ~approved
    bureau_na = no_hit
    bureau_thin_na = no_hit | thin
    apps = pd.DataFrame(
        {
            "application_id": application_id,
            "customer_id": customer_id.astype(np.int64),
            "application_date": date_d.astype("datetime64[D]").astype("datetime64[ns]"),
            "decision": codes_to_str(rejected.astype(np.int8), cats["decision"]),
            "product": codes_to_str(product, cats["product"]),
            "channel": codes_to_str(channel, cats["channel"]),
            "requested_amount": requested,
            "approved_amount": np.where(approved, approved_amount, np.nan),
            "term_months": term,
            "interest_rate": np.where(approved, rate, np.nan),
            "age": age,
            "monthly_income": np.where(income_null, np.nan, income),
            "employment_type": codes_to_str(emp, cats["employment_type"]),
            "employment_years": np.where(emp_years_null, np.nan, emp_years),
            "education": codes_to_str(edu, cats["education"]),
            "marital_status": codes_to_str(marital, cats["marital_status"]),
            "dependents": dependents,
            "housing": codes_to_str(housing, cats["housing"]),
            "region": codes_to_str(region, cats["region"]),
            "bureau_score": bscore,
            "bureau_open_accounts": nullable_int(open_acc, bureau_na),
            "bureau_inquiries_6m": nullable_int(inquiries, bureau_na),
            "bureau_worst_dpd_24m": nullable_int(worst_dpd, bureau_thin_na),
            "bureau_delinquencies_24m": nullable_int(delinq, bureau_thin_na),
            "bureau_revolving_utilisation": np.where(bureau_thin_na, np.nan, util),
            "bureau_total_debt": np.where(bureau_na, np.nan, total_debt),
            "bureau_months_since_oldest": nullable_int(oldest, bureau_na),
            "device_os": codes_to_str(device, cats["device_os"]),
            "app_sessions_3m": nullable_int(sessions, no_app),
            "payment_transactions_3m": nullable_int(payments, no_app),
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
