"""A Solidity integration: USDC to sAID in one transaction, on a local anvil it starts and stops.

    python examples/zap_stake.py

An integrator's contract (examples/zap/StakeZap.sol) written against the interfaces `gaib export` writes:

1. the protocol is deployed on a fresh anvil, and `gaib export` writes its ABIs and Solidity interfaces;
2. StakeZap is compiled against those interfaces (solc from npm) and deployed;
3. the KYC manager whitelists the zap (it is the account that mints AID) and an investor;
4. the investor signs a USDC permit off-chain and calls `zap` once: USDC in, AID minted, sAID out;
5. a caller who is not whitelisted is refused by the zap before any USDC moves.

Needs anvil (`npm ci` installs it). The last line of output is one JSON object.
"""

import asyncio
import json
import tempfile
from decimal import Decimal
from pathlib import Path

from eth_account import Account

from gaib_sdk import Gaib, TransactionFailed
from gaib_sdk.contracts.compiler import compile_sources, find_node_modules
from gaib_sdk.export import export
from gaib_sdk.testing.anvil import Anvil

HERE = Path(__file__).resolve().parent
KEYS = {name: "0x" + bytes([n + 1]).hex() * 32 for n, name in enumerate(("admin", "investor", "outsider"))}
USDC = 10**6


async def main(url: str, work: Path) -> dict[str, object]:
    async with await Gaib.connect(
        url, private_key=KEYS["admin"], deployments=work / "deployments.json", journal=False
    ) as admin:
        await admin.deploy()
        p = admin.protocol
        kit = export(work / "kit", json.loads((work / "deployments.json").read_text()))
        print(f"gaib export wrote {len(kit['files'])} files")

        sources = {"StakeZap.sol": (HERE / "zap" / "StakeZap.sol").read_text()}
        for name in ("IAIDollar", "IStakedAID"):
            sources[f"{name}.sol"] = (work / "kit" / "solidity" / f"{name}.sol").read_text()
        zap_artifact = compile_sources(sources, node_modules=find_node_modules(HERE))["StakeZap"]
        tokens = [p.usdc.address, p.aid.address, p.said.address]
        deployed = await admin.chain.deploy(zap_artifact, tokens, admin.account)
        assert deployed.contract_address is not None
        zap_address = deployed.contract_address
        print(f"StakeZap deployed at {zap_address}")

        investor, outsider = admin.with_account(KEYS["investor"]), admin.with_account(KEYS["outsider"])
        await admin.aid.whitelist(zap_address)
        await admin.aid.whitelist(investor.address)
        await admin.faucet(investor.address, Decimal(10_000))
        await admin.faucet(outsider.address, Decimal(10_000))

        amount = 2_500 * USDC
        zap = admin.chain.contract(zap_address, zap_artifact["abi"]).functions
        deadline, v, r, s = await investor.sign_permit(p.usdc, zap_address, amount)
        result = await investor.send(
            zap.zap(amount, investor.address, 2_500 * 10**18 * 99 // 100, deadline, v, r, s), what="zap USDC to sAID"
        )
        balances = await investor.balances()
        print(f"one transaction ({result.gas_used:,} gas): 2,500 USDC -> {balances['sAID']:,.2f} sAID")

        try:
            permit = await outsider.sign_permit(p.usdc, zap_address, amount)
            await outsider.send(zap.zap(amount, outsider.address, 0, *permit), what="zap USDC to sAID")
            refused = ""
        except TransactionFailed as exc:
            refused = str(exc.reason)
        print(f"a caller who is not whitelisted: refused ({refused})")
        held = await p.usdc.functions.balanceOf(zap_address).call(), await p.aid.functions.balanceOf(zap_address).call()
        return {
            "zap": zap_address,
            "gas": result.gas_used,
            "investor_said": str(balances["sAID"]),
            "investor_usdc": str(balances["USDC"]),
            "outsider_refused": refused.startswith("NotWhitelisted"),
            "zap_holds_nothing": held == (0, 0),
        }


if __name__ == "__main__":
    node = Anvil(fund=[Account.from_key(k).address for k in KEYS.values()]).start()
    try:
        with tempfile.TemporaryDirectory(prefix="gaib-zap-") as tmp:
            summary = asyncio.run(main(node.url, Path(tmp)))
    finally:
        node.stop()
    print(json.dumps(summary))
