// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {AssetRegistry} from "./AssetRegistry.sol";

/// @title LeaseRegistry
/// @notice The receivables that back deals: every customer contract (a GPU lease, a RaaS contract) is
///         registered once, with its operator, a hash of its customer, its monthly amount, its start and end,
///         and the collateral it covers (asset ids or cluster roots of the AssetRegistry, each owned by the
///         operator). The CreditFacility pledges leases to a deal when it opens and releases them when the
///         deal closes (repaid or liquidated): a lease backs at most one open deal. A deal's leases may not
///         promise more than its hardware can earn: the sum of their monthly amounts is capped by the
///         collateral's capacity, units x 730 hours x the price ceiling of its kind (USDC units per unit-hour,
///         set by the underwriter).
/// @dev A lease's id is keccak256(abi.encode(operator, customerHash, contractRef)): the SDK takes customerHash =
///      keccak256 of the customer's name and contractRef = keccak256 of the contract's terms, so the same
///      contract always gets the same id, and the underwriter's SDK pledges that id. The registry cannot
///      see the paper contract: one registered twice under two refs is two leases to it. What bounds such a
///      copy is the rest: a lease backs only a deal of its operator that holds all it covers, hardware is in
///      one deal at a time, and each deal's leases are capped by its own hardware's capacity.
contract LeaseRegistry is AccessControl {
    bytes32 public constant FACILITY_ROLE = keccak256("FACILITY_ROLE");
    bytes32 public constant UNDERWRITER_ROLE = keccak256("UNDERWRITER_ROLE");

    /// @notice Hours in a month (8,760 a year / 12), as the underwriting engine counts them.
    uint256 public constant HOURS_PER_MONTH = 730;

    struct Lease {
        address operator;
        uint48 start;
        uint48 end;
        bytes32 customerHash;
        bytes32 contractRef;
        uint256 monthlyAmount; // USDC units
        uint256 dealId; // the open deal it backs; 0 while it backs none
    }

    AssetRegistry public immutable registry;
    /// @notice USDC units one unit of a kind (a GPU, a robot) can earn an hour at most; 0 while unset.
    mapping(bytes32 kind => uint256) public priceCeiling;

    mapping(bytes32 => Lease) private _leases;
    mapping(bytes32 => bytes32[]) private _covers;
    mapping(uint256 => bytes32[]) private _dealLeases;
    uint256 public leaseCount;

    event LeaseRegistered(
        bytes32 indexed leaseId,
        address indexed operator,
        bytes32 customerHash,
        uint256 monthlyAmount,
        uint48 start,
        uint48 end,
        bytes32[] covers
    );
    event LeasePledged(bytes32 indexed leaseId, uint256 indexed dealId);
    event LeaseReleased(bytes32 indexed leaseId, uint256 indexed dealId);
    event PriceCeilingSet(bytes32 indexed kind, uint256 usdcPerUnitHour);

    error LeaseAlreadyRegistered(bytes32 leaseId);
    error UnknownLease(bytes32 leaseId);
    error InvalidLease(bytes32 leaseId);
    error NotOperator(address caller, address operator);
    error CoverNotOwned(bytes32 id, address owner, address operator);
    error LeaseAlreadyPledged(bytes32 leaseId, uint256 dealId);
    error LeaseEnded(bytes32 leaseId, uint256 end);
    error LeaseOperatorNotBorrower(bytes32 leaseId, address operator, address borrower);
    error CoverNotInDeal(bytes32 leaseId, bytes32 id);
    error NoPriceCeiling(bytes32 kind);
    error AboveCapacity(uint256 monthlyRevenue, uint256 capacity);

    constructor(address admin, AssetRegistry registry_) {
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Register a customer contract of `operator`, covering `covers` (asset ids or cluster roots
    ///         the operator owns). Sent by the operator itself, or by the underwriter for it.
    /// @param monthlyAmount what the customer pays a month, in USDC units
    /// @param start when the contract starts (unix seconds); `end` when it ends, after `start`
    /// @return leaseId keccak256(abi.encode(operator, customerHash, contractRef))
    function register(
        address operator,
        bytes32 customerHash,
        bytes32 contractRef,
        uint256 monthlyAmount,
        uint48 start,
        uint48 end,
        bytes32[] calldata covers
    ) external returns (bytes32 leaseId) {
        if (msg.sender != operator && !hasRole(UNDERWRITER_ROLE, msg.sender)) revert NotOperator(msg.sender, operator);
        leaseId = leaseIdOf(operator, customerHash, contractRef);
        if (_leases[leaseId].operator != address(0)) revert LeaseAlreadyRegistered(leaseId);
        if (operator == address(0) || monthlyAmount == 0 || end <= start || covers.length == 0) {
            revert InvalidLease(leaseId);
        }
        for (uint256 i = 0; i < covers.length; ++i) {
            (AssetRegistry.Entry entry,, address owner) = registry.collateralInfo(covers[i]);
            if (entry == AssetRegistry.Entry.None || owner != operator) revert CoverNotOwned(covers[i], owner, operator);
        }
        _leases[leaseId] = Lease(operator, start, end, customerHash, contractRef, monthlyAmount, 0);
        _covers[leaseId] = covers;
        leaseCount += 1;
        emit LeaseRegistered(leaseId, operator, customerHash, monthlyAmount, start, end, covers);
    }

    /// @notice The CreditFacility pledges a new deal's leases: each registered, not ended, the borrower's,
    ///         backing no other open deal and covering only the deal's collateral; together they may not
    ///         promise more a month than the collateral's capacity (units x 730 h x its kind's ceiling).
    function pledge(uint256 dealId, address borrower, bytes32[] calldata collateral, bytes32[] calldata leaseIds)
        external
        onlyRole(FACILITY_ROLE)
    {
        if (leaseIds.length == 0) return;
        uint256 capacity = 0;
        for (uint256 i = 0; i < collateral.length; ++i) {
            bytes32 id = collateral[i];
            _markInDeal(id, dealId);
            (bytes32 kind, uint256 units) = _kindAndUnits(id);
            uint256 ceiling = priceCeiling[kind];
            if (ceiling == 0) revert NoPriceCeiling(kind);
            capacity += units * HOURS_PER_MONTH * ceiling;
        }
        uint256 revenue = 0;
        for (uint256 i = 0; i < leaseIds.length; ++i) {
            bytes32 leaseId = leaseIds[i];
            Lease storage l = _leases[leaseId];
            if (l.operator == address(0)) revert UnknownLease(leaseId);
            // a second deal, or the same lease twice in this one, finds it pledged already
            if (l.dealId != 0) revert LeaseAlreadyPledged(leaseId, l.dealId);
            if (block.timestamp >= l.end) revert LeaseEnded(leaseId, l.end);
            if (l.operator != borrower) revert LeaseOperatorNotBorrower(leaseId, l.operator, borrower);
            bytes32[] storage covers = _covers[leaseId];
            for (uint256 j = 0; j < covers.length; ++j) {
                if (!_isInDeal(covers[j], dealId)) revert CoverNotInDeal(leaseId, covers[j]);
            }
            l.dealId = dealId;
            revenue += l.monthlyAmount;
            emit LeasePledged(leaseId, dealId);
        }
        if (revenue > capacity) revert AboveCapacity(revenue, capacity);
        _dealLeases[dealId] = leaseIds;
    }

    /// @notice The CreditFacility frees a closed deal's leases (repaid or liquidated): they may back
    ///         another deal. The deal keeps the list of the leases it had (leasesOf).
    function release(uint256 dealId) external onlyRole(FACILITY_ROLE) {
        bytes32[] storage ids = _dealLeases[dealId];
        for (uint256 i = 0; i < ids.length; ++i) {
            Lease storage l = _leases[ids[i]];
            if (l.dealId != dealId) continue;
            l.dealId = 0;
            emit LeaseReleased(ids[i], dealId);
        }
    }

    /// @notice Underwriter: the most one unit of `kind` can earn an hour, in USDC units (e.g. 6_000_000 for
    ///         $6 a GPU-hour). A kind without a ceiling cannot back a deal with leases.
    function setPriceCeiling(bytes32 kind, uint256 usdcPerUnitHour) external onlyRole(UNDERWRITER_ROLE) {
        priceCeiling[kind] = usdcPerUnitHour;
        emit PriceCeilingSet(kind, usdcPerUnitHour);
    }

    // ---- views ----

    function leaseIdOf(address operator, bytes32 customerHash, bytes32 contractRef) public pure returns (bytes32) {
        return keccak256(abi.encode(operator, customerHash, contractRef));
    }

    function getLease(bytes32 leaseId) external view returns (Lease memory) {
        return _leases[leaseId];
    }

    function coversOf(bytes32 leaseId) external view returns (bytes32[] memory) {
        return _covers[leaseId];
    }

    /// @notice The leases pledged to a deal when it opened (still listed after it closes).
    function leasesOf(uint256 dealId) external view returns (bytes32[] memory) {
        return _dealLeases[dealId];
    }

    /// @notice What `collateral` can earn a month at most: units x 730 hours x each kind's ceiling (a kind
    ///         without a ceiling counts 0).
    function capacityOf(bytes32[] calldata collateral) external view returns (uint256 capacity) {
        for (uint256 i = 0; i < collateral.length; ++i) {
            (bytes32 kind, uint256 units) = _kindAndUnits(collateral[i]);
            capacity += units * HOURS_PER_MONTH * priceCeiling[kind];
        }
    }

    // ---- internals ----

    /// @dev One unit per asset id, a cluster's size for a root.
    function _kindAndUnits(bytes32 id) private view returns (bytes32 kind, uint256 units) {
        AssetRegistry.Cluster memory c = registry.getCluster(id);
        if (c.size != 0) return (c.kind, c.size);
        return (registry.getAsset(id).kind, 1);
    }

    /// @dev Which collateral the deal being pledged holds, in transient storage (slot = the id, value = the
    ///      deal): checking a lease's covers costs one read each, not a scan of the collateral. Ids are keccak
    ///      hashes and this contract keeps nothing else there; a mark left by another deal in the same
    ///      transaction names that deal, not this one.
    function _markInDeal(bytes32 id, uint256 dealId) private {
        assembly {
            tstore(id, dealId)
        }
    }

    function _isInDeal(bytes32 id, uint256 dealId) private view returns (bool marked) {
        assembly {
            marked := eq(tload(id), dealId)
        }
    }
}
