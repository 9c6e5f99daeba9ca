"""A deployment plan: every transaction a deployment would send, its gas and the addresses it would create,
without sending anything to the network.

The plan is the deployment itself, rehearsed on a local anvil that forks the target network at its latest
block (``anvil --fork-url``): the same code at the same addresses (LayerZero's endpoint, USDC, the Safe
factories a real deployment calls), the same deployer nonce, so the same CREATE addresses, and gas measured
by running each transaction rather than guessed. The fork is thrown away afterwards. The deployer's balance
on the fork is topped up so that the plan runs through; the plan reports the real balance beside the cost,
so an operator sees what to fund before the real run (through a multisig or not).

    gaib deploy --network base --plan --safe-owner 0x... --role underwriter=0x... ...
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_account import Account

from gaib_sdk.chain.governance import GovernanceConfig
from gaib_sdk.errors import GaibConfigError
from gaib_sdk.testing.anvil import Anvil

__all__ = ["plan_deployment"]


async def plan_deployment(
    url: str,
    private_key: str,
    *,
    usdc: str | None = None,
    roles: Mapping[str, str] | None = None,
    governance: GovernanceConfig | None = None,
    network: str | None = None,
) -> dict[str, Any]:
    """Rehearse ``Gaib.deploy`` against a fork of the node at ``url`` and return the plan: the network, the
    fork block, the deployer, its real balance, every transaction (what, to, gas, the contract it creates)
    and the total gas and cost at the fork's fees, and the addresses the deployment would have."""
    from gaib_sdk.client import Gaib

    deployer = Account.from_key(private_key)
    node = Anvil("--fork-url", url).start()
    try:
        if network is not None:
            from gaib_sdk.networks import network as known

            chain_id = int(node.rpc("eth_chainId"), 16)
            if chain_id != known(network).chain_id:
                raise GaibConfigError(
                    f"the node at {url} is on chain {chain_id}, not {network} ({known(network).chain_id})"
                )
        real_balance = int(node.rpc("eth_getBalance", deployer.address, "latest"), 16)
        fork_block = int(node.rpc("eth_blockNumber"), 16)
        node.rpc("anvil_setBalance", deployer.address, hex(real_balance + 10**24))
        with tempfile.TemporaryDirectory() as tmp:
            client = await Gaib.connect(
                node.url, private_key=private_key, journal=False, deployments=Path(tmp) / "deployments.json"
            )
            try:
                deployment = await client.deploy(usdc=usdc, roles=dict(roles or {}) or None, governance=governance)
                txs = []
                cost = 0
                for what, tx_hash in client.chain.history:
                    receipt = await client.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
                    tx = await client.chain.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
                    cost += int(receipt["gasUsed"]) * int(receipt.get("effectiveGasPrice", 0))
                    txs.append(
                        {
                            "what": what,
                            "to": tx.get("to"),
                            "gas": int(receipt["gasUsed"]),
                            "creates": receipt.get("contractAddress"),
                        }
                    )
            finally:
                await client.close()
    finally:
        node.stop()
    return {
        "network": network,
        "chain_id": deployment.chain_id,
        "fork_block": fork_block,
        "deployer": deployer.address,
        "deployer_balance_wei": real_balance,
        "transactions": txs,
        "total_gas": sum(t["gas"] for t in txs),
        "cost_wei": cost,
        "enough_funds": real_balance >= cost,
        "addresses": dict(deployment.contracts),
        "sent": False,
    }
