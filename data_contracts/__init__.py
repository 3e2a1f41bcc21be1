"""Data contracts: one YAML per input table, compiled in code into GX Core suites.

>>> from data_contracts import load_contract, validate_loan_book, validate_flat_table
>>> report = validate_loan_book(applications, performance, docs_dir="out/docs")
>>> report.raise_for_errors()      # DataContractError naming table, column and problem
"""

from .contract import FlatContract, TableContract, load_contract
from .report import ContractReport, ContractResult
from .validate import validate_flat_table, validate_loan_book

__all__ = [
    "ContractReport",
    "ContractResult",
    "FlatContract",
    "TableContract",
    "load_contract",
    "validate_flat_table",
    "validate_loan_book",
]
