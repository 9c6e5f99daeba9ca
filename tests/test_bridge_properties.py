"""A hypothesis state machine over the bridge between two anvil chains: sends both ways, deliveries of any
pending packet in any order, delays (a packet left pending, only verified), redeliveries of delivered
packets, failed deliveries (the destination paused) and time passing.

After every step, read back from the chains:

    for AID and sAID: locked in the home adapter == the remote OFT's supply + what is in flight
    no packet is credited twice: one OFTReceived per guid on each destination, at most
    a redelivery of a delivered packet always fails and changes no balance

The chains are not reset between examples: every check is on the chains' whole history, which only grows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from gaib_sdk.bridge import Bridge
from gaib_sdk.chain.layerzero import TOKENS, BridgeEnd
from gaib_sdk.errors import BridgeError
from gaib_sdk.testing.crosschain import CrossChain

from .anvil import KEYS

ADMIN, RELAYER = KEYS[0], KEYS[5]
USERS = [Account.from_key(k) for k in KEYS[1:4]]
E18 = 10**18
OFT_RECEIVED = "0x" + keccak(text="OFTReceived(bytes32,uint32,address,uint256)").hex()


async def _received_guids(end: BridgeEnd) -> Counter[str]:
    """How many times each guid was credited on ``end`` (OFTReceived's first indexed topic)."""
    counts: Counter[str] = Counter()
    for token in TOKENS:
        logs = await end.chain.w3.eth.get_logs(
            {"address": end.contract(token).address, "fromBlock": 0, "toBlock": "latest", "topics": [OFT_RECEIVED]}
        )
        counts.update(HexBytes(log["topics"][1]).to_0x_hex() for log in logs)
    return counts


def test_bridge_state_machine(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    run = loop.run_until_complete

    async def setup() -> CrossChain:
        kit = await CrossChain.start(
            ADMIN, RELAYER, fund=[u.address for u in USERS], workdir=tmp_path, keys=KEYS[1:4], journal=False
        )
        for user in USERS:
            await kit.home.aid.whitelist(user.address)
            await kit.home.faucet(user.address, 10_000)
            client = kit.home.with_account(user)
            await client.aid.mint(Decimal(5_000))
            await client.said.stake(Decimal(1_000))
        return kit

    kit = run(setup())
    bridge: Bridge = kit.bridge

    class BridgeMachine(RuleBasedStateMachine):
        @rule(
            user=st.sampled_from(USERS),
            token=st.sampled_from(TOKENS),
            whole=st.integers(1, 50),
            micro=st.integers(0, 999_999),
            outbound=st.booleans(),
        )
        def send(self, user: Any, token: str, whole: int, micro: int, outbound: bool) -> None:
            amount = whole * E18 + micro * 10**12
            src, dst = ("home", "remote") if outbound else ("remote", "home")
            try:
                run(bridge.send(user, token, amount, src=src, dst=dst))
            except BridgeError as exc:
                assert "holds" in str(exc), exc  # only a short balance may refuse a send here

        @rule(user=st.sampled_from(USERS), token=st.sampled_from(TOKENS), whole=st.integers(1, 20))
        def send_both_ways(self, user: Any, token: str, whole: int) -> None:
            self.send(user, token, whole, 0, True)
            self.send(user, token, whole, 0, False)

        @rule(pick=st.integers(0, 10**6))
        def deliver_one(self, pick: int) -> None:
            pending = run(kit.relayer.pending())
            if pending:
                run(kit.relayer.deliver(pending[pick % len(pending)]))  # may fail: an earlier nonce unverified

        @rule(pick=st.integers(0, 10**6))
        def verify_only(self, pick: int) -> None:
            packets = run(kit.relayer.packets())
            pending = [p for p, s in zip(packets, run(kit.relayer.statuses(packets)), strict=True) if s == "sent"]
            if pending:
                run(kit.relayer.verify(pending[pick % len(pending)]))

        @rule()
        def deliver_all(self) -> None:
            run(kit.relayer.deliver_all())

        @rule(pick=st.integers(0, 10**6))
        def redeliver(self, pick: int) -> None:
            packets = run(kit.relayer.packets())
            statuses = run(kit.relayer.statuses(packets))
            delivered = [p for p, s in zip(packets, statuses, strict=True) if s == "delivered"]
            if not delivered:
                return
            before = run(bridge.invariant())
            outcome = run(kit.relayer.deliver(delivered[pick % len(delivered)]))
            assert not outcome.delivered, "a delivered packet was delivered again"
            assert run(bridge.invariant()) == before

        @rule(network=st.sampled_from(["home", "remote"]))
        def failed_delivery(self, network: str) -> None:
            run(bridge.set_paused(network, True, kit.admin))
            try:
                outcomes = run(kit.relayer.deliver_all())
                assert not any(o.delivered and bridge.end(network).eid == o.packet.dst_eid for o in outcomes)
            finally:
                run(bridge.set_paused(network, False, kit.admin))

        @rule(seconds=st.integers(1, 7200))
        def time_passes(self, seconds: int) -> None:
            run(kit.home.chain.advance_time(seconds))

        @invariant()
        def locked_equals_remote_supply_plus_in_flight(self) -> None:
            state = run(bridge.invariant())
            assert state["holds"], state

        @invariant()
        def nothing_credited_twice(self) -> None:
            for end in bridge.ends.values():
                twice = {g: n for g, n in run(_received_guids(end)).items() if n > 1}
                assert not twice, twice

    try:
        run_state_machine_as_test(
            BridgeMachine,
            settings=settings(
                max_examples=10,
                stateful_step_count=10,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
        # at the end, everything still pending is delivered and the two sides match exactly
        run(kit.relayer.deliver_all())
        assert len(run(kit.relayer.packets())) >= 10  # the run did bridge
        state = run(bridge.invariant())
        assert state["holds"] and all(state[t]["in_flight"] == 0 for t in TOKENS), state
    finally:
        run(kit.stop())
        loop.close()
