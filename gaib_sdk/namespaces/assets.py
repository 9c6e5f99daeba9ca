"""``gaib.assets``: what the AssetRegistry holds. Read inventories through the kind's adapter, read an asset or
a cluster back, prove an asset's place in a cluster, retire an asset, and the registrar admin's confirmation
and disputes (docs/security.md, "Asset ownership"). Registering is the first stage, :meth:`Gaib.digitize`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gaib_sdk.adapters import AdapterOptions, AssetAdapter
from gaib_sdk.errors import AssetOwnershipError, GaibConfigError, GaibValueError
from gaib_sdk.merkle import leaf as merkle_leaf
from gaib_sdk.models import AssetRecord, Inventory
from gaib_sdk.namespaces._base import ASSET_STATUSES, Namespace, asset_info, cluster_tree, ownership

__all__ = ["Assets"]


class Assets(Namespace):
    """The asset registry: ``gaib.assets.get(asset_id)``, ``gaib.assets.retire(asset_id)``."""

    def adapter(self, kind: str, options: AdapterOptions | dict[str, Any] | None = None) -> AssetAdapter:
        """The asset adapter of ``kind`` (a plugin's), with its ``options``."""
        return self._plugins.asset_adapter(kind)(options)

    async def read_inventory(
        self, kind: str, source: str | Path | None = None, *, options: dict[str, Any] | None = None
    ) -> Inventory:
        """Read an inventory through the kind's adapter; ``source=None`` reads the adapter's example."""
        adapter = self.adapter(kind, options)
        if source is None:
            source = adapter.example_source()
            if source is None:
                raise GaibConfigError(f"the {kind!r} adapter ships no example inventory: give a source")
        return await adapter.read_inventory(source)

    def cluster_proof(self, inventory: Inventory, asset_id: str) -> list[str]:
        """The proof that ``asset_id`` is in the cluster of ``inventory``."""
        tree = cluster_tree(inventory)
        asset = next((a for a in inventory.assets if a.asset_id == asset_id), None)
        if asset is None:
            raise GaibValueError(f"asset {asset_id} is not in this inventory")
        return tree.proof(merkle_leaf(asset.asset_id, asset.record_hash))

    async def verify_in_cluster(self, root: str, asset: AssetRecord, proof: list[str]) -> bool:
        """Whether the registry accepts ``proof`` that ``asset`` (its id and record hash) is in cluster ``root``."""
        call = self._protocol.registry.functions.verifyInCluster(root, asset.asset_id, asset.record_hash, proof)
        return bool(await call.call())

    async def get(self, asset_id: str, *, inventory: Inventory | None = None) -> dict[str, Any]:
        """An asset as the registry holds it. An id that is a cluster root gives :meth:`cluster`. A GPU
        inside a cluster has no entry of its own: given the ``inventory`` it was digitized from, the
        cluster whose root that inventory hashes to answers for it (its owner, status and attestation,
        with ``cluster_root`` set); a record changed since then no longer hashes to the root."""
        registry = self._protocol.registry.functions
        a = await registry.getAsset(asset_id).call()
        if a[3] == 0:
            if (await registry.getCluster(asset_id).call())[2] > 0:
                return await self.cluster(asset_id)
            member = next((x for x in inventory.assets if x.asset_id == asset_id), None) if inventory else None
            if inventory is not None and member is not None:
                root = cluster_tree(inventory).root
                c = await self.cluster(root)
                if c["size"] > 0:
                    return {
                        **c,
                        "asset_id": asset_id,
                        "record_hash": member.record_hash,
                        "attested_at": None,
                        "cluster_root": root,
                    }
        return {**asset_info(asset_id, a), **await self._ownership(asset_id, a[3])}

    async def _ownership(self, asset_id: str, status: int) -> dict[str, Any]:
        """``ownership``: "none", "provisional", "confirmed" or "disputed"; ``confirms_at``: when the delay
        confirms it (unix seconds)."""
        return ownership(status, *await self._protocol.registry.functions.confirmation(asset_id).call())

    async def cluster(self, root: str) -> dict[str, Any]:
        """A cluster as the registry holds it (``size`` 0 and status ``none`` for an unknown root)."""
        registry = self._protocol.registry
        c = await registry.functions.getCluster(root).call()
        attestation = bytes(c[5])
        if c[2] > 0 and not any(attestation):
            # The registry keeps a cluster in one slot: the registration's attestation is in its event only,
            # until attestCluster records a newer one.
            logs = await registry.events.ClusterAttested().get_logs(
                from_block=self._protocol.deployment.block, argument_filters={"root": root}
            )
            if logs:
                attestation = bytes(logs[-1]["args"]["attestation"])
        return {
            "asset_id": root,
            "cluster_root": root,
            "kind": c[0].rstrip(b"\0").decode(),
            "owner": c[1],
            "size": c[2],
            "registered_at": c[3],
            "status": ASSET_STATUSES[c[4]],
            "attestation": "0x" + attestation.hex(),
            **await self._ownership(root, c[4] if c[2] > 0 else 0),
        }

    # ---- ownership (docs/security.md, "Asset ownership") ----

    async def _entry(self, asset_id: str) -> dict[str, Any]:
        """An asset or cluster as the registry holds it; GaibValueError if the id is unknown."""
        info = await self.get(asset_id)
        if info["status"] == "none":
            raise GaibValueError(f"{asset_id} is neither a registered asset nor a cluster root")
        return info

    async def retire(self, asset_id: str) -> str:
        """Owner: retire an active asset or cluster (sold, scrapped), for good. Only its owner may, and only
        once its ownership is confirmed."""
        info = await self._entry(asset_id)
        if info["owner"].lower() != self._address.lower():
            raise AssetOwnershipError(
                f"{asset_id} is registered to {info['owner']}, not to {self._address}: only its owner retires it",
                asset_id=asset_id,
            )
        if info["status"] != "active":
            raise GaibValueError(
                f"{asset_id} is {info['status']!r}: only an active asset or cluster is retired", asset_id=asset_id
            )
        if info["ownership"] != "confirmed":
            raise AssetOwnershipError(
                f"{asset_id}'s ownership is provisional until unix time {info['confirms_at']}: it can be retired "
                "after that, or once the registrar admin confirms it",
                asset_id=asset_id,
            )
        registry = self._protocol.registry.functions
        call = registry.retireCluster(asset_id) if "size" in info else registry.retire(asset_id)
        return (await self._send(call, what="retire")).tx_hash

    async def confirm_ownership(self, asset_ids: list[str]) -> str:
        """Registrar admin: confirm registrations (assets or cluster roots) before their delay runs out."""
        registry = self._protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "confirm asset ownership")
        for asset_id in asset_ids:
            if (await self._entry(asset_id))["status"] == "disputed":
                raise AssetOwnershipError(
                    f"{asset_id} is disputed: end the dispute with resolve_dispute or void_registration (gaib.assets)",
                    asset_id=asset_id,
                )
        return (await self._send(registry.functions.confirm(asset_ids), what="confirm ownership")).tx_hash

    async def dispute(self, asset_id: str) -> str:
        """Registrar admin: freeze an unfinanced (active or retired) asset or cluster while a provider's claim
        that it is theirs is examined; it cannot be financed or retired until the dispute ends."""
        registry = self._protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "dispute a registration")
        info = await self._entry(asset_id)
        if info["status"] not in ("active", "retired"):
            raise GaibValueError(
                f"{asset_id} is {info['status']!r}: only an unfinanced (active or retired) registration is disputed",
                asset_id=asset_id,
            )
        return (await self._send(registry.functions.dispute(asset_id), what="dispute registration")).tx_hash

    async def resolve_dispute(self, asset_id: str, owner: str) -> str:
        """Registrar admin: end a dispute, the entry active and confirmed, owned by ``owner``."""
        registry = self._protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "resolve a dispute")
        await self._require_disputed(asset_id)
        return (await self._send(registry.functions.resolveDispute(asset_id, owner), what="resolve dispute")).tx_hash

    async def void_registration(self, asset_id: str) -> str:
        """Registrar admin: end a dispute by striking the registration out, so its rightful owner registers it."""
        registry = self._protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "void a registration")
        await self._require_disputed(asset_id)
        return (await self._send(registry.functions.voidRegistration(asset_id), what="void registration")).tx_hash

    async def _require_disputed(self, asset_id: str) -> None:
        info = await self._entry(asset_id)
        if info["status"] != "disputed":
            raise GaibValueError(
                f"{asset_id} is {info['status']!r}, not disputed: gaib.assets.dispute it first", asset_id=asset_id
            )
