"""A device's report for one period, as the NodeAttestation contract reads it, and its EIP-712 signature.

The struct is ``DeviceReport(bytes32 assetId, uint64 period, bytes32 deviceId, uint8 health,
uint16 utilisationBps, uint128 revenue, bytes32 telemetryHash)`` in the domain ``("GAIB Node Attestation",
"1", chainId, contract)``. A report's Merkle leaf is OpenZeppelin's double hash of its struct hash,
``keccak256(bytes.concat(keccak256(abi.encode(structHash))))``, in a :class:`gaib_sdk.merkle.MerkleTree`.

The model checks only that each field fits its Solidity type: a report that breaks the rules (utilisation
above 100%, an unknown health code, revenue on a device reported down) can be built, so that it can be
challenged; :meth:`DeviceReport.problems` names what is wrong with one. Pure functions: no I/O.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "DeviceReport",
    "Health",
    "SignedReport",
    "device_id",
    "recover_signer",
    "sign_report",
]

DOMAIN_NAME = "GAIB Node Attestation"
DOMAIN_VERSION = "1"
TYPE = (
    "DeviceReport(bytes32 assetId,uint64 period,bytes32 deviceId,uint8 health,uint16 utilisationBps,"
    "uint128 revenue,bytes32 telemetryHash)"
)
TYPEHASH = keccak(text=TYPE)
_FIELDS = [
    {"name": "assetId", "type": "bytes32"},
    {"name": "period", "type": "uint64"},
    {"name": "deviceId", "type": "bytes32"},
    {"name": "health", "type": "uint8"},
    {"name": "utilisationBps", "type": "uint16"},
    {"name": "revenue", "type": "uint128"},
    {"name": "telemetryHash", "type": "bytes32"},
]

Bytes32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{64}$")]
Signature = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-f]{130}$")]


class Health(IntEnum):
    """A device's health over a period: down (no healthy reading), healthy (every reading), degraded."""

    DOWN = 0
    HEALTHY = 1
    DEGRADED = 2


def device_id(identity: str) -> str:
    """A device's id: keccak256 of its hardware identity (a GPU's UUID, else its serial)."""
    return "0x" + keccak(text=identity.strip()).hex()


class DeviceReport(BaseModel):
    """One device's report for one period. ``revenue`` is in USDC base units (6 decimals)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: Bytes32
    period: int = Field(ge=0, lt=2**64)
    device_id: Bytes32
    health: int = Field(ge=0, lt=2**8)
    utilisation_bps: int = Field(ge=0, lt=2**16)
    revenue: int = Field(ge=0, lt=2**128)
    telemetry_hash: Bytes32

    def as_struct(self) -> tuple[bytes, int, bytes, int, int, int, bytes]:
        """The report as the contract's tuple argument."""
        return (
            bytes.fromhex(self.asset_id[2:]),
            self.period,
            bytes.fromhex(self.device_id[2:]),
            self.health,
            self.utilisation_bps,
            self.revenue,
            bytes.fromhex(self.telemetry_hash[2:]),
        )

    @property
    def struct_hash(self) -> bytes:
        """The EIP-712 struct hash (``NodeAttestation.reportHash``)."""
        types = ["bytes32", "bytes32", "uint64", "bytes32", "uint8", "uint16", "uint128", "bytes32"]
        return keccak(abi_encode(types, [TYPEHASH, *self.as_struct()]))

    @property
    def leaf(self) -> bytes:
        """The Merkle leaf (``NodeAttestation.reportLeaf``): OpenZeppelin's double hash of the struct hash."""
        return keccak(keccak(self.struct_hash))

    def problems(self, period: int | None = None) -> list[str]:
        """What makes the report impossible whatever the evidence (what ``challengeImpossible`` proves)."""
        found = []
        if period is not None and self.period != period:
            found.append(f"report of period {self.period} in the root of period {period}")
        if self.utilisation_bps > 10_000:
            found.append(f"utilisation {self.utilisation_bps} bps is above 10000")
        if self.health > max(Health):
            found.append(f"unknown health code {self.health}")
        if self.health == Health.DOWN and self.revenue > 0:
            found.append(f"revenue {self.revenue} on a device reported down")
        return found


def _typed(report: DeviceReport, chain_id: int, contract: str) -> SignableMessage:
    message: dict[str, Any] = {
        "assetId": bytes.fromhex(report.asset_id[2:]),
        "period": report.period,
        "deviceId": bytes.fromhex(report.device_id[2:]),
        "health": report.health,
        "utilisationBps": report.utilisation_bps,
        "revenue": report.revenue,
        "telemetryHash": bytes.fromhex(report.telemetry_hash[2:]),
    }
    return encode_typed_data(
        full_message={
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "DeviceReport": _FIELDS,
            },
            "primaryType": "DeviceReport",
            "domain": {
                "name": DOMAIN_NAME,
                "version": DOMAIN_VERSION,
                "chainId": chain_id,
                "verifyingContract": contract,
            },
            "message": message,
        }
    )


def sign_report(report: DeviceReport, account: LocalAccount, *, chain_id: int, contract: str) -> str:
    """The operator's EIP-712 signature of a report (65 bytes, 0x-hex)."""
    signed = account.sign_message(_typed(report, chain_id, contract))
    return "0x" + bytes(signed.signature).hex()


def recover_signer(report: DeviceReport, signature: str, *, chain_id: int, contract: str) -> str | None:
    """The address that signed ``report``, or None if the signature is malformed."""
    try:
        return str(Account.recover_message(_typed(report, chain_id, contract), signature=signature))
    except Exception:
        return None


class SignedReport(BaseModel):
    """A report with its operator's signature and its inclusion proof in the period's root."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report: DeviceReport
    signature: Signature
    proof: list[Bytes32] = []
