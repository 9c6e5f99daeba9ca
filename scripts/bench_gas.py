"""Gas of the protocol's hot paths against plain OpenZeppelin baselines, side by side, in one run on one EVM
(the embedded one: py-evm through eth-tester, the contracts as shipped: solc 0.8.28, optimizer 200 runs).

    python scripts/bench_gas.py                    the figures for a 1,024-GPU cluster
    python scripts/bench_gas.py --gpus 64 --batch 10

1. sAID against a plain OpenZeppelin ERC-4626 over the same AID token (tests/contracts/PlainVault.sol):
   first deposit, a later deposit, income paid in (sAID: transferInRewards, vesting over 8 hours; plain: an
   AID transfer to the vault), a deposit while it vests, a partial and a full exit by the same account: the
   plain vault's one redeem against sAID's asynchronous exit (ERC-7540): requestRedeem, the withdrawal
   manager's processCycle (filling that one request), and the claim (redeem); then their total.
   Then staking as the SDK's `stake` does it (one transaction, the AID allowance given by an EIP-2612 permit
   signed off-chain: sAID.depositWithPermit) against an approve and a deposit; and the exit of 20 holders
   in one cycle (each requests, one processCycle fills all 20, each claims) against 20 plain redeems.
2. Digitizing a cluster of GPUs: one registry entry per GPU through AssetRegistry.registerBatch (in batches),
   one Merkle root for the whole cluster through registerCluster, and one OpenZeppelin ERC-721 mint per GPU
   (tests/contracts/PlainNFT.sol), each its own transaction.
3. AID across chains: a LayerZero V2 send and receive each way (the adapter locks / unlocks at home, the OFT
   mints / burns remotely), with both ends on the embedded chain (needs `make setup`: EndpointV2 is built then).

The baselines are test-only contracts compiled here with gaib_sdk.contracts.compiler (needs node and
`npm ci`); nothing of them is shipped. Prints a table; asserts nothing about the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.providers.eth_tester import EthereumTesterProvider

from gaib_sdk import Gaib
from gaib_sdk.chain import load_artifact
from gaib_sdk.contracts.compiler import compile_sources
from gaib_sdk.merkle import MerkleTree, leaf

ROOT = Path(__file__).resolve().parent.parent
BASELINES = ROOT / "tests" / "contracts"
USDC = 10**6
AID = 10**18
GPU = b"gpu".ljust(32, b"\0")
GAS = 29_000_000
MAX_UINT = 2**256 - 1
EXIT_HOLDERS = 20  # exits filled by one processCycle in the per-holder exit figure


def compile_baselines() -> dict[str, dict[str, Any]]:
    sources = {p.name: p.read_text() for p in sorted(BASELINES.glob("*.sol"))}
    return compile_sources(sources, node_modules=ROOT / "node_modules", source_roots=[BASELINES])


class Bench:
    """The embedded chain, driven synchronously (web3 over the same eth-tester as the SDK's client)."""

    def __init__(self, client: Gaib):
        self.client = client
        self.w3 = Web3(EthereumTesterProvider(client.chain.w3.provider.ethereum_tester))  # type: ignore[attr-defined]
        self.accounts = self.w3.eth.accounts

    def bind(self, name: str, address: str) -> Contract:
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name)["abi"])

    def deploy(self, artifact: dict[str, Any], *args: Any) -> Contract:
        factory = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.w3.eth.wait_for_transaction_receipt(
            factory.constructor(*args).transact({"from": self.accounts[0], "gas": GAS})
        )
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])

    def to_cycle(self, said: Contract) -> None:
        """Move the clock to sAID's next withdrawal cycle."""
        tester = self.client.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
        due = said.functions.nextCycleAt().call()
        now = self.w3.eth.get_block("latest")["timestamp"]
        if now < due:
            tester.time_travel(due)
            tester.mine_blocks(1)

    def gas(self, call: Any, sender: str) -> int:
        """Send one transaction; the gas it used (all of it: the 21,000 base and calldata included)."""
        receipt = self.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender, "gas": GAS}))
        if receipt["status"] != 1:
            raise RuntimeError(f"{call.fn_name} reverted")
        return int(receipt["gasUsed"])


def vault_rows(bench: Bench, plain: Contract) -> list[tuple[str, int, int]]:
    """(operation, sAID gas, plain ERC-4626 gas); each vault used by its own account, the same way. Income
    is paid into sAID by its rewarder (it vests over 8 hours) and into the plain vault by a transfer."""
    p = bench.client.protocol
    usdc, aid = bench.bind("TestUSDC", p.usdc.address), bench.bind("AIDollar", p.aid.address)
    said = bench.bind("StakedAID", p.said.address)
    admin = bench.accounts[0]
    users = {"sAID": bench.accounts[2], "plain": bench.accounts[3]}
    vaults = {"sAID": said, "plain": plain}
    for who in (admin, *users.values()):
        bench.gas(aid.functions.setWhitelisted(who, True), admin)
        bench.gas(usdc.functions.mint(who, 10_000 * USDC), admin)
        bench.gas(usdc.functions.approve(aid.address, MAX_UINT), who)
        bench.gas(aid.functions.mint(10_000 * USDC), who)
    bench.gas(said.functions.grantRole(Web3.keccak(text="REWARDER_ROLE"), admin), admin)
    bench.gas(aid.functions.approve(said.address, MAX_UINT), admin)
    pay_income = {
        "sAID": said.functions.transferInRewards(100 * AID),
        "plain": aid.functions.transfer(plain.address, 100 * AID),
    }
    figures: dict[str, dict[str, int]] = {}
    for name, vault in vaults.items():
        who = users[name]
        bench.gas(aid.functions.approve(vault.address, MAX_UINT), who)
        f = figures[name] = {}
        f["first deposit (1,000 AID)"] = bench.gas(vault.functions.deposit(1_000 * AID, who), who)
        f["deposit (1,000 AID)"] = bench.gas(vault.functions.deposit(1_000 * AID, who), who)
        f["income paid in (100 AID)"] = bench.gas(pay_income[name], admin)
        f["deposit while income vests"] = bench.gas(vault.functions.deposit(1_000 * AID, who), who)
        if name == "plain":
            f["exit 500 shares: redeem"] = bench.gas(vault.functions.redeem(500 * AID, who, who), who)
            rest = vault.functions.balanceOf(who).call()
            f["exit all the rest: redeem"] = bench.gas(vault.functions.redeem(rest, who, who), who)
            continue
        # sAID's exit is asynchronous (ERC-7540): request, the manager's cycle fills it, the holder claims.
        for what, shares in (("exit 500 shares", 500 * AID), ("exit all the rest", None)):
            shares = shares or vault.functions.balanceOf(who).call()
            f[f"{what}: requestRedeem"] = bench.gas(vault.functions.requestRedeem(shares, who, who), who)
            bench.to_cycle(vault)
            f[f"{what}: processCycle (1 request)"] = bench.gas(vault.functions.processCycle(100), admin)
            f[f"{what}: claim (redeem)"] = bench.gas(vault.functions.redeem(shares, who, who), who)
    rows = []
    for op, gas in figures["sAID"].items():
        plain = figures["plain"].get(op)
        if plain is None:  # the plain vault's one redeem stands against sAID's three steps, on their total
            base = op.split(":")[0]
            plain = figures["plain"][f"{base}: redeem"] if op.endswith("claim (redeem)") else 0
        rows.append((op, gas, plain))
    for base in ("exit 500 shares", "exit all the rest"):
        steps = [g for op, g in figures["sAID"].items() if op.startswith(base + ":")]
        rows.append((f"{base}: sAID's three steps together", sum(steps), figures["plain"][f"{base}: redeem"]))
    return rows


def fresh_accounts(bench: Bench, n: int) -> list[Any]:
    """``n`` new accounts with known keys (to sign permits), unlocked on the embedded chain, with ETH for gas."""
    tester = bench.client.chain.w3.provider.ethereum_tester  # type: ignore[attr-defined]
    accounts = []
    for k in range(n):
        account = Account.from_key(Web3.keccak(text=f"bench-gas-{k}"))
        tester.add_account(account.key.hex())
        bench.w3.eth.wait_for_transaction_receipt(
            bench.w3.eth.send_transaction({"from": bench.accounts[0], "to": account.address, "value": 10**18})
        )
        accounts.append(account)
    return accounts


def permit_args(bench: Bench, aid: Contract, owner: Any, spender: str, value: int) -> tuple[int, int, bytes, bytes]:
    """(deadline, v, r, s) of an EIP-2612 permit on AID signed by ``owner``, as the SDK signs it."""
    _fields, name, version, chain_id, verifying, _salt, _ext = aid.functions.eip712Domain().call()
    deadline = int(bench.w3.eth.get_block("latest")["timestamp"]) + 3600
    signed = owner.sign_typed_data(
        domain_data={"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying},
        message_types={
            "Permit": [
                {"name": n, "type": t}
                for n, t in (
                    ("owner", "address"),
                    ("spender", "address"),
                    ("value", "uint256"),
                    ("nonce", "uint256"),
                    ("deadline", "uint256"),
                )
            ]
        },
        message_data={
            "owner": owner.address,
            "spender": spender,
            "value": value,
            "nonce": aid.functions.nonces(owner.address).call(),
            "deadline": deadline,
        },
    )
    return deadline, signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def stake_and_exit_rows(bench: Bench, plain: Contract, holders: int) -> dict[str, tuple[int, ...]]:
    """(sAID gas, plain gas) for: one stake (sAID: depositWithPermit, one transaction; plain: approve then
    deposit), and one holder's exit when ``holders`` exit in the same cycle (sAID: its requestRedeem, its share
    of the one processCycle, its claim; plain: its redeem)."""
    p = bench.client.protocol
    aid, said = bench.bind("AIDollar", p.aid.address), bench.bind("StakedAID", p.said.address)
    admin, funder = bench.accounts[0], bench.accounts[2]
    people = fresh_accounts(bench, holders)
    # 300 AID each: 100 staked in each vault and 100 kept, so the claims and the plain redeems alike pay AID to
    # an account that already holds some (a first AID balance would cost either side a fresh slot).
    for who in people:
        bench.gas(aid.functions.transfer(who.address, 300 * AID), funder)
    first = people[0].address
    approve_gas = bench.gas(aid.functions.approve(plain.address, 100 * AID), first)
    plain_stake = approve_gas + bench.gas(plain.functions.deposit(100 * AID, first), first)
    said_stake = 0
    for who in people:  # every holder stakes with a permit; the first one's figure is the row
        deposit = said.functions.depositWithPermit(
            100 * AID, who.address, *permit_args(bench, aid, who, said.address, 100 * AID)
        )
        gas = bench.gas(deposit, who.address)
        said_stake = said_stake or gas
        if who is not people[0]:
            bench.gas(aid.functions.approve(plain.address, 100 * AID), who.address)
            bench.gas(plain.functions.deposit(100 * AID, who.address), who.address)

    def request(who: str) -> int:
        return bench.gas(said.functions.requestRedeem(said.functions.balanceOf(who).call(), who, who), who)

    requests = [request(w.address) for w in people]
    bench.to_cycle(said)
    process = bench.gas(said.functions.processCycle(holders), admin)
    claims = [
        bench.gas(said.functions.redeem(said.functions.maxRedeem(w.address).call(), w.address, w.address), w.address)
        for w in people
    ]
    redeems = [
        bench.gas(plain.functions.redeem(plain.functions.balanceOf(w.address).call(), w.address, w.address), w.address)
        for w in people
    ]
    said_exit = (sum(requests) + process + sum(claims)) // holders
    return {
        "stake": (said_stake, plain_stake),
        "exit": (said_exit, sum(redeems) // holders),
        "exit steps": (sum(requests) // holders, process, sum(claims) // holders),
    }


def cluster_rows(bench: Bench, nft: Contract, gpus: int, batch: int) -> list[tuple[str, int, int, int]]:
    """(approach, transactions, total gas, gas per GPU) for digitizing ``gpus`` GPUs."""
    p = bench.client.protocol
    registry = bench.bind("AssetRegistry", p.registry.address)
    admin = bench.accounts[0]
    owner = admin  # a registrar registers only its own assets (the deployer is one on a dev chain)
    ids = [Web3.keccak(text=f"gpu-{n}") for n in range(gpus)]
    records = [Web3.keccak(text=f"record-{n}") for n in range(gpus)]
    attestations = [Web3.keccak(text=f"telemetry-{n}") for n in range(gpus)]

    per_gpu_gas, txs = 0, 0
    for start in range(0, gpus, batch):
        end = start + batch
        call = registry.functions.registerBatch(GPU, owner, ids[start:end], records[start:end], attestations[start:end])
        per_gpu_gas += bench.gas(call, admin)
        txs += 1

    tree = MerkleTree([leaf(i, r) for i, r in zip(ids, records, strict=True)])
    cluster_gas = bench.gas(registry.functions.registerCluster(tree.root, GPU, owner, gpus, attestations[0]), admin)
    # A second cluster of the same kind (the first one of a kind also interns the kind: a one-off).
    other = MerkleTree([leaf(Web3.keccak(text=f"gpu-b-{n}"), r) for n, r in enumerate(records)])
    known_kind_gas = bench.gas(
        registry.functions.registerCluster(other.root, GPU, owner, gpus, attestations[1 % gpus]), admin
    )
    proof = tree.proof(leaf(ids[0], records[0]))
    assert registry.functions.verifyInCluster(tree.root, ids[0], records[0], proof).call()
    proof_gas = bench.w3.eth.estimate_gas(
        {
            "from": admin,
            "to": registry.address,
            "data": registry.encode_abi("verifyInCluster", [tree.root, ids[0], records[0], proof]),
        }
    )

    nft_gas = sum(bench.gas(nft.functions.mint(owner, n), admin) for n in range(gpus))
    return [
        (f"AssetRegistry.registerBatch ({batch} a transaction)", txs, per_gpu_gas, per_gpu_gas // gpus),
        ("AssetRegistry.registerCluster (one Merkle root)", 1, known_kind_gas, known_kind_gas // gpus),
        ("  the first cluster of a kind (interns the kind)", 1, cluster_gas, cluster_gas // gpus),
        ("OpenZeppelin ERC-721 mint, one per GPU", gpus, nft_gas, nft_gas // gpus),
        (f"  verifyInCluster: one GPU's proof ({len(proof)} hashes), as a call", 0, int(proof_gas), 0),
    ]


async def bridge_rows() -> list[tuple[str, int]]:
    """AID over LayerZero V2, both ends on one embedded chain (two real EndpointV2 with their own endpoint ids,
    SimpleMessageLib standing in for the DVNs): a send and a receive each way, and a plain transfer."""
    from gaib_sdk.bridge import Bridge
    from gaib_sdk.testing.relayer import Relayer

    client = await Gaib.embedded(load_entry_points=False)
    try:
        chain, admin = client.chain, client.account
        await client.aid.whitelist(admin.address)
        await client.faucet(admin.address, 1_000)
        await client.aid.mint(1_000)
        tokens = {"aid": client.protocol.aid.address, "said": client.protocol.said.address}
        bridge = await Bridge.deploy_dev(("home", chain, admin, 40901), tokens, [("remote", chain, admin, 40902)])
        relayer = Relayer(list(bridge.ends.values()), {"home": admin, "remote": admin})

        async def gas(tx_hash: str) -> int:
            return int((await chain.w3.eth.get_transaction_receipt(tx_hash))["gasUsed"])  # type: ignore[arg-type]

        rows = []
        transfer = client.protocol.aid.functions.transfer(chain.accounts[1].address, AID)
        rows.append(
            ("ERC-20 transfer of AID (for scale)", (await chain.transact(transfer, admin, what="transfer")).gas_used)
        )
        for src, dst, what in (
            ("home", "remote", "adapter locks, OFT mints"),
            ("remote", "home", "OFT burns, adapter unlocks"),
        ):
            sent = await bridge.send(admin, "aid", 100 * AID, src=src, dst=dst)
            [packet] = await relayer.pending()
            verify, deliver = await relayer.verify(packet), await relayer.execute(packet)
            rows += [
                (f"send {src} -> {dst} ({what.split(', ')[0]})", await gas(sent.tx_hash)),
                ("  verify (the DVN's step; SimpleMessageLib here)", await gas(verify)),
                (f"  receive: lzReceive ({what.split(', ')[1]})", await gas(deliver)),
            ]
        return rows
    finally:
        await client.close()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [[f"{c:,}" if isinstance(c, int) else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


async def run(gpus: int, batch: int) -> str:
    baselines = compile_baselines()
    client = await Gaib.embedded(load_entry_points=False)
    try:
        bench = Bench(client)
        plain = bench.deploy(baselines["PlainVault"], client.protocol.aid.address)
        nft = bench.deploy(baselines["PlainNFT"])
        vault = vault_rows(bench, plain)
        flows = stake_and_exit_rows(bench, plain, EXIT_HOLDERS)
        cluster = cluster_rows(bench, nft, gpus, batch)
    finally:
        await client.close()
    request, process, claim = flows["exit steps"]
    exit_table = table(
        [f"Exit, {EXIT_HOLDERS} holders in one cycle", "sAID", "OZ ERC4626"],
        [
            ("requestRedeem (each holder, average)", request, "-"),
            (f"processCycle (all {EXIT_HOLDERS} requests, one transaction)", process, "-"),
            (f"  its share per holder (1/{EXIT_HOLDERS})", process // EXIT_HOLDERS, "-"),
            ("claim: redeem (each holder, average)", claim, "-"),
            ("per holder: the three steps together", flows["exit"][0], flows["exit"][1]),
        ],
    )
    bridge_table = table(["AID across chains (LayerZero V2 OFT)", "gas"], await bridge_rows())
    vault_table = table(
        ["ERC-4626 on AID", "sAID", "OZ ERC4626", "sAID extra"],
        [(op, s, o or "-", f"{s - o:+,}" if o else "-") for op, s, o in vault],
    )
    cluster_table = table(
        [f"Digitizing {gpus:,} GPUs", "transactions", "gas", "gas per GPU"],
        [(what, n or "-", total, per or "-") for what, n, total, per in cluster],
    )
    deposit = next((s, o) for op, s, o in vault if op == "deposit (1,000 AID)")
    cluster_gas = cluster[1][2]  # a kind already registered
    targets = table(
        ["Targets (issue 14)", "ours", "OpenZeppelin", "ratio", "target"],
        [
            ("sAID deposit (1,000 AID) vs ERC4626 deposit", *deposit, _ratio(*deposit), "at most 1.10x"),
            (
                "stake: depositWithPermit (1 tx) vs approve + deposit (2 tx)",
                *flows["stake"],
                _ratio(*flows["stake"]),
                "no approve transaction",
            ),
            (
                f"exit per holder, {EXIT_HOLDERS} a cycle: request + 1/{EXIT_HOLDERS} cycle + claim vs redeem",
                *flows["exit"],
                _ratio(*flows["exit"]),
                "at most 2.00x",
            ),
            (f"registerCluster ({gpus:,} GPUs, a known kind)", cluster_gas, "-", "-", "at most 60,000 gas"),
        ],
    )
    header = (
        "Gas used per transaction (receipts' gasUsed, the 21,000 base included) on the embedded EVM "
        "(py-evm, cancun), contracts built with solc 0.8.28, optimizer 200 runs."
    )
    return f"{header}\n\n{vault_table}\n\n{exit_table}\n\n{cluster_table}\n\n{targets}\n\n{bridge_table}\n"


def _ratio(ours: int, baseline: int) -> str:
    return f"{ours / baseline:.2f}x"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, default=1_024, help="GPUs in the cluster (default 1,024)")
    parser.add_argument("--batch", type=int, default=100, help="GPUs per registerBatch transaction (default 100)")
    args = parser.parse_args(argv)
    if args.gpus < 1 or args.batch < 1:
        parser.error("--gpus and --batch must be at least 1")
    print(asyncio.run(run(args.gpus, args.batch)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
