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
///      checks that before it sends. A cluster root itself is registered once, and never as an asset id.
///      A cluster is collateral like an asset: it has an owner and a status (packed into the slot of its
///      owner and size, so registering it is still one write) that moves along the same transitions.
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

    /// @dev kind, then owner + size + registeredAt + status in one slot, then the attestation.
    struct Cluster {
        bytes32 kind;
        address owner;
        uint32 size;
        uint48 registeredAt;
        Status status;
        bytes32 attestation;
    }

    /// @notice What an id names in this registry: nothing, an asset, or a cluster root.
    enum Entry {
        None,
        Asset,
        Cluster
    }

    mapping(bytes32 => Asset) private _assets;
    mapping(bytes32 => Cluster) private _clusters;
    uint256 public assetCount;
    uint256 public clusterCount;
    uint256 public clusteredAssetCount;
    /// @notice When an asset (or a cluster, by its root) reached a final status (retired or liquidated); 0
    ///         while it has not. The node network reads it for asset ids: a report on an asset that was
    ///         already final when a period began is false.
    mapping(bytes32 => uint64) public closedAt;

    event AssetRegistered(bytes32 indexed assetId, bytes32 indexed kind, address indexed owner, bytes32 recordHash);
    event AssetAttested(bytes32 indexed assetId, bytes32 attestation);
    event StatusChanged(bytes32 indexed assetId, Status from, Status to);
    event OwnerChanged(bytes32 indexed assetId, address from, address to);
    event ClusterRegistered(bytes32 indexed root, bytes32 indexed kind, address indexed owner, uint32 size);
    event ClusterAttested(bytes32 indexed root, bytes32 attestation);
    event ClusterStatusChanged(bytes32 indexed root, Status from, Status to);
    event ClusterOwnerChanged(bytes32 indexed root, address from, address to);

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
    ///         is already known (as an asset or as a cluster root).
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
            if (_clusters[id].size != 0) revert ClusterAlreadyRegistered(id);
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
        if (_assets[root].status != Status.None) revert AlreadyRegistered(root);
        _clusters[root] = Cluster(kind, owner, size, uint48(block.timestamp), Status.Active, attestation);
        clusterCount += 1;
        clusteredAssetCount += size;
        emit ClusterRegistered(root, kind, owner, size);
        emit ClusterAttested(root, attestation);
    }

    /// @notice Record a newer attestation (e.g. the Merkle root of a period's telemetry) for a cluster.
    function attestCluster(bytes32 root, bytes32 attestation) external onlyRole(REPORTER_ROLE) {
        Cluster storage c = _knownCluster(root);
        c.attestation = attestation;
        emit ClusterAttested(root, attestation);
    }

    /// @notice Move a whole cluster to a new status; the same transitions as an asset's (see _allowed).
    function setClusterStatus(bytes32 root, Status status) external onlyRole(FACILITY_ROLE) {
        Cluster storage c = _knownCluster(root);
        if (!_allowed(c.status, status)) revert InvalidTransition(root, c.status, status);
        emit ClusterStatusChanged(root, c.status, status);
        c.status = status;
        if (status == Status.Liquidated) closedAt[root] = uint64(block.timestamp);
    }

    /// @notice Recovery: the whole cluster passes to a new operator (after a true sale to the underwriter).
    function setClusterOwner(bytes32 root, address owner) external onlyRole(FACILITY_ROLE) {
        Cluster storage c = _knownCluster(root);
        emit ClusterOwnerChanged(root, c.owner, owner);
        c.owner = owner;
    }

    /// @notice The operator retires an active cluster it owns (sold, scrapped, split up).
    function retireCluster(bytes32 root) external {
        Cluster storage c = _knownCluster(root);
        if (c.owner != msg.sender && !hasRole(REGISTRAR_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, REGISTRAR_ROLE);
        }
        if (c.status != Status.Active) revert InvalidTransition(root, c.status, Status.Retired);
        emit ClusterStatusChanged(root, c.status, Status.Retired);
        c.status = Status.Retired;
        closedAt[root] = uint64(block.timestamp);
    }

    function getCluster(bytes32 root) external view returns (Cluster memory) {
        return _clusters[root];
    }

    // ---- either ----

    /// @notice Whether `id` is an asset id, a cluster root, or unknown.
    function entryType(bytes32 id) public view returns (Entry) {
        if (_assets[id].status != Status.None) return Entry.Asset;
        if (_clusters[id].size != 0) return Entry.Cluster;
        return Entry.None;
    }

    /// @notice What a deal needs to know of its collateral, an asset or a cluster alike: which it is, its
    ///         status and its owner (Entry.None, Status.None and address(0) for an unknown id).
    function collateralInfo(bytes32 id) external view returns (Entry entry, Status status, address owner) {
        Asset storage a = _assets[id];
        if (a.status != Status.None) return (Entry.Asset, a.status, a.owner);
        Cluster storage c = _clusters[id];
        if (c.size != 0) return (Entry.Cluster, c.status, c.owner);
        return (Entry.None, Status.None, address(0));
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

    function _knownCluster(bytes32 root) private view returns (Cluster storage c) {
        c = _clusters[root];
        if (c.size == 0) revert UnknownCluster(root);
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
