"""Stateful property tests of the protocol contracts on the embedded EVM.

A hypothesis state machine drives random sequences of: mint, redeem, requestRedemption, processRedemptions,
claim, stake, request an exit from sAID (ERC-7540), cap the exits per cycle, process a withdrawal cycle,
claim an exit, register (and re-register) assets, open a deal, repay it (plain or from revenue), change the
cash reserve, advance time, impair / cure a deal, and default + liquidate it. The contracts are called
directly (no SDK pre-checks), and the chain is reverted to one snapshot between examples, so the whole run
shares one deployment.

After every step, to the wei (USDC has 6 decimals, AID 18, SCALE = 10**12):

    AID.totalSupply() == (AID.reserve() + AID.principalDeployed() + AID.uncoveredLoss()) * SCALE
    AID.reserve()     == USDC.balanceOf(AID) - AID.totalClaimable()
    AID.queuedStable() == sum(redemptionQueue[i].remaining for queueHead <= i < len(redemptionQueue))
    AID.balanceOf(AID) == AID.queuedStable() * SCALE                 (the escrow of waiting requests)
    AID.totalClaimable() == sum(AID.claimable(account))
    for each redeemer: sum(owed - remaining over its requests) == what it claimed + AID.claimable(it)
    the queue is FIFO: requests before queueHead are fully filled, none behind the head is filled at all
    sAID.convertToAssets(1e18) never falls, unless that step realized a loss (a liquidation short of principal)
    sAID exits go in rounds (ERC-7540 fungible requests): a round's fills (its cycles' RedeemFilled events)
        are cumulative; each controller's part of a round is its fraction of them, rounded down
    for each controller's current request: pendingRedeemRequest == its shares - its part of the fills
    rounds fill FIFO: every round before sAID.queueHead is filled, none after the head has started
    sAID.totalPendingShares() == requested - filled over the rounds == sAID.balanceOf(sAID) (the locked shares)
    the sAID balances (holders, DEAD, the vault's pending shares) add up to sAID.totalSupply()
    for each controller: shares claimed + sAID.maxRedeem(it) == its parts of the rounds' filled shares, and
        AID claimed + sAID.maxWithdraw(it) == its parts of the rounds' AID   (nothing is paid twice)
    AID in the escrow == AID set aside by the cycles - AID paid by claims >= sum(sAID.maxWithdraw(account)),
        short of it by at most a wei per request (the rounding down)
    AssetRegistry.assetCount() == the number of distinct assets registered (no asset is registered twice)
    USDC.balanceOf(CreditFacility) == the sum of the open deals' cash reserves

and within the steps: a mint by an account without KYC always reverts (NotWhitelisted) and changes
nothing; a repayment splits exactly: fees + interest + principal + excess == amount, and the payer, the
treasury, the AID reserve, the facility and the sAID vault move by exactly those parts; a liquidation's
proceeds plus the deal's cash reserve are exactly principal recovered + interest + excess, and
principal recovered + loss == the principal outstanding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_tester import EthereumTester
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.providers.eth_tester import EthereumTesterProvider

from gaib_sdk import Gaib
from gaib_sdk.chain import decode_revert, load_artifact
from gaib_sdk.chain.artifacts import revert_data

USDC = 10**6
SCALE = 10**12
BPS = 10_000
DAY = 24 * 3600
GAS = 5_000_000
MAX_UINT = 2**256 - 1
GPU = b"gpu".ljust(32, b"\0")
REGISTRAR_ROLE = Web3.keccak(text="REGISTRAR_ROLE")
ACTIVE, FINANCED, IMPAIRED = 1, 2, 6
DEAL_ACTIVE, DEAL_IMPAIRED = 1, 3


@dataclass
class Env:
    """One deployment, shared by every example; the chain goes back to ``snapshot`` before each."""

    tester: EthereumTester
    w3: Web3
    usdc: Contract
    aid: Contract
    said: Contract
    registry: Contract
    facility: Contract
    admin: str
    provider: str
    investors: tuple[str, str]
    outsider: str
    treasury: str
    snapshot: Any = None
    #: What the snapshot holds: assets registered (in order), open deals and their collateral.
    registered: list[bytes] = field(default_factory=list)
    deals: dict[int, list[bytes]] = field(default_factory=dict)
    _types: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    _calls: dict[tuple[str, str], tuple[bytes, list[str]]] = field(default_factory=dict)
    #: Views read since the chain last changed: the invariants after a step read the same views many times
    #: (each an EVM call of about 10 ms); emptied by every transaction, time move and snapshot revert.
    _seen: dict[tuple[str, str], Any] = field(default_factory=dict)

    def view(self, contract: Contract, name: str, *args: Any) -> Any:
        """An eth_call straight to eth-tester (several times quicker than through web3's middlewares)."""
        key = (contract.address, name)
        if key not in self._types:
            (abi,) = [e for e in contract.abi if e.get("type") == "function" and e["name"] == name]
            self._types[key] = list(get_abi_output_types(abi))
            self._calls[key] = (function_abi_to_4byte_selector(abi), list(get_abi_input_types(abi)))
        # encoded here: web3.py's encode_abi searches and re-validates the whole ABI on every call
        selector, inputs = self._calls[key]
        data = "0x" + (selector + abi_encode(inputs, args)).hex()
        if (contract.address, data) not in self._seen:
            raw = self.tester.call({"from": self.admin, "to": contract.address, "data": data})
            values = abi_decode(self._types[key], bytes.fromhex(raw[2:]))
            self._seen[(contract.address, data)] = values[0] if len(values) == 1 else values
        return self._seen[(contract.address, data)]

    def changed(self) -> None:
        """The chain moved: what was read before may be stale."""
        self._seen.clear()

    def usdc_of(self, who: str) -> int:
        return int(self.view(self.usdc, "balanceOf", who))

    def aid_of(self, who: str) -> int:
        return int(self.view(self.aid, "balanceOf", who))

    def send(self, sender: str, call: Any) -> Any:
        """Send and mine; the receipt, which must be a success."""
        self.changed()
        receipt = self.w3.eth.get_transaction_receipt(call.transact({"from": sender, "gas": GAS}))
        self.changed()
        assert receipt["status"] == 1, f"{call.fn_name} reverted on-chain"
        return receipt

    def attempt(self, sender: str, call: Any) -> tuple[str | None, Any]:
        """Run the call as the next block would (eth_call); if it reverts, (error name, None) and nothing is
        sent; else send it: (None, receipt)."""
        try:
            call.call({"from": sender, "gas": GAS}, block_identifier="pending")
        except Exception as exc:
            data = revert_data(exc)
            decoded = decode_revert(data) if data else None
            return (decoded[0] if decoded else repr(exc)), None
        return None, self.send(sender, call)

    def time(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


def events(contract: Contract, name: str, receipt: Any) -> list[Any]:
    return [e["args"] for e in getattr(contract.events, name)().process_receipt(receipt, errors=DISCARD)]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    client = asyncio.run(Gaib.embedded(load_entry_points=False))
    tester = client.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    w3 = Web3(EthereumTesterProvider(tester))
    p = client.protocol

    def bind(name: str, address: str) -> Contract:
        return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"])

    accounts = w3.eth.accounts
    e = Env(
        tester=tester,
        w3=w3,
        usdc=bind("TestUSDC", p.usdc.address),
        aid=bind("AIDollar", p.aid.address),
        said=bind("StakedAID", p.said.address),
        registry=bind("AssetRegistry", p.registry.address),
        facility=bind("CreditFacility", p.facility.address),
        admin=accounts[0],
        provider=accounts[1],
        investors=(accounts[2], accounts[3]),
        outsider=accounts[4],
        treasury=accounts[6],
    )
    assert e.admin == client.address
    e.send(e.admin, e.facility.functions.setTreasury(e.treasury))
    for who in (*e.investors, e.outsider):
        e.send(e.admin, e.usdc.functions.mint(who, 100_000_000 * USDC))
    for who in (e.provider, e.admin):  # the borrower repays, the underwriter pays in liquidation proceeds
        e.send(e.admin, e.usdc.functions.mint(who, 10**10 * USDC))
    for who in (*e.investors, e.outsider):
        e.send(who, e.usdc.functions.approve(e.aid.address, MAX_UINT))
    for who in e.investors:
        e.send(e.admin, e.aid.functions.setWhitelisted(who, True))
        e.send(who, e.aid.functions.approve(e.said.address, MAX_UINT))
    for who in (e.provider, e.admin):
        e.send(who, e.usdc.functions.approve(e.facility.address, MAX_UINT))
    e.send(e.admin, e.registry.functions.grantRole(REGISTRAR_ROLE, e.provider))
    # Every example starts from a protocol in use: AID minted, some of it staked, assets registered, two
    # deals (one fixed-rate, one revenue share) a month old.
    for who in e.investors:
        e.send(who, e.aid.functions.mint(5_000_000 * USDC))
    e.send(e.investors[0], e.said.functions.deposit(1_000_000 * 10**18, e.investors[0]))
    e.registered = [n.to_bytes(32, "big") for n in range(1, 13)]
    e.send(
        e.provider,
        e.registry.functions.registerBatch(
            GPU, e.provider, e.registered, [i[:31] + b"\x01" for i in e.registered], [b"\x02" * 32] * 12
        ),
    )
    for collateral, advance, terms in (
        (e.registered[:2], 2_000_000 * USDC, (0, 1_000, 0, 100, 365)),
        (e.registered[2:3], 1_000_000 * USDC, (1, 800, 6_000, 100, 730)),
    ):
        receipt = e.send(
            e.admin, e.facility.functions.openDeal(e.provider, collateral, 2 * advance, advance, terms, [])
        )
        (ev,) = events(e.facility, "DealOpened", receipt)
        e.deals[ev["dealId"]] = collateral
    tester.time_travel(e.time() + 30 * DAY)
    tester.mine_blocks(1)
    e.changed()
    e.snapshot = tester.take_snapshot()
    yield e
    asyncio.run(client.close())


@dataclass
class Request:
    owner: str
    owed: int


@dataclass
class Exit:
    """A controller's sAID exit request (ERC-7540) in one round (its requests there merged)."""

    controller: str
    round: int
    shares: int


@dataclass
class Round:
    """An exit round: shares requested in it, and the shares filled and AID set aside so far."""

    shares: int = 0
    filled: int = 0
    assets: int = 0

    def part(self, shares: int) -> tuple[int, int]:
        """The filled shares and AID of a request of ``shares`` in this round: its fraction, rounded down."""
        if self.filled == 0:
            return 0, 0
        filled = shares if self.filled == self.shares else shares * self.filled // self.shares
        return filled, shares * self.assets // self.shares


class ProtocolMachine(RuleBasedStateMachine):
    env: Env  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        e = self.env
        e.tester.revert_to_snapshot(e.snapshot)
        e.changed()
        self.e = e
        self.registered = list(e.registered)
        self.next_asset = len(self.registered) + 1
        self.deals = {d: list(c) for d, c in e.deals.items()}  # open deals (active or impaired), their collateral
        financed = {c for cs in self.deals.values() for c in cs}
        self.free = [a for a in self.registered if a not in financed]  # Active and the provider's
        self.requests: list[Request] = []
        self.claimed = {who: 0 for who in e.investors}
        self.checked_head = 0  # requests below this index were seen fully filled
        self.loss_realized = False
        self.last_price = e.view(e.said, "convertToAssets", 10**18)
        self.exits: list[Exit] = []
        self.escrow = Web3.to_checksum_address(e.view(e.said, "escrow"))
        self.set_aside = 0  # AID the cycles moved to the escrow
        self.paid = 0  # AID claims paid out of it
        self.claimed_shares = {who: 0 for who in e.investors}
        self.claimed_assets = {who: 0 for who in e.investors}
        self.rounds: dict[int, Round] = {}

    # ---- helpers ----

    def investor(self, index: int) -> str:
        return self.e.investors[index]

    def fresh_ids(self, n: int) -> list[bytes]:
        ids = []
        for _ in range(n):
            ids.append(self.next_asset.to_bytes(32, "big"))
            self.next_asset += 1
        return ids

    def record_requests(self, receipt: Any) -> None:
        for ev in events(self.e.aid, "RedemptionRequested", receipt):
            assert ev["requestId"] == len(self.requests)
            self.requests.append(Request(ev["owner"], ev["stableOwed"]))

    # ---- AID ----

    @rule(who=st.integers(0, 1), amount=st.integers(1, 3_000_000 * USDC))
    def mint(self, who: int, amount: int) -> None:
        e, account = self.e, self.investor(who)
        aid_before, usdc_before = e.aid_of(account), e.usdc_of(account)
        receipt = e.send(account, e.aid.functions.mint(amount))
        assert e.aid_of(account) == aid_before + amount * SCALE
        assert e.usdc_of(account) == usdc_before - amount
        assert [ev["aidOut"] for ev in events(e.aid, "Minted", receipt)] == [amount * SCALE]

    @rule(amount=st.integers(1, 3_000_000 * USDC))
    def mint_without_kyc(self, amount: int) -> None:
        e = self.e
        assert e.attempt(e.outsider, e.aid.functions.mint(amount)) == ("NotWhitelisted", None)
        # Sent anyway, past any pre-check: the chain refuses it and nothing is minted.
        supply, balance = e.view(e.aid, "totalSupply"), e.usdc_of(e.outsider)
        tx = e.aid.functions.mint(amount).transact({"from": e.outsider, "gas": GAS})
        e.changed()
        assert e.w3.eth.get_transaction_receipt(tx)["status"] == 0
        assert (e.view(e.aid, "totalSupply"), e.usdc_of(e.outsider), e.aid_of(e.outsider)) == (supply, balance, 0)

    @rule(who=st.integers(0, 1), percent=st.integers(1, 100), dust=st.integers(0, SCALE - 1))
    def redeem(self, who: int, percent: int, dust: int) -> None:
        e, account = self.e, self.investor(who)
        balance = e.aid_of(account)
        amount = min(balance, balance * percent // 100 + dust)
        stable = amount // SCALE
        expected = None
        if stable == 0:
            expected = "ZeroAmount"
        elif e.view(e.aid, "queuedStable") > 0:
            expected = "QueueNotEmpty"
        elif stable > e.view(e.aid, "redeemCapPerBlock"):
            expected = "RedeemCapExceeded"
        elif stable > e.view(e.aid, "reserve"):
            expected = "InsufficientReserve"
        usdc_before = e.usdc_of(account)
        error, _ = e.attempt(account, e.aid.functions.redeem(amount))
        assert error == expected
        if error is None:
            assert e.aid_of(account) == balance - stable * SCALE
            assert e.usdc_of(account) == usdc_before + stable

    @rule(who=st.integers(0, 1), percent=st.integers(1, 100))
    def request_redemption(self, who: int, percent: int) -> None:
        e, account = self.e, self.investor(who)
        balance = e.aid_of(account)
        amount = balance * percent // 100
        stable = amount // SCALE
        error, receipt = e.attempt(account, e.aid.functions.requestRedemption(amount))
        assert error == (None if stable > 0 else "ZeroAmount")
        if receipt is not None:
            self.record_requests(receipt)
            assert self.requests[-1] == Request(account, stable)
            assert e.aid_of(account) == balance - stable * SCALE

    @rule(max_requests=st.integers(1, 30))
    def process_redemptions(self, max_requests: int) -> None:
        e = self.e
        head = e.view(e.aid, "queueHead")
        e.send(e.outsider, e.aid.functions.processRedemptions(max_requests))
        assert e.view(e.aid, "queueHead") - head <= max_requests

    @precondition(lambda self: self.e.view(self.e.aid, "totalClaimable") > 0)
    @rule()
    def claim(self) -> None:
        e = self.e
        assert e.attempt(e.outsider, e.aid.functions.claim()) == ("NothingToClaim", None)
        for account in e.investors:
            owed, usdc_before = e.view(e.aid, "claimable", account), e.usdc_of(account)
            error, _ = e.attempt(account, e.aid.functions.claim())
            assert error == (None if owed > 0 else "NothingToClaim")
            assert e.usdc_of(account) == usdc_before + owed
            assert e.view(e.aid, "claimable", account) == 0
            self.claimed[account] += owed

    # ---- sAID ----

    @rule(who=st.integers(0, 1), percent=st.integers(1, 100))
    def stake(self, who: int, percent: int) -> None:
        e, account = self.e, self.investor(who)
        amount = e.aid_of(account) * percent // 100
        if amount < 10**18:
            return
        shares_before = e.view(e.said, "balanceOf", account)
        if amount > e.view(e.said, "maxDeposit", account):
            # a vault a loss wiped out would mint more shares than the 128-bit balances hold: refused
            assert e.attempt(account, e.said.functions.deposit(amount, account))[0] is not None
            return
        preview = e.view(e.said, "previewDeposit", amount)
        aid_before = e.aid_of(account)
        e.send(account, e.said.functions.deposit(amount, account))
        shares = e.view(e.said, "balanceOf", account) - shares_before
        assert 0 < shares <= preview  # income vesting in the meantime can only make a share dearer
        assert e.aid_of(account) == aid_before - amount

    @rule(who=st.integers(0, 1), percent=st.integers(1, 100))
    def request_unstake(self, who: int, percent: int) -> None:
        e, account = self.e, self.investor(who)
        balance = e.view(e.said, "balanceOf", account)
        shares = balance * percent // 100
        if shares == 0:
            return
        open_round = e.view(e.said, "openRound")
        mine = [x for x in self.exits if x.controller == account]
        current = mine[-1] if mine else None
        if current is not None and current.round != open_round:
            filled, _ = self.rounds[current.round].part(current.shares)
            if filled < current.shares:  # a controller waits in one round at a time
                assert e.attempt(account, e.said.functions.requestRedeem(shares, account, account))[0] == (
                    "RequestPending"
                )
                return
        receipt = e.send(account, e.said.functions.requestRedeem(shares, account, account))
        (ev,) = events(e.said, "RedeemRequest", receipt)
        assert (ev["requestId"], ev["controller"], ev["shares"]) == (open_round, account, shares)
        if current is not None and current.round == open_round:
            current.shares += shares  # merged into its request of the round
        else:
            self.exits.append(Exit(account, open_round, shares))
        self.rounds.setdefault(open_round, Round()).shares += shares
        assert e.view(e.said, "balanceOf", account) == balance - shares

    @rule(max_requests=st.integers(1, 4))
    def process_cycle(self, max_requests: int) -> None:
        e = self.e
        due, now = e.view(e.said, "nextCycleAt"), e.time()
        if now + 1 < due:
            assert e.attempt(e.admin, e.said.functions.processCycle(max_requests))[0] == "CycleNotDue"
            return
        if now < due:
            return  # the next block may land either side of the due time
        price = e.view(e.said, "convertToAssets", 10**18)
        escrow_before = e.aid_of(self.escrow)
        receipt = e.send(e.admin, e.said.functions.processCycle(max_requests))
        fills = events(e.said, "RedeemFilled", receipt)
        assert len(fills) <= max_requests
        ids = [f["requestId"] for f in fills]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)  # oldest first, each once per call
        for f in fills:
            r = self.rounds[f["requestId"]]
            r.filled += f["shares"]
            r.assets += f["assets"]
            assert f["pending"] == r.shares - r.filled
            self.set_aside += f["assets"]
        assert e.aid_of(self.escrow) == escrow_before + sum(f["assets"] for f in fills)
        assert e.view(e.said, "convertToAssets", 10**18) >= price  # filling never lowers the share price

    @precondition(lambda self: self.set_aside > self.paid)
    @rule(percent=st.integers(1, 100))
    def claim_unstake(self, percent: int) -> None:
        e = self.e
        for account in e.investors:
            claimable = e.view(e.said, "maxRedeem", account)
            error, _ = e.attempt(account, e.said.functions.redeem(claimable + 1, account, account))
            assert error == "ExceedsClaimable"
            shares = claimable * percent // 100
            if shares == 0:
                continue
            aid_before = e.aid_of(account)
            receipt = e.send(account, e.said.functions.redeem(shares, account, account))
            (ev,) = events(e.said, "Withdraw", receipt)
            assert e.aid_of(account) == aid_before + ev["assets"]
            self.claimed_shares[account] += shares
            self.claimed_assets[account] += ev["assets"]
            self.paid += ev["assets"]

    @rule(bps=st.sampled_from([0, 1, 3, 50]))
    def set_exit_cap(self, bps: int) -> None:
        """A per-cycle cap on exits (bps of AID's reserve): a small one cuts rounds, pro-rata."""
        e = self.e
        e.send(e.admin, e.said.functions.setCycle(e.view(e.said, "cycleLength"), bps))

    # ---- registry ----

    @rule(n=st.integers(1, 3), which=st.integers(0, 10**6))
    def register(self, n: int, which: int) -> None:
        e = self.e

        def batch(ids: list[bytes]) -> Any:
            hashes = [i[:31] + b"\x01" for i in ids]
            return e.registry.functions.registerBatch(GPU, e.provider, ids, hashes, [b"\x02" * 32] * len(ids))

        ids = self.fresh_ids(n)
        # A batch holding one asset already registered (whatever its status now) is refused whole.
        known = self.registered[which % len(self.registered)]
        assert e.attempt(e.provider, batch([*ids[:1], known, *ids[1:]])) == ("AlreadyRegistered", None)
        assert not any(e.view(e.registry, "isRegistered", i) for i in ids)
        assert e.attempt(e.provider, batch(ids))[0] is None
        self.registered += ids
        self.free += ids

    # ---- deals ----

    @precondition(lambda self: len(self.free) > 0)
    @rule(data=st.data())
    def open_deal(self, data: st.DataObject) -> None:
        e = self.e
        reserve = e.view(e.aid, "reserve")
        if reserve < USDC:
            return
        advance = data.draw(st.integers(USDC, reserve), label="advance")
        appraised = -(-advance * BPS // 8_000)
        collateral = self.free[: data.draw(st.integers(1, min(3, len(self.free))), label="assets")]
        structure = data.draw(st.integers(0, 2), label="structure")
        share = [0, data.draw(st.integers(5_000, 7_000)), data.draw(st.integers(1, 4_999))][structure]
        terms = (structure, data.draw(st.integers(0, 2_000)), share, data.draw(st.integers(0, 300)), 365)
        cash = advance * e.view(e.facility, "cashReserveBps") // BPS
        provider_before, facility_before = e.usdc_of(e.provider), e.usdc_of(e.facility.address)
        deployed = e.view(e.aid, "principalDeployed")
        receipt = e.send(e.admin, e.facility.functions.openDeal(e.provider, collateral, appraised, advance, terms, []))
        (ev,) = events(e.facility, "DealOpened", receipt)
        self.deals[ev["dealId"]] = collateral
        self.free = self.free[len(collateral) :]
        assert e.usdc_of(e.provider) == provider_before + advance - cash
        assert e.usdc_of(e.facility.address) == facility_before + cash
        assert e.view(e.aid, "reserve") == reserve - advance
        assert e.view(e.aid, "principalDeployed") == deployed + advance
        for c in collateral:
            assert e.view(e.registry, "getAsset", c)[3] == FINANCED

    @rule(bps=st.integers(0, 2_000))
    def set_cash_reserve(self, bps: int) -> None:
        self.e.send(self.e.admin, self.e.facility.functions.setCashReserveBps(bps))

    @precondition(lambda self: len(self.deals) > 0)
    @rule(data=st.data())
    def repay(self, data: st.DataObject) -> None:
        e = self.e
        deal_id = data.draw(st.sampled_from(sorted(self.deals)), label="deal")
        deal = e.view(e.facility, "getDeal", deal_id)
        owed = e.view(e.facility, "amountOwed", deal_id)
        from_revenue = deal[1][0] != 0 and data.draw(st.booleans(), label="from revenue")
        gross = data.draw(st.integers(BPS, 3 * owed + BPS), label="amount")
        amount = gross * deal[1][2] // BPS if from_revenue else gross // 2
        if amount == 0:
            return
        watch = {
            "payer": (e.usdc_of, e.provider),
            "treasury": (e.usdc_of, e.treasury),
            "aid": (e.usdc_of, e.aid.address),
            "facility": (e.usdc_of, e.facility.address),
            "vault": (e.aid_of, e.said.address),
            "treasury_aid": (e.aid_of, e.treasury),
        }
        before = {k: f(a) for k, (f, a) in watch.items()}
        deployed = e.view(e.aid, "principalDeployed")
        staked = e.view(e.said, "totalSupply") > 0
        call = (
            e.facility.functions.repayFromRevenue(deal_id, gross)
            if from_revenue
            else e.facility.functions.repay(deal_id, amount)
        )
        receipt = e.send(e.provider, call)
        (ev,) = events(e.facility, "Repaid", receipt)
        fees, interest, principal, excess = ev["fees"], ev["interest"], ev["principal"], ev["excess"]
        assert fees + interest + principal + excess == amount  # the waterfall pays out exactly what came in
        closed = events(e.facility, "DealClosed", receipt)
        cash = closed[0]["cashReserveReleased"] if closed else 0
        if closed:
            assert excess >= 0 and principal == deal[7]
        else:
            assert excess == 0
        delta = {k: f(a) - before[k] for k, (f, a) in watch.items()}
        assert delta == {
            "payer": -(amount - excess) + cash,
            "treasury": fees,
            "aid": interest + principal,
            "facility": -cash,
            "vault": interest * SCALE if staked else 0,
            "treasury_aid": 0 if staked else interest * SCALE,
        }
        assert e.view(e.aid, "principalDeployed") == deployed - principal
        if closed:
            self.free += self.deals.pop(deal_id)

    @rule(seconds=st.sampled_from([60, 3_600, 4 * 3_600, 8 * 3_600, DAY, 7 * DAY, 30 * DAY]))
    def advance_time(self, seconds: int) -> None:
        e = self.e
        e.tester.time_travel(e.time() + seconds)
        e.tester.mine_blocks(1)
        e.changed()

    @precondition(lambda self: len(self.deals) > 0)
    @rule(data=st.data())
    def impair_or_cure(self, data: st.DataObject) -> None:
        e = self.e
        deal_id = data.draw(st.sampled_from(sorted(self.deals)), label="deal")
        deal = e.view(e.facility, "getDeal", deal_id)
        if deal[2] == DEAL_ACTIVE:
            markdown = data.draw(st.integers(1, deal[7]), label="markdown")
            e.send(e.admin, e.facility.functions.impair(deal_id, markdown))
            self.loss_realized = True  # a markdown is priced in sAID at once (fair value)
            expected = IMPAIRED
        else:
            assert deal[2] == DEAL_IMPAIRED
            e.send(e.admin, e.facility.functions.cure(deal_id))
            expected = FINANCED
        for c in self.deals[deal_id]:
            assert e.view(e.registry, "getAsset", c)[3] == expected

    @precondition(lambda self: len(self.deals) > 0)
    @rule(data=st.data())
    def default_and_liquidate(self, data: st.DataObject) -> None:
        e = self.e
        deal_id = data.draw(st.sampled_from(sorted(self.deals)), label="deal")
        e.send(e.admin, e.facility.functions.declareDefault(deal_id))
        self.loss_realized = True  # the default's markdown is priced at once
        deal = e.view(e.facility, "getDeal", deal_id)
        principal, interest_due, cash = deal[7], deal[8], deal[12]
        proceeds = data.draw(st.integers(0, 2 * principal + interest_due), label="proceeds")
        watch = {
            "underwriter": (e.usdc_of, e.admin),
            "borrower": (e.usdc_of, e.provider),
            "aid": (e.usdc_of, e.aid.address),
            "facility": (e.usdc_of, e.facility.address),
            "vault": (e.aid_of, e.said.address),
            "treasury_aid": (e.aid_of, e.treasury),
            "treasury": (e.usdc_of, e.treasury),
        }
        before = {k: f(a) for k, (f, a) in watch.items()}
        deployed, uncovered = e.view(e.aid, "principalDeployed"), e.view(e.aid, "uncoveredLoss")
        staked = e.view(e.said, "totalSupply") > 0
        receipt = e.send(e.admin, e.facility.functions.recordLiquidation(deal_id, proceeds))
        (ev,) = events(e.facility, "DealLiquidated", receipt)
        recovered, loss, excess = ev["principalRecovered"], ev["loss"], ev["excess"]
        assert (ev["proceeds"], ev["cashReserve"]) == (proceeds, cash)
        assert recovered + loss == principal
        interest = proceeds + cash - recovered - excess
        assert 0 <= interest <= interest_due
        assert loss == 0 or interest == excess == 0
        assert excess == 0 or interest == interest_due
        absorbed = 0
        if loss:
            (lr,) = events(e.aid, "LossRealized", receipt)
            absorbed = min(before["vault"] // SCALE, loss)
            assert (lr["stableLoss"], lr["absorbedByVault"], lr["uncovered"]) == (loss, absorbed, loss - absorbed)
            self.loss_realized = True
        delta = {k: f(a) - before[k] for k, (f, a) in watch.items()}
        assert delta == {
            "underwriter": -proceeds,
            "borrower": excess,
            "aid": recovered + interest,
            "facility": -cash,
            "vault": -absorbed * SCALE + (interest * SCALE if staked else 0),
            "treasury_aid": 0 if staked else interest * SCALE,
            "treasury": 0,  # unpaid fees are written off
        }
        assert e.view(e.aid, "principalDeployed") == deployed - principal
        assert e.view(e.aid, "uncoveredLoss") == uncovered + loss - absorbed
        del self.deals[deal_id]

    # ---- invariants ----

    @invariant()
    def aid_is_backed_and_the_queue_is_fifo(self) -> None:
        e = self.e
        supply, reserve = e.view(e.aid, "totalSupply"), e.view(e.aid, "reserve")
        deployed, uncovered = e.view(e.aid, "principalDeployed"), e.view(e.aid, "uncoveredLoss")
        total_claimable = e.view(e.aid, "totalClaimable")
        claimable = {who: e.view(e.aid, "claimable", who) for who in e.investors}
        assert reserve == e.usdc_of(e.aid.address) - total_claimable
        assert supply == (reserve + deployed + uncovered) * SCALE
        assert total_claimable == sum(claimable.values())

        length, head = e.view(e.aid, "queueLength"), e.view(e.aid, "queueHead")
        assert head + length == len(self.requests)
        remaining = [0] * self.checked_head + [
            e.view(e.aid, "redemptionQueue", i)[1] for i in range(self.checked_head, len(self.requests))
        ]
        assert all(r == 0 for r in remaining[:head])
        assert all(r == q.owed for r, q in zip(remaining[head + 1 :], self.requests[head + 1 :], strict=True))
        queued = e.view(e.aid, "queuedStable")
        assert queued == sum(remaining[head:])
        assert e.aid_of(e.aid.address) == queued * SCALE
        for who in e.investors:
            filled = sum(q.owed - r for q, r in zip(self.requests, remaining, strict=True) if q.owner == who)
            assert filled == self.claimed[who] + claimable[who]
        self.checked_head = head

    @invariant()
    def exits_are_filled_in_order_and_paid_once(self) -> None:
        e = self.e
        said = e.said
        head = e.view(said, "queueHead")
        for n, r in self.rounds.items():  # FIFO between rounds: before the head filled, after it untouched
            assert (r.filled == r.shares) if n < head else (r.filled == 0 if n > head else r.filled <= r.shares)
        pending = sum(r.shares - r.filled for r in self.rounds.values())
        assert e.view(said, "totalPendingShares") == pending == e.view(said, "balanceOf", said.address)
        holders = [*e.investors, Web3.to_checksum_address(e.view(said, "DEAD")), said.address]
        assert sum(e.view(said, "balanceOf", h) for h in holders) == e.view(said, "totalSupply")
        # nothing paid twice: each controller's claims and claimable add up to its parts of the rounds
        owed = {who: e.view(said, "maxWithdraw", who) for who in e.investors}
        for who in e.investors:
            mine = [x for x in self.exits if x.controller == who]
            parts = [self.rounds[x.round].part(x.shares) for x in mine]
            assert self.claimed_shares[who] + e.view(said, "maxRedeem", who) == sum(f for f, _ in parts)
            assert self.claimed_assets[who] + owed[who] == sum(a for _, a in parts)
            if mine:
                x, (filled, _) = mine[-1], parts[-1]
                assert e.view(said, "pendingRedeemRequest", x.round, who) == x.shares - filled
        # the escrow holds what was set aside less what was paid: all that is owed, and the rounding's dust
        in_escrow = e.aid_of(self.escrow)
        assert in_escrow == self.set_aside - self.paid
        assert 0 <= in_escrow - sum(owed.values()) <= len(self.exits)

    @invariant()
    def the_share_price_falls_only_on_a_markdown_or_a_realized_loss(self) -> None:
        e = self.e
        price = e.view(e.said, "convertToAssets", 10**18)
        assert price >= self.last_price or self.loss_realized, (price, self.last_price)
        self.last_price, self.loss_realized = price, False

    @invariant()
    def said_is_priced_at_fair_value(self) -> None:
        """sAID's writedown is the facility's impairments, and totalAssets is what it holds less unvested
        income less that writedown."""
        e = self.e
        count = e.view(e.facility, "dealCount")
        marked = sum(e.view(e.facility, "getDeal", d)[13] for d in range(1, count + 1))
        writedown = e.view(e.said, "writedown")
        assert writedown == marked * SCALE
        off = e.view(e.said, "unvestedAmount") + writedown
        assert e.view(e.said, "totalAssets") == max(0, e.aid_of(e.said.address) - off)

    @invariant()
    def registry_and_facility_hold_what_they_should(self) -> None:
        e = self.e
        assert e.view(e.registry, "assetCount") == len(self.registered)
        reserves = sum(e.view(e.facility, "getDeal", d)[12] for d in self.deals)
        assert e.usdc_of(e.facility.address) == reserves


def test_protocol_invariants_hold_under_random_operation(env: Env) -> None:
    ProtocolMachine.env = env
    run_state_machine_as_test(
        ProtocolMachine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
