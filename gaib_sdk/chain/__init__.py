"""The web3.py layer: connections, the transaction manager and its journal, artifacts, deployment. Knows
nothing of underwriting."""

from gaib_sdk.chain.artifacts import decode_revert, load_artifact, load_artifact_file
from gaib_sdk.chain.connection import Chain, EmbeddedState, Intent, TxResult, read_ahead
from gaib_sdk.chain.deploy import Deployment, DeploymentStore, Protocol, deploy_protocol, role
from gaib_sdk.chain.journal import Journal
from gaib_sdk.chain.transport import RetryPolicy, RpcProvider

__all__ = [
    "Chain",
    "Deployment",
    "DeploymentStore",
    "EmbeddedState",
    "Intent",
    "Journal",
    "Protocol",
    "RetryPolicy",
    "RpcProvider",
    "TxResult",
    "decode_revert",
    "deploy_protocol",
    "load_artifact",
    "load_artifact_file",
    "read_ahead",
    "role",
]
