"""The node network: a cloud provider proves its GPUs exist, work and earn, on the embedded EVM.

    python examples/attest_gpu_cluster.py

1. the provider (dev account 1) digitizes the GPU plugin's sample cluster (8 servers x 8 H100);
2. it registers as a node operator with a bond of 10,000 GAIB (from the treasury, which the admin holds on
   the embedded chain; on a real chain the operator buys or is granted GAIB);
3. it runs a verification node over the same telemetry source: one reading, then the period closes and the
   node signs a report per GPU, writes the bundle and submits its Merkle root (as `gaib node run --once`);
4. anyone (here a reader on account 5, with no role) checks a GPU's attested status and its inclusion proof.
"""

import asyncio
import tempfile
from decimal import Decimal

from gaib_sdk import Gaib
from gaib_sdk.node import NodeRunner

DAY = 86_400


async def main() -> None:
    async with await Gaib.embedded() as admin:
        provider, reader = admin.with_account(1), admin.with_account(5)

        # 1. digitize the sample cluster
        await admin.admin.authorize_registrar(provider.address)
        digitized = await provider.digitize("gpu")  # no source: the plugin's sample cluster
        print(f"digitized {len(digitized.asset_ids)} GPUs")

        # 2. bond GAIB and join the node network
        await admin.send(admin.protocol.gaib.functions.transfer(provider.address, 10_000 * 10**18), what="GAIB")
        await provider.nodes.register_operator(Decimal(10_000))
        operator = await provider.nodes.operator()
        print(f"operator {operator['operator']} {operator['status']}, bond {operator['bond_gaib']:,.0f} GAIB")

        # 3. run the node: a reading now, then, once the period has closed, one round that submits its root
        with tempfile.TemporaryDirectory() as reports:
            source = provider.assets.adapter("gpu").example_source()  # or an export, a DCGM exporter's URL...
            runner = await NodeRunner.open(provider, "gpu", str(source), reports)
            try:
                period = await runner.sample()
                await admin.chain.advance_time(DAY)  # the period (one day, on the chain's clock) closes
                [result] = await runner.run(once=True)
            finally:
                runner.close()
            print(f"period {result.period}: {result.count} signed reports, root {result.root} in tx {result.tx_hash}")

            # 4. anyone checks an asset: the newest report whose root, proof and signature check out
            asset_id = digitized.asset_ids[0]
            record = await reader.assets.get(asset_id)
            status = await reader.nodes.attested_status(asset_id)
            assert status is not None and status.period == period
            print(f"asset {asset_id}: registry status {record['status']}")
            print(
                f"  attested {status.health} in period {status.period}, utilisation {status.utilisation:.2%}, "
                f"revenue {status.revenue_usdc:,.2f} USDC, by {status.operator}"
            )
            included = await reader.nodes.verify_report_inclusion(status.report, status.proof, status.operator)
            print(
                f"  inclusion proof of {len(status.proof)} hashes against root {status.root[:10]}...: "
                f"{'verified on chain' if included else 'REJECTED'}"
            )


if __name__ == "__main__":
    asyncio.run(main())
