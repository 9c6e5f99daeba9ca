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
///
///      Ownership (docs/security.md, "Asset ownership"): a registrar registers only for itself (owner ==
///      msg.sender) and only the owner retires. Because ids are public, a registration is provisional for
///      `confirmationDelay` seconds (or until the registrar admin confirms it): while provisional, or while
///      disputed, collateralInfo reports it as Unconfirmed or Disputed, so the CreditFacility refuses it as
///      collateral. Within that time the rightful owner asks the registrar admin to dispute a squatted
///      registration, then to resolve it (give it to the rightful owner) or void it (the id is free again).
contract AssetRegistry is AccessControl {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice The admin role of REGISTRAR_ROLE (it onboards providers), and the judge of ownership disputes.
    bytes32 public constant REGISTRAR_ADMIN_ROLE = keccak256("REGISTRAR_ADMIN_ROLE");
    /// @notice The longest confirmation delay a deployment may set.
    uint64 public constant MAX_CONFIRMATION_DELAY = 30 days;
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
        Impaired,
        // Not financeable, stored: the registrar admin holds the entry while its ownership is disputed.
        Disputed,
        // Never stored: what collateralInfo reports for an Active entry whose ownership is still provisional.
        Unconfirmed
    }

    struct Asset {
        bytes32 kind;
        bytes32 recordHash;
        address owner;
        Status status;
        uint64 registeredAt;
        bytes32 attestation;
        uint64 attestedAt;
        /// @dev Confirmed early by the registrar admin (shares attestedAt's slot: no extra write).
        bool confirmed;
    }

    /// @notice A cluster as getCluster reports it. `attestation` is the latest one recorded by attestCluster;
    ///         0 until then (the registration's own is in its ClusterAttested event).
    struct Cluster {
        bytes32 kind;
        address owner;
        uint32 size;
        uint48 registeredAt;
        Status status;
        bytes32 attestation;
        /// @dev Confirmed early by the registrar admin.
        bool confirmed;
    }

    /// @dev What a cluster holds in storage: one slot, so a registration is one write. The kind is interned
    ///      (its index in clusterKinds), the attestation lives in its event until attestCluster records a newer one.
    struct ClusterSlot {
        address owner;
        uint32 size;
        uint40 registeredAt;
        Status status;
        bool confirmed;
        uint8 kindIndex;
    }

    /// @dev Per kind, one slot: its index in clusterKinds plus one (0: not seen yet) and its clusters and
    ///      clustered assets, so a registration updates the kind and the counts in one write.
    struct KindCounts {
        uint8 index1;
        uint64 clusters;
        uint184 assets;
    }

    /// @notice What an id names in this registry: nothing, an asset, or a cluster root.
    enum Entry {
        None,
        Asset,
        Cluster
    }

    mapping(bytes32 => Asset) private _assets;
    mapping(bytes32 => ClusterSlot) private _clusters;
    uint256 public assetCount;
    /// @notice Cluster kinds in the order first registered (at most MAX_CLUSTER_KINDS).
    bytes32[] public clusterKinds;
    mapping(bytes32 kind => KindCounts) private _kindCounts;
    mapping(bytes32 root => bytes32) private _clusterAttestations;
    uint256 public constant MAX_CLUSTER_KINDS = 255;
    /// @notice When an asset (or a cluster, by its root) reached a final status (retired or liquidated); 0
    ///         while it has not. The node network reads it for asset ids: a report on an asset that was
    ///         already final when a period began is false.
    mapping(bytes32 => uint64) public closedAt;
    /// @notice Seconds after registration until a registration's ownership is confirmed (unless disputed).
    uint64 public immutable confirmationDelay;

    event AssetRegistered(bytes32 indexed assetId, bytes32 indexed kind, address indexed owner, bytes32 recordHash);
    event AssetAttested(bytes32 indexed assetId, bytes32 attestation);
    event StatusChanged(bytes32 indexed assetId, Status from, Status to);
    event OwnerChanged(bytes32 indexed assetId, address from, address to);
    event ClusterRegistered(bytes32 indexed root, bytes32 indexed kind, address indexed owner, uint32 size);
    event ClusterAttested(bytes32 indexed root, bytes32 attestation);
    event ClusterStatusChanged(bytes32 indexed root, Status from, Status to);
    event ClusterOwnerChanged(bytes32 indexed root, address from, address to);
    /// @notice The registrar admin confirmed an entry's (asset's or cluster's) ownership before the delay ran out.
    event OwnershipConfirmed(bytes32 indexed id, address indexed owner);
    /// @notice The registrar admin froze an entry while a claim to it is examined.
    event OwnershipDisputed(bytes32 indexed id, address indexed owner, Status status);
    /// @notice The dispute ended: the entry is Active and confirmed, owned by `to`.
    event DisputeResolved(bytes32 indexed id, address from, address to);
    /// @notice The registration was struck out: the id is free to register again.
    event RegistrationVoided(bytes32 indexed id, address indexed owner);

    error AlreadyRegistered(bytes32 assetId);
    error UnknownAsset(bytes32 assetId);
    error LengthMismatch(uint256 ids, uint256 hashes);
    error EmptyRecordHash(bytes32 assetId);
    error InvalidTransition(bytes32 assetId, Status from, Status to);
    error ClusterAlreadyRegistered(bytes32 root);
    error UnknownCluster(bytes32 root);
    error EmptyCluster(bytes32 root);
    error NotOwnRegistration(address owner, address registrar);
    error NotAssetOwner(bytes32 id, address owner, address caller);
    error NotConfirmed(bytes32 id, uint64 confirmsAt);
    error NotDisputed(bytes32 id, Status status);
    error UnknownEntry(bytes32 id);
    error ZeroOwner();
    error ConfirmationDelayTooLong(uint64 delay);
    error TooManyClusterKinds(bytes32 kind);

    /// @param confirmationDelay_ seconds a registration stays provisional (at most MAX_CONFIRMATION_DELAY).
    constructor(address admin, uint64 confirmationDelay_) {
        if (confirmationDelay_ > MAX_CONFIRMATION_DELAY) revert ConfirmationDelayTooLong(confirmationDelay_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setRoleAdmin(REGISTRAR_ROLE, REGISTRAR_ADMIN_ROLE);
        confirmationDelay = confirmationDelay_;
    }

    // ---- one entry per asset ----

    /// @notice Register a batch of the caller's own assets of one kind (`owner` must be the caller). Reverts,
    ///         registering none, if any id is already known (as an asset or as a cluster root). Each is
    ///         provisional for confirmationDelay seconds.
    function registerBatch(
        bytes32 kind,
        address owner,
        bytes32[] calldata assetIds,
        bytes32[] calldata recordHashes,
        bytes32[] calldata attestations
    ) external onlyRole(REGISTRAR_ROLE) {
        if (owner != msg.sender) revert NotOwnRegistration(owner, msg.sender);
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
                attestedAt: uint64(block.timestamp),
                confirmed: false
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

    /// @notice The owner retires an active asset (sold, scrapped) once its ownership is confirmed: a
    ///         provisional registration cannot be made final before its owner can be challenged.
    function retire(bytes32 assetId) external {
        Asset storage a = _known(assetId);
        if (a.owner != msg.sender) revert NotAssetOwner(assetId, a.owner, msg.sender);
        if (a.status == Status.Active && !_confirmed(a.confirmed, a.registeredAt)) {
            revert NotConfirmed(assetId, a.registeredAt + confirmationDelay);
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

    /// @notice Register a whole cluster of the caller's (`owner` must be the caller) by the Merkle root of its
    ///         (assetId, recordHash) leaves: one write. Provisional for confirmationDelay seconds.
    function registerCluster(bytes32 root, bytes32 kind, address owner, uint32 size, bytes32 attestation)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (owner != msg.sender) revert NotOwnRegistration(owner, msg.sender);
        if (size == 0 || root == bytes32(0)) revert EmptyCluster(root);
        if (_clusters[root].size != 0) revert ClusterAlreadyRegistered(root);
        if (_assets[root].status != Status.None) revert AlreadyRegistered(root);
        // The cluster's slot and its kind's counts are each written as one word (ClusterSlot's and KindCounts'
        // layouts, lowest bits first): a field-by-field write would read the slot back for every field.
        KindCounts storage counts = _kindCounts[kind];
        uint256 countsWord;
        assembly ("memory-safe") {
            countsWord := sload(counts.slot)
        }
        uint256 index1 = countsWord & 0xff;
        if (index1 == 0) {
            // A kind never seen: interned once (the only registration that writes more than two slots).
            if (clusterKinds.length == MAX_CLUSTER_KINDS) revert TooManyClusterKinds(kind);
            clusterKinds.push(kind);
            index1 = clusterKinds.length;
        }
        // No overflow: 2**64 registrations cannot happen, and assets stay below 2**64 * 2**32 < 2**184.
        uint256 clusters = uint64(countsWord >> 8) + 1;
        uint256 assets = (countsWord >> 72) + size;
        ClusterSlot storage c = _clusters[root];
        uint256 word = uint256(uint160(owner)) | (uint256(size) << 160) | (uint256(uint40(block.timestamp)) << 192)
            | (uint256(uint8(Status.Active)) << 232) | ((index1 - 1) << 248);
        assembly ("memory-safe") {
            sstore(c.slot, word)
            sstore(counts.slot, or(index1, or(shl(8, clusters), shl(72, assets))))
        }
        emit ClusterRegistered(root, kind, owner, size);
        emit ClusterAttested(root, attestation);
    }

    /// @notice Record a newer attestation (e.g. the Merkle root of a period's telemetry) for a cluster.
    function attestCluster(bytes32 root, bytes32 attestation) external onlyRole(REPORTER_ROLE) {
        _knownCluster(root);
        _clusterAttestations[root] = attestation;
        emit ClusterAttested(root, attestation);
    }

    /// @notice Move a whole cluster to a new status; the same transitions as an asset's (see _allowed).
    function setClusterStatus(bytes32 root, Status status) external onlyRole(FACILITY_ROLE) {
        ClusterSlot storage c = _knownCluster(root);
        if (!_allowed(c.status, status)) revert InvalidTransition(root, c.status, status);
        emit ClusterStatusChanged(root, c.status, status);
        c.status = status;
        if (status == Status.Liquidated) closedAt[root] = uint64(block.timestamp);
    }

    /// @notice Recovery: the whole cluster passes to a new operator (after a true sale to the underwriter).
    function setClusterOwner(bytes32 root, address owner) external onlyRole(FACILITY_ROLE) {
        ClusterSlot storage c = _knownCluster(root);
        emit ClusterOwnerChanged(root, c.owner, owner);
        c.owner = owner;
    }

    /// @notice The owner retires an active cluster (sold, scrapped, split up) once its ownership is confirmed.
    function retireCluster(bytes32 root) external {
        ClusterSlot storage c = _knownCluster(root);
        if (c.owner != msg.sender) revert NotAssetOwner(root, c.owner, msg.sender);
        if (c.status == Status.Active && !_confirmed(c.confirmed, c.registeredAt)) {
            revert NotConfirmed(root, uint64(c.registeredAt) + confirmationDelay);
        }
        if (c.status != Status.Active) revert InvalidTransition(root, c.status, Status.Retired);
        emit ClusterStatusChanged(root, c.status, Status.Retired);
        c.status = Status.Retired;
        closedAt[root] = uint64(block.timestamp);
    }

    /// @notice A cluster's record (all zero for an unknown root).
    function getCluster(bytes32 root) external view returns (Cluster memory) {
        ClusterSlot storage c = _clusters[root];
        if (c.size == 0) return Cluster(bytes32(0), address(0), 0, 0, Status.None, bytes32(0), false);
        return Cluster(
            clusterKinds[c.kindIndex],
            c.owner,
            c.size,
            c.registeredAt,
            c.status,
            _clusterAttestations[root],
            c.confirmed
        );
    }

    /// @notice Clusters registered (and not voided), all kinds together.
    function clusterCount() external view returns (uint256 total) {
        for (uint256 i = 0; i < clusterKinds.length; ++i) total += _kindCounts[clusterKinds[i]].clusters;
    }

    /// @notice Assets inside registered (and not voided) clusters, all kinds together.
    function clusteredAssetCount() external view returns (uint256 total) {
        for (uint256 i = 0; i < clusterKinds.length; ++i) total += _kindCounts[clusterKinds[i]].assets;
    }

    // ---- either ----

    /// @notice Whether `id` is an asset id, a cluster root, or unknown.
    function entryType(bytes32 id) public view returns (Entry) {
        if (_assets[id].status != Status.None) return Entry.Asset;
        if (_clusters[id].size != 0) return Entry.Cluster;
        return Entry.None;
    }

    /// @notice What a deal needs to know of its collateral, an asset or a cluster alike: which it is, its
    ///         status and its owner (Entry.None, Status.None and address(0) for an unknown id). An Active
    ///         entry whose ownership is still provisional is reported Unconfirmed, a disputed one Disputed:
    ///         neither is Active, so the CreditFacility refuses it (CollateralNotAvailable).
    function collateralInfo(bytes32 id) external view returns (Entry entry, Status status, address owner) {
        Asset storage a = _assets[id];
        if (a.status != Status.None) {
            bool unconfirmed = a.status == Status.Active && !_confirmed(a.confirmed, a.registeredAt);
            return (Entry.Asset, unconfirmed ? Status.Unconfirmed : a.status, a.owner);
        }
        ClusterSlot storage c = _clusters[id];
        if (c.size != 0) {
            bool unconfirmed = c.status == Status.Active && !_confirmed(c.confirmed, c.registeredAt);
            return (Entry.Cluster, unconfirmed ? Status.Unconfirmed : c.status, c.owner);
        }
        return (Entry.None, Status.None, address(0));
    }

    /// @notice When an entry's ownership is (or was) confirmed by the delay: its registration time plus
    ///         confirmationDelay; and whether it is confirmed now (by the delay or by the registrar admin).
    ///         (0, false) for an unknown id.
    function confirmation(bytes32 id) external view returns (uint64 confirmsAt, bool confirmed) {
        Asset storage a = _assets[id];
        if (a.status != Status.None) {
            return (a.registeredAt + confirmationDelay, _confirmed(a.confirmed, a.registeredAt));
        }
        ClusterSlot storage c = _clusters[id];
        if (c.size != 0) return (uint64(c.registeredAt) + confirmationDelay, _confirmed(c.confirmed, c.registeredAt));
        return (0, false);
    }

    // ---- ownership: the registrar admin ----

    /// @notice Confirm registrations before their delay runs out (e.g. once a bonded node attested the
    ///         hardware and the owner's claim was checked). Disputed entries must be resolved instead.
    function confirm(bytes32[] calldata ids) external onlyRole(REGISTRAR_ADMIN_ROLE) {
        for (uint256 i = 0; i < ids.length; ++i) {
            bytes32 id = ids[i];
            Entry entry = entryType(id);
            if (entry == Entry.None) revert UnknownEntry(id);
            Status status = entry == Entry.Asset ? _assets[id].status : _clusters[id].status;
            if (status == Status.Disputed) revert InvalidTransition(id, status, Status.Active);
            address owner;
            if (entry == Entry.Asset) {
                _assets[id].confirmed = true;
                owner = _assets[id].owner;
            } else {
                _clusters[id].confirmed = true;
                owner = _clusters[id].owner;
            }
            emit OwnershipConfirmed(id, owner);
        }
    }

    /// @notice Freeze an unfinanced entry (Active, or Retired by a possible squatter) while a claim that it
    ///         belongs to another provider is examined. A disputed entry cannot be financed or retired.
    function dispute(bytes32 id) external onlyRole(REGISTRAR_ADMIN_ROLE) {
        (Status from, address owner) = _entryState(id);
        if (from != Status.Active && from != Status.Retired) revert InvalidTransition(id, from, Status.Disputed);
        _setEntryStatus(id, from, Status.Disputed);
        closedAt[id] = 0;
        emit OwnershipDisputed(id, owner, from);
    }

    /// @notice End a dispute: the entry goes back to Active, confirmed, owned by `owner` (the rightful
    ///         provider, or the same owner when the claim failed).
    function resolveDispute(bytes32 id, address owner) external onlyRole(REGISTRAR_ADMIN_ROLE) {
        if (owner == address(0)) revert ZeroOwner();
        (Status status, address from) = _entryState(id);
        if (status != Status.Disputed) revert NotDisputed(id, status);
        _setEntryStatus(id, status, Status.Active);
        if (entryType(id) == Entry.Asset) {
            Asset storage a = _assets[id];
            a.confirmed = true;
            if (from != owner) {
                emit OwnerChanged(id, from, owner);
                a.owner = owner;
            }
        } else {
            ClusterSlot storage c = _clusters[id];
            c.confirmed = true;
            if (from != owner) {
                emit ClusterOwnerChanged(id, from, owner);
                c.owner = owner;
            }
        }
        emit DisputeResolved(id, from, owner);
    }

    /// @notice End a dispute by striking the registration out: the id is free, so the rightful provider
    ///         registers it with its own record.
    function voidRegistration(bytes32 id) external onlyRole(REGISTRAR_ADMIN_ROLE) {
        (Status status, address owner) = _entryState(id);
        if (status != Status.Disputed) revert NotDisputed(id, status);
        if (entryType(id) == Entry.Asset) {
            delete _assets[id];
            assetCount -= 1;
        } else {
            ClusterSlot storage c = _clusters[id];
            KindCounts storage k = _kindCounts[clusterKinds[c.kindIndex]];
            k.clusters -= 1;
            k.assets -= c.size;
            delete _clusters[id];
            delete _clusterAttestations[id];
        }
        delete closedAt[id];
        emit RegistrationVoided(id, owner);
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

    function _confirmed(bool early, uint256 registeredAt) private view returns (bool) {
        return early || block.timestamp >= registeredAt + confirmationDelay;
    }

    function _entryState(bytes32 id) private view returns (Status status, address owner) {
        Entry entry = entryType(id);
        if (entry == Entry.Asset) return (_assets[id].status, _assets[id].owner);
        if (entry == Entry.Cluster) return (_clusters[id].status, _clusters[id].owner);
        revert UnknownEntry(id);
    }

    function _setEntryStatus(bytes32 id, Status from, Status to) private {
        if (entryType(id) == Entry.Asset) {
            emit StatusChanged(id, from, to);
            _assets[id].status = to;
        } else {
            emit ClusterStatusChanged(id, from, to);
            _clusters[id].status = to;
        }
    }

    function _known(bytes32 assetId) private view returns (Asset storage a) {
        a = _assets[assetId];
        if (a.status == Status.None) revert UnknownAsset(assetId);
    }

    function _knownCluster(bytes32 root) private view returns (ClusterSlot storage c) {
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
