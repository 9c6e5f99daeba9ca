"""The node verification network, off-chain: device reports and their EIP-712 signatures, the node's store
on disk, the runner behind `gaib node run`, the report bundles it publishes, and the client's methods to
bond, submit, challenge and read attested status. The contract is ``NodeAttestation.sol``; the operator's
guide is docs/node-operators.md."""

from gaib_sdk.node.bundle import Bundle, fetch_bundle
from gaib_sdk.node.client import AttestedStatus, Fault, NodeMixin, OperatorStatus
from gaib_sdk.node.report import DeviceReport, Health, SignedReport, device_id, recover_signer, sign_report
from gaib_sdk.node.runner import NodeRunner, PeriodResult, aggregate
from gaib_sdk.node.store import NodeStore, Sample

__all__ = [
    "AttestedStatus",
    "Bundle",
    "DeviceReport",
    "Fault",
    "Health",
    "NodeMixin",
    "NodeRunner",
    "NodeStore",
    "OperatorStatus",
    "PeriodResult",
    "Sample",
    "SignedReport",
    "aggregate",
    "device_id",
    "fetch_bundle",
    "recover_signer",
    "sign_report",
]
