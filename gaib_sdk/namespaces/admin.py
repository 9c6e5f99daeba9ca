"""``gaib.admin``: the protocol's roles (who may underwrite, register, whitelist, pause...) and the pause switch.
See docs/security.md, "Roles"."""

from __future__ import annotations

from web3.contract import AsyncContract

from gaib_sdk.chain import role
from gaib_sdk.chain.deploy import ROLES
from gaib_sdk.errors import GaibConfigError, GaibValueError
from gaib_sdk.namespaces._base import Namespace, checksum

__all__ = ["Admin"]


class Admin(Namespace):
    """Roles and pausing: ``gaib.admin.grant("underwriter", address)``, ``gaib.admin.pause()``."""

    async def authorize_registrar(self, account: str) -> str:
        """Registrar admin: let an onboarded operator register its own assets (REGISTRAR_ROLE on the registry,
        whose admin role is REGISTRAR_ADMIN_ROLE, not the protocol admin's)."""
        registry = self._protocol.registry
        await self._require_role(registry, "REGISTRAR_ADMIN_ROLE", "grant REGISTRAR_ROLE")
        call = registry.functions.grantRole(role("REGISTRAR_ROLE"), account)
        return (await self._send(call, what="grant REGISTRAR_ROLE")).tx_hash

    # ---- roles (docs/security.md, "Roles") ----

    def _role_pairs(self, name: str) -> list[tuple[AsyncContract, str]]:
        """The (contract, AccessControl role) pairs of one of the protocol's roles, by its name."""
        known = {**{k: v for k, v in ROLES.items() if k != "admin"}, "registrar": (("registry", "REGISTRAR_ROLE"),)}
        if name not in known:
            hint = " (the admin role moves through governance: docs/security.md)" if name == "admin" else ""
            raise GaibValueError(f"unknown role {name!r}{hint}: one of {', '.join(sorted(known))}")
        pairs = []
        for attribute, role_name in known[name]:
            contract = getattr(self._protocol, attribute)
            if contract is None:
                raise GaibConfigError(f"this deployment has no {attribute} contract: deploy the protocol again")
            pairs.append((contract, role_name))
        return pairs

    async def roles(self, account: str | None = None) -> dict[str, bool]:
        """Which of the protocol's roles ``account`` (default: this client's) holds, by name."""
        who = account or self._address
        names = sorted({*ROLES, "registrar"} - {"admin"})
        held = {n: all([await self._has_role(c, r, who) for c, r in self._role_pairs(n)]) for n in names}
        return {"admin": await self._has_role(self._protocol.aid, "DEFAULT_ADMIN_ROLE", who), **held}

    async def grant(self, name: str, account: str) -> list[str]:
        """Give ``account`` one of the protocol's roles (``underwriter``, ``registrar``, ``pauser``...: every
        AccessControl role that name stands for). Checked first: this client holds the admin of each role.
        A role already held is left as it is; returns the transactions' hashes."""
        return await self._set_role(name, account, grant=True)

    async def revoke(self, name: str, account: str) -> list[str]:
        """Take one of the protocol's roles from ``account`` (see :meth:`grant`)."""
        return await self._set_role(name, account, grant=False)

    async def _set_role(self, name: str, account: str, *, grant: bool) -> list[str]:
        account = checksum(account, "account")
        pairs = self._role_pairs(name)
        for contract, role_name in pairs:  # every check before the first transaction
            admin = await contract.functions.getRoleAdmin(role(role_name)).call()
            if not await contract.functions.hasRole(admin, self._address).call():
                raise GaibConfigError(
                    f"account {self._address} cannot {'grant' if grant else 'revoke'} {role_name} on "
                    f"{contract.address}: it lacks that role's admin role (0x{admin.hex()}); ask its holder",
                    chain_id=self._chain.chain_id,
                )
        hashes = []
        for contract, role_name in pairs:
            if await self._has_role(contract, role_name, account) == grant:
                continue
            action = contract.functions.grantRole if grant else contract.functions.revokeRole
            verb = "grant" if grant else "revoke"
            hashes.append((await self._send(action(role(role_name), account), what=f"{verb} {role_name}")).tx_hash)
        return hashes

    # ---- the pause switch ----

    async def pause(self, token: str = "AID") -> str:
        """Pauser: stop minting, redeeming and deal funding (``token="AID"``), or sAID deposits and exit
        requests (``token="sAID"``; claims of filled exits still pay)."""
        contract, name = self._client._pausable(token)
        await self._require_role(contract, "PAUSER_ROLE", f"pause {name}")
        if await contract.functions.paused().call():
            raise GaibValueError(f"{name} is already paused")
        return (await self._send(contract.functions.pause(), what=f"pause {name}")).tx_hash

    async def unpause(self, token: str = "AID") -> str:
        """Pauser: let ``token`` ("AID" or "sAID") work again."""
        contract, name = self._client._pausable(token)
        await self._require_role(contract, "PAUSER_ROLE", f"unpause {name}")
        if not await contract.functions.paused().call():
            raise GaibValueError(f"{name} is not paused")
        return (await self._send(contract.functions.unpause(), what=f"unpause {name}")).tx_hash
