"""Deterministic deployment: CREATE2 through the canonical proxy, the same address on every chain."""

from __future__ import annotations

import pytest
from eth_utils.crypto import keccak

from gaib_sdk.chain.artifacts import load_artifact
from gaib_sdk.chain.connection import Chain
from gaib_sdk.chain.create2 import FACTORY, create2_address, deploy_create2, ensure_factory, init_code
from gaib_sdk.chain.layerzero import deploy_bridge_end, deploy_endpoint
from gaib_sdk.errors import GaibConfigError

from .anvil import KEYS, Anvil

pytestmark = pytest.mark.asyncio
SALT = keccak(text="gaib-sdk test salt")


async def test_the_proxy_is_deployed_on_the_embedded_chain_and_addresses_are_predicted() -> None:
    chain = await Chain.embedded()
    admin = chain.accounts[0]
    assert not await chain.has_code(FACTORY)
    assert await ensure_factory(chain, admin) is True
    assert await ensure_factory(chain, admin) is False  # there now: nothing sent
    art = load_artifact("TestUSDC")
    expected = create2_address(init_code(art, [admin.address]), SALT)
    address, deployed = await deploy_create2(chain, admin, art, [admin.address], SALT)
    assert (address, deployed) == (expected, True)
    assert await deploy_create2(chain, admin, art, [admin.address], SALT) == (expected, False)  # kept
    with pytest.raises(GaibConfigError, match="32 bytes"):
        create2_address(b"", b"short")


async def test_a_remote_oft_has_the_same_address_on_two_chains() -> None:
    nodes = [Anvil("--chain-id", "1337").start(), Anvil().start()]
    try:
        addresses = []
        for node in nodes:
            chain = await Chain.connect(node.url, private_keys=[KEYS[0]])
            try:
                admin = chain.accounts[0]
                assert await chain.has_code(FACTORY)  # anvil has the proxy from genesis
                endpoint, lib = await deploy_endpoint(chain, admin, 40902)  # same deployer, same nonce: same address
                end = await deploy_bridge_end(
                    chain, admin, name="remote", eid=40902, endpoint=endpoint, message_lib=lib, salt=SALT
                )
                assert end.bridges["aid"] != end.bridges["said"]
                addresses.append((endpoint, end.bridges["aid"], end.bridges["said"]))
                assert await end.contract("aid").functions.owner().call() == admin.address
            finally:
                await chain.close()
        assert addresses[0] == addresses[1]
    finally:
        for node in nodes:
            node.stop()
