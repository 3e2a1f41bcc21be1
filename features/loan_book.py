"""The loan-book data model of DESIGN.md: table names, columns, types and categories.

One place that the demo-book generator, the data contracts and the pipeline agree on.
Types are DuckDB/SQL logical types. The column lists are the demo book's; a lender's own
tables need only the roles of :mod:`features.roles` (their other columns are features),
and ``CATEGORIES["decision"]`` / ``["status"]`` are the vocabulary their codes map to.
"""

from __future__ import annotations

APPLICATIONS = "applications"
PERFORMANCE = "performance"

# Special codes of ``bureau_score`` (real scores are 300..850).
BUREAU_NO_HIT = -1  # the bureau has no file on the applicant
BUREAU_THIN_FILE = -2  # a file exists but too thin to score
BUREAU_SPECIAL_CODES = (BUREAU_NO_HIT, BUREAU_THIN_FILE)

PII_COLUMNS = ("full_name", "national_id", "phone", "email")

APPLICATION_COLUMNS: dict[str, str] = {
    # keys and dates
    "application_id": "BIGINT",
    "customer_id": "BIGINT",
    "application_date": "DATE",
    # decision
    "decision": "VARCHAR",
    "product": "VARCHAR",
    "channel": "VARCHAR",
    "requested_amount": "DOUBLE",
    "approved_amount": "DOUBLE",  # null when rejected
    "term_months": "INTEGER",
    "interest_rate": "DOUBLE",  # annual, fraction (0.12 = 12%); null when rejected
    # applicant
    "age": "INTEGER",
    "monthly_income": "DOUBLE",  # nullable (not declared)
    "employment_type": "VARCHAR",
    "employment_years": "DOUBLE",  # nullable
    "education": "VARCHAR",
    "marital_status": "VARCHAR",
    "dependents": "INTEGER",
    "housing": "VARCHAR",
    "region": "VARCHAR",
    # credit bureau, as of the application date
    "bureau_score": "INTEGER",  # 300..850, or a special code
    "bureau_open_accounts": "INTEGER",  # null on no-hit
    "bureau_inquiries_6m": "INTEGER",
    "bureau_worst_dpd_24m": "INTEGER",
    "bureau_delinquencies_24m": "INTEGER",
    "bureau_revolving_utilisation": "DOUBLE",  # 0..~1.5
    "bureau_total_debt": "DOUBLE",
    "bureau_months_since_oldest": "INTEGER",
    # behaviour / alternative data
    "device_os": "VARCHAR",
    "app_sessions_3m": "INTEGER",
    "payment_transactions_3m": "INTEGER",
    "ecommerce_spend_3m": "DOUBLE",
    "night_activity_ratio": "DOUBLE",  # 0..1
    # PII: never a feature, never in an artifact
    "full_name": "VARCHAR",
    "national_id": "VARCHAR",
    "phone": "VARCHAR",
    "email": "VARCHAR",
}

PERFORMANCE_COLUMNS: dict[str, str] = {
    "loan_id": "BIGINT",  # = applications.application_id of an approved application
    "snapshot_month": "DATE",  # first day of the month
    "months_on_book": "INTEGER",  # 1 in the month after the application month
    "balance": "DOUBLE",
    "days_past_due": "INTEGER",
    "status": "VARCHAR",
}

CATEGORIES: dict[str, tuple[str, ...]] = {
    "decision": ("approved", "rejected"),
    "product": ("personal_loan", "credit_card", "auto_loan", "pos_loan"),
    "channel": ("branch", "online", "mobile", "broker"),
    "employment_type": ("salaried", "self_employed", "unemployed", "retired", "student"),
    "education": ("primary", "secondary", "vocational", "bachelor", "master"),
    "marital_status": ("single", "married", "divorced", "widowed"),
    "housing": ("own", "mortgage", "rent", "family"),
    "region": ("north", "south", "east", "west", "capital"),
    "device_os": ("android", "ios", "web", "other"),
    "status": ("current", "delinquent", "charged_off", "paid_off"),
}

# Columns that are keys, dates, decision outcomes or PII: never candidate features.
NON_FEATURE_COLUMNS = (
    "application_id",
    "customer_id",
    "application_date",
    "decision",
    "approved_amount",
    "interest_rate",  # priced from the decision: leaks it
    *PII_COLUMNS,
)
