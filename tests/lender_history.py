"""A lender's loan history built from the Taiwan credit-card default data, in the lender's own names.

Each sampled client is an application (``CARD_APPS``: ``CLIENT_ID``, ``APP_DATE``,
``DECISION`` coded ``A`` / ``D``, the client's attributes, a phone number and a contact
e-mail as PII); about one in ten is declined and has no history. An approved client's six
monthly repayment statuses become six snapshots (``CARD_PERF``: ``ACCOUNT_NO``,
``STMT_MONTH``, ``MOB`` counted from 0, ``PAY_STATUS`` = the bucket code, ``BALANCE`` =
the bill amount, ``ACCT_STATUS`` ``O`` open / ``W`` written off from 6 months late).

The source orders the statuses newest first: ``PAY_0`` is September 2005, ``PAY_6``
April. Here the oldest, ``PAY_6``, is the first month on book (MOB 0, the month after the
application) and ``PAY_0`` the sixth. Applications are spread over 12 months and the
history is cut at ``AS_OF``, so the newest vintages are young (immature unless they went
bad already): a lender's extract, not a closed data set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "configs" / "lender_example.yaml"
PAY = ["PAY_6", "PAY_5", "PAY_4", "PAY_3", "PAY_2", "PAY_0"]  # MOB 0..5 (lender's count), oldest first
BILL = ["BILL_AMT6", "BILL_AMT5", "BILL_AMT4", "BILL_AMT3", "BILL_AMT2", "BILL_AMT1"]
FIRST_MONTH = pd.Timestamp("2004-01-01")
MONTHS = 12
AS_OF = pd.Timestamp("2005-03-01")  # the newest statement month in the extract
# the bucket code -> days past due: -2 no consumption, -1 paid in full, 0 revolving on time, k = k months late
DELINQUENCY_CODES = {-2: 0, -1: 0, 0: 0, **{k: 30 * k for k in range(1, 10)}}
DPD_THRESHOLD, WINDOW = 60, 5  # bad: 60+ days past due (2 months late) within 5 months on book


def lender_history(taiwan: pd.DataFrame, clients: int = 7000, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(CARD_APPS, CARD_PERF)``; deterministic for a seed."""
    rng = np.random.default_rng(seed)
    base = taiwan.sample(clients, random_state=seed).reset_index(drop=True)
    app_month = FIRST_MONTH + pd.to_timedelta(0, "D")
    offsets = rng.integers(0, MONTHS, len(base))
    months = pd.DatetimeIndex([app_month + pd.DateOffset(months=int(k)) for k in range(MONTHS)])
    app_date = months[offsets] + pd.to_timedelta(rng.integers(0, 28, len(base)), "D")
    declined = rng.random(len(base)) < 0.10
    apps = pd.DataFrame({
        "CLIENT_ID": base["ID"].astype("int64"),
        "APP_DATE": app_date.date,
        "DECISION": np.where(declined, "D", "A"),
        "LIMIT_BAL": base["LIMIT_BAL"].astype(float),
        "SEX": base["SEX"],
        "EDUCATION": base["EDUCATION"],
        "MARRIAGE": base["MARRIAGE"],
        "AGE": base["AGE"],
        "MOBILE_PHONE": [f"+886 9{rng.integers(10, 99)} {rng.integers(100, 999)} {rng.integers(100, 999)}" for _ in range(len(base))],
        "CONTACT": [f"client{int(i)}@mail.example.tw" for i in base["ID"]],
    })
    rows = []
    approved = base[~declined]
    approved_month = months[offsets[~declined]]
    for k in range(6):
        snap = approved_month + pd.DateOffset(months=k + 1)
        code = approved[PAY[k]].to_numpy()
        rows.append(pd.DataFrame({
            "ACCOUNT_NO": approved["ID"].astype("int64").to_numpy(),
            "STMT_MONTH": snap,
            "MOB": k,
            "PAY_STATUS": code,
            "BALANCE": approved[BILL[k]].astype(float).to_numpy(),
            "ACCT_STATUS": np.where(code >= 6, "W", "O"),
        }))
    perf = pd.concat(rows, ignore_index=True)
    perf = perf[perf["STMT_MONTH"] <= AS_OF].sort_values(["ACCOUNT_NO", "STMT_MONTH"]).reset_index(drop=True)
    perf["STMT_MONTH"] = perf["STMT_MONTH"].dt.date
    return apps, perf


def expected_outcomes(taiwan: pd.DataFrame, apps: pd.DataFrame) -> pd.Series:
    """Outcome counts computed from the raw PAY columns alone (no pipeline code).

    A declined application is ``rejected``. An approved one is ``bad`` if a PAY code >= 2
    (60+ days late) is observed in its first 5 months on book; else ``good`` once 5
    months are observable by ``AS_OF``, else ``immature``.
    """
    raw = taiwan.set_index("ID")
    out = []
    for client, date, decision in zip(apps["CLIENT_ID"], apps["APP_DATE"], apps["DECISION"]):
        if decision != "A":
            out.append("rejected")
            continue
        app = pd.Timestamp(date).to_period("M")
        observable = min(WINDOW, (AS_OF.to_period("M") - app).n)  # months on book seen by AS_OF, within the window
        codes = [raw.at[client, PAY[k]] for k in range(observable)]
        if any(c >= DPD_THRESHOLD // 30 for c in codes):
            out.append("bad")
        elif observable >= WINDOW:
            out.append("good")
        else:
            out.append("immature")
    return pd.Series(out).value_counts().sort_index()


def lender_config(url: str, contracts: dict[str, str] | None = None, extra: str = "") -> str:
    """``configs/lender_example.yaml`` on this history: its url, the drafted contracts (none: before
    `contract init`) and a short model search; no `portfolio` key, so named after the file."""
    cfg = yaml.safe_load(EXAMPLE.read_text())
    cfg["source"]["url"] = url
    cfg.pop("contract")
    if contracts:
        cfg["contract"] = dict(contracts)
    cfg["models"] = {"xgboost": {"n_search": 2}, "walk_forward_origins": 1}
    return yaml.safe_dump(cfg, sort_keys=False) + extra
