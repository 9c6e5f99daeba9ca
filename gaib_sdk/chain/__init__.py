"""The web3.py layer: connections, artifacts, deployment. Knows nothing of underwriting."""

from gaib_sdk.chain.artifacts import decode_revert, load_artifact, load_artifact_file
from gaib_sdk.chain.connection import Chain, TxResult
from gaib_sdk.chain.deploy import Deployment, DeploymentStore, Protocol, deploy_protocol, role

__all__ = [
    "Chain",
    "Deployment",
    "DeploymentStore",
    "Protocol",
    "TxResult",
    "decode_revert",
    "deploy_protocol",
    "load_artifact",
    "load_artifact_file",
    "role",
]
