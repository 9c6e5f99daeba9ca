"""The node verification network, off-chain: device reports and their EIP-712 signatures, the node's store
on disk, the runner behind `gaib node run`, the report bundles it publishes, and what the client's
``gaib.nodes`` answers with (:mod:`gaib_sdk.namespaces.nodes` bonds, submits, challenges and reads attested
status). The contract is ``NodeAttestation.sol``; the operator's guide is docs/node-operators.md."""

from typing import TYPE_CHECKING

from gaib_sdk._lazy import lazy_exports

if TYPE_CHECKING:
    from gaib_sdk.node.bundle import Bundle, fetch_bundle
    from gaib_sdk.node.client import AttestedStatus, Fault, OperatorStatus
    from gaib_sdk.node.report import DeviceReport, Health, SignedReport, device_id, recover_signer, sign_report
    from gaib_sdk.node.runner import NodeRunner, PeriodResult, aggregate
    from gaib_sdk.node.store import NodeStore, Sample

# Imported on first use, like gaib_sdk's own names: `gaib --version` loads this package for its parser only.
_EXPORTS = {
    "AttestedStatus": "gaib_sdk.node.client",
    "Bundle": "gaib_sdk.node.bundle",
    "DeviceReport": "gaib_sdk.node.report",
    "Fault": "gaib_sdk.node.client",
    "Health": "gaib_sdk.node.report",
    "NodeRunner": "gaib_sdk.node.runner",
    "NodeStore": "gaib_sdk.node.store",
    "OperatorStatus": "gaib_sdk.node.client",
    "PeriodResult": "gaib_sdk.node.runner",
    "Sample": "gaib_sdk.node.store",
    "SignedReport": "gaib_sdk.node.report",
    "aggregate": "gaib_sdk.node.runner",
    "device_id": "gaib_sdk.node.report",
    "fetch_bundle": "gaib_sdk.node.bundle",
    "recover_signer": "gaib_sdk.node.report",
    "sign_report": "gaib_sdk.node.report",
}


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


__all__ = [
    "AttestedStatus",
    "Bundle",
    "DeviceReport",
    "Fault",
    "Health",
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
