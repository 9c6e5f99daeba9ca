"""Index events from a local anvil into SQLite and PostgreSQL and print events per second, where the time
goes (node, decoding, database), and how the time grows with the number of events.

    python scripts/bench_index.py                      # 2,000, 6,000 and 20,000 events, both databases
    python scripts/bench_index.py --events 1000000     # the full run: 100,000, 300,000 and 1,000,000
    python scripts/bench_index.py --accounts 0         # every transfer to a new address: the worst case
    python scripts/bench_index.py --no-postgres --json

The events are AID ``Transfer`` logs, emitted up to 10,000 a transaction by a small contract (compiled here) and
indexed with AIDollar's ABI, so the indexer does exactly what it does for the protocol: eth_getLogs over
adaptive block ranges, block headers, decoding, one transaction per range. Snapshots are off (they read
contract state, which the emitter does not have). A benchmark, never a test: it prints figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gaib_sdk.chain import Chain, load_artifact
from gaib_sdk.contracts.compiler import compile_sources
from gaib_sdk.index import Indexer, Source
from gaib_sdk.index.events import _ADDRESSES
from gaib_sdk.testing.anvil import Anvil, node_rpc
from gaib_sdk.testing.postgres import PostgresServer, find_postgres

ROOT = Path(__file__).resolve().parent.parent
PER_TX = 10_000

EMITTER = """
// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;
contract Emitter {
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// @param accounts How many distinct recipients the transfers cycle over (0: every one distinct).
    function emitMany(uint256 n, uint256 seed, uint256 accounts) external {
        for (uint256 i; i < n; ++i) {
            uint256 k = seed + i;
            emit Transfer(msg.sender, address(uint160(accounts == 0 ? k : 1 + k % accounts)), k);
        }
    }
}
"""


def _receipt(url: str, tx: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        receipt: dict[str, Any] | None = node_rpc(url, "eth_getTransactionReceipt", tx)
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise SystemExit(f"anvil did not mine {tx}")
        time.sleep(0.01)


def _emit(url: str, events: int, per_tx: int, accounts: int) -> tuple[str, int, list[tuple[int, int]]]:
    """Deploy the emitter and emit ``events`` Transfer logs; (address, deploy block, [(block, events so far)])."""
    artifact = compile_sources({"Emitter.sol": EMITTER}, node_modules=ROOT / "node_modules")["Emitter"]
    sender = node_rpc(url, "eth_accounts")[0]
    tx = node_rpc(url, "eth_sendTransaction", {"from": sender, "data": artifact["bytecode"]})
    receipt = _receipt(url, tx)
    address, first = receipt["contractAddress"], int(receipt["blockNumber"], 16)
    selector = "0x" + __import__("eth_utils").keccak(text="emitMany(uint256,uint256,uint256)")[:4].hex()
    done, marks = 0, []
    while done < events:
        n = min(per_tx, events - done)
        data = selector + f"{n:064x}" + f"{done + 1:064x}" + f"{accounts:064x}"
        tx = node_rpc(url, "eth_sendTransaction", {"from": sender, "to": address, "data": data, "gas": hex(29_000_000)})
        receipt = _receipt(url, tx)
        assert receipt["status"] == "0x1", receipt
        done += n
        marks.append((int(receipt["blockNumber"], 16), done))
    return address, first, marks


async def _index(url: str, db: str, address: str, first: int, to_block: int) -> dict[str, Any]:
    chain = await Chain.connect(url)
    try:
        source = Source("aid", address, load_artifact("AIDollar")["abi"])
        indexer = Indexer(chain, db, [source], start_block=first, batch_blocks=1, max_blocks=64)
        started = time.perf_counter()
        stats = await indexer.sync(to_block=to_block)
        seconds = time.perf_counter() - started
        count = indexer.count()
        indexer.close()
        return {
            "events": count,
            "seconds": round(seconds, 3),
            "events_per_second": round(count / seconds, 1),
            "ranges": stats.ranges,
            "split_seconds": {k: round(v, 3) for k, v in indexer.timings.items()},
        }
    finally:
        await chain.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000, help="the largest size (default 20000)")
    parser.add_argument(
        "--accounts",
        type=int,
        default=10_000,
        help="distinct recipients the transfers cycle over (default 10000; 0: every transfer to a new address,"
        " the worst case for decoding: each address is checksummed once, with a keccak)",
    )
    parser.add_argument("--no-postgres", dest="postgres", action="store_false", help="SQLite only")
    parser.add_argument("--postgres-url", help="a PostgreSQL server to use (default: start one in a temp folder)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    # a tenth, three tenths and all of the events, each a whole number of emitting transactions
    per_tx = PER_TX if args.events >= 10 * PER_TX else max(1, args.events // 10)
    sizes = sorted(
        {max(per_tx, args.events // 10 // per_tx * per_tx), args.events * 3 // 10 // per_tx * per_tx, args.events}
    )
    node = Anvil("--gas-limit", "30000000").start()
    server = None
    results: dict[str, Any] = {"sizes": sizes, "accounts": args.accounts, "runs": {}}
    try:
        started = time.perf_counter()
        address, first, marks = _emit(node.url, args.events, per_tx, args.accounts)
        results["emit_seconds"] = round(time.perf_counter() - started, 1)
        databases: dict[str, str] = {}
        folder = Path(tempfile.mkdtemp(prefix="gaib-bench-index-"))
        if args.postgres:
            if args.postgres_url:
                databases["postgresql"] = args.postgres_url
            elif find_postgres() is not None:
                server = PostgresServer(folder / "pg").start()
                databases["postgresql"] = server.url
            else:
                print("PostgreSQL's binaries are not installed: SQLite only", file=sys.stderr)
        for size in sizes:
            to_block = next(block for block, count in marks if count >= size)
            for kind in ("sqlite", *databases):
                if kind == "sqlite":
                    where = str(folder / f"index-{size}.sqlite")
                else:
                    import psycopg

                    with psycopg.connect(databases[kind], autocommit=True) as conn:
                        conn.execute("DROP TABLE IF EXISTS events, blocks, snapshots, meta")
                    where = databases[kind]
                _ADDRESSES.clear()  # each run pays for checksumming its addresses: none warms the next
                run = asyncio.run(_index(node.url, where, address, first, to_block))
                results["runs"].setdefault(kind, []).append(run)
                if not args.json:
                    split = ", ".join(f"{k} {v:.1f} s" for k, v in run["split_seconds"].items())
                    print(
                        f"{kind:<10} {run['events']:>9,} events in {run['seconds']:>7.2f} s: "
                        f"{run['events_per_second']:>9,.0f} events/s  ({split})",
                        flush=True,
                    )
        for kind, runs in results["runs"].items():
            small, large = runs[0], runs[-1]
            growth = (large["seconds"] / small["seconds"]) / (large["events"] / small["events"])
            results.setdefault("growth", {})[kind] = round(growth, 2)  # 1.0: linear
            limit = max(large["split_seconds"], key=large["split_seconds"].get)
            results.setdefault("limit", {})[kind] = limit
            if not args.json:
                print(
                    f"{kind}: time x{large['seconds'] / small['seconds']:.1f} for events "
                    f"x{large['events'] / small['events']:.1f} (1.0 = linear: {growth:.2f}); most time in {limit}"
                )
        if args.json:
            print(json.dumps(results))
    finally:
        if server is not None:
            server.stop()
        node.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
