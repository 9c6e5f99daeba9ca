"""Underwriting: valuation, the hard rules, cash-flow projection, metrics, pricing and stress tests.
Pure functions: no I/O, no chain."""

from gaib_sdk.underwriting.appraisal import (
    contract_shares,
    contracted_income_valuation,
    latest_utilisation,
    quote_values,
)
from gaib_sdk.underwriting.cashflow import (
    add_months,
    contracted_by_month,
    lease_contract,
    leased_units,
    project_cash_flows,
)
from gaib_sdk.underwriting.market import GPU_MARKET, appraise_gpu, income_value, market_for
from gaib_sdk.underwriting.metrics import (
    annualised_roi,
    deal_metrics,
    dscr,
    dscr_by_month,
    irr,
    npv,
    payback_months,
    payment_record,
)
from gaib_sdk.underwriting.pricing import (
    DEFAULT_RESERVE_BPS,
    apply_waterfall,
    build_schedule,
    cash_reserve,
    collateral_cover,
    to_deal_terms,
)
from gaib_sdk.underwriting.quote import (
    DEFAULT_ADVANCE_RATE,
    MAX_ADVANCE_RATE,
    check_capacity,
    deal_case,
    pricing_terms,
    running_contracts,
    stress_policy,
    underwrite,
)
from gaib_sdk.underwriting.rules import check_advance, check_customers
from gaib_sdk.underwriting.stress import (
    STANDARD_SCENARIOS,
    check_scenarios,
    check_stressed_loss,
    loan_risk,
    run_scenarios,
    simulate_portfolio,
    stress_check,
    stress_deal,
)
from gaib_sdk.underwriting.valuation import months_between, straight_line_valuation, straight_line_value

__all__ = [
    "DEFAULT_ADVANCE_RATE",
    "DEFAULT_RESERVE_BPS",
    "GPU_MARKET",
    "MAX_ADVANCE_RATE",
    "STANDARD_SCENARIOS",
    "add_months",
    "annualised_roi",
    "apply_waterfall",
    "appraise_gpu",
    "build_schedule",
    "cash_reserve",
    "check_advance",
    "check_capacity",
    "check_customers",
    "check_scenarios",
    "check_stressed_loss",
    "collateral_cover",
    "contract_shares",
    "contracted_by_month",
    "contracted_income_valuation",
    "deal_case",
    "deal_metrics",
    "dscr",
    "dscr_by_month",
    "income_value",
    "irr",
    "latest_utilisation",
    "lease_contract",
    "leased_units",
    "loan_risk",
    "market_for",
    "months_between",
    "npv",
    "payback_months",
    "payment_record",
    "pricing_terms",
    "project_cash_flows",
    "quote_values",
    "run_scenarios",
    "running_contracts",
    "simulate_portfolio",
    "straight_line_valuation",
    "straight_line_value",
    "stress_check",
    "stress_policy",
    "stress_deal",
    "to_deal_terms",
    "underwrite",
]
