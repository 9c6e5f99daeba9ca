"""``gaib.nodes``: the node verification network. Bond as an operator, submit a period's root of signed device
reports, challenge a false report, and read an asset's latest attested status, checked end to end (root on
chain, inclusion proof, operator's signature). The operator's guide is docs/node-operators.md."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from web3.contract import AsyncContract
from web3.logs import DISCARD

from gaib_sdk.errors import GaibConfigError, GaibValueError, InsufficientFundsError
from gaib_sdk.merkle import verify as merkle_verify
from gaib_sdk.namespaces._base import Namespace
from gaib_sdk.node.bundle import Bundle, fetch_bundle
from gaib_sdk.node.client import ZERO32, AttestedStatus, Fault, OperatorStatus, _gaib, _units
from gaib_sdk.node.report import DeviceReport, Health, recover_signer

__all__ = ["Nodes"]


class Nodes(Namespace):
    """Node operators: ``gaib.nodes.register_operator(bond)``, ``gaib.nodes.attested_status(asset_id)``."""

    @property
    def attestation(self) -> AsyncContract:
        """The NodeAttestation contract of this deployment."""
        contract = self._protocol.attestation
        if contract is None:
            raise GaibConfigError(
                "this deployment has no NodeAttestation contract (it predates the node network): deploy again"
            )
        return contract

    # ---- operators ----

    async def operator(self, address: str | None = None) -> dict[str, Any]:
        """An operator's state: status, bond (GAIB), totals, and its latest root."""
        who = address or self._address
        o = await self.attestation.functions.getOperator(who).call()
        period, root = await self.attestation.functions.latestRoot(who).call()
        return {
            "operator": who,
            "status": OperatorStatus(o[0]).name.lower(),
            "withdrawable_at": int(o[1]),
            "roots": int(o[3]),
            "bond_gaib": _gaib(o[4]),
            "deposited_gaib": _gaib(o[5]),
            "slashed_gaib": _gaib(o[6]),
            "withdrawn_gaib": _gaib(o[7]),
            "latest_period": int(period) if o[3] else None,
            "latest_root": "0x" + root[0].hex() if o[3] else None,
        }

    async def _operator_status(self, who: str) -> OperatorStatus:
        return OperatorStatus((await self.attestation.functions.getOperator(who).call())[0])

    async def register_operator(self, bond_gaib: Decimal | int | str) -> str:
        """Join the node network with a bond of at least the contract's minimum (GAIB; approved here)."""
        att, amount = self.attestation, _units(bond_gaib, "bond")
        status = await self._operator_status(self._address)
        if status != OperatorStatus.NONE:
            raise GaibValueError(f"account {self._address} is already a node operator ({status.name.lower()})")
        min_bond = await att.functions.minBond().call()
        if amount < min_bond:
            raise GaibValueError(f"bond {bond_gaib} GAIB is below the minimum of {_plain(min_bond)} GAIB")
        await self._require_balance(self._protocol.gaib, amount, "GAIB", "bond as a node operator")
        await self._approve(self._protocol.gaib, att.address, amount)
        return (await self._send(att.functions.register(amount), what="register node operator")).tx_hash

    async def bond(self, amount_gaib: Decimal | int | str) -> str:
        """Add GAIB to an active operator's bond."""
        att, amount = self.attestation, _units(amount_gaib, "bond")
        status = await self._operator_status(self._address)
        if status != OperatorStatus.ACTIVE:
            raise GaibValueError(f"account {self._address} is {status.name.lower()}, not an active operator")
        await self._require_balance(self._protocol.gaib, amount, "GAIB", "add to the bond")
        await self._approve(self._protocol.gaib, att.address, amount)
        return (await self._send(att.functions.bond(amount), what="bond GAIB")).tx_hash

    async def request_unbond(self) -> str:
        """Stop reporting; the bond can be withdrawn after the unbonding delay."""
        status = await self._operator_status(self._address)
        if status != OperatorStatus.ACTIVE:
            raise GaibValueError(f"account {self._address} is {status.name.lower()}, not an active operator")
        return (await self._send(self.attestation.functions.requestUnbond(), what="request unbond")).tx_hash

    async def withdraw_bond(self) -> str:
        """Take the bond back after the unbonding delay."""
        o = await self.attestation.functions.getOperator(self._address).call()
        if OperatorStatus(o[0]) != OperatorStatus.UNBONDING:
            raise GaibValueError(f"account {self._address} is not unbonding: call gaib.nodes.request_unbond() first")
        now = await self._chain.timestamp()
        if now < o[1]:
            raise GaibValueError(f"the bond can be withdrawn from {o[1]} (chain time now {now}): wait")
        return (await self._send(self.attestation.functions.withdraw(), what="withdraw bond")).tx_hash

    # ---- roots ----

    async def period_length(self) -> int:
        return int(await self.attestation.functions.periodLength().call())

    async def submit_root(self, period: int, root: str, count: int, uri: str, *, key: str | None = None) -> str:
        """Submit a closed period's root of ``count`` reports, and where its bundle is published."""
        att = self.attestation
        if key is None or not self._chain.journaled(key):
            o = await att.functions.getOperator(self._address).call()
            if OperatorStatus(o[0]) != OperatorStatus.ACTIVE:
                raise GaibValueError(
                    f"account {self._address} is {OperatorStatus(o[0]).name.lower()}, not an active operator: "
                    "register_operator() first"
                )
            min_bond = await att.functions.minBond().call()
            if o[4] < min_bond:
                raise InsufficientFundsError(
                    f"bond {_plain(o[4])} GAIB is below the minimum {_plain(min_bond)} GAIB: "
                    "gaib.nodes.bond() the difference"
                )
            closes = await att.functions.periodEnd(period).call()
            now = await self._chain.timestamp()
            if now < closes:
                raise GaibValueError(f"period {period} closes at {closes} (chain time now {now}): wait for it")
            if (await att.functions.rootOf(self._address, period).call())[0] != ZERO32:
                raise GaibValueError(f"account {self._address} already submitted a root for period {period}")
            if count <= 0 or int(root, 16) == 0:
                raise GaibValueError("a root needs at least one report")
            if not uri.startswith(("file://", "http://", "https://")):
                raise GaibValueError(f"bundle URI {uri!r} must be file://, http:// or https://")
        call = att.functions.submitRoot(period, root, count, uri)
        return (await self._send(call, what=f"submit root of period {period}", key=key)).tx_hash

    async def verify_report_inclusion(
        self, report: DeviceReport, proof: list[str], operator: str | None = None
    ) -> bool:
        """Whether the chain accepts ``proof`` that ``report`` is in the root ``operator`` submitted for the
        report's period (NodeAttestation.verifyReport); without ``operator``, in any root of that period."""
        att = self.attestation
        if operator is None:
            operators, _ = await att.functions.rootsForPeriod(report.period).call()
        else:
            operators = [operator]
        for who in operators:
            if await att.functions.verifyReport(who, report.period, report.as_struct(), proof).call():
                return True
        return False

    # ---- challenges ----

    async def challenge(
        self,
        operator: str,
        report: DeviceReport,
        proof: list[str],
        *,
        period: int | None = None,
        other: DeviceReport | None = None,
        other_signature: str | None = None,
    ) -> dict[str, Any]:
        """Prove a report in ``operator``'s root false, and take the challenger's share of its bond.

        With ``other`` and ``other_signature`` (a different report for the same asset and period that the
        operator signed) it proves equivocation; otherwise it proves the asset unknown to the registry for
        the period, or the report impossible, whichever holds. Checked first: nothing is sent unless the
        chain will accept the proof."""
        att = self.attestation
        period = report.period if period is None else period
        r = await att.functions.rootOf(operator, period).call()
        if r[0] == ZERO32:
            raise GaibValueError(f"operator {operator} submitted no root for period {period}")
        window = await att.functions.challengeWindow().call()
        now = await self._chain.timestamp()
        if now >= r[2] + window:
            raise GaibValueError(f"the challenge window of period {period}'s root closed at {r[2] + window}")
        if not await att.functions.verifyReport(operator, period, report.as_struct(), proof).call():
            raise GaibValueError(f"the proof does not place the report in {operator}'s root of period {period}")
        if (await att.functions.getOperator(operator).call())[4] == 0:
            raise GaibValueError(f"operator {operator} has no bond left to slash (slashed already, or withdrawn)")
        if other is not None:
            if other_signature is None:
                raise GaibValueError("an equivocation challenge needs the other report's signature")
            if other.asset_id != report.asset_id or other.period != report.period or other == report:
                raise GaibValueError("equivocation needs a different report for the same asset and period")
            signer = recover_signer(other, other_signature, chain_id=self._chain.chain_id, contract=att.address)
            if signer is None or signer.lower() != operator.lower():
                raise GaibValueError(f"the other report is signed by {signer}, not by operator {operator}")
            call = att.functions.challengeEquivocation(
                operator, period, report.as_struct(), proof, other.as_struct(), other_signature
            )
            fault = Fault.EQUIVOCATION
        elif report.problems(period):
            call = att.functions.challengeImpossible(operator, period, report.as_struct(), proof)
            fault = Fault.IMPOSSIBLE
        elif await att.functions.assetUnattestable(report.asset_id, period).call():
            call = att.functions.challengeUnknownAsset(operator, period, report.as_struct(), proof)
            fault = Fault.UNKNOWN_ASSET
        else:
            raise GaibValueError(
                f"the report on asset {report.asset_id} for period {period} is not provably false: it is possible, "
                "the registry held the asset, and no conflicting signed report was given"
            )
        result = await self._send(call, what=f"challenge {operator} ({fault.name.lower()})")
        ev = att.events.Slashed().process_receipt({"logs": result.logs}, errors=DISCARD)[0]["args"]
        return {
            "operator": operator,
            "period": period,
            "asset_id": report.asset_id,
            "fault": fault.name.lower(),
            "to_challenger_gaib": _gaib(ev["toChallenger"]),
            "to_treasury_gaib": _gaib(ev["toTreasury"]),
            "tx_hash": result.tx_hash,
        }

    # ---- reading attestations ----

    async def root_events(self, *, operator: str | None = None) -> list[dict[str, Any]]:
        """Every RootSubmitted event of this deployment, oldest first."""
        args = {"operator": operator} if operator else None
        logs = await self.attestation.events.RootSubmitted().get_logs(
            from_block=self._protocol.deployment.block, argument_filters=args
        )
        return [
            {
                "operator": ev["args"]["operator"],
                "period": int(ev["args"]["period"]),
                "root": "0x" + ev["args"]["root"].hex(),
                "count": int(ev["args"]["count"]),
                "uri": ev["args"]["uri"],
                "block": int(ev["blockNumber"]),
            }
            for ev in logs
        ]

    async def check_bundle(self, bundle: Bundle, operator: str, period: int) -> list[str]:
        """What is wrong with a bundle (empty if nothing): its root against the chain's, every proof and
        every signature."""
        att, chain_id = self.attestation, self._chain.chain_id
        on_chain = "0x" + (await att.functions.rootOf(operator, period).call())[0].hex()
        wrong = []
        if bundle.root != on_chain:
            wrong.append(f"bundle root {bundle.root} is not the root on chain {on_chain}")
        if bundle.operator.lower() != operator.lower() or bundle.period != period:
            wrong.append("bundle is of another operator or period")
        for item in bundle.reports:
            r = item.report
            if not merkle_verify(on_chain, r.leaf, item.proof):
                wrong.append(f"report on {r.asset_id}: proof does not reach the root")
            signer = recover_signer(r, item.signature, chain_id=chain_id, contract=att.address)
            if signer is None or signer.lower() != operator.lower():
                wrong.append(f"report on {r.asset_id}: signed by {signer}, not the operator")
        return wrong

    async def attested_status(self, asset_id: str, *, operators: list[str] | None = None) -> AttestedStatus | None:
        """The asset's latest attested report: from the newest RootSubmitted event whose bundle holds a report
        on it that checks out (root on chain, proof, signature, right period), skipping jailed operators and
        bundles that cannot be read. ``operators`` limits it to the operators one trusts. None if none."""
        att = self.attestation
        trusted = {o.lower() for o in operators} if operators is not None else None
        length = await self.period_length()
        events = sorted(await self.root_events(), key=lambda e: (e["period"], e["block"]), reverse=True)
        jailed: dict[str, bool] = {}
        for ev in events:
            op = ev["operator"]
            if trusted is not None and op.lower() not in trusted:
                continue
            if op not in jailed:
                jailed[op] = await self._operator_status(op) == OperatorStatus.JAILED
            if jailed[op]:
                continue
            try:
                bundle = await fetch_bundle(ev["uri"])
            except GaibValueError:
                continue
            item = next((i for i in bundle.reports if i.report.asset_id == asset_id.lower()), None)
            if item is None or bundle.root != ev["root"]:
                continue
            r = item.report
            if r.period != ev["period"] or r.problems(ev["period"]):
                continue
            if not merkle_verify(ev["root"], r.leaf, item.proof):
                continue
            signer = recover_signer(r, item.signature, chain_id=self._chain.chain_id, contract=att.address)
            if signer is None or signer.lower() != op.lower():
                continue
            if not await self.verify_report_inclusion(r, item.proof, op):
                continue
            return AttestedStatus(
                asset_id=r.asset_id,
                operator=op,
                period=r.period,
                period_start=r.period * length,
                period_end=(r.period + 1) * length,
                health=Health(r.health).name.lower(),
                utilisation=Decimal(r.utilisation_bps) / 10_000,
                revenue_usdc=Decimal(r.revenue).scaleb(-6),
                device_id=r.device_id,
                telemetry_hash=r.telemetry_hash,
                root=ev["root"],
                uri=ev["uri"],
                report=r,
                proof=list(item.proof),
                signature=item.signature,
            )
        return None


def _plain(units: int) -> str:
    """GAIB for a message: 10000, not 10000.000000000000000000."""
    return format(_gaib(units).normalize(), "f")
