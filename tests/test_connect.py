"""The client against a real node: anvil on 127.0.0.1, over JSON-RPC, with locally signed transactions."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gaib_sdk import ChainError, Gaib, GaibConfigError, TransactionFailed

from .anvil import KEYS, Anvil
from .conftest import AS_OF, Actors


@pytest.mark.asyncio
async def test_the_three_stages_on_anvil(anvil: Anvil, tmp_path: Path) -> None:
    deployments = tmp_path / "deployments.json"
    admin = await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments)
    assert admin.chain.chain_id == 31337 and not admin.chain.in_process
    with pytest.raises(GaibConfigError, match="not deployed on chain 31337"):
        _ = admin.protocol
    deployment = await admin.deploy()
    assert deployment.usdc_is_test

    provider, investor, lender = (admin.with_account(k) for k in KEYS[1:4])
    await admin.admin.authorize_registrar(provider.address)
    inventory = await provider.assets.read_inventory("gpu")
    assert len((await provider.digitize("gpu", inventory)).asset_ids) == 64
    await admin.aid.whitelist(investor.address)
    await admin.faucet(investor.address, Decimal(1_500_000))
    await investor.aid.mint(Decimal(1_500_000))
    await investor.said.stake(Decimal(1_000_000))
    deal = (await admin.financialize("gpu", inventory, as_of=AS_OF)).deal
    await admin.chain.advance_time(30 * 86_400)
    repayment = await provider.deals.repay(deal.deal_id, Decimal(60_000))
    assert repayment.interest_usd > Decimal(8_600)  # 12% on 876,809.76 for 30 days
    await admin.chain.advance_time(86_400)  # the interest vests into sAID
    assert await admin.said.share_price() > 1

    await admin.faucet(lender.address, Decimal(100_000))
    await admin.venues.setup("morpho")
    positions = await lender.add_liquidity("morpho", Decimal(100_000))
    assert [(p.side, p.amount) for p in positions] == [("supply", Decimal(100_000))]

    # a revert on a real node is decoded from the node's error data, before anything is sent
    with pytest.raises(TransactionFailed, match=r"NotWhitelisted\(account="):
        await lender.send(lender.protocol.aid.functions.mint(1), what="mint")

    # a second process finds the deployment in the file and checks it is still there
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments) as again:
        assert again.deployment.contracts == deployment.contracts
        assert await again.aid.supply() == await admin.aid.supply()
    await admin.close()

    # a restarted dev node has none of it: the stale addresses are not used
    anvil.restart()
    async with await Gaib.connect(anvil.url, private_key=KEYS[0], deployments=deployments) as fresh:
        with pytest.raises(GaibConfigError, match="not deployed"):
            _ = fresh.protocol


@pytest.mark.asyncio
async def test_a_chain_that_is_not_a_dev_chain_needs_usdc_given() -> None:
    node = Anvil("--chain-id", "8453").start()
    try:
        async with await Gaib.connect(node.url, private_key=KEYS[0]) as client:
            with pytest.raises(GaibConfigError, match="chain 8453 is not a development chain: give USDC's"):
                await client.deploy()
            with pytest.raises(GaibConfigError, match="no contract at USDC address"):
                await client.deploy(usdc="0x" + "12" * 20)
    finally:
        node.stop()


@pytest.mark.asyncio
async def test_connection_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(GaibConfigError, match="must start with http:// or https://"):
        await Gaib.connect("127.0.0.1:8545")
    with pytest.raises(ChainError, match="could not reach the node"):
        await Gaib.connect("http://127.0.0.1:9", private_key=KEYS[0])
    node = Anvil().start()
    try:
        with pytest.raises(GaibConfigError, match="private key #1 is not a valid") as exc:
            await Gaib.connect(node.url, private_key="0x1234")
        assert "0x1234" not in str(exc.value)
        async with await Gaib.connect(node.url) as client:
            with pytest.raises(GaibConfigError, match="no account to sign with"):
                await client.deploy()
        broken = tmp_path / "deployments.json"
        broken.write_text("{")
        with pytest.raises(GaibConfigError, match="is not valid JSON: fix or delete it"):
            await Gaib.connect(node.url, private_key=KEYS[0], deployments=broken)
    finally:
        node.stop()


@pytest.mark.asyncio
async def test_fees_are_read_once_and_a_stale_fee_cap_is_signed_again(tmp_path: Path) -> None:
    """Fees come from the node at most every FEE_TTL_S, then from each receipt's block. If the base fee
    jumps past the cap in between, the node refuses the transaction, and it is signed again with fresh fees."""
    node = Anvil().start()
    try:
        deployments, journal = tmp_path / "deployments.json", tmp_path / "journal.sqlite"
        async with await Gaib.connect(
            node.url, private_key=KEYS[0], deployments=deployments, journal=journal
        ) as client:
            await client.deploy()
            cache = client.chain._fee_cache
            assert cache is not None
            node.rpc("anvil_setNextBlockBaseFeePerGas", hex(cache.base_fee * 50))  # 50x: no cap of 2x covers it
            node.rpc("evm_mine")
            result = await client.aid.whitelist(client.address)
            assert result.startswith("0x")
            assert await client.protocol.aid.functions.isWhitelisted(client.address).call()
            assert client.chain._fee_cache is not None and client.chain._fee_cache.base_fee > cache.base_fee * 10
            assert client.chain.journal is not None
            statuses = [e.status for e in client.chain.journal.entries(client.chain.scope)][-2:]
            assert [str(s) for s in statuses] == ["dropped", "mined"]  # the refused attempt, then the one mined
    finally:
        node.stop()


@pytest.mark.asyncio
async def test_on_the_embedded_chain_a_failing_transaction_leaves_no_trace(gaib: Gaib, actors: Actors) -> None:
    """The embedded chain runs a transaction once, into the pending block, and mines it only if it succeeded:
    one that fails is refused with its reason, as a dry run would refuse it, and leaves nothing behind: no
    block, no nonce used, no state changed."""
    p, outsider = gaib.protocol, actors.outsider
    w3 = gaib.chain.w3
    block = await w3.eth.block_number
    nonce = await w3.eth.get_transaction_count(outsider.address)
    usdc = await p.usdc.functions.balanceOf(outsider.address).call()
    # not whitelisted: AID refuses the mint, by name
    with pytest.raises(TransactionFailed) as exc:
        await outsider.send(p.aid.functions.mint(10**6), what="mint")
    assert exc.value.reason is not None and exc.value.reason.startswith("NotWhitelisted("), exc.value.reason
    assert "mint would revert" in str(exc.value)
    assert await w3.eth.block_number == block
    assert await w3.eth.get_transaction_count(outsider.address) == nonce
    assert await p.usdc.functions.balanceOf(outsider.address).call() == usdc
    # the next transaction takes the nonce the refused one never used, and is mined in the next block
    result = await outsider.send(p.usdc.functions.approve(p.aid.address, 1), what="approve")
    assert result.block_number == block + 1
    assert await w3.eth.get_transaction_count(outsider.address) == nonce + 1


@pytest.mark.asyncio
async def test_on_the_embedded_chain_a_nonce_used_elsewhere_is_read_again(gaib: Gaib, actors: Actors) -> None:
    """A script sends from the same account behind the client's back: the client's next transaction is
    signed again with the nonce the chain now expects, not refused."""
    p, lender = gaib.protocol, actors.lender
    w3 = gaib.chain.w3
    await lender.send(p.usdc.functions.approve(p.aid.address, 1), what="first")  # the client caches the nonce
    (account,) = [a for a in gaib.chain.accounts if a.address == lender.address]
    latest = await w3.eth.get_block("latest")
    elsewhere = account.sign_transaction(
        {
            "to": p.usdc.address,
            "data": p.usdc.encode_abi("approve", [p.aid.address, 2]),
            "gas": 100_000,
            "nonce": await w3.eth.get_transaction_count(lender.address),
            "chainId": gaib.chain.chain_id,
            "maxFeePerGas": 2 * int(latest["baseFeePerGas"]) + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
    )
    await w3.eth.send_raw_transaction(elsewhere.raw_transaction)
    nonce = await w3.eth.get_transaction_count(lender.address)
    await lender.send(p.usdc.functions.approve(p.aid.address, 3), what="after")
    assert await w3.eth.get_transaction_count(lender.address) == nonce + 1
    assert await p.usdc.functions.allowance(lender.address, p.aid.address).call() == 3
