"""The repayment schedule, the revenue lockbox and delinquency, on the embedded EVM.

Attacks first: a borrower who pays nothing is impaired at 30 days past due and defaulted at 90 by a third
party; a sweep releases nothing to the borrower while anything is due; a short payment draws the cash
reserve and later sweeps top it up. Then a fixed, a revenue-share and a hybrid deal paid through the lockbox
over their whole term, each sweep landing on its due date, checked to the unit against the convention
(``convention`` below: 30-day periods, simple actual/365 by the second, rounded up) and recorded in
``SCHEDULES`` for comparison with the engine's schedule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gaib_sdk import DealStatus, Gaib, GaibValueError, InsufficientFundsError, NotDelinquentError
from gaib_sdk.chain import TxResult
from gaib_sdk.models import DealTerms
from gaib_sdk.underwriting import chain_schedule

from .conftest import Actors
from .test_contracts import (
    BPS,
    DAY,
    DEAL_ACTIVE,
    DEAL_DEFAULTED,
    DEAL_IMPAIRED,
    DEAL_REPAID,
    FIXED,
    HYBRID,
    MAX_UINT,
    REVENUE_SHARE,
    USDC,
    YEAR,
    assert_backed,
    asset_id,
    block_time,
    events,
    mint_aid,
    open_deal,
    opened_deal_id,
    register,
    reverts,
    terms,
    usdc_of,
)

PERIOD = 30 * DAY
GRACE_DAYS, MARKDOWN_BPS = 5, 2_500
ADVANCE = 750_000 * USDC
APPRAISED = 1_000_000 * USDC
RESERVE = ADVANCE * 660 // BPS  # the facility's default cash reserve, 6.6% of the advance


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Deal:
    deal_id: int
    opened_at: int
    lockbox: str
    customer: Gaib


async def open_lockbox_deal(gaib: Gaib, actors: Actors, deal_terms: tuple[int, int, int, int, int], n: int) -> Deal:
    """A deal against two fresh assets, with someone staked in sAID (so interest goes to the vault) and a
    customer (the lender account, standing in for the provider's customer) holding 2M USDC to pay invoices."""
    p = gaib.protocol
    await mint_aid(actors.investor, 1_000_000 * USDC)
    await actors.investor.send(p.aid.functions.approve(p.said.address, MAX_UINT), what="approve AID")
    await actors.investor.send(p.said.functions.deposit(10**18, actors.investor.address), what="stake")
    collateral = [asset_id(n), asset_id(n + 1)]
    await register(actors, actors.provider.address, collateral)
    opened = await open_deal(actors, collateral, APPRAISED, ADVANCE, deal_terms)
    deal_id = await opened_deal_id(gaib, opened)
    (ev,) = events(p.facility, "LockboxOpened", opened)
    assert ev["dealId"] == deal_id
    assert (await p.facility.functions.servicing(deal_id).call())[0] == ev["lockbox"]
    await gaib.faucet(actors.lender.address, Decimal(2_000_000))
    return Deal(deal_id, await block_time(gaib, opened), ev["lockbox"], actors.lender)


async def at(gaib: Gaib, when: int) -> None:
    """The next transaction's block is stamped exactly ``when`` (the embedded chain's clock)."""
    tester = gaib.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    tester.time_travel(when)  # mines a block at when - 1; the next block lands on when


async def pay_in(gaib: Gaib, deal: Deal, amount: int) -> None:
    """A customer pays an invoice: a plain USDC transfer to the lockbox."""
    await deal.customer.send(gaib.protocol.usdc.functions.transfer(deal.lockbox, amount), what="pay invoice")


async def sweep(gaib: Gaib, who: Gaib, deal_id: int) -> tuple[dict[str, int], TxResult]:
    result = await who.send(gaib.protocol.facility.functions.sweep(deal_id), what="sweep")
    (ev,) = events(gaib.protocol.facility, "Swept", result)
    assert ev["caller"] == who.address
    return dict(ev["amounts"]), result


async def deal_state(gaib: Gaib, deal_id: int) -> Any:
    return await gaib.protocol.facility.functions.getDeal(deal_id).call()


# ---- attacks ----


@pytest.mark.asyncio
async def test_a_borrower_who_pays_nothing_is_impaired_at_30_days_and_defaulted_at_90_by_anyone(
    gaib: Gaib, actors: Actors
) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    deal = await open_lockbox_deal(gaib, actors, terms(FIXED, 1_200, 0, 200, 365), 0x21)
    outsider = actors.outsider
    due_dates, principal = await fac.installments(deal.deal_id).call()
    assert len(due_dates) == 13  # ceil(365 / 30)
    assert due_dates == [deal.opened_at + min(30 * k, 365) * DAY for k in range(1, 14)]
    assert principal == [ADVANCE // 13] * 12 + [ADVANCE - 12 * (ADVANCE // 13)]
    first = due_dates[0]

    # Before the first due date nothing is due and nothing can be triggered.
    assert await fac.amountDue(deal.deal_id).call() == [0, 0, 0]
    await reverts(outsider.send(fac.markDelinquent(deal.deal_id), what="mark"), "NotDelinquent")

    # On the due date: a month of fees and interest and the first installment are due.
    await at(gaib, first)
    gaib.chain.w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]
    month = ADVANCE * PERIOD
    expect = [ceil_div(month * 200, BPS * YEAR), ceil_div(month * 1_200, BPS * YEAR), ADVANCE // 13]
    assert await fac.amountDue(deal.deal_id).call() == expect
    assert await fac.daysPastDue(deal.deal_id).call() == 0

    # 29 days past due: still nothing to trigger; 30 days: anyone marks it down by 25% of principal.
    await at(gaib, first + 29 * DAY)
    reason = await reverts(outsider.send(fac.markDelinquent(deal.deal_id), what="mark"), "NotDelinquent")
    assert "daysPastDue=29" in reason.replace(" ", "")
    await at(gaib, first + 30 * DAY)
    result = await outsider.send(fac.markDelinquent(deal.deal_id), what="mark")
    markdown = ADVANCE * MARKDOWN_BPS // BPS
    assert [e["markdown"] for e in events(p.facility, "DealImpaired", result)] == [markdown]
    (ev,) = events(p.facility, "DealDelinquent", result)
    assert (ev["daysPastDue"], ev["status"]) == (30, DEAL_IMPAIRED)
    d = await deal_state(gaib, deal.deal_id)
    assert (d[2], d[13]) == (DEAL_IMPAIRED, markdown)
    # Impaired already: the next trigger is the default, at 90 days.
    await at(gaib, first + 89 * DAY)
    await reverts(outsider.send(fac.markDelinquent(deal.deal_id), what="mark"), "NotDelinquent")
    await at(gaib, first + 90 * DAY)
    result = await outsider.send(fac.markDelinquent(deal.deal_id), what="mark")
    assert [e["principalOutstanding"] for e in events(p.facility, "DealDefaulted", result)] == [ADVANCE]
    assert (await deal_state(gaib, deal.deal_id))[2] == DEAL_DEFAULTED
    # The cash reserve was never touched: nobody swept. A defaulted deal's lockbox waits for recovery.
    assert (await deal_state(gaib, deal.deal_id))[12] == RESERVE
    await reverts(outsider.send(fac.sweep(deal.deal_id), what="sweep"), "WrongDealStatus")
    await reverts(outsider.send(fac.markDelinquent(deal.deal_id), what="mark"), "NotDelinquent")
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_an_active_deal_90_days_past_due_is_defaulted_in_one_step(gaib: Gaib, actors: Actors) -> None:
    fac = gaib.protocol.facility.functions
    deal = await open_lockbox_deal(gaib, actors, terms(REVENUE_SHARE, 1_000, 6_000, 100, 180), 0x23)
    await at(gaib, deal.opened_at + PERIOD + 90 * DAY)
    result = await actors.outsider.send(fac.markDelinquent(deal.deal_id), what="mark")
    (ev,) = events(gaib.protocol.facility, "DealDelinquent", result)
    assert (ev["daysPastDue"], ev["status"]) == (90, DEAL_DEFAULTED)


@pytest.mark.asyncio
async def test_small_payments_do_not_restart_the_delinquency_clock(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    deal = await open_lockbox_deal(gaib, actors, terms(FIXED, 1_200, 0, 200, 365), 0x25)
    await gaib.faucet(actors.provider.address, Decimal(1_000))
    await actors.provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    first = deal.opened_at + PERIOD
    for day in (10, 20, 29):
        await at(gaib, first + day * DAY)
        await actors.provider.send(fac.repay(deal.deal_id, 1 * USDC), what="a token payment")
        await pay_in(gaib, deal, 1 * USDC)
        await sweep(gaib, actors.outsider, deal.deal_id)  # draws the whole reserve, still short of the dues
        assert await fac.daysPastDue(deal.deal_id).call() == day
    await at(gaib, first + 30 * DAY)
    await actors.outsider.send(fac.markDelinquent(deal.deal_id), what="mark")
    assert (await deal_state(gaib, deal.deal_id))[2] == DEAL_IMPAIRED


@pytest.mark.asyncio
async def test_a_sweep_releases_nothing_to_the_borrower_while_anything_is_due(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    deal = await open_lockbox_deal(gaib, actors, terms(FIXED, 1_200, 0, 200, 365), 0x31)
    borrower = actors.provider.address

    # Nobody but the facility can take the lockbox's money, the borrower included.
    await pay_in(gaib, deal, 10_000 * USDC)
    lockbox = gaib.chain.w3.eth.contract(address=deal.lockbox, abi=_lockbox_abi())
    await reverts(actors.provider.send(lockbox.functions.pull(), what="pull"), "OnlyFacility")

    # Mid-period, what has accrued is paid first; the installment is not due yet, so the rest is released.
    swept, result = await sweep(gaib, actors.outsider, deal.deal_id)
    elapsed = await block_time(gaib, result) - deal.opened_at
    fees, interest = (ceil_div(ADVANCE * elapsed * bps, BPS * YEAR) for bps in (200, 1_200))
    assert (swept["fees"], swept["interest"], swept["principal"]) == (fees, interest, 0)
    assert swept["toBorrower"] == 10_000 * USDC - fees - interest

    # At the due date, a payment short of what is due: every unit goes to the lender, none to the borrower,
    # and within the grace period the cash reserve is not drawn.
    first = deal.opened_at + PERIOD
    await pay_in(gaib, deal, 40_000 * USDC)
    before = await usdc_of(gaib, borrower)
    await at(gaib, first)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert swept["gross"] == 40_000 * USDC
    assert swept["fees"] + swept["interest"] + swept["principal"] == 40_000 * USDC
    assert (swept["toBorrower"], swept["reserveDrawn"]) == (0, 0)
    assert await usdc_of(gaib, borrower) == before
    due = await fac.amountDue(deal.deal_id).call()
    assert due[2] == ADVANCE // 13 - swept["principal"] and due[0] == due[1] == 0

    # The rest of the installment and more: exactly what is due goes to the lender, the rest is released.
    await pay_in(gaib, deal, 30_000 * USDC)
    swept, result = await sweep(gaib, actors.outsider, deal.deal_id)
    assert swept["principal"] == due[2]
    assert swept["toBorrower"] == 30_000 * USDC - swept["fees"] - swept["interest"] - swept["principal"]
    assert await usdc_of(gaib, borrower) == before + swept["toBorrower"]
    assert await fac.amountDue(deal.deal_id).call() == [0, 0, 0]
    assert (await fac.servicing(deal.deal_id).call())[1] == 1  # the first installment is met
    assert await fac.daysPastDue(deal.deal_id).call() == 0
    (repaid,) = events(p.facility, "Repaid", result)
    assert (repaid["payer"], repaid["excess"]) == (deal.lockbox, swept["toBorrower"])
    await assert_backed(gaib)


@pytest.mark.asyncio
async def test_a_revenue_share_sweep_pays_the_lenders_share_and_at_least_what_is_due(
    gaib: Gaib, actors: Actors
) -> None:
    fac = gaib.protocol.facility.functions
    deal = await open_lockbox_deal(gaib, actors, terms(REVENUE_SHARE, 1_000, 6_000, 100, 180), 0x33)
    first = deal.opened_at + PERIOD
    # A thin month: 60% of 10,000 does not cover the month's interest, so the borrower's part makes it up.
    await pay_in(gaib, deal, 10_000 * USDC)
    await at(gaib, first)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    month = ADVANCE * PERIOD
    owed = ceil_div(month * 100, BPS * YEAR) + ceil_div(month * 1_000, BPS * YEAR)
    assert owed > 6_000 * USDC
    assert (swept["fees"] + swept["interest"], swept["principal"], swept["toBorrower"]) == (
        owed,
        0,
        10_000 * USDC - owed,
    )
    # A good month: the lender's 60% goes through the waterfall, interest then principal.
    await pay_in(gaib, deal, 100_000 * USDC)
    await at(gaib, first + 10 * DAY)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert swept["fees"] + swept["interest"] + swept["principal"] == 60_000 * USDC
    assert swept["toBorrower"] == 40_000 * USDC
    assert await fac.daysPastDue(deal.deal_id).call() == 0


@pytest.mark.asyncio
async def test_a_short_payment_draws_the_cash_reserve_and_later_sweeps_top_it_up(gaib: Gaib, actors: Actors) -> None:
    p = gaib.protocol
    fac = p.facility.functions
    deal = await open_lockbox_deal(gaib, actors, terms(FIXED, 1_200, 0, 200, 365), 0x41)
    first = deal.opened_at + PERIOD
    await pay_in(gaib, deal, 20_000 * USDC)
    # Past the grace period, a sweep short of what is due draws the reserve for the shortfall.
    await at(gaib, first + GRACE_DAYS * DAY)
    due_at_sweep = await _owed_now(gaib, deal.deal_id, first + GRACE_DAYS * DAY)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert swept["reserveDrawn"] == due_at_sweep - 20_000 * USDC
    assert swept["fees"] + swept["interest"] + swept["principal"] == due_at_sweep
    assert swept["toBorrower"] == 0
    d = await deal_state(gaib, deal.deal_id)
    assert d[12] == RESERVE - swept["reserveDrawn"]
    servicing = await fac.servicing(deal.deal_id).call()
    assert (servicing[1], servicing[2]) == (1, swept["reserveDrawn"])
    assert await fac.daysPastDue(deal.deal_id).call() == 0
    drawn = swept["reserveDrawn"]

    # The next month the customers pay well: what is due first, then the reserve back to its target.
    second = deal.opened_at + 2 * PERIOD
    await pay_in(gaib, deal, 120_000 * USDC)
    await at(gaib, second)
    due_at_sweep = await _owed_now(gaib, deal.deal_id, second)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert swept["fees"] + swept["interest"] + swept["principal"] == due_at_sweep
    assert (swept["reserveDrawn"], swept["reserveTopUp"]) == (0, drawn)
    assert swept["toBorrower"] == 120_000 * USDC - due_at_sweep - drawn
    assert (await deal_state(gaib, deal.deal_id))[12] == RESERVE
    assert (await fac.servicing(deal.deal_id).call())[2] == 0

    # An empty lockbox past grace: the reserve pays what it can (an installment is more than the reserve),
    # and what it cannot cover leaves the deal past due.
    third = deal.opened_at + 3 * PERIOD
    await at(gaib, third + GRACE_DAYS * DAY)
    owed = await _owed_now(gaib, deal.deal_id, third + GRACE_DAYS * DAY)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert (swept["gross"], swept["reserveDrawn"]) == (0, RESERVE)
    assert swept["fees"] + swept["interest"] + swept["principal"] == RESERVE < owed
    assert (await deal_state(gaib, deal.deal_id))[12] == 0
    assert await fac.daysPastDue(deal.deal_id).call() == GRACE_DAYS
    # The customers pay again: the arrears first, then the whole reserve back, then the borrower.
    await pay_in(gaib, deal, 100_000 * USDC)
    when = third + 10 * DAY
    await at(gaib, when)
    owed = await _owed_now(gaib, deal.deal_id, when)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert swept["fees"] + swept["interest"] + swept["principal"] == owed
    assert swept["reserveTopUp"] == RESERVE
    assert swept["toBorrower"] == 100_000 * USDC - owed - RESERVE
    assert (await deal_state(gaib, deal.deal_id))[12] == RESERVE
    assert await fac.daysPastDue(deal.deal_id).call() == 0
    await assert_backed(gaib)


async def _owed_now(gaib: Gaib, deal_id: int, when: int) -> int:
    """Fees and interest accrued to ``when`` plus the principal scheduled by then and not repaid."""
    fac = gaib.protocol.facility.functions
    d = await fac.getDeal(deal_id).call()  # fees and interest accrued to the latest block
    latest = await gaib.chain.timestamp()
    _structure, rate, _share, fee, _term = d[1]
    fees = d[9] - _pending(d, latest, fee) + _pending(d, when, fee)
    interest = d[8] - _pending(d, latest, rate) + _pending(d, when, rate)
    due_dates, principal = await fac.installments(deal_id).call()
    scheduled = sum(pr for t, pr in zip(due_dates, principal, strict=True) if t <= when)
    return fees + interest + max(0, scheduled - (d[6] - d[7]))


def _pending(d: Any, until: int, bps: int) -> int:
    return ceil_div(d[7] * (until - d[4]) * bps, BPS * YEAR)


def _lockbox_abi() -> list[dict[str, Any]]:
    from gaib_sdk.chain import load_artifact

    return list(load_artifact("RevenueLockbox")["abi"])


# ---- whole deals paid on schedule through the lockbox ----


def convention(structure: int, deal_terms: tuple[int, int, int, int, int], gross: list[int]) -> list[dict[str, int]]:
    """The schedule convention in Python, for one sweep of ``gross[k - 1]`` at each due date k: periods
    of 30 days, the last at the term's end; fees and interest simple actual/365 by the second on principal
    outstanding, rounded up, never compounded; fixed and hybrid: level principal advance // n, the last
    installment clears the rest; revenue share: revenueShareBps of the gross through the waterfall, at least
    what is due, the principal left due at the last date; hybrid: its share of the gross paid to sAID as a
    kicker after what is due."""
    _s, rate, share_bps, fee, term_days = deal_terms
    n = ceil_div(term_days, 30)
    principal, fees_due, interest_due, accrued_at = ADVANCE, 0, 0, 0
    rows = []
    for k in range(1, n + 1):
        t = min(30 * k, term_days) * DAY
        g = gross[k - 1]
        fees_due += ceil_div(principal * (t - accrued_at) * fee, BPS * YEAR)
        interest_due += ceil_div(principal * (t - accrued_at) * rate, BPS * YEAR)
        accrued_at = t
        scheduled = ADVANCE if k == n else 0 if structure == REVENUE_SHARE else k * (ADVANCE // n)
        due = fees_due + interest_due + max(0, scheduled - (ADVANCE - principal))
        share = g * share_bps // BPS
        budget = min(g, max(due, share) if structure == REVENUE_SHARE else due)
        to_fees = min(budget, fees_due)
        to_interest = min(budget - to_fees, interest_due)
        to_principal = min(budget - to_fees - to_interest, principal)
        fees_due, interest_due, principal = fees_due - to_fees, interest_due - to_interest, principal - to_principal
        left = g - to_fees - to_interest - to_principal
        kicker = min(left, share) if structure == HYBRID else 0
        rows.append(
            {
                "k": k,
                "day": t // DAY,
                "gross": g,
                "fees": to_fees,
                "interest": to_interest,
                "principal": to_principal,
                "kicker": kicker,
                "toBorrower": left - kicker,
            }
        )
    assert principal == fees_due == interest_due == 0, "the deal must be paid off by its last date"
    return rows


SCHEDULE_CASES = {
    # structure, rate, revenue share, fee, term; and the customers' payments each period
    "fixed": (terms(FIXED, 1_200, 0, 200, 365), [100_000 * USDC] * 13),
    "revenue_share": (terms(REVENUE_SHARE, 1_000, 6_000, 100, 365), [100_000 * USDC] * 13),
    "hybrid": (terms(HYBRID, 1_000, 1_000, 100, 100), [250_000 * USDC] * 4),
}

#: What each sweep paid, by case, as recorded on chain (USDC units; ``day`` counted from opening), pinned in
#: tests/data so that the engine's schedule can be compared with the chain's to the unit.
SCHEDULES = json.loads((Path(__file__).parent / "data" / "lockbox_schedules.json").read_text())


@pytest.mark.asyncio
@pytest.mark.parametrize("case", sorted(SCHEDULE_CASES))
async def test_a_deal_paid_on_schedule_through_the_lockbox_over_its_whole_term(
    gaib: Gaib, actors: Actors, case: str
) -> None:
    deal_terms, gross = SCHEDULE_CASES[case]
    structure = deal_terms[0]
    p = gaib.protocol
    fac = p.facility.functions
    deal = await open_lockbox_deal(gaib, actors, deal_terms, 0x51)
    due_dates, _ = await fac.installments(deal.deal_id).call()
    treasury = await fac.treasury().call()
    rows = []
    for k, (when, g) in enumerate(zip(due_dates, gross, strict=True), start=1):
        await pay_in(gaib, deal, g)
        await at(gaib, when)
        before = (await usdc_of(gaib, actors.provider.address), await usdc_of(gaib, treasury))
        swept, result = await sweep(gaib, actors.outsider, deal.deal_id)
        assert await block_time(gaib, result) == when
        assert (swept["reserveDrawn"], swept["reserveTopUp"]) == (0, 0)
        closed = events(p.facility, "DealClosed", result)
        released = closed[0]["cashReserveReleased"] if closed else 0
        assert await usdc_of(gaib, actors.provider.address) == before[0] + swept["toBorrower"] + released
        assert await usdc_of(gaib, treasury) == before[1] + swept["fees"]
        assert await fac.daysPastDue(deal.deal_id).call() == 0
        rows.append(
            {
                "k": k,
                "day": (when - deal.opened_at) // DAY,
                **{f: swept[f] for f in ("gross", "fees", "interest", "principal", "kicker", "toBorrower")},
            }
        )
    assert rows == convention(structure, deal_terms, gross)
    # One convention (issue 12, item 6): the engine's schedule is the chain's, to the USDC unit.
    pinned_terms = DealTerms(**SCHEDULES[case]["terms"])
    engine = chain_schedule(ADVANCE, pinned_terms, gross)
    assert [
        (i.index, i.due_offset_s // DAY, i.fees_units, i.interest_units, i.principal_units, i.kicker_units)
        for i in engine
    ] == [(r["k"], r["day"], r["fees"], r["interest"], r["principal"], r["kicker"]) for r in rows]
    pinned = SCHEDULES[case]["terms"]
    assert (pinned["rate_bps"], pinned["revenue_share_bps"], pinned["fee_bps"], pinned["term_days"]) == deal_terms[1:]
    d = await deal_state(gaib, deal.deal_id)
    assert (d[2], d[7], d[12]) == (DEAL_REPAID, 0, 0)
    assert sum(r["principal"] for r in rows) == ADVANCE
    if structure == HYBRID:
        assert all(r["kicker"] == r["gross"] * deal_terms[2] // BPS for r in rows)
    assert rows == SCHEDULES[case]["sweeps"]
    assert SCHEDULES[case]["advance"] == ADVANCE
    # Once the deal is repaid, whatever customers still pay in goes straight to the borrower.
    await pay_in(gaib, deal, 7 * USDC)
    swept, _ = await sweep(gaib, actors.outsider, deal.deal_id)
    assert (swept["gross"], swept["toBorrower"], swept["fees"] + swept["interest"] + swept["principal"]) == (
        7 * USDC,
        7 * USDC,
        0,
    )
    await assert_backed(gaib)


# ---- the SDK ----


@pytest.mark.asyncio
async def test_the_sdk_reads_the_schedule_and_delinquency_and_checks_before_sending(
    gaib: Gaib, actors: Actors, financed: int
) -> None:
    customer, outsider = actors.lender, actors.outsider
    info = await outsider.deals.get(financed)
    lockbox = await outsider.deals.lockbox(financed)
    assert info.lockbox == lockbox == (await gaib.protocol.facility.functions.servicing(financed).call())[0]

    schedule = await outsider.deals.schedule(financed)
    n = ceil_div(info.terms.term_days, 30)
    assert (len(schedule.installments), schedule.installments_met, schedule.lockbox) == (n, 0, lockbox)
    assert sum(i.principal_usd for i in schedule.installments) == info.advance_usd
    first = schedule.installments[0].due_at
    assert [i.k for i in schedule.installments] == list(range(1, n + 1))

    d = await outsider.deals.delinquency(financed)
    assert (d.days_past_due, d.trigger, d.amount_due_usd, d.oldest_unmet_due_at) == (0, "none", 0, None)
    assert (d.grace_days, d.impair_days, d.default_days) == (5, 30, 90)
    nonce = await gaib.chain.w3.eth.get_transaction_count(outsider.address)
    with pytest.raises(NotDelinquentError, match="0 days past due: it can be marked impaired at 30 days"):
        await outsider.deals.mark_delinquent(financed)
    with pytest.raises(GaibValueError, match="more than 0 USDC"):
        await customer.deals.pay_lockbox(financed, 0)
    with pytest.raises(InsufficientFundsError):
        await outsider.deals.pay_lockbox(financed, 10)
    assert await gaib.chain.w3.eth.get_transaction_count(outsider.address) == nonce  # nothing was sent

    # Nobody pays: 30 days after the first due date anyone may mark the deal impaired.
    await gaib.chain.advance_time(int(first.timestamp()) + 30 * DAY - await gaib.chain.timestamp())
    d = await outsider.deals.delinquency(financed)
    assert (d.days_past_due, d.trigger, d.oldest_unmet_due_at) == (30, "impair", first)
    # 30 days after the first due date is the second due date: two installments are due
    assert d.principal_due_usd == sum(i.principal_usd for i in schedule.installments[:2])
    assert d.amount_due_usd == d.fees_due_usd + d.interest_due_usd + d.principal_due_usd > d.principal_due_usd
    await outsider.deals.mark_delinquent(financed)
    assert (await outsider.deals.get(financed)).status == DealStatus.IMPAIRED
    with pytest.raises(NotDelinquentError, match="impaired and 30 days past due: it can be defaulted at 90"):
        await outsider.deals.mark_delinquent(financed)

    # The customers pay; a sweep by anyone pays the arrears first and the deal is current again.
    await customer.deals.pay_lockbox(financed, 200_000)
    borrower_before = (await outsider.balances(actors.provider.address))["USDC"]
    swept = await outsider.deals.sweep(financed)
    assert swept.gross_usd == 200_000
    owed = swept.fees_usd + swept.interest_usd + swept.principal_usd
    assert owed >= d.amount_due_usd and swept.principal_usd == d.principal_due_usd
    assert swept.to_borrower_usd == 200_000 - owed - swept.kicker_usd - swept.reserve_top_up_usd
    assert (await outsider.balances(actors.provider.address))["USDC"] == borrower_before + swept.to_borrower_usd
    d = await outsider.deals.delinquency(financed)
    assert (d.days_past_due, d.trigger, d.amount_due_usd) == (0, "none", 0)
    assert (await outsider.deals.schedule(financed)).installments_met == 2

    await actors.admin.deals.declare_default(financed)
    with pytest.raises(GaibValueError, match="is defaulted: its lockbox is swept again once"):
        await outsider.deals.sweep(financed)


# ---- a random walk of payments, sweeps, missed dates and triggers ----


@pytest.mark.asyncio
@pytest.mark.parametrize("structure", [FIXED, REVENUE_SHARE, HYBRID])
async def test_random_payments_and_sweeps_keep_the_lockbox_rules(gaib: Gaib, actors: Actors, structure: int) -> None:
    """A seeded random walk per structure: customers pay random amounts at random times, anyone sweeps or
    the borrower repays, time skips whole periods, anyone tries the trigger. After every step: each unit
    swept or drawn is accounted for; nothing reaches the borrower while anything is due; the facility holds
    exactly the deals' cash reserves; the triggers fire exactly at 30 and 90 days past due."""
    import random

    p = gaib.protocol
    fac = p.facility.functions
    rng = random.Random(1_000 + structure)
    share = {FIXED: 0, REVENUE_SHARE: 6_000, HYBRID: 2_000}[structure]
    deal = await open_lockbox_deal(gaib, actors, terms(structure, 1_100, share, 150, 180), 0x61)
    await gaib.faucet(actors.provider.address, Decimal(1_000_000))
    await actors.provider.send(p.usdc.functions.approve(p.facility.address, MAX_UINT), what="approve")
    borrower = actors.provider.address
    seen: set[str] = set()  # what the walk went through, so a change of seed cannot make it trivial
    for _step in range(40):
        d = await deal_state(gaib, deal.deal_id)
        if d[2] not in (DEAL_ACTIVE, DEAL_IMPAIRED):
            break
        action = rng.choice(["pay", "pay", "sweep", "sweep", "repay", "wait", "wait", "mark"])
        if action == "pay":
            await pay_in(gaib, deal, rng.randint(1, 150_000) * USDC)
        elif action == "repay":
            await actors.provider.send(fac.repay(deal.deal_id, rng.randint(1, 20_000) * USDC), what="repay")
        elif action == "wait":
            await gaib.chain.advance_time(rng.choice([DAY, 5 * DAY, 12 * DAY, PERIOD, 2 * PERIOD]))
        elif action == "mark":
            dpd = await fac.daysPastDue(deal.deal_id).call()
            if dpd >= 90 or (dpd >= 30 and d[2] == DEAL_ACTIVE):
                await actors.outsider.send(fac.markDelinquent(deal.deal_id), what="mark")
                assert (await deal_state(gaib, deal.deal_id))[2] == (DEAL_DEFAULTED if dpd >= 90 else DEAL_IMPAIRED)
                seen.add("triggered")
            else:
                await reverts(actors.outsider.send(fac.markDelinquent(deal.deal_id), what="mark"), "NotDelinquent")
        else:
            held = await usdc_of(gaib, deal.lockbox)
            before = await usdc_of(gaib, borrower)
            a, result = await sweep(gaib, actors.outsider, deal.deal_id)
            to_lender = a["fees"] + a["interest"] + a["principal"]
            assert a["gross"] == held and await usdc_of(gaib, deal.lockbox) == 0
            assert a["gross"] + a["reserveDrawn"] == to_lender + a["kicker"] + a["reserveTopUp"] + a["toBorrower"]
            closed = events(p.facility, "DealClosed", result)
            released = closed[0]["cashReserveReleased"] if closed else 0
            assert await usdc_of(gaib, borrower) == before + a["toBorrower"] + released
            seen |= {k for k in ("reserveDrawn", "reserveTopUp", "toBorrower", "kicker") if a[k]}
            if a["toBorrower"] and not closed:
                assert await fac.amountDue(deal.deal_id).call() == [0, 0, 0]
                assert (await fac.servicing(deal.deal_id).call())[2] == 0  # the reserve is whole again
                assert await fac.daysPastDue(deal.deal_id).call() == 0
        d = await deal_state(gaib, deal.deal_id)
        reserve = d[12] if d[2] in (DEAL_ACTIVE, DEAL_IMPAIRED, DEAL_DEFAULTED) else 0
        assert await usdc_of(gaib, p.facility.address) == reserve
        assert reserve + (await fac.servicing(deal.deal_id).call())[2] == RESERVE or d[2] == DEAL_REPAID
        await assert_backed(gaib)
    walked = {
        FIXED: {"reserveDrawn", "reserveTopUp", "toBorrower", "triggered"},
        REVENUE_SHARE: {"reserveDrawn", "toBorrower"},
        HYBRID: {"kicker", "toBorrower"},
    }
    assert walked[structure] <= seen
