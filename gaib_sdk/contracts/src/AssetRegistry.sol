// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title AssetRegistry
/// @notice One entry per digitized asset: its kind, the keccak hash of its off-chain record, its owner,
///         its status and its latest telemetry attestation. The asset id is computed off-chain as
///         keccak256(kind, vendor, serial), so the same machine always gets the same id and can be
///         registered only once.
contract AssetRegistry is AccessControl {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    bytes32 public constant REPORTER_ROLE = keccak256("REPORTER_ROLE");
    /// @notice Held by the CreditFacility: moves assets between active and financed.
    bytes32 public constant FACILITY_ROLE = keccak256("FACILITY_ROLE");

    enum Status {
        None,
        Active,
        Financed,
        Defaulted,
        Liquidated,
        Retired
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

    mapping(bytes32 => Asset) private _assets;
    uint256 public assetCount;

    event AssetRegistered(bytes32 indexed assetId, bytes32 indexed kind, address indexed owner, bytes32 recordHash);
    event AssetAttested(bytes32 indexed assetId, bytes32 attestation);
    event StatusChanged(bytes32 indexed assetId, Status from, Status to);

    error AlreadyRegistered(bytes32 assetId);
    error UnknownAsset(bytes32 assetId);
    error LengthMismatch(uint256 ids, uint256 hashes);
    error EmptyRecordHash(bytes32 assetId);

    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

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

    function setStatus(bytes32 assetId, Status status) external onlyRole(FACILITY_ROLE) {
        Asset storage a = _known(assetId);
        emit StatusChanged(assetId, a.status, status);
        a.status = status;
    }

    function getAsset(bytes32 assetId) external view returns (Asset memory) {
        return _assets[assetId];
    }

    function isRegistered(bytes32 assetId) external view returns (bool) {
        return _assets[assetId].status != Status.None;
    }

    function _known(bytes32 assetId) private view returns (Asset storage a) {
        a = _assets[assetId];
        if (a.status == Status.None) revert UnknownAsset(assetId);
    }
}
