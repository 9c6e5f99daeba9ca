"""AID and sAID on two chains: the protocol at home, LayerZero V2 between, OFTs on the remote chain.

    python examples/cross_chain.py

Starts two anvil nodes (chain ids 31337 and 1337), deploys the protocol on the first, the real LayerZero
EndpointV2 on both and the bridge's contracts (an OFT adapter per token at home, an OFT per token on the
remote chain), then a holder bridges AID and sAID there and back. The test kit's relayer plays LayerZero's
DVN and executor. The last line printed is one JSON object: the balances on both chains and whether what
the home adapters lock equals what the remote chain has minted (``invariant_holds``).

Needs `make setup` (anvil from npm, and EndpointV2 built from @layerzerolabs/lz-evm-protocol-v2).
"""

import asyncio
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from eth_account import Account
from eth_utils.crypto import keccak

from gaib_sdk.testing.crosschain import CrossChain

#: Keys of this example's own, funded on the two development nodes it starts: never real funds.
ADMIN, RELAYER, HOLDER = ("0x" + keccak(text=f"gaib-sdk cross-chain example {i}").hex() for i in range(3))
E18 = 10**18


async def main() -> None:
    holder = Account.from_key(HOLDER)
    with tempfile.TemporaryDirectory() as workdir:
        kit = await CrossChain.start(ADMIN, RELAYER, fund=[holder.address], workdir=Path(workdir), keys=[HOLDER])
        try:
            home, bridge = kit.home, kit.bridge
            print(
                f"home chain {home.chain.chain_id} (protocol, adapters) and remote chain {kit.remote.chain_id} (OFTs)"
            )
            await home.aid.whitelist(holder.address)
            await home.faucet(holder.address, 1_000)
            user = home.with_account(HOLDER)
            await user.aid.mint(Decimal(1_000))
            await user.said.stake(Decimal(300))

            for token, amount in (("aid", 250), ("said", 100)):
                quote = await bridge.quote(token, amount * E18, src="home", dst="remote", sender=holder.address)
                sent = await bridge.send(holder, token, amount * E18, src="home", dst="remote")
                print(f"sent {amount} {token} home -> remote, fee {quote.fee / E18} ETH, packet {sent.guid[:10]}...")
            delivered = await kit.relayer.deliver_all()
            print(f"relayer delivered {sum(d.delivered for d in delivered)} packets")
            for token, amount in (("aid", 100), ("said", 40)):
                await bridge.send(holder, token, amount * E18, src="remote", dst="home")
                print(f"sent {amount} {token} remote -> home")
            await kit.relayer.deliver_all()

            balances = await bridge.balances(holder.address)
            state = await bridge.invariant()
            for token in ("aid", "said"):
                print(
                    f"{token}: locked at home {state[token]['locked'] / E18}, "
                    f"minted on remote {state[token]['remote_supply'] / E18}"
                )
            print(
                json.dumps(
                    {
                        "balances": {
                            network: {token: str(Decimal(v) / E18) for token, v in tokens.items()}
                            for network, tokens in balances.items()
                        },
                        "locked": {t: str(Decimal(state[t]["locked"]) / E18) for t in ("aid", "said")},
                        "remote_supply": {t: str(Decimal(state[t]["remote_supply"]) / E18) for t in ("aid", "said")},
                        "invariant_holds": state["holds"],
                    }
                )
            )
        finally:
            await kit.stop()


if __name__ == "__main__":
    asyncio.run(main())
