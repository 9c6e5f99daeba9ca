"""The NAV report: after the scripted history (deals, repayments, a queued redemption, a default and its
liquidation at a loss), every on-chain figure the report holds reconciles to the wei with the contracts'
own views at the same blocks and with their events; the page, the plots and the JSON are written."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gaib_sdk import Gaib, GaibConfigError, Inventory
from gaib_sdk.cli import main
from gaib_sdk.models import LoanRisk
from gaib_sdk.report import (
    PLOTS,
    SCHEMA_VERSION,
    ReportData,
    collect,
    instant_exit_value,
    render,
    require_matplotlib,
    run_scenario,
)
from gaib_sdk.report.scenario import ScenarioResult
from gaib_sdk.underwriting import simulate_portfolio

from .anvil import KEYS, Anvil
from .conftest import AS_OF

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
module = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Run:
    gaib: Gaib
    scenario: ScenarioResult
    data: ReportData


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def run() -> AsyncIterator[Run]:
    """The scripted scenario on one embedded chain, and the report collected from it (once per module)."""
    gaib = await Gaib.embedded()
    try:
        scenario = await run_scenario(gaib)
        yield Run(gaib, scenario, await collect(gaib))
    finally:
        await gaib.close()


async def _logs(contract: Any, event: str, data: ReportData) -> list[Any]:
    """An event's logs read straight from the node, not through the report."""
    return list(await contract.events[event].get_logs(from_block=data.from_block, to_block=data.block))


@module
async def test_every_nav_point_is_the_contracts_views_at_its_block(run: Run) -> None:
    p, data = run.gaib.protocol, run.data
    aid, said = p.aid.functions, p.said.functions
    assert data.nav[0].block == data.from_block == p.deployment.block
    assert data.nav[-1].block == data.block == await run.gaib.chain.w3.eth.block_number
    assert len(data.nav) > 20 and [n.block for n in data.nav] == sorted({n.block for n in data.nav})
    for point in data.nav:
        at = point.block
        assert point.aid_supply == await aid.totalSupply().call(block_identifier=at)
        assert point.reserve == await aid.totalReserve().call(block_identifier=at)
        assert point.principal_deployed == await aid.principalDeployed().call(block_identifier=at)
        assert point.uncovered_loss == await aid.uncoveredLoss().call(block_identifier=at)
        assert point.queued_stable == await aid.queuedStable().call(block_identifier=at)
        assert point.total_claimable == await aid.totalClaimable().call(block_identifier=at)
        assert point.backing == await aid.backing().call(block_identifier=at)
        assert point.said_total_assets == await said.totalAssets().call(block_identifier=at)
        assert point.said_total_supply == await said.totalSupply().call(block_identifier=at)
        assert point.said_unvested == await said.unvestedAmount().call(block_identifier=at)
        assert point.share_price == await said.sharePrice().call(block_identifier=at)
        assert point.deposit_price == await said.previewMint(10**18).call(block_identifier=at)
        assert point.timestamp == (await run.gaib.chain.w3.eth.get_block(point.block))["timestamp"]
        # the backing equation, at every point
        assert point.aid_supply == (point.reserve + point.principal_deployed + point.uncovered_loss) * data.scale
        assert data.backing_holds(point)
        assert point.instant_exit_value == instant_exit_value(
            share_price=point.share_price,
            reserve=point.reserve,
            queued_stable=point.queued_stable,
            aid_supply=point.aid_supply,
            scale=data.scale,
        )
        assert point.instant_exit_value <= point.share_price


@module
async def test_the_latest_point_is_the_chain_now(run: Run) -> None:
    p, last = run.gaib.protocol, run.data.latest
    assert last.aid_supply == await p.aid.functions.totalSupply().call()
    assert last.reserve == await p.aid.functions.totalReserve().call()
    assert last.reserve > await p.aid.functions.reserve().call()  # USDT held counts beside USDC
    assert last.principal_deployed == await p.aid.functions.principalDeployed().call()
    assert last.uncovered_loss == await p.aid.functions.uncoveredLoss().call()
    assert last.said_total_assets == await p.said.functions.totalAssets().call()
    assert last.share_price == await p.said.functions.sharePrice().call()
    assert run.data.scale == await p.aid.functions.SCALE().call() == 10**12
    # the client's Decimal views say the same
    reserves = await run.gaib.aid.reserves()
    assert reserves["aid_supply"] == Decimal(last.aid_supply).scaleb(-18)
    assert reserves["backing_usdc"] == Decimal(last.backing).scaleb(-6)
    assert await run.gaib.said.share_price() == Decimal(last.share_price).scaleb(-18)


@module
async def test_deals_reconcile_with_get_deal_and_their_events(run: Run) -> None:
    f, data = run.gaib.protocol.facility.functions, run.data
    assert [d.deal_id for d in data.deals] == sorted(run.scenario.deals.values())
    assert len(data.deals) == await f.dealCount().call()
    for deal in data.deals:
        now = await f.getDeal(deal.deal_id).call()
        assert (deal.borrower, deal.appraised_value, deal.advance) == (now[0], now[5], now[6])
        assert deal.collateral == len(await f.collateralOf(deal.deal_id).call())
        for point in deal.history:  # principal, interest and fees at each block, accrued to it
            d = await f.getDeal(deal.deal_id).call(block_identifier=point.block)
            assert (point.principal_outstanding, point.interest_due, point.fees_due) == (d[7], d[8], d[9])
            assert (point.interest_paid, point.fees_paid, point.cash_reserve, point.impairment) == d[10:14]
            assert deal.ltv(point) == Fraction(point.principal_outstanding, deal.appraised_value)
        last = deal.history[-1]
        liq = deal.liquidation
        liq_interest = liq.proceeds + liq.cash_reserve - liq.principal_recovered - liq.excess if liq else 0
        # the payment record adds up to the deal's own totals
        assert sum(p.interest for p in deal.payments) + liq_interest == last.interest_paid == now[10]
        assert sum(p.fees for p in deal.payments) == last.fees_paid == now[11]
        returned = sum(p.principal for p in deal.payments) + (liq.principal_recovered + liq.loss if liq else 0)
        assert deal.advance - returned == last.principal_outstanding == now[7]
    by_name = {name: next(d for d in data.deals if d.deal_id == i) for name, i in run.scenario.deals.items()}
    assert [d.status for d in by_name.values()] == ["active", "active", "liquidated"]
    assert [len(d.payments) for d in by_name.values()] == [6, 6, 2]
    assert [e.name for e in by_name["hybrid"].events] == ["opened", "impaired", "defaulted", "liquidated"]
    repaid = await _logs(run.gaib.protocol.facility, "Repaid", data)
    assert sum(len(d.payments) for d in data.deals) == len(repaid)
    assert sorted((p.tx_hash, p.interest) for d in data.deals for p in d.payments) == sorted(
        (log["transactionHash"].to_0x_hex(), log["args"]["interest"]) for log in repaid
    )


@module
async def test_the_loss_is_the_loss_realized_event_and_the_drop_in_principal(run: Run) -> None:
    p, data = run.gaib.protocol, run.data
    [event] = await _logs(p.aid, "LossRealized", data)
    [loss] = data.losses
    hybrid = next(d for d in data.deals if d.deal_id == run.scenario.deals["hybrid"])
    assert hybrid.liquidation is not None
    assert loss.stable_loss == event["args"]["stableLoss"] == hybrid.liquidation.loss > 0
    assert loss.absorbed_by_vault == event["args"]["absorbedByVault"] == loss.stable_loss  # sAID took it all
    assert loss.uncovered == event["args"]["uncovered"] == 0
    assert loss.block == event["blockNumber"] == hybrid.liquidation.block
    assert Decimal(loss.stable_loss).scaleb(-6) == run.scenario.liquidation["loss_usd"]
    # across the liquidation's block, principal deployed falls by what came back plus what was lost, and
    # the AID burned from the vault (and from the supply) is the part sAID absorbed
    before, after = loss.block - 1, loss.block
    deployed = [await p.aid.functions.principalDeployed().call(block_identifier=b) for b in (before, after)]
    assert deployed[0] - deployed[1] == hybrid.liquidation.principal_recovered + loss.stable_loss
    vault = [await p.aid.functions.balanceOf(p.said.address).call(block_identifier=b) for b in (before, after)]
    supply = [await p.aid.functions.totalSupply().call(block_identifier=b) for b in (before, after)]
    assert vault[0] - vault[1] == supply[0] - supply[1] == loss.absorbed_by_vault * data.scale
    points = {n.block: n for n in data.nav}
    assert points[after].principal_deployed == deployed[1]
    # sAID's fair value fell when the deal was first marked down (impaired, then defaulted), and the loss
    # realized keeps it below where it stood before the first markdown
    first_markdown = next(e.block for e in hybrid.events if e.name == "impaired")
    marked = next(n for n in reversed(data.nav) if n.block < first_markdown).said_total_assets
    assert points[after].said_total_assets < marked


@module
async def test_the_ledger_adds_up_to_the_supply_and_the_principal_deployed(run: Run) -> None:
    data, last = run.data, run.data.latest

    def total(event: str, arg: str) -> int:
        return sum(e.number(arg) for e in data.ledger if e.contract == "aid" and e.event == event)

    s = data.scale
    minted = total("Minted", "aidOut") + total("MintedWith", "aidOut") + total("IncomeMinted", "aidOut")
    assert total("MintedWith", "aidOut") == 50_000 * 10**18  # the scenario's USDT mint
    burned = total("Redeemed", "stableOut") * s + total("RedeemedTo", "aidIn") + total("RedemptionFilled", "stable") * s
    assert last.aid_supply == minted - burned - total("LossRealized", "absorbedByVault") * s
    assert last.principal_deployed == (
        total("DealFunded", "stableAmount")
        - total("PrincipalReturned", "stableAmount")
        - total("LossRealized", "stableLoss")
    )
    assert last.uncovered_loss == total("LossRealized", "uncovered")
    # the queued redemption: asked, filled in parts as cash came back, and claimed in full
    [request] = [e for e in data.ledger if e.event == "RedemptionRequested"]
    fills = [e for e in data.ledger if e.event == "RedemptionFilled"]
    assert request.number("requestId") == run.scenario.redemption_request
    assert len(fills) > 2 and sum(e.number("stable") for e in fills) == request.number("stableOwed")
    assert fills[-1].number("remaining") == 0 and total("Claimed", "stable") == request.number("stableOwed")
    assert (
        max(n.queued_stable for n in data.nav) > 0
        and min(n.instant_exit_value for n in data.nav if n.queued_stable) == 0
    )
    assert last.queued_stable == last.total_claimable == 0
    # the balance sheet summed from the logs alone equals the views at each block where AID logged something
    by_block = {n.block: n for n in data.nav}
    fields = ("aid_supply", "reserve", "principal_deployed", "uncovered_loss", "queued_stable", "total_claimable")
    assert len(data.ledger_nav) > 10 and data.ledger_nav[0].block == data.from_block
    for point in data.ledger_nav:
        view = by_block[point.block]
        assert [getattr(point, f) for f in fields] == [getattr(view, f) for f in fields], point.block
    # the ledger is the node's logs, in order
    minted_logs = await _logs(run.gaib.protocol.aid, "Minted", data)
    assert [e.tx_hash for e in data.ledger if e.event == "Minted"] == [
        log["transactionHash"].to_0x_hex() for log in minted_logs
    ]
    assert [(e.block, e.log_index) for e in data.ledger] == sorted((e.block, e.log_index) for e in data.ledger)


@module
async def test_the_waterfall_is_the_last_periods_repayments(run: Run) -> None:
    w, data = run.data.waterfall, run.data
    assert w.end == data.timestamp and w.end - w.start == w.days * 86_400
    window = [(d.deal_id, p) for d in data.deals for p in d.payments if w.start < p.timestamp <= w.end]
    assert (
        {r.deal_id for r in w.rows}
        == {i for i, _ in window}
        == {run.scenario.deals["fixed"], run.scenario.deals["revenue share"]}
    )
    for part in ("fees", "interest", "principal", "excess"):
        assert w.total(part) == sum(getattr(p, part) for _, p in window)
    assert sum(r.payments for r in w.rows) == len(window) == 2


@module
async def test_the_stress_test_is_the_engines_on_the_open_deals_and_reproducible(run: Run) -> None:
    stress = run.data.stress
    assert stress is not None
    open_deals = [d for d in run.data.deals if d.status == "active"]
    assert [loan.name for loan in stress.loans] == [f"deal {d.deal_id}" for d in open_deals]
    for loan, deal in zip(stress.loans, open_deals, strict=True):
        assert Decimal(str(loan.exposure_usd)) == Decimal(deal.history[-1].principal_outstanding).scaleb(-6)
        assert loan.annual_rate == deal.rate_bps / 10_000
    a = stress.assumptions
    assert [r.correlation for r in stress.results] == a.correlations
    # sAID's assets are the first-loss capital; no Treasury-bill income is counted
    last = run.data.latest
    assert stress.first_loss_usd == pytest.approx((last.said_total_assets + last.said_unvested) / 1e18)
    again = simulate_portfolio(
        [LoanRisk.model_validate(loan.model_dump()) for loan in stress.loans],
        correlation=a.correlations[0],
        paths=a.paths,
        seed=a.seed,
        cash_usd=stress.cash_usd,
        rent_volatility=a.rent_volatility,
        first_loss_usd=stress.first_loss_usd,
        percentiles=[i / 2 for i in range(201)],
        yield_percentiles=[i / 2 for i in range(201)],
    )
    assert again == stress.results[0]
    # two open deals are too few for a percentile: none is shown, and the page says why
    r = stress.results[0]
    assert r.probability_of_loss > 0 and r.loss_percentiles_usd == {} and r.percentiles_note is not None
    assert r.mean_first_loss_return is not None and r.mean_first_loss_return != r.mean_portfolio_yield


@module
async def test_the_loan_tape_and_delinquency_read_the_facility_now(run: Run) -> None:
    f, data = run.gaib.protocol.facility.functions, run.data
    tape = {row.deal_id: row for row in data.loan_tape}
    assert sorted(tape) == [d.deal_id for d in data.deals]
    for deal in data.deals:
        row, now = tape[deal.deal_id], await f.getDeal(deal.deal_id).call()
        assert (row.borrower, row.current_value, row.principal_outstanding, row.status) == (
            now[0],
            now[5],
            now[7],
            deal.status,
        )
        assert row.days_past_due == await f.daysPastDue(deal.deal_id).call()
        assert "appraisal recorded on chain" in row.value_source
        assert row.maturity == deal.opened.timestamp + deal.term_days * 86_400
        leases = await run.gaib.protocol.leases.functions.leasesOf(deal.deal_id).call()
        assert [lease.lease_id for lease in row.leases] == ["0x" + bytes(x).hex() for x in leases]
    fixed, hybrid = tape[run.scenario.deals["fixed"]], tape[run.scenario.deals["hybrid"]]
    # the scenario's slices of the sample: 24 GPUs for the fixed deal, 16 for the hybrid
    assert fixed.collateral_units == {"gpu": 24} and hybrid.collateral_units == {"gpu": 16}
    assert fixed.bucket == "current" and fixed.leases and fixed.dscr is not None and fixed.ltv_bps is not None
    assert hybrid.bucket == "closed" and hybrid.status == "liquidated"
    # the lender's IRR net of fees is below the gross one: fees go to the treasury, not to sAID
    assert fixed.net_irr is not None and fixed.gross_irr is not None and fixed.net_irr < fixed.gross_irr
    assert hybrid.net_irr is not None and hybrid.net_irr < 0  # sold at a loss
    buckets = {b.bucket: b for b in data.delinquency.buckets}
    assert list(buckets) == ["current", "30", "60", "90+", "defaulted"]
    assert buckets["current"].deals == 2 and buckets["current"].principal == sum(
        r.principal_outstanding for r in data.loan_tape if r.status == "active"
    )
    # the liquidation's recovery, and the concentration of the open book
    (recovery,) = data.recoveries
    liq = next(d.liquidation for d in data.deals if d.liquidation is not None)
    assert liq is not None and (recovery.principal_recovered, recovery.loss) == (liq.principal_recovered, liq.loss)
    assert recovery.recovery_rate_bps == liq.principal_recovered * 10_000 // (liq.principal_recovered + liq.loss)
    c = data.concentration
    assert len(c.by_borrower) == 2 and sum(r.amount for r in c.by_borrower) == sum(
        r.principal_outstanding for r in data.loan_tape if r.bucket != "closed"
    )
    assert c.top_borrower_bps == c.by_borrower[0].share_bps > 5000 and 5000 <= c.hhi_bps <= 10_000


@module
async def test_the_reserve_is_shown_by_token_and_by_place(run: Run) -> None:
    p, data = run.gaib.protocol, run.data
    comp = data.reserve_composition
    # USDC and USDT apart: their sum is AID's total reserve
    assert comp.by_token["USDC"] == await p.aid.functions.reserve().call()
    assert comp.by_token["USDT"] == 50_000 * 10**6 == await p.aid.functions.reserveOf(p.usdt.address).call()
    assert sum(comp.by_token.values()) == data.latest.reserve
    places = {(h.place, h.token): h for h in comp.by_place}
    cash = places[("CreditFacility: deal cash reserves", "USDC")]
    assert cash.amount == sum(r.cash_reserve for r in data.loan_tape if r.bucket != "closed") and not cash.backs_aid
    assert (
        places[("sAID redemption escrow", "AID")].amount
        == await p.aid.functions.balanceOf(await p.said.functions.escrow().call()).call()
    )


@module
async def test_fair_value_sits_beside_book_nav(run: Run) -> None:
    data = run.data
    fv, last = data.fair_value, data.latest
    assert data.schema_version == SCHEMA_VERSION == "2"
    assert fv.book_value_per_share == last.share_price and fv.fair_value_per_share == last.fair_value_per_share
    assert fv.fair_assets == fv.book_assets + fv.unvested + fv.accrued_interest - fv.expected_loss_reserve
    # two performing deals: interest accrued and an expected loss on each; the book NAV takes neither
    assert fv.accrued_interest > 0 and fv.expected_loss_reserve > 0
    performing = [d.history[-1] for d in data.deals if d.status == "active"]
    assert fv.accrued_interest == sum(p.interest_due for p in performing) * data.scale
    # expected loss: 8% a year x (principal - cash reserve - 40% of the appraisal), per performing deal
    a = data.stress.assumptions if data.stress is not None else None
    assert a is not None and (a.default_probability, a.recovery_haircut) == (0.08, 0.6)
    expected = sum(
        int(0.08 * max(0, p.principal_outstanding - p.cash_reserve - int(d.appraised_value * 0.4)))
        for d in data.deals
        if d.status == "active"
        for p in [d.history[-1]]
    )
    assert fv.expected_loss_reserve == expected * data.scale
    assert fv.fair_value_per_share == fv.fair_assets * 10**18 // last.said_total_supply
    assert all(p.fair_value_per_share > 0 for p in data.nav if p.said_total_supply)


@module
async def test_render_writes_the_page_the_plots_and_the_json(run: Run, tmp_path: Path) -> None:
    files = render(run.data, tmp_path / "out")
    out = tmp_path / "out"
    assert [f.name for f in files] == [*PLOTS, "report.json", "index.html"]
    page = (out / "index.html").read_text()
    for name in PLOTS:
        png = (out / name).read_bytes()
        assert png.startswith(PNG_SIGNATURE) and len(png) > 20_000, name
        assert f'src="{name}"' in page
    assert "<script" not in page and 'href="report.json"' in page
    assert "backing equation (supply = reserve + principal deployed + uncovered loss) held at every one" in page
    raw = json.loads((out / "report.json").read_text())
    assert raw["nav"][-1]["aid_supply"] == str(run.data.latest.aid_supply)  # integers as strings: exact anywhere
    assert ReportData.model_validate_json((out / "report.json").read_text()) == run.data


@module
async def test_every_plot_labels_its_axes_and_draws_no_series_over_another(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.figure import Figure

    figures: dict[str, Any] = {}
    save = Figure.savefig

    def keep(fig: Any, path: Any, *args: Any, **kwargs: Any) -> None:
        save(fig, path, *args, **kwargs)  # draws the figure: tick labels are known after it
        figures[Path(path).name] = fig

    monkeypatch.setattr(Figure, "savefig", keep)
    render(run.data, tmp_path)
    assert sorted(figures) == sorted(PLOTS)
    for name, fig in figures.items():
        for ax in fig.axes:
            if not ax.axison:
                continue
            assert ax.get_ylabel(), f"{name}: an axis without a label: {ax.get_title()!r}"
            if any(t.get_visible() and t.get_text() for t in ax.get_xticklabels()):
                assert ax.get_xlabel(), f"{name}: an x axis without a label: {ax.get_title()!r}"
            # no two lines with the same points: one would hide the other
            drawn = [
                (tuple(map(float, line.get_xdata())), tuple(map(float, line.get_ydata())))
                for line in ax.get_lines()
                if len(line.get_xdata()) > 1
            ]
            assert len(drawn) == len(set(drawn)), f"{name}: two series drawn on the same points"


@module
async def test_without_past_state_the_history_comes_from_the_logs(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenario read as a node without past state would serve it: the same logs, the views at the
    report's block only. Everything the logs and the latest state tell is the same as with past state."""

    async def pruned(reader: Any, block: int) -> bool:
        return block >= reader.block

    import importlib

    monkeypatch.setattr(importlib.import_module("gaib_sdk.report.collect"), "_keeps_past_state", pruned)
    data, full = await collect(run.gaib, block=run.data.block), run.data
    assert data.history == "events" and [p.block for p in data.nav] == [full.block]
    assert data.nav[-1] == full.nav[-1] and data.ledger_nav == full.ledger_nav and data.ledger == full.ledger
    assert data.loan_tape == full.loan_tape and data.delinquency == full.delinquency
    assert data.recoveries == full.recoveries and data.reserve_composition == full.reserve_composition
    assert data.fair_value == full.fair_value and data.stress == full.stress
    for mine, theirs in zip(data.deals, full.deals, strict=True):
        assert (mine.payments, mine.events, mine.liquidation) == (theirs.payments, theirs.events, theirs.liquidation)
        assert [p.block for p in mine.history] == [data.block] or mine.status == "liquidated"
    files = render(data, tmp_path)
    assert "This node keeps no past state" in (tmp_path / "index.html").read_text() and len(files) == len(PLOTS) + 2


def test_the_json_schema_is_versioned_and_every_key_is_documented() -> None:
    """docs/report.md's table of report.json names every top-level key of ReportData, and no other."""
    import re

    page = (Path(__file__).resolve().parent.parent / "docs" / "report.md").read_text()
    section = page.split("## report.json", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    documented = {key for row in rows for key in re.findall(r"`(\w+)`", row)}
    assert documented == set(ReportData.model_fields)
    assert f'`schema_version` is `"{SCHEMA_VERSION}"`' in section


def test_without_matplotlib_the_report_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(GaibConfigError, match=r"pip install 'gaib-sdk\[report\]'"):
        require_matplotlib()
    assert main(["report", "--out", "unused"]) == 1


def test_gaib_report_on_the_embedded_chain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command's embedded path, with a stand-in for the scenario that does nothing: a freshly deployed
    protocol, with no deal to plot or stress, still makes a complete report."""

    async def nothing(gaib: Gaib) -> None:
        return None

    monkeypatch.setattr("gaib_sdk.report.run_scenario", nothing)
    assert main(["report", "--out", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["deals"] == 0 and summary["aid_supply"] == "0"
    assert sorted(summary["files"]) == sorted([*PLOTS, "report.json", "index.html"])
    data = ReportData.model_validate_json((tmp_path / "report.json").read_text())
    assert data.stress is None and data.waterfall.rows == [] and len(data.nav) == 1
    assert "nothing to stress" in (tmp_path / "index.html").read_text()


async def _history_on(url: str) -> int:
    """A small history on a node: one deal of four GPUs, funded, repaid once. Returns the AID supply."""
    async with await Gaib.connect(url, private_key=KEYS[0]) as admin:
        await admin.deploy()
        provider, investor = admin.with_account(KEYS[1]), admin.with_account(KEYS[2])
        sample = await admin.assets.read_inventory("gpu")
        four = Inventory(
            kind="gpu",
            operator=sample.operator,
            assets=sample.assets[:4],
            # the four GPUs' share of the leases: all of them is more than four GPUs can earn
            contracts=[
                c.model_copy(update={"monthly_revenue_usd": c.monthly_revenue_usd / 16}) for c in sample.contracts
            ],
            telemetry=sample.telemetry[:4],
        )
        await admin.admin.authorize_registrar(provider.address)
        await provider.digitize("gpu", four)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(100_000))
        await investor.aid.mint(Decimal(100_000))
        await investor.said.stake(Decimal(50_000))
        deal = (await admin.financialize("gpu", four, as_of=AS_OF)).deal
        await admin.chain.advance_time(30 * 86_400)
        await provider.deals.repay(deal.deal_id, Decimal(5_000))
        return int(await admin.protocol.aid.functions.totalSupply().call())


def test_gaib_report_reads_a_deployment_on_a_node(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`gaib report --rpc URL` on anvil: read-only (no key), the deployment found in the deployments file."""
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    monkeypatch.delenv("GAIB_PRIVATE_KEY", raising=False)
    node = Anvil().start()
    try:
        supply = asyncio.run(_history_on(node.url))
        out = tmp_path / "report"
        assert main(["report", "--rpc", node.url, "--out", str(out), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["chain_id"] == 31337 and summary["deals"] == 1
        data = ReportData.model_validate_json((out / "report.json").read_text())
        assert data.latest.aid_supply == supply and all(data.backing_holds(p) for p in data.nav)
        assert [len(d.payments) for d in data.deals] == [1] and data.stress is not None
        assert (out / "stress.png").read_bytes().startswith(PNG_SIGNATURE)
    finally:
        node.stop()


def test_gaib_report_reads_a_node_that_keeps_no_past_state(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A node that keeps only its latest states (anvil --prune-history, like a full node that is not an
    archive): the report reads the history from the events and the state of the report's block only."""
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    monkeypatch.delenv("GAIB_PRIVATE_KEY", raising=False)
    node = Anvil("--prune-history", "2").start()
    try:
        supply = asyncio.run(_history_on(node.url))
        out = tmp_path / "report"
        assert main(["report", "--rpc", node.url, "--out", str(out), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["deals"] == 1 and summary["history"] == "events"
        data = ReportData.model_validate_json((out / "report.json").read_text())
        assert data.history == "events" and data.latest.aid_supply == supply
        # the balance sheet over time comes from the logs: it starts at the deployment and ends at the views now
        assert len(data.nav) == 1 and len(data.ledger_nav) > 2 and data.ledger_nav[0].block == data.from_block
        end = data.ledger_nav[-1]
        assert (end.aid_supply, end.reserve, end.principal_deployed) == (
            data.latest.aid_supply,
            data.latest.reserve,
            data.latest.principal_deployed,
        )
        assert all(data.backing_holds(p) for p in data.nav)
        # the deal's repayment and opening come from the logs, its state now from the report's block
        assert [len(d.payments) for d in data.deals] == [1] and [e.name for e in data.deals[0].events] == ["opened"]
        assert data.deals[0].history[-1].block == data.block
        assert "keeps no past state" in (out / "index.html").read_text()
        # a report as of a past block cannot be read there: the error says what to do
        assert main(["report", "--rpc", node.url, "--out", str(out), "--block", "3", "--json"]) == 1
        error = json.loads(capsys.readouterr().out)["error"]["message"]
        assert "keeps no state at block 3 (it is not an archive node)" in error and "leave out --block" in error
    finally:
        node.stop()
