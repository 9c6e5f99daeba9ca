"""Morpho Blue's arithmetic, in integers exactly as the contract does it (MathLib, SharesMathLib, the health
check and the liquidation formulas of Morpho.sol 1.0.0): no I/O, so the venue can refuse or preview an
action before sending it, and tests can check Morpho's own results against it."""

from __future__ import annotations

from dataclasses import dataclass

WAD = 10**18
ORACLE_PRICE_SCALE = 10**36
VIRTUAL_SHARES = 10**6
VIRTUAL_ASSETS = 1
LIQUIDATION_CURSOR = 3 * 10**17  # 0.3
MAX_LIQUIDATION_INCENTIVE_FACTOR = 115 * 10**16  # 1.15


def mul_div_down(x: int, y: int, d: int) -> int:
    return x * y // d


def mul_div_up(x: int, y: int, d: int) -> int:
    return (x * y + d - 1) // d


def w_mul_down(x: int, y: int) -> int:
    return mul_div_down(x, y, WAD)


def w_div_down(x: int, y: int) -> int:
    return mul_div_down(x, WAD, y)


def w_div_up(x: int, y: int) -> int:
    return mul_div_up(x, WAD, y)


def w_taylor_compounded(x: int, n: int) -> int:
    """e^(x*n) - 1 to the third Taylor term, as Morpho's MathLib.wTaylorCompounded (x a per-second WAD rate)."""
    first = x * n
    second = mul_div_down(first, first, 2 * WAD)
    third = mul_div_down(second, first, 3 * WAD)
    return first + second + third


def to_shares_down(assets: int, total_assets: int, total_shares: int) -> int:
    return mul_div_down(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_shares_up(assets: int, total_assets: int, total_shares: int) -> int:
    return mul_div_up(assets, total_shares + VIRTUAL_SHARES, total_assets + VIRTUAL_ASSETS)


def to_assets_down(shares: int, total_assets: int, total_shares: int) -> int:
    return mul_div_down(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def to_assets_up(shares: int, total_assets: int, total_shares: int) -> int:
    return mul_div_up(shares, total_assets + VIRTUAL_ASSETS, total_shares + VIRTUAL_SHARES)


def liquidation_incentive_factor(lltv: int) -> int:
    """min(1.15, 1 / (1 - 0.3 * (1 - lltv))), in WAD: 1.0438... for an 86% LLTV."""
    return min(MAX_LIQUIDATION_INCENTIVE_FACTOR, w_div_down(WAD, WAD - w_mul_down(LIQUIDATION_CURSOR, WAD - lltv)))


def max_borrow(collateral: int, price: int, lltv: int) -> int:
    """The most a position may owe before it can be liquidated (Morpho's _isHealthy)."""
    return w_mul_down(mul_div_down(collateral, price, ORACLE_PRICE_SCALE), lltv)


@dataclass(frozen=True)
class Market:
    """A market's totals, as Morpho's ``market(id)`` returns them (interest accrued up to ``last_update``)."""

    total_supply_assets: int
    total_supply_shares: int
    total_borrow_assets: int
    total_borrow_shares: int
    last_update: int
    fee: int

    @property
    def liquidity(self) -> int:
        """Loan tokens free to borrow or withdraw."""
        return self.total_supply_assets - self.total_borrow_assets

    def accrued(self, borrow_rate: int, now: int) -> Market:
        """The totals Morpho's accrueInterest would leave at ``now`` given the IRM's per-second ``borrow_rate``
        (MorphoBalancesLib.expectedMarketBalances): interest added to both sides, the fee minted as supply
        shares to the fee recipient."""
        elapsed = now - self.last_update
        if elapsed <= 0 or self.total_borrow_assets == 0 or borrow_rate == 0:
            return self
        interest = w_mul_down(self.total_borrow_assets, w_taylor_compounded(borrow_rate, elapsed))
        supply_assets = self.total_supply_assets + interest
        supply_shares = self.total_supply_shares
        if self.fee:
            fee_amount = w_mul_down(interest, self.fee)
            supply_shares += to_shares_down(fee_amount, supply_assets - fee_amount, supply_shares)
        return Market(
            supply_assets, supply_shares, self.total_borrow_assets + interest, self.total_borrow_shares, now, self.fee
        )

    def supplied(self, shares: int) -> int:
        return to_assets_down(shares, self.total_supply_assets, self.total_supply_shares)

    def borrowed(self, shares: int) -> int:
        return to_assets_up(shares, self.total_borrow_assets, self.total_borrow_shares)


@dataclass(frozen=True)
class Seizure:
    """What one liquidation call would do: collateral seized, borrow shares and loan assets repaid."""

    seized_assets: int
    repaid_shares: int
    repaid_assets: int


def liquidation(market: Market, price: int, lltv: int, *, seized_assets: int = 0, repaid_shares: int = 0) -> Seizure:
    """Morpho's liquidate() arithmetic: give exactly one of ``seized_assets`` or ``repaid_shares``."""
    if (seized_assets == 0) == (repaid_shares == 0):
        raise ValueError("give exactly one of seized_assets and repaid_shares")
    lif = liquidation_incentive_factor(lltv)
    tba, tbs = market.total_borrow_assets, market.total_borrow_shares
    if seized_assets > 0:
        quoted = mul_div_up(seized_assets, price, ORACLE_PRICE_SCALE)
        repaid_shares = to_shares_up(w_div_up(quoted, lif), tba, tbs)
    else:
        repaid_quoted = w_mul_down(to_assets_down(repaid_shares, tba, tbs), lif)
        seized_assets = mul_div_down(repaid_quoted, ORACLE_PRICE_SCALE, price)
    return Seizure(seized_assets, repaid_shares, to_assets_up(repaid_shares, tba, tbs))
