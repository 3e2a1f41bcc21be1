"""The demo book's performance: the monthly delinquency chain of every booked loan.

States: current, 1..29 DPD, 30..150 DPD, charged off, paid off. Roll, cure, prepayment
and charge-off probabilities depend on the loan's latent risk, its months on book and the
macro factor of the calendar month; balances follow the annuity schedule of the
instalments paid. Loops over calendar months only, vectorised over loans."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import loan_book as lb
from features.demo_draws import codes_to_str, sigmoid

__all__ = ["draw_performance"]


# Performance-chain states (index = state code).
_S_CURRENT, _S_EARLY = 0, 1  # 0 DPD, 1..29 DPD
# 2..6 = 30, 60, 90, 120, 150 DPD
_S_CHARGED_OFF, _S_PAID_OFF = 7, 8
_STATUS_OF_STATE = np.array([0, 1, 1, 1, 1, 1, 1, 2, 3], dtype=np.int8)  # -> CATEGORIES["status"]

# Per delinquent state (index 2..6 = 30..150 DPD): base logit of a full cure, and fixed
# probabilities of a partial cure (one bucket back), staying, and an early charge-off.
_CURE_BASE = np.array([0, 0, 0.20, -0.80, -1.70, -2.60, -3.20])
_PARTIAL = np.array([0, 0, 0.00, 0.08, 0.06, 0.04, 0.03])
_STAY = np.array([0, 0, 0.15, 0.10, 0.08, 0.06, 0.05])
_EARLY_CO = np.array([0, 0, 0.002, 0.004, 0.01, 0.10, 0.0])


def draw_performance(
    rng: np.random.Generator, loans: dict, T: int, month_starts: np.ndarray, macro: np.ndarray
) -> pd.DataFrame:
    """The performance table of features/loan_book.py: one row per booked loan per month on book, from
    the month after the application to ``month_starts[-1]`` or a terminal status (charged off, paid off)."""
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
            p_pp = sigmoid(prepay_base[active[idx]] + 0.12 * np.minimum(m, 6))
            p_early = sigmoid(early_base[active[idx]] + 0.5 * mac)
            p_roll = sigmoid(roll_base[active[idx]] + 1.0 * mac + mob_eff)
            uu = u[idx]
            ns[idx] = np.where(
                uu < p_pp, _S_PAID_OFF,
                np.where(uu < p_pp + p_early, _S_EARLY, np.where(uu < p_pp + p_early + p_roll, 2, _S_CURRENT)),
            )
        # 1..29 DPD: cure, roll to 30, or stay
        idx = np.flatnonzero(state == _S_EARLY)
        if idx.size:
            p_cure = sigmoid(1.0 - 0.6 * rk[idx] - 0.4 * mac)
            uu = u[idx]
            ns[idx] = np.where(uu < p_cure, 0, np.where(uu < p_cure + (1 - p_cure) * 0.75, 2, 1))
        # 30..150 DPD: cure, partial cure, stay, early charge-off, roll
        idx = np.flatnonzero(state >= 2)
        if idx.size:
            s = state[idx].astype(np.int64)
            p_cure = np.minimum(sigmoid(_CURE_BASE[s] - 0.6 * rk[idx] - 0.5 * mac), 0.7)
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
            "status": codes_to_str(_STATUS_OF_STATE[st], lb.CATEGORIES["status"]),
        }
    )
