// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title AssetRegistry
/// @notice One entry per digitized asset (its kind, the keccak hash of its off-chain record, its owner, its
///         status and its latest telemetry attestation), or one Merkle root per cluster so that a cluster of
///         1,024 GPUs costs one write. The asset id is computed off-chain as keccak256(abi.encode(kind,
///         vendor, serial)), so the same machine always gets the same id.
/// @dev A cluster's leaves are keccak256(bytes.concat(keccak256(abi.encode(assetId, recordHash)))), the
///      OpenZeppelin MerkleProof convention (sorted pairs, double-hashed leaves). The registry cannot see
///      inside a cluster, so it cannot refuse an asset registered both alone and in a cluster: the SDK
///      checks that before it sends. A cluster root itself is registered once.
///      Statuses move along allowed transitions only (see _allowed).
contract AssetRegistry is AccessControl {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    bytes32 public constant REPORTER_ROLE = keccak256("REPORTER_ROLE");
    /// @notice Held by the CreditFacility: moves assets through financing, default and recovery.
    bytes32 public constant FACILITY_ROLE = keccak256("FACILITY_ROLE");

    enum Status {
        None,
        Active,
        Financed,
        Defaulted,
        Liquidated,
        Retired,
        Impaired
    }

    struct Asset {
        bytes32 kind;
        bytes32 recordHash;
        address owner;
        Status status;
        uint64 registeredAt;
        bytes32 attestation;
        uint64 attestedAt;
    }

    struct Cluster {
        bytes32 kind;
        address owner;
        uint32 size;
        uint64 registeredAt;
        bytes32 attestation;
    }

    mapping(bytes32 => Asset) private _assets;
    mapping(bytes32 => Cluster) private _clusters;
    uint256 public assetCount;
    uint256 public clusterCount;
    uint256 public clusteredAssetCount;
    /// @notice When an asset reached a final status (retired or liquidated); 0 while it has not. The node
    ///         network reads it: a report on an asset that was already final when a period began is false.
    mapping(bytes32 => uint64) public closedAt;

    event AssetRegistered(bytes32 indexed assetId, bytes32 indexed kind, address indexed owner, bytes32 recordHash);
    event AssetAttested(bytes32 indexed assetId, bytes32 attestation);
    event StatusChanged(bytes32 indexed assetId, Status from, Status to);
    event OwnerChanged(bytes32 indexed assetId, address from, address to);
    event ClusterRegistered(bytes32 indexed root, bytes32 indexed kind, address indexed owner, uint32 size);
    event ClusterAttested(bytes32 indexed root, bytes32 attestation);

    error AlreadyRegistered(bytes32 assetId);
    error UnknownAsset(bytes32 assetId);
    error LengthMismatch(uint256 ids, uint256 hashes);
    error EmptyRecordHash(bytes32 assetId);
    error InvalidTransition(bytes32 assetId, Status from, Status to);
    error ClusterAlreadyRegistered(bytes32 root);
    error UnknownCluster(bytes32 root);
    error EmptyCluster(bytes32 root);

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---- one entry per asset ----

    /// @notice Register a batch of assets of one kind and owner. Reverts, registering none, if any id
    ///         is already known.
    function registerBatch(
        bytes32 kind,
        address owner,
        bytes32[] calldata assetIds,
        bytes32[] calldata recordHashes,
        bytes32[] calldata attestations
    ) external onlyRole(REGISTRAR_ROLE) {
        uint256 n = assetIds.length;
        if (recordHashes.length != n) revert LengthMismatch(n, recordHashes.length);
        if (attestations.length != n) revert LengthMismatch(n, attestations.length);
        for (uint256 i = 0; i < n; ++i) {
            bytes32 id = assetIds[i];
            if (_assets[id].status != Status.None) revert AlreadyRegistered(id);
            if (recordHashes[i] == bytes32(0)) revert EmptyRecordHash(id);
            _assets[id] = Asset({
                kind: kind,
                recordHash: recordHashes[i],
                owner: owner,
                status: Status.Active,
                registeredAt: uint64(block.timestamp),
                attestation: attestations[i],
                attestedAt: uint64(block.timestamp)
            });
            emit AssetRegistered(id, kind, owner, recordHashes[i]);
            emit AssetAttested(id, attestations[i]);
        }
        assetCount += n;
    }

    /// @notice Record a newer telemetry attestation for an asset.
    function attest(bytes32 assetId, bytes32 attestation) external onlyRole(REPORTER_ROLE) {
        Asset storage a = _known(assetId);
        a.attestation = attestation;
        a.attestedAt = uint64(block.timestamp);
        emit AssetAttested(assetId, attestation);
    }

    /// @notice Move an asset to a new status; only the transitions in _allowed are accepted.
    function setStatus(bytes32 assetId, Status status) external onlyRole(FACILITY_ROLE) {
        Asset storage a = _known(assetId);
        if (!_allowed(a.status, status)) revert InvalidTransition(assetId, a.status, status);
        emit StatusChanged(assetId, a.status, status);
        a.status = status;
        if (status == Status.Liquidated) closedAt[assetId] = uint64(block.timestamp);
    }

    /// @notice Recovery: the hardware passes to a new operator (after a true sale to the underwriter).
    function setOwner(bytes32 assetId, address owner) external onlyRole(FACILITY_ROLE) {
        Asset storage a = _known(assetId);
        emit OwnerChanged(assetId, a.owner, owner);
        a.owner = owner;
    }

    /// @notice The operator retires an active asset it owns (sold, scrapped).
    function retire(bytes32 assetId) external {
        Asset storage a = _known(assetId);
        if (a.owner != msg.sender && !hasRole(REGISTRAR_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, REGISTRAR_ROLE);
        }
        if (a.status != Status.Active) revert InvalidTransition(assetId, a.status, Status.Retired);
        emit StatusChanged(assetId, a.status, Status.Retired);
        a.status = Status.Retired;
        closedAt[assetId] = uint64(block.timestamp);
    }

    function getAsset(bytes32 assetId) external view returns (Asset memory) {
        return _assets[assetId];
    }

    function isRegistered(bytes32 assetId) external view returns (bool) {
        return _assets[assetId].status != Status.None;
    }

    /// @notice Whether a move from one status to another is allowed.
    function isAllowedTransition(Status from, Status to) external pure returns (bool) {
        return _allowed(from, to);
    }

    // ---- one root per cluster ----

    /// @notice Register a whole cluster by the Merkle root of its (assetId, recordHash) leaves: one write.
    function registerCluster(bytes32 root, bytes32 kind, address owner, uint32 size, bytes32 attestation)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (size == 0 || root == bytes32(0)) revert EmptyCluster(root);
        if (_clusters[root].size != 0) revert ClusterAlreadyRegistered(root);
        _clusters[root] = Cluster(kind, owner, size, uint64(block.timestamp), attestation);
        clusterCount += 1;
        clusteredAssetCount += size;
        emit ClusterRegistered(root, kind, owner, size);
        emit ClusterAttested(root, attestation);
    }

    /// @notice Record a newer attestation (e.g. the Merkle root of a period's telemetry) for a cluster.
    function attestCluster(bytes32 root, bytes32 attestation) external onlyRole(REPORTER_ROLE) {
        Cluster storage c = _clusters[root];
        if (c.size == 0) revert UnknownCluster(root);
        c.attestation = attestation;
        emit ClusterAttested(root, attestation);
    }

    function getCluster(bytes32 root) external view returns (Cluster memory) {
        return _clusters[root];
    }

    /// @notice Whether the asset with this id and record hash is in the cluster, by its inclusion proof.
    function verifyInCluster(bytes32 root, bytes32 assetId, bytes32 recordHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        if (_clusters[root].size == 0) return false;
        return MerkleProof.verifyCalldata(proof, root, clusterLeaf(assetId, recordHash));
    }

    function clusterLeaf(bytes32 assetId, bytes32 recordHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(assetId, recordHash))));
    }

    // ---- internals ----

    function _known(bytes32 assetId) private view returns (Asset storage a) {
        a = _assets[assetId];
        if (a.status == Status.None) revert UnknownAsset(assetId);
    }

    /// @dev The life of an asset: active -> financed -> (impaired <-> financed) -> defaulted ->
    ///      financed again under a new operator, or liquidated; financed -> active when the deal is repaid;
    ///      active -> retired. Liquidated and retired are final.
    function _allowed(Status from, Status to) private pure returns (bool) {
        if (from == Status.Active) return to == Status.Financed || to == Status.Retired;
        if (from == Status.Financed) {
            return to == Status.Active || to == Status.Impaired || to == Status.Defaulted;
        }
        if (from == Status.Impaired) return to == Status.Financed || to == Status.Defaulted;
        if (from == Status.Defaulted) return to == Status.Financed || to == Status.Liquidated;
        return false;
    }
}
