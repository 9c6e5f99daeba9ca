"""LP points from the index and their GAIB, claimed on chain: the figures match the chain's own balances
block by block, a rebuilt index gives the same points, a claim with a proof pays, a second is refused."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from gaib_sdk import Gaib, GaibValueError, TransactionFailed
from gaib_sdk.cli import main
from gaib_sdk.index import Indexer
from gaib_sdk.index.points import (
    DAY,
    Distribution,
    PointsTable,
    Rules,
    VenueRule,
    claim,
    deploy_distributor,
    distribution,
    leaf,
    points,
    publish,
)
from gaib_sdk.merkle import verify

from .anvil import KEYS, Anvil

RULES = Rules(version=1, venues={"curve": VenueRule(kind="lp_token", multiplier=Decimal(2))})


async def month_of_liquidity(anvil: Anvil, tmp_path: Path) -> tuple[Gaib, Gaib, Gaib]:
    """Two LPs in the Curve pool on anvil: one from day 0, one from day 1; on day 2 the first passes a
    quarter of its LP tokens to the second; the epoch ends on day 3."""
    deployments = tmp_path / "deployments.json"
    admin = await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments, journal=False)
    await admin.deploy()
    one, two = admin.with_account(KEYS[1]), admin.with_account(KEYS[2])
    for lp in (one, two):
        await admin.aid.whitelist(lp.address)
        await admin.faucet(lp.address, Decimal(10_000))
        await lp.aid.mint(Decimal(4_000))
    await admin.venues.setup("curve")
    await one.add_liquidity("curve", Decimal(4_000))
    await admin.chain.advance_time(DAY)
    await two.add_liquidity("curve", Decimal(2_000))
    await admin.chain.advance_time(DAY)
    pool = admin.venues.get("curve")._pool()  # noqa: SLF001
    quarter = await pool.functions.balanceOf(one.address).call() // 4
    await one.send(pool.functions.transfer(two.address, quarter), what="transfer LP")
    await admin.chain.advance_time(DAY)
    return admin, one, two


async def balances_block_by_block(admin: Gaib, account: str, first: int, last: int) -> Fraction:
    """Token-days held by ``account``, from the pool's balanceOf at every block (2x multiplier applied)."""
    pool = admin.venues.get("curve")._pool()  # noqa: SLF001
    total = 0
    for block in range(first, last):
        held = await pool.functions.balanceOf(account).call(block_identifier=block)
        t0 = (await admin.chain.w3.eth.get_block(block))["timestamp"]
        t1 = (await admin.chain.w3.eth.get_block(block + 1))["timestamp"]
        total += held * (t1 - t0)
    return Fraction(total, 10**18 * DAY) * 2


@pytest.mark.asyncio
async def test_points_match_the_chain_block_by_block_and_a_rebuilt_index(
    anvil: Anvil, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    admin, one, two = await month_of_liquidity(anvil, tmp_path)
    try:
        indexer = await Indexer.for_client(admin, tmp_path / "index.sqlite")
        await indexer.sync()
        table = points(indexer, RULES)
        first, last = indexer.events("venue:curve")[0].block_number, indexer.cursor or 0  # no pool before
        for lp in (one, two):
            expected = await balances_block_by_block(admin, lp.address, first, last)
            assert abs(Fraction(table.points[lp.address]) - expected) < Fraction(1, 10**6)
        assert table.points[one.address] > table.points[two.address] > 0
        # from scratch, into another database, in ranges of three blocks: the same figures to the last digit
        rebuilt = await Indexer.for_client(admin, tmp_path / "rebuilt.sqlite", batch_blocks=3, max_blocks=3)
        await rebuilt.sync()
        assert points(rebuilt, RULES) == table
        assert table.leaderboard(1) == [(one.address, table.points[one.address])]
        indexer.close()
        rebuilt.close()
        # `gaib points`: the same figures, and the distribution file
        rules = tmp_path / "rules.json"
        rules.write_text(RULES.model_dump_json())
        words = ["points", "--index", str(tmp_path / "index.sqlite"), "--rules", str(rules), "--account", two.address]
        out = tmp_path / "epoch-1.json"
        assert main([*words, "--epoch", "1", "--gaib", "1000", "--out", str(out), "--json"]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert [row["account"] for row in shown["leaderboard"]] == [one.address, two.address]
        assert Decimal(shown["account"]["points"]) == table.points[two.address]
        assert Distribution.model_validate_json(out.read_text()).root == shown["distribution"]["root"]
    finally:
        await admin.close()


@pytest.mark.asyncio
async def test_a_claim_with_a_proof_pays_once(anvil: Anvil, tmp_path: Path) -> None:
    admin, one, two = await month_of_liquidity(anvil, tmp_path)
    try:
        indexer = await Indexer.for_client(admin, tmp_path / "index.sqlite")
        await indexer.sync()
        dist = distribution(points(indexer, RULES), epoch=1, total_wei=10_000 * 10**18)
        indexer.close()
        assert dist.total <= 10_000 * 10**18 and set(dist.claims) == {one.address, two.address}
        mine = dist.claims[one.address]
        assert verify(dist.root, leaf(1, one.address, mine.amount), mine.proof)
        distributor = await deploy_distributor(admin)
        await publish(admin, distributor, dist)
        gaib = admin.protocol.gaib
        contract = admin.chain.contract(distributor, _abi())
        proof = [bytes.fromhex(p[2:]) for p in mine.proof]
        # more than the tree says, or another account's amount and proof: the proof fails
        other = dist.claims[two.address]
        other_proof = [bytes.fromhex(p[2:]) for p in other.proof]
        with pytest.raises(TransactionFailed, match="InvalidProof"):
            await one.send(contract.functions.claim(1, one.address, mine.amount + 1, proof), what="claim more")
        with pytest.raises(TransactionFailed, match="InvalidProof"):
            await one.send(contract.functions.claim(1, one.address, other.amount, other_proof), what="claim theirs")
        assert await claim(one, distributor, dist) == mine.amount
        assert await gaib.functions.balanceOf(one.address).call() == mine.amount
        # anyone may send a claim; the GAIB goes to the account
        await claim(one, distributor, dist, account=two.address)
        assert await gaib.functions.balanceOf(two.address).call() == dist.claims[two.address].amount
        # a second claim: the SDK refuses before sending, and the contract refuses it too
        with pytest.raises(GaibValueError, match="already claimed epoch 1"):
            await claim(one, distributor, dist)
        with pytest.raises(TransactionFailed, match="AlreadyClaimed"):
            await one.send(contract.functions.claim(1, one.address, mine.amount, proof), what="claim again")
        with pytest.raises(GaibValueError, match="already published"):
            await publish(admin, distributor, dist)
        assert await gaib.functions.balanceOf(distributor).call() == 0
    finally:
        await admin.close()


def _abi() -> list[dict[str, object]]:
    from gaib_sdk.chain import load_artifact

    abi: list[dict[str, object]] = load_artifact("PointsDistributor")["abi"]
    return abi


def _table(shares: dict[str, int]) -> PointsTable:
    return PointsTable(
        rules_version=1,
        rules_digest=RULES.digest(),
        start=0,
        end=1,
        to_block=1,
        points={a: Decimal(p) for a, p in shares.items()},
        by_venue={},
    )


@pytest.mark.asyncio
async def test_the_distributor_refuses_what_it_must(gaib: Gaib) -> None:
    """Only the rewarder publishes, each epoch once; an epoch never pays out more than funded it; an
    unpublished epoch pays nothing. The SDK says so before sending; the contract holds without the SDK."""
    one, two, outsider = gaib.with_account(1), gaib.with_account(2), gaib.with_account(3)
    dist = distribution(_table({one.address: 3, two.address: 1}), epoch=7, total_wei=4_000)
    assert {a: c.amount for a, c in dist.claims.items()} == {one.address: 3_000, two.address: 1_000}
    distributor = await deploy_distributor(gaib)
    contract = gaib.chain.contract(distributor, _abi())
    root = bytes.fromhex(dist.root[2:])
    with pytest.raises(GaibValueError, match="nothing to claim|root on chain"):
        await claim(one, distributor, dist)  # not published yet
    with pytest.raises(TransactionFailed, match="UnknownEpoch"):
        await one.send(contract.functions.claim(7, one.address, 3_000, []), what="claim early")
    with pytest.raises(GaibValueError, match="lacks REWARDER_ROLE"):
        await publish(outsider, distributor, dist)
    with pytest.raises(TransactionFailed, match="AccessControlUnauthorizedAccount"):
        await outsider.send(contract.functions.publish(7, root, 0, ""), what="publish as an outsider")
    # funded with less than its tree sums to: the epoch pays until what funded it is spent, then stops
    await gaib.approve(gaib.protocol.gaib, distributor, 3_500)
    await gaib.send(contract.functions.publish(7, root, 3_500, "ipfs://epoch-7"), what="publish underfunded")
    with pytest.raises(TransactionFailed, match="EpochExists"):
        await gaib.send(contract.functions.publish(7, root, 0, ""), what="publish again")
    assert await claim(one, distributor, dist) == 3_000
    proof = [bytes.fromhex(p[2:]) for p in dist.claims[two.address].proof]
    with pytest.raises(TransactionFailed, match="EpochExhausted"):
        await two.send(contract.functions.claim(7, two.address, 1_000, proof), what="claim past the funding")
    assert await gaib.protocol.gaib.functions.balanceOf(distributor).call() == 500
    with pytest.raises(GaibValueError, match="every account 0"):
        distribution(_table({one.address: 3, two.address: 1}), epoch=8, total_wei=0)
