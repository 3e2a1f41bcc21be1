"""Columns that hold personal data, recognised by name or content (never features, never shown)."""

from __future__ import annotations

import re

import pandas as pd

from features.loan_book import PII_COLUMNS

__all__ = ["is_pii_name", "looks_personal", "shows_personal"]

_PII_SUBSTRINGS = (
    "name", "email", "e_mail", "phone", "mobile", "national_id", "nationalid", "passport",
    "social_security", "socialsecurity", "address", "birth", "iban",
)
_PII_TOKENS = {"ssn", "sin", "nin", "tin", "nid", "tel", "dob", "mail", "dni", "nif", "cpf", "pesel", "zip", "postcode"}


def is_pii_name(column: str) -> bool:
    """True for a column named like personal data (name, email, phone, national id, ...)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(column)).lower()
    snake = re.sub(r"[^a-z0-9]+", "_", snake)
    if str(column) in PII_COLUMNS or any(s in snake for s in _PII_SUBSTRINGS):
        return True
    tokens = {t for t in re.split(r"[_0-9]+", snake) if t}
    return bool(tokens & _PII_TOKENS)


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def looks_personal(series: pd.Series, sample: int = 1000) -> bool:
    """Values that look like e-mail addresses, whatever the column is called."""
    head = series.dropna().head(sample)
    return bool(len(head)) and any(isinstance(v, str) and _EMAIL.search(v) for v in head)


def shows_personal(text: str) -> bool:
    """True for a value that looks like an e-mail address (never shown in a table or a message)."""
    return bool(_EMAIL.search(text))
