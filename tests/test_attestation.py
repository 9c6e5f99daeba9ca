"""NodeAttestation on the embedded EVM, called directly through its binding (the SDK's pre-checks are skipped
on purpose: every revert asserted here is the contract's), and a property test of staking and slashing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.contract import AsyncContract

from gaib_sdk import Gaib
from gaib_sdk.chain import load_artifact
from gaib_sdk.errors import TransactionFailed
from gaib_sdk.merkle import MerkleTree
from gaib_sdk.node import DeviceReport, Health, recover_signer, sign_report

from .test_contracts import events, reverts, unauthorized

GAIB = 10**18
MIN_BOND = 10_000 * GAIB  # the deployment's default
DAY = 86_400
GPU = b"gpu".ljust(32, b"\0")
ZERO32 = "0x" + "00" * 32


def aid(n: int) -> str:
    return "0x" + f"{n:02x}" * 32


def report(asset: str, period: int, **changes: Any) -> DeviceReport:
    fields: dict[str, Any] = {
        "asset_id": asset,
        "period": period,
        "device_id": "0x" + "ab" * 32,
        "health": Health.HEALTHY,
        "utilisation_bps": 8_000,
        "revenue": 1_000 * 10**6,
        "telemetry_hash": "0x" + "cd" * 32,
    }
    return DeviceReport(**(fields | changes))


@dataclass
class Root:
    tree: MerkleTree
    reports: list[DeviceReport]

    @property
    def root(self) -> str:
        return self.tree.root

    def proof(self, r: DeviceReport) -> list[str]:
        return self.tree.proof(r.leaf)


def root_of(*reports: DeviceReport) -> Root:
    return Root(MerkleTree([r.leaf for r in reports]), list(reports))


async def tx(who: Gaib, call: Any, what: str = "call") -> Any:
    return await who.send(call, what=what)


async def gaib_to(admin: Gaib, who: Gaib, amount: int, spender: str) -> None:
    await tx(admin, admin.protocol.gaib.functions.transfer(who.address, amount))
    await tx(who, who.protocol.gaib.functions.approve(spender, 2**256 - 1))


async def period_now(g: Gaib) -> int:
    return await g.chain.timestamp() // DAY


async def register_assets(admin: Gaib, *ids: str) -> None:
    reg = admin.protocol.registry
    n = len(ids)
    await tx(admin, reg.functions.registerBatch(GPU, admin.address, list(ids), [b"\x01" * 32] * n, [b"\x02" * 32] * n))


@pytest.mark.asyncio
async def test_report_hash_leaf_and_signature_match_the_contract(gaib: Gaib) -> None:
    att = gaib.nodes.attestation
    r = report(aid(1), 7, health=Health.DEGRADED, revenue=2**128 - 1)
    assert await att.functions.reportHash(r.as_struct()).call() == r.struct_hash
    assert await att.functions.reportLeaf(r.as_struct()).call() == r.leaf
    op = gaib.chain.accounts[1]
    sig = sign_report(r, op, chain_id=gaib.chain.chain_id, contract=att.address)
    assert recover_signer(r, sig, chain_id=gaib.chain.chain_id, contract=att.address) == op.address
    # the contract's digest is what was signed: another chain id or contract recovers someone else
    assert recover_signer(r, sig, chain_id=1, contract=att.address) != op.address
    digest = await att.functions.reportDigest(r.as_struct()).call()
    assert op.unsafe_sign_hash(digest).signature.hex() == sig[2:]
    assert r.problems() == [] and report(aid(1), 7, utilisation_bps=10_001, health=9).problems(8) == [
        "report of period 7 in the root of period 8",
        "utilisation 10001 bps is above 10000",
        "unknown health code 9",
    ]


@pytest.mark.asyncio
async def test_constructor_refuses_a_bad_configuration(gaib: Gaib) -> None:
    p, art = gaib.protocol, load_artifact("NodeAttestation")
    good = [gaib.address, p.gaib.address, p.registry.address, gaib.address, DAY, MIN_BOND, 2 * DAY, 7 * DAY]
    for index, value, what in (
        (1, "0x" + "00" * 20, "zero address"),
        (4, 0, "periodLength"),
        (5, 0, "minBond"),
        (6, 0, "challengeWindow"),
        (7, 2 * DAY, "unbondDelay must exceed challengeWindow"),
    ):
        args = list(good)
        args[index] = value
        with pytest.raises(TransactionFailed, match=f"InvalidConfig\\(what={what}"):
            await gaib.chain.deploy(art, args, gaib.account)
    assert (await gaib.chain.deploy(art, good, gaib.account)).contract_address


@pytest.mark.asyncio
async def test_operators_register_bond_unbond_and_withdraw(gaib: Gaib) -> None:
    att, token = gaib.nodes.attestation, gaib.protocol.gaib
    op, other = gaib.with_account(1), gaib.with_account(2)
    await gaib_to(gaib, op, 3 * MIN_BOND, att.address)
    await reverts(tx(op, att.functions.register(MIN_BOND - 1)), "BondTooSmall")
    result = await tx(op, att.functions.register(MIN_BOND))
    assert [dict(e) for e in events(att, "OperatorRegistered", result)] == [{"operator": op.address, "bond": MIN_BOND}]
    await reverts(tx(op, att.functions.register(MIN_BOND)), "AlreadyRegistered")
    await reverts(tx(op, att.functions.bond(0)), "ZeroAmount")
    await reverts(tx(other, att.functions.bond(1)), "NotActive")
    await reverts(tx(other, att.functions.requestUnbond()), "NotActive")
    await reverts(tx(other, att.functions.withdraw()), "NotActive")
    await tx(op, att.functions.bond(MIN_BOND))
    info = await op.nodes.operator()
    assert info["status"] == "active" and info["bond_gaib"] == 20_000 and info["latest_root"] is None
    assert await att.functions.totalBonded().call() == 2 * MIN_BOND

    result = await tx(op, att.functions.requestUnbond())
    (ev,) = events(att, "UnbondRequested", result)
    assert ev["withdrawableAt"] == await gaib.chain.timestamp() + 7 * DAY
    await reverts(tx(op, att.functions.requestUnbond()), "NotActive")
    await reverts(tx(op, att.functions.bond(1)), "NotActive")
    await reverts(tx(op, att.functions.submitRoot(0, b"\x01" * 32, 1, "file:///x")), "NotActive")
    await reverts(tx(op, att.functions.withdraw()), "UnbondNotDue")
    await gaib.chain.advance_time(7 * DAY)
    before = await token.functions.balanceOf(op.address).call()
    await tx(op, att.functions.withdraw())
    assert await token.functions.balanceOf(op.address).call() == before + 2 * MIN_BOND
    info = await op.nodes.operator()
    assert (info["status"], info["bond_gaib"], info["deposited_gaib"], info["withdrawn_gaib"]) == (
        "none",
        0,
        20_000,
        20_000,
    )
    await reverts(tx(op, att.functions.withdraw()), "NotActive")
    await tx(op, att.functions.register(MIN_BOND))  # an operator that left may come back
    assert (await op.nodes.operator())["status"] == "active"


@pytest.mark.asyncio
async def test_admin_settings(gaib: Gaib) -> None:
    att, outsider = gaib.nodes.attestation, gaib.with_account(4)
    for call in (
        att.functions.setMinBond(1),
        att.functions.setChallengerShareBps(1),
        att.functions.setTreasury(outsider.address),
    ):
        await unauthorized(tx(outsider, call), outsider.address, "DEFAULT_ADMIN_ROLE")
    await reverts(tx(gaib, att.functions.setMinBond(0)), "InvalidConfig")
    await reverts(tx(gaib, att.functions.setChallengerShareBps(10_001)), "InvalidConfig")
    await reverts(tx(gaib, att.functions.setTreasury("0x" + "00" * 20)), "InvalidConfig")
    assert events(att, "MinBondSet", await tx(gaib, att.functions.setMinBond(5 * GAIB)))[0]["minBond"] == 5 * GAIB
    await tx(gaib, att.functions.setChallengerShareBps(2_500))
    await tx(gaib, att.functions.setTreasury(outsider.address))
    assert (await att.functions.minBond().call(), await att.functions.challengerShareBps().call()) == (5 * GAIB, 2_500)
    assert await att.functions.treasury().call() == outsider.address


@pytest.mark.asyncio
async def test_roots_are_one_per_operator_per_closed_period_and_views_find_them(gaib: Gaib) -> None:
    att = gaib.nodes.attestation
    a, b = gaib.with_account(1), gaib.with_account(2)
    for op in (a, b):
        await gaib_to(gaib, op, 2 * MIN_BOND, att.address)
        await tx(op, att.functions.register(MIN_BOND))
    now = await gaib.chain.timestamp()
    period = now // DAY
    assert await att.functions.periodOf(now).call() == period
    assert await att.functions.periodStart(period).call() == period * DAY
    assert await att.functions.periodEnd(period).call() == (period + 1) * DAY
    r1 = root_of(report(aid(1), period), report(aid(2), period))
    await reverts(tx(a, att.functions.submitRoot(period, r1.root, 2, "file:///b")), "PeriodNotClosed")
    await gaib.chain.advance_time(DAY)
    await reverts(tx(a, att.functions.submitRoot(period, ZERO32, 2, "file:///b")), "EmptyRoot")
    await reverts(tx(a, att.functions.submitRoot(period, r1.root, 0, "file:///b")), "EmptyRoot")
    result = await tx(a, att.functions.submitRoot(period, r1.root, 2, "file:///b"))
    (ev,) = events(att, "RootSubmitted", result)
    assert (ev["operator"], ev["period"], "0x" + ev["root"].hex(), ev["count"], ev["uri"]) == (
        a.address,
        period,
        r1.root,
        2,
        "file:///b",
    )
    await reverts(tx(a, att.functions.submitRoot(period, r1.root, 2, "file:///b")), "RootAlreadySubmitted")
    await tx(a, att.functions.submitRoot(period - 3, r1.root, 2, "file:///old"))  # an older period, late
    await tx(gaib, att.functions.setMinBond(MIN_BOND + 1))
    await reverts(tx(b, att.functions.submitRoot(period, r1.root, 2, "file:///c")), "BondTooSmall")
    await tx(b, att.functions.bond(1))
    await tx(b, att.functions.submitRoot(period, r1.root, 2, "file:///c"))

    latest_period, latest = await att.functions.latestRoot(a.address).call()
    assert latest_period == period and "0x" + latest[0].hex() == r1.root and latest[1] == 2
    assert (await att.functions.latestRoot(gaib.address).call())[1][0] == b"\0" * 32
    operators, roots = await att.functions.rootsForPeriod(period).call()
    assert operators == [a.address, b.address] and [r[1] for r in roots] == [2, 2]
    assert (await att.functions.rootOf(a.address, period - 3).call())[1] == 2
    r = r1.reports[0]
    assert await att.functions.verifyReport(a.address, period, r.as_struct(), r1.proof(r)).call()
    assert await a.nodes.verify_report_inclusion(r, r1.proof(r), a.address)
    assert not await a.nodes.verify_report_inclusion(r, r1.proof(r1.reports[1]), a.address)
    assert not await a.nodes.verify_report_inclusion(r, r1.proof(r), gaib.address)  # no root there
    assert (await a.nodes.operator())["roots"] == 2


@pytest.mark.asyncio
async def test_challenges_prove_false_reports_and_slash_the_bond_once(gaib: Gaib) -> None:
    att, token = gaib.nodes.attestation, gaib.protocol.gaib
    op, honest, challenger = gaib.with_account(1), gaib.with_account(2), gaib.with_account(3)
    for o in (op, honest):
        await gaib_to(gaib, o, MIN_BOND, att.address)
        await tx(o, att.functions.register(MIN_BOND))
    await register_assets(gaib, aid(1), aid(2))
    period = await period_now(gaib)
    good = report(aid(1), period)
    down_paid = report(aid(2), period, health=Health.DOWN, revenue=5)
    unknown = report(aid(9), period)
    wrong_period = report(aid(2), period - 1)
    bad = root_of(good, down_paid, unknown, wrong_period)
    fine = root_of(good, report(aid(2), period))
    await gaib.chain.advance_time(DAY)
    await tx(op, att.functions.submitRoot(period, bad.root, 4, "file:///bad"))
    await tx(honest, att.functions.submitRoot(period, fine.root, 2, "file:///fine"))
    sig = sign_report(good, op.account, chain_id=gaib.chain.chain_id, contract=att.address)
    twin = report(aid(1), period, utilisation_bps=100)
    twin_sig = sign_report(twin, op.account, chain_id=gaib.chain.chain_id, contract=att.address)
    c = challenger

    # a challenge without a valid proof, or of a true report, reverts
    await reverts(
        tx(c, att.functions.challengeImpossible(op.address, period + 1, good.as_struct(), bad.proof(good))), "NoRoot"
    )
    await reverts(
        tx(c, att.functions.challengeImpossible(op.address, period, down_paid.as_struct(), bad.proof(good))),
        "InvalidProof",
    )
    await reverts(
        tx(c, att.functions.challengeImpossible(op.address, period, good.as_struct(), bad.proof(good))),
        "ReportNotFalse",
    )
    await reverts(
        tx(c, att.functions.challengeUnknownAsset(op.address, period, good.as_struct(), bad.proof(good))),
        "ReportNotFalse",
    )
    eq = att.functions.challengeEquivocation
    await reverts(
        tx(c, eq(op.address, period, good.as_struct(), bad.proof(good), good.as_struct(), sig)), "NotEquivocation"
    )
    other_asset = report(aid(2), period)
    await reverts(
        tx(c, eq(op.address, period, good.as_struct(), bad.proof(good), other_asset.as_struct(), sig)),
        "NotEquivocation",
    )
    forged = sign_report(twin, c.account, chain_id=gaib.chain.chain_id, contract=att.address)
    await reverts(
        tx(c, eq(op.address, period, good.as_struct(), bad.proof(good), twin.as_struct(), forged)), "BadSignature"
    )
    await reverts(
        tx(c, eq(op.address, period, good.as_struct(), bad.proof(good), twin.as_struct(), "0x1234")), "BadSignature"
    )
    # the honest operator's identical report and an impossible claim against it both fail
    await reverts(
        tx(c, att.functions.challengeImpossible(honest.address, period, good.as_struct(), fine.proof(good))),
        "ReportNotFalse",
    )

    # (c) impossible: revenue on a device reported down. The whole bond goes: half to the challenger.
    before = await token.functions.balanceOf(c.address).call()
    treasury_before = await token.functions.balanceOf(gaib.address).call()
    result = await tx(
        c, att.functions.challengeImpossible(op.address, period, down_paid.as_struct(), bad.proof(down_paid))
    )
    (ev,) = events(att, "Slashed", result)
    assert (ev["operator"], ev["challenger"], ev["period"], ev["fault"]) == (op.address, c.address, period, 2)
    assert ev["toChallenger"] == ev["toTreasury"] == MIN_BOND // 2
    assert await token.functions.balanceOf(c.address).call() == before + MIN_BOND // 2
    assert await token.functions.balanceOf(gaib.address).call() == treasury_before + MIN_BOND // 2
    info = await op.nodes.operator()
    assert (info["status"], info["bond_gaib"], info["slashed_gaib"]) == ("jailed", 0, 10_000)
    assert await att.functions.totalSlashed().call() == MIN_BOND

    # the same bond is never slashed twice, whatever else is proven false in the root
    await reverts(
        tx(c, att.functions.challengeUnknownAsset(op.address, period, unknown.as_struct(), bad.proof(unknown))),
        "NothingToSlash",
    )
    await reverts(
        tx(c, att.functions.challengeImpossible(op.address, period, wrong_period.as_struct(), bad.proof(wrong_period))),
        "NothingToSlash",
    )
    await reverts(
        tx(c, eq(op.address, period, good.as_struct(), bad.proof(good), twin.as_struct(), twin_sig)), "NothingToSlash"
    )
    await reverts(tx(op, att.functions.register(MIN_BOND)), "AlreadyRegistered")  # jailed for good
    await reverts(tx(op, att.functions.requestUnbond()), "NotActive")

    # (a) equivocation against the honest operator's signed twin report; after the window, nothing
    twin_sig = sign_report(twin, honest.account, chain_id=gaib.chain.chain_id, contract=att.address)
    result = await tx(c, eq(honest.address, period, good.as_struct(), fine.proof(good), twin.as_struct(), twin_sig))
    assert events(att, "Slashed", result)[0]["fault"] == 0
    await gaib.chain.advance_time(2 * DAY)
    await reverts(
        tx(c, att.functions.challengeImpossible(honest.address, period, good.as_struct(), fine.proof(good))),
        "ChallengeWindowClosed",
    )


@pytest.mark.asyncio
async def test_unknown_asset_challenges_read_the_registry(gaib: Gaib) -> None:
    """(b): not registered, registered after the period ended, or retired before it began."""
    att, reg = gaib.nodes.attestation, gaib.protocol.registry
    await register_assets(gaib, aid(1), aid(2))
    p0 = await period_now(gaib)
    assert not await att.functions.assetUnattestable(aid(1), p0).call()
    assert await att.functions.assetUnattestable(aid(9), p0).call()
    assert await att.functions.assetUnattestable(aid(1), p0 - 1).call()  # registered after p0 - 1 ended
    await gaib.chain.advance_time(DAY)
    await tx(gaib, reg.functions.retire(aid(1)))
    assert await reg.functions.closedAt(aid(1)).call() == await gaib.chain.timestamp()
    assert not await att.functions.assetUnattestable(aid(1), p0 + 1).call()  # retired during the period
    assert await att.functions.assetUnattestable(aid(1), p0 + 2).call()  # retired before it began
    assert not await att.functions.assetUnattestable(aid(2), p0 + 2).call()

    ops = [gaib.with_account(i) for i in (1, 2, 5)]
    for op in ops:
        await gaib_to(gaib, op, MIN_BOND, att.address)
        await tx(op, att.functions.register(MIN_BOND))
    await gaib.chain.advance_time(2 * DAY)  # p0 + 2 closes
    cases = [(ops[0], report(aid(9), p0 + 2)), (ops[1], report(aid(1), p0 + 2)), (ops[2], report(aid(1), p0 - 1))]
    for op, r in cases:
        t = root_of(r, report(aid(2), r.period))
        await tx(op, att.functions.submitRoot(r.period, t.root, 2, "file:///x"))
        result = await tx(
            gaib.with_account(3), att.functions.challengeUnknownAsset(op.address, r.period, r.as_struct(), t.proof(r))
        )
        assert events(att, "Slashed", result)[0]["fault"] == 1


# ---- property: staking and slashing ----

OPS = (1, 2, 5)
PERIOD, WINDOW, UNBOND = 100, 300, 600

action = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(OPS), st.integers(0, 3)),
    st.tuples(st.just("bond"), st.sampled_from(OPS), st.integers(0, 2)),
    st.tuples(st.just("unbond"), st.sampled_from(OPS)),
    st.tuples(st.just("withdraw"), st.sampled_from(OPS)),
    st.tuples(st.just("advance"), st.sampled_from([50, 150, 350, 700])),
    st.tuples(st.just("submit"), st.sampled_from(OPS), st.sampled_from([True, True, False])),
    st.tuples(st.just("challenge"), st.sampled_from(OPS), st.sampled_from([True, True, False])),
    st.tuples(st.just("challenge"), st.sampled_from(OPS), st.booleans()),
)


@dataclass
class Model:
    """What the contract should do, kept independently of it."""

    status: dict[int, str] = field(default_factory=lambda: dict.fromkeys(OPS, "none"))
    bond: dict[int, int] = field(default_factory=lambda: dict.fromkeys(OPS, 0))
    deposited: dict[int, int] = field(default_factory=lambda: dict.fromkeys(OPS, 0))
    unbond_at: dict[int, int] = field(default_factory=lambda: dict.fromkeys(OPS, 0))
    # (operator, period) -> (tree, false report or None, submitted at)
    roots: dict[tuple[int, int], tuple[Root, DeviceReport | None, int]] = field(default_factory=dict)
    slashes: list[tuple[int, bool]] = field(default_factory=list)


async def _expect(call: Awaitable[Any], ok: bool) -> Any:
    if ok:
        return await call
    with pytest.raises(TransactionFailed):
        await call
    return None


async def _play(admin: Gaib, actions: list[tuple[Any, ...]]) -> None:
    p = admin.protocol
    art = load_artifact("NodeAttestation")
    args = [admin.address, p.gaib.address, p.registry.address, admin.address, PERIOD, 100, WINDOW, UNBOND]
    address = (await admin.chain.deploy(art, args, admin.account)).contract_address
    assert address is not None
    att: AsyncContract = admin.chain.contract(address, art["abi"])
    ops = {i: admin.with_account(i) for i in OPS}
    for who in ops.values():
        await tx(who, p.gaib.functions.approve(address, 2**256 - 1))
    m = Model()
    challenger = admin.with_account(3)
    # every operator starts bonded, and a period has closed: the random part then reaches slashes often
    prefix: list[tuple[Any, ...]] = [("register", i, 1) for i in OPS] + [("advance", 150)]
    for act in prefix + actions:
        now = await admin.chain.timestamp()
        kind, i = act[0], act[1]
        if kind == "advance":
            await admin.chain.advance_time(i)
            continue
        op = ops[i]
        if kind == "register":
            amount = 100 * act[2]
            ok = m.status[i] == "none" and amount >= 100
            if await _expect(tx(op, att.functions.register(amount)), ok):
                m.status[i], m.bond[i], m.deposited[i] = "active", m.bond[i] + amount, m.deposited[i] + amount
        elif kind == "bond":
            amount = 50 * act[2]
            if await _expect(tx(op, att.functions.bond(amount)), m.status[i] == "active" and amount > 0):
                m.bond[i] += amount
                m.deposited[i] += amount
        elif kind == "unbond":
            if await _expect(tx(op, att.functions.requestUnbond()), m.status[i] == "active"):
                m.status[i] = "unbonding"
                m.unbond_at[i] = await admin.chain.timestamp() + UNBOND
        elif kind == "withdraw":
            if abs(now - m.unbond_at[i]) <= 2:
                continue  # too close to the boundary to say which block time the transaction gets
            ok = m.status[i] == "unbonding" and now >= m.unbond_at[i]
            if await _expect(tx(op, att.functions.withdraw()), ok):
                m.status[i], m.bond[i] = "none", 0
        elif kind == "submit":
            period = now // PERIOD - 1  # the latest closed period
            r = report(aid(1), period, health=Health.DOWN, revenue=7) if act[2] else report(aid(3), period)
            t = root_of(report(aid(2), period), r)
            ok = m.status[i] == "active" and (i, period) not in m.roots
            if await _expect(tx(op, att.functions.submitRoot(period, t.root, 2, "file:///p")), ok):
                m.roots[(i, period)] = (t, r if act[2] else None, await admin.chain.timestamp())
        elif kind == "challenge":
            # the challenger picks the operator's most promising root: open, and holding a false report
            mine = sorted(
                ((k, v) for k, v in m.roots.items() if k[0] == i),
                key=lambda kv: (kv[1][2] + WINDOW > now, kv[1][1] is not None, kv[1][2]),
            )
            if not mine:
                continue
            (_, period), (t, false_report, at) = mine[-1]
            if abs(now - (at + WINDOW)) <= 2:
                continue
            target = t.reports[1]  # the false report if the root has one, else a true one
            other = t.reports[0]
            proof = t.proof(target) if act[2] else t.proof(other)  # the other leaf's proof does not fit
            provable = false_report is not None and act[2]
            ok = provable and now < at + WINDOW and m.bond[i] > 0
            call = att.functions.challengeImpossible(op.address, period, target.as_struct(), proof)
            if await _expect(tx(challenger, call), ok):
                m.slashes.append((i, provable))
                m.status[i], m.bond[i] = "jailed", 0

    total = 0
    for i, who in ops.items():
        o = await att.functions.getOperator(who.address).call()
        status, bond, deposited, slashed, withdrawn = o[0], o[4], o[5], o[6], o[7]
        assert bond + slashed + withdrawn == deposited == m.deposited[i]
        assert bond == m.bond[i] and ["none", "active", "unbonding", "jailed"][status] == m.status[i]
        assert slashed == 0 or status == 3  # a slashed operator is jailed: its bond cannot be slashed again
        total += bond
    assert await att.functions.totalBonded().call() == total
    assert await p.gaib.functions.balanceOf(address).call() == total
    slashed_events = await att.events.Slashed().get_logs(from_block=0)
    assert len(slashed_events) == len(m.slashes)
    assert len({e["args"]["operator"] for e in slashed_events}) == len(slashed_events)  # no bond slashed twice
    assert all(valid for _, valid in m.slashes)  # every slash had a valid proof of a false report


def test_staking_and_slashing_properties() -> None:
    """Random sequences of bond / unbond / withdraw / submit / challenge against a fresh contract each: no bond
    is slashed twice, a slash always had a valid proof, bonded + slashed + withdrawn == deposited."""
    loop = asyncio.new_event_loop()
    admin = loop.run_until_complete(Gaib.embedded())
    for i in OPS:
        loop.run_until_complete(tx(admin, admin.protocol.gaib.functions.transfer(admin.with_account(i).address, 10**6)))

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(action, min_size=3, max_size=12))
    def check(actions: list[tuple[Any, ...]]) -> None:
        loop.run_until_complete(_play(admin, actions))

    try:
        check()
    finally:
        loop.run_until_complete(admin.close())
        loop.close()


@pytest.mark.asyncio
async def test_bond_amounts_are_counted_exactly_before_anything_is_sent(gaib: Gaib) -> None:
    """GAIB amounts go through the SDK's one exact conversion: 19 decimal places in 29 digits were rounded to
    18 by Decimal's 28-digit arithmetic and let through."""
    from gaib_sdk.errors import GaibValueError

    op = gaib.with_account(1)
    for amount, message in [
        ("1000000000.1111111111111111111", "more than 18 decimal places"),
        ("1e99", "is too large"),
        ("lots", "is not a number"),
        (0, "must be more than 0 GAIB"),
    ]:
        with pytest.raises(GaibValueError, match=message):
            await op.nodes.register_operator(amount)
        with pytest.raises(GaibValueError, match=message):
            await op.nodes.bond(amount)
