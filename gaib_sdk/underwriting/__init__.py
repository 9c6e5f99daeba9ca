"""Underwriting: valuation, the hard rules, pricing. Pure functions: no I/O, no chain."""

from gaib_sdk.underwriting.quote import DEFAULT_ADVANCE_RATE, MAX_ADVANCE_RATE, underwrite
from gaib_sdk.underwriting.rules import check_advance, check_customers
from gaib_sdk.underwriting.valuation import months_between, straight_line_value

__all__ = [
    "DEFAULT_ADVANCE_RATE",
    "MAX_ADVANCE_RATE",
    "check_advance",
    "check_customers",
    "months_between",
    "straight_line_value",
    "underwrite",
]
