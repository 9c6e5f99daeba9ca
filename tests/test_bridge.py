"""AID and sAID across two real chains: two anvil nodes (chain ids 31337 and 1337), the real LayerZero
EndpointV2 on each, the bridge's OFT adapter at home and OFTs on the remote, and the test kit's relayer playing
the DVN and executor. Each rule is tried twice: the SDK refuses before sending (BridgeError), and the contract
refuses the same call sent without the SDK's checks."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gaib_sdk.bridge import Bridge
from gaib_sdk.chain.connection import Chain
from gaib_sdk.chain.layerzero import address_to_bytes32, packets_sent
from gaib_sdk.client import Gaib
from gaib_sdk.errors import BridgeError, TransactionFailed
from gaib_sdk.testing.crosschain import CrossChain
from gaib_sdk.testing.relayer import Relayer

from .anvil import KEYS

pytestmark = pytest.mark.asyncio

ADMIN, ALICE, BOB, RELAYER = KEYS[0], KEYS[1], KEYS[2], KEYS[5]
alice, bob = Account.from_key(ALICE), Account.from_key(BOB)
E18 = 10**18


@pytest_asyncio.fixture
async def kit(tmp_path: Path) -> AsyncIterator[CrossChain]:
    kit = await CrossChain.start(ADMIN, RELAYER, fund=[alice.address, bob.address], workdir=tmp_path, keys=[ALICE, BOB])
    try:
        for key in (ALICE, BOB):
            account = Account.from_key(key)
            await kit.home.aid.whitelist(account.address)
            await kit.home.faucet(account.address, 10_000)
            user = kit.home.with_account(key)
            await user.aid.mint(Decimal(1_000))
            await user.said.stake(Decimal(100))
        yield kit
    finally:
        await kit.stop()


async def _raw_send(
    kit: CrossChain, account: LocalAccount, token: str, amount: int, src: str, dst: str, to: str
) -> None:
    """OFT.send without the SDK's checks: what a user calling the contract directly gets."""
    s, d = kit.bridge.end(src), kit.bridge.end(dst)
    if s.home:
        erc20 = s.token(token)
        await s.chain.transact(erc20.functions.approve(s.bridges[token], amount), account, what="approve")
    param = (d.eid, address_to_bytes32(to), amount, amount, b"", b"", b"")
    fee, _ = await s.contract(token).functions.quoteSend(param, False).call()
    await s.chain.transact(
        s.contract(token).functions.send(param, (fee, 0), account.address), account, what="send", value=fee
    )


async def test_aid_and_said_go_there_and_back(kit: CrossChain) -> None:
    b = kit.bridge
    quote = await b.quote("aid", 100 * E18, src="home", dst="remote", sender=alice.address)
    assert quote.fee > 0
    t1 = await b.send(alice, "aid", 100 * E18, src="home", dst="remote")
    t2 = await b.send(alice, "said", 10 * E18, src="home", dst="remote", recipient=bob.address)
    assert await b.status(t1) == "sent"
    inv = await b.invariant()
    assert inv["holds"] and inv["aid"]["in_flight"] == 100 * E18
    assert all(d.delivered for d in await kit.relayer.deliver_all())
    assert await b.status(t1) == "delivered" and await b.status(t2) == "delivered"
    bal = await b.balances(alice.address)
    assert bal["remote"]["aid"] == 100 * E18
    assert (await b.balances(bob.address))["remote"]["said"] == 10 * E18
    before = bal["home"]["aid"]
    await b.send(alice, "aid", 40 * E18, src="remote", dst="home")
    await kit.relayer.deliver_all()
    bal = await b.balances(alice.address)
    assert bal["remote"]["aid"] == 60 * E18 and bal["home"]["aid"] == before + 40 * E18
    inv = await b.invariant()
    assert inv["holds"] and inv["aid"]["locked"] == 60 * E18 and inv["said"]["locked"] == 10 * E18


async def test_a_denied_account_can_neither_send_nor_receive_at_home(kit: CrossChain) -> None:
    b = kit.bridge
    await kit.home.aid.deny(bob.address)
    with pytest.raises(BridgeError, match="deny list"):
        await b.send(bob, "aid", E18, src="home", dst="remote")
    with pytest.raises(BridgeError, match="recipient .* deny list"):
        await b.send(alice, "aid", E18, src="home", dst="remote", recipient=bob.address)
    with pytest.raises(TransactionFailed, match="AccountDenied"):
        await _raw_send(kit, alice, "aid", E18, "home", "remote", bob.address)
    # tokens coming home to a denied account wait at the endpoint: the delivery fails until it is cleared
    await b.send(alice, "aid", 5 * E18, src="home", dst="remote")
    await kit.relayer.deliver_all()
    await _raw_send(kit, alice, "aid", 5 * E18, "remote", "home", bob.address)  # remote list not synced yet
    [failed] = await kit.relayer.deliver_all()
    assert not failed.delivered and "AccountDenied" in (failed.error or "")
    assert (await b.invariant())["holds"]
    await kit.home.aid.deny(bob.address, False)
    [retried] = await kit.relayer.deliver_all()
    assert retried.delivered
    assert (await b.balances(bob.address))["home"]["aid"] == 1_000 * E18 - 100 * E18 + 5 * E18
    assert (await b.invariant())["holds"]


async def test_a_denied_account_on_the_remote_chain(kit: CrossChain) -> None:
    b = kit.bridge
    await b.send(bob, "aid", 10 * E18, src="home", dst="remote")
    await kit.relayer.deliver_all()
    await kit.home.aid.deny(bob.address)
    assert await b.sync_deny_list([bob.address], {"remote": kit.admin})
    assert await b.sync_deny_list([bob.address], {"remote": kit.admin}) == []  # in sync: nothing sent
    with pytest.raises(BridgeError, match="deny list"):
        await b.send(bob, "aid", E18, src="remote", dst="home")
    with pytest.raises(TransactionFailed, match="AccountDenied"):
        await _raw_send(kit, bob, "aid", E18, "remote", "home", alice.address)
    remote_aid = kit.bridge.end("remote").token("aid")
    with pytest.raises(TransactionFailed, match="AccountDenied"):  # nor move it on the remote chain
        await kit.remote.transact(remote_aid.functions.transfer(alice.address, E18), bob, what="transfer")
    # a delivery to bob on the remote chain is refused while he is denied there
    await kit.home.aid.deny(bob.address, False)
    await _raw_send(kit, alice, "aid", 3 * E18, "home", "remote", bob.address)
    [failed] = await kit.relayer.deliver_all()
    assert not failed.delivered and "AccountDenied" in (failed.error or "")
    await b.sync_deny_list([bob.address], {"remote": kit.admin})
    [retried] = await kit.relayer.deliver_all()
    assert retried.delivered and (await b.balances(bob.address))["remote"]["aid"] == 13 * E18


async def test_pause_stops_bridging_and_a_failed_delivery_is_retried(kit: CrossChain) -> None:
    b = kit.bridge
    await b.set_paused("home", True, kit.admin)
    with pytest.raises(BridgeError, match="paused"):
        await b.send(alice, "aid", E18, src="home", dst="remote")
    with pytest.raises(TransactionFailed, match="EnforcedPause"):
        await _raw_send(kit, alice, "aid", E18, "home", "remote", alice.address)
    await b.set_paused("home", False, kit.admin)
    transfer = await b.send(alice, "aid", 7 * E18, src="home", dst="remote")
    await b.set_paused("remote", True, kit.admin)
    [failed] = await kit.relayer.deliver_all()
    assert not failed.delivered and "EnforcedPause" in (failed.error or "")
    assert await b.status(transfer) == "verified"
    assert (await b.invariant())["aid"]["in_flight"] == 7 * E18
    await b.set_paused("remote", False, kit.admin)
    [retried] = await kit.relayer.deliver_all()
    assert retried.delivered and await b.status(transfer) == "delivered"
    assert (await b.balances(alice.address))["remote"]["aid"] == 7 * E18


async def test_only_the_owner_and_its_guardian_steer_the_bridge(kit: CrossChain) -> None:
    b = kit.bridge
    home, remote = b.home, b.end("remote")
    eve = bob  # any account that is neither owner nor guardian
    attempts = [
        (home, home.contract("aid").functions.pause(), "NotPauser"),
        (remote, remote.contract("aid").functions.setDenied(alice.address, True), "NotDenyListManager"),
        (home, home.contract("aid").functions.setRateLimits([(remote.eid, 10**30, 1)]), "OwnableUnauthorized"),
        (
            remote,
            remote.contract("said").functions.setInboundRateLimits([(home.eid, 10**30, 1)]),
            "OwnableUnauthorized",
        ),
        (remote, remote.contract("aid").functions.setPeer(home.eid, b"\x01" * 32), "OwnableUnauthorized"),
        (home, home.contract("aid").functions.setPauser(eve.address), "OwnableUnauthorized"),
    ]
    for end, call, error in attempts:
        with pytest.raises(TransactionFailed, match=error):
            await end.chain.transact(call, eve, what="an outsider's call")
    # a guardian pauses, only the owner unpauses
    await kit.home.chain.transact(home.contract("aid").functions.setPauser(alice.address), kit.admin, what="pauser")
    await kit.home.chain.transact(home.contract("aid").functions.pause(), alice, what="guardian pauses")
    with pytest.raises(TransactionFailed, match="OwnableUnauthorized"):
        await kit.home.chain.transact(home.contract("aid").functions.unpause(), alice, what="guardian unpauses")
    await b.set_paused("home", False, kit.admin)
    # pausing the bridge does not stop transfers of the remote token itself
    await b.send(alice, "aid", 5 * E18, src="home", dst="remote")
    await kit.relayer.deliver_all()
    await b.set_paused("remote", True, kit.admin)
    remote_aid = remote.token("aid")
    await kit.remote.transact(remote_aid.functions.transfer(bob.address, 2 * E18), alice, what="transfer")
    assert (await b.balances(bob.address))["remote"]["aid"] == 2 * E18


async def test_a_rate_limit_bounds_what_leaves(kit: CrossChain) -> None:
    b = kit.bridge
    home, remote = b.home, b.end("remote")
    await kit.home.chain.transact(
        home.contract("aid").functions.setRateLimits([(remote.eid, 50 * E18, 3600)]), kit.admin, what="limit"
    )
    await b.send(alice, "aid", 40 * E18, src="home", dst="remote")
    with pytest.raises(BridgeError, match="rate limit"):
        await b.send(alice, "aid", 20 * E18, src="home", dst="remote")
    with pytest.raises(TransactionFailed, match="RateLimitExceeded"):
        await _raw_send(kit, alice, "aid", 20 * E18, "home", "remote", alice.address)
    await b.send(alice, "aid", 10 * E18, src="home", dst="remote")  # up to the limit exactly
    await kit.home.chain.advance_time(1800)  # half the window frees half the limit
    await b.send(alice, "aid", 20 * E18, src="home", dst="remote")
    with pytest.raises(BridgeError, match="more than 6 decimals"):
        await b.send(alice, "aid", E18 + 1, src="home", dst="remote")


async def test_an_inbound_limit_bounds_what_arrives(kit: CrossChain) -> None:
    b = kit.bridge
    home, remote = b.home, b.end("remote")
    await kit.remote.transact(
        remote.contract("aid").functions.setInboundRateLimits([(home.eid, 30 * E18, 3600)]), kit.admin, what="limit"
    )
    with pytest.raises(BridgeError, match="exceeds what remote accepts from home"):
        await b.send(alice, "aid", 40 * E18, src="home", dst="remote")
    await b.send(alice, "aid", 20 * E18, src="home", dst="remote")
    assert all(d.delivered for d in await kit.relayer.deliver_all())
    await _raw_send(kit, alice, "aid", 20 * E18, "home", "remote", alice.address)  # the source cannot know
    [failed] = await kit.relayer.deliver_all()
    assert not failed.delivered and "InboundRateLimitExceeded" in (failed.error or "")
    assert (await b.invariant())["holds"]  # locked at home, in flight until delivered
    await kit.remote.advance_time(3600)  # a window later, it fits
    [retried] = await kit.relayer.deliver_all()
    assert retried.delivered and (await b.balances(alice.address))["remote"]["aid"] == 40 * E18


async def test_a_packet_delivered_twice_is_refused(kit: CrossChain) -> None:
    b = kit.bridge
    await b.send(alice, "aid", 9 * E18, src="home", dst="remote")
    [packet] = await kit.relayer.pending()
    assert (await kit.relayer.deliver(packet)).delivered
    again = await kit.relayer.deliver(packet)
    assert not again.delivered and "LZ_PayloadHashNotFound" in (again.error or "")
    with pytest.raises(TransactionFailed, match="LZ_PathNotVerifiable"):
        await kit.relayer.verify(packet)  # nor can it be verified again to be replayed
    assert (await b.balances(alice.address))["remote"]["aid"] == 9 * E18
    inv = await b.invariant()
    assert inv["holds"] and inv["aid"]["remote_supply"] == 9 * E18


async def test_an_unverified_earlier_packet_holds_later_ones_back(kit: CrossChain) -> None:
    b = kit.bridge
    await b.send(alice, "aid", E18, src="home", dst="remote")
    await b.send(alice, "aid", 2 * E18, src="home", dst="remote")
    first, second = await kit.relayer.pending()
    late = await kit.relayer.deliver(second)  # the endpoint executes a nonce only after every earlier one is verified
    assert not late.delivered and "LZ_InvalidNonce" in (late.error or "")
    assert all(d.delivered for d in await kit.relayer.deliver_all())
    assert (await b.invariant())["holds"]


async def test_a_crash_between_send_and_delivery_resumes(kit: CrossChain, tmp_path: Path) -> None:
    b = kit.bridge
    sent = await b.send(alice, "said", 5 * E18, src="home", dst="remote", key="move-1")
    # the process dies here: the packet is on its way, nothing is delivered; a new process starts
    chain = await Chain.connect(kit.home_node.url, private_keys=[ALICE], journal=tmp_path / "journal-home.sqlite")
    try:
        again = Bridge.from_state(b.state(), {"home": chain, "remote": kit.remote})
        resumed = await again.send(alice, "said", 5 * E18, src="home", dst="remote", key="move-1")
        assert resumed.guid == sent.guid and resumed.tx_hash == sent.tx_hash  # nothing sent twice
        assert len(await packets_sent(again.home)) == 1
        assert await again.status(resumed) == "sent"
        relayer = Relayer(list(again.ends.values()), kit.relayer.accounts)  # a relayer started afresh
        assert [d.delivered for d in await relayer.deliver_all()] == [True]
        assert await again.status(resumed) == "delivered"
        assert (await again.balances(alice.address))["remote"]["said"] == 5 * E18
        assert (await again.invariant())["holds"]
    finally:
        await chain.close()


# ---- the client: gaib.bridge.quote, gaib.bridge.send, delivery tracking, resume, the saved bridge ----


async def test_the_client_quotes_bridges_and_tracks_delivery(kit: CrossChain) -> None:
    user = kit.home.with_account(ALICE)
    user.bridge.use(kit.bridge)
    quote = await user.bridge.quote("aid", "12.5", to="remote")
    assert quote.fee > 0 and quote.amount == 12_500_000 * 10**12
    with pytest.raises(BridgeError, match="more than 6 decimals"):
        await user.bridge.quote("aid", "0.0000001", to="remote")
    with pytest.raises(BridgeError, match="no bridge end on network 'base'"):
        await user.bridge.quote("aid", 1, to="base")
    with pytest.raises(BridgeError, match="carries aid and said"):
        await user.bridge.quote("gaib", 1, to="remote")
    transfer = await user.bridge.send("aid", "12.5", to="remote")
    assert await user.bridge.status(transfer) == "sent"
    with pytest.raises(BridgeError, match="still sent"):
        await user.bridge.wait_for_delivery(transfer, timeout=0, poll=0)
    status, _ = await asyncio.gather(user.bridge.wait_for_delivery(transfer, poll=0.05), kit.relayer.deliver_all())
    assert status == "delivered"
    balances = await user.bridge.balances()
    assert balances["remote"]["aid"] == Decimal("12.5")


async def test_the_client_resumes_a_bridge_after_a_crash(kit: CrossChain, tmp_path: Path) -> None:
    kit.home.bridge.use(kit.bridge, save=True)  # saved with the deployment: a later process finds it
    user = kit.home.with_account(ALICE)
    sent = await user.bridge.send("said", 3, to="remote", key="alice-said-3")
    # a new process: the same deployments file and journal, the bridge opened from the saved state
    again = await Gaib.connect(
        kit.home_node.url,
        private_key=ALICE,
        deployments=tmp_path / "deployments.json",
        journal=tmp_path / "journal-home.sqlite",
    )
    try:
        bridge = await again.bridge.open({"remote": kit.remote_node.url})
        assert set(bridge.ends) == {"home", "remote"}
        resumed = await again.bridge.send("said", 3, to="remote", key="alice-said-3")
        assert resumed.guid == sent.guid and len(await packets_sent(bridge.home)) == 1
        await kit.relayer.deliver_all()
        assert await again.bridge.status(resumed) == "delivered"
        assert (await again.bridge.balances())["remote"]["said"] == 3
        for end in bridge.ends.values():
            if not end.home:
                await end.chain.close()
    finally:
        await again.close()


async def test_gaib_bridge_on_the_command_line(
    kit: CrossChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gaib_sdk.chain.layerzero import layerzero_artifacts_dir
    from gaib_sdk.cli import main

    kit.home.bridge.use(kit.bridge, save=True)  # into tmp_path/deployments.json: GAIB_HOME's below
    shutil.copytree(layerzero_artifacts_dir(), tmp_path / "artifacts" / layerzero_artifacts_dir().name)
    monkeypatch.setenv("GAIB_HOME", str(tmp_path))
    monkeypatch.setenv("GAIB_PRIVATE_KEY", ALICE)
    home = ["--rpc", kit.home_node.url, "--remote-rpc", f"remote={kit.remote_node.url}", "--json"]

    assert await asyncio.to_thread(main, ["bridge", "aid", "2.5", "--to", "remote", "--quote", *home]) == 0
    quote = json.loads(capsys.readouterr().out)
    assert quote["fee_wei"] > 0 and "guid" not in quote and not await kit.relayer.pending()

    assert await asyncio.to_thread(main, ["bridge", "aid", "2.5", "--to", "remote", "--key", "cli-1", *home]) == 0
    sent = json.loads(capsys.readouterr().out)
    assert sent["status"] == "sent"
    assert (
        await asyncio.to_thread(main, ["bridge", "aid", "2.5", "--to", "remote", "--key", "cli-1", *home]) == 0
    )  # run again: resumed
    assert json.loads(capsys.readouterr().out)["guid"] == sent["guid"]
    assert len(await kit.relayer.pending()) == 1
    await kit.relayer.deliver_all()
    assert (await kit.bridge.balances(alice.address))["remote"]["aid"] == 25 * 10**17

    assert await asyncio.to_thread(main, ["bridge", "aid", "1", "--to", "base", *home]) == 1
    assert "no bridge end on network 'base'" in capsys.readouterr().out


@pytest.mark.parametrize("point", ["before_send", "before_receipt"])
async def test_a_process_killed_mid_send_resumes_without_sending_twice(
    kit: CrossChain, tmp_path: Path, point: str
) -> None:
    kit.home.bridge.use(kit.bridge, save=True)
    journal = tmp_path / "alice-journal.sqlite"
    args = [kit.home_node.url, kit.remote_node.url, str(tmp_path / "deployments.json"), str(journal), point]
    worker = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.bridge_fault_worker", *args],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr
    assert len(await packets_sent(kit.bridge.home)) == (point == "before_receipt")
    again = await Gaib.connect(
        kit.home_node.url, private_key=ALICE, deployments=tmp_path / "deployments.json", journal=journal
    )
    try:
        bridge = await again.bridge.open({"remote": kit.remote_node.url})
        transfer = await again.bridge.send("aid", 6, to="remote", key="crash-1")  # resumed: the journaled send
        assert len(await packets_sent(bridge.home)) == 1  # one packet, whatever the point of the crash
        await kit.relayer.deliver_all()
        assert await again.bridge.status(transfer) == "delivered"
        assert (await again.bridge.balances())["remote"]["aid"] == 6
        assert (await kit.bridge.invariant())["holds"]
        for end in bridge.ends.values():
            if not end.home:
                await end.chain.close()
    finally:
        await again.close()
