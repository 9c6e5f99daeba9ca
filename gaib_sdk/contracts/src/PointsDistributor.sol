// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title PointsDistributor
/// @notice GAIB incentives for liquidity providers, per epoch. Off chain, the SDK computes each account's
///         points from the event index (gaib_sdk.index.points) and its share of the epoch's GAIB, and builds
///         a Merkle tree of (epoch, account, amount); the rewarder publishes the root and funds the epoch with
///         exactly its total in the same call. Each account then claims once per epoch with its proof; the
///         GAIB goes to the account, whoever sends the claim.
/// @dev Leaf: keccak256(bytes.concat(keccak256(abi.encode(epoch, account, amount)))) (OpenZeppelin's
///      double hash, so no inner node can pass for a leaf). An epoch pays out at most what funded it, so a
///      wrong root can never spend another epoch's GAIB.
contract PointsDistributor is AccessControl {
    using SafeERC20 for IERC20;

    bytes32 public constant REWARDER_ROLE = keccak256("REWARDER_ROLE");

    IERC20 public immutable gaib;

    struct Epoch {
        bytes32 root;
        uint256 total;
        uint256 paid;
    }

    mapping(uint256 epoch => Epoch) public epochs;
    mapping(uint256 epoch => mapping(address account => bool)) public claimed;

    event EpochPublished(uint256 indexed epoch, bytes32 root, uint256 total, string uri);
    event Claimed(uint256 indexed epoch, address indexed account, uint256 amount);

    error EpochExists(uint256 epoch);
    error UnknownEpoch(uint256 epoch);
    error EmptyRoot();
    error AlreadyClaimed(uint256 epoch, address account);
    error InvalidProof(uint256 epoch, address account, uint256 amount);
    error EpochExhausted(uint256 epoch, uint256 paid, uint256 total);

    constructor(IERC20 gaib_, address admin) {
        gaib = gaib_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REWARDER_ROLE, admin);
    }

    /// @notice Publish an epoch's distribution and fund it: `total` GAIB move from the caller (approve first).
    /// @param epoch The epoch's number; each is published once.
    /// @param root The Merkle root of the epoch's (epoch, account, amount) leaves.
    /// @param total The sum of the amounts in the tree.
    /// @param uri Where the distribution file (every leaf and proof) is published.
    function publish(uint256 epoch, bytes32 root, uint256 total, string calldata uri) external onlyRole(REWARDER_ROLE) {
        if (root == bytes32(0)) revert EmptyRoot();
        if (epochs[epoch].root != bytes32(0)) revert EpochExists(epoch);
        epochs[epoch] = Epoch(root, total, 0);
        emit EpochPublished(epoch, root, total, uri);
        gaib.safeTransferFrom(msg.sender, address(this), total);
    }

    /// @notice Pay `account` its `amount` of GAIB for `epoch`, proven by `proof`; once per account per epoch.
    function claim(uint256 epoch, address account, uint256 amount, bytes32[] calldata proof) external {
        Epoch storage e = epochs[epoch];
        if (e.root == bytes32(0)) revert UnknownEpoch(epoch);
        if (claimed[epoch][account]) revert AlreadyClaimed(epoch, account);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(epoch, account, amount))));
        if (!MerkleProof.verifyCalldata(proof, e.root, leaf)) revert InvalidProof(epoch, account, amount);
        if (e.paid + amount > e.total) revert EpochExhausted(epoch, e.paid, e.total);
        claimed[epoch][account] = true;
        e.paid += amount;
        emit Claimed(epoch, account, amount);
        gaib.safeTransfer(account, amount);
    }
}
