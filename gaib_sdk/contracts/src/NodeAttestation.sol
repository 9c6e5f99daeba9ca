// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @notice The slice of the AssetRegistry that a challenge reads.
interface IAssetRegistryView {
    struct Asset {
        bytes32 kind;
        bytes32 recordHash;
        address owner;
        uint8 status;
        uint64 registeredAt;
        bytes32 attestation;
        uint64 attestedAt;
    }

    function getAsset(bytes32 assetId) external view returns (Asset memory);

    function closedAt(bytes32 assetId) external view returns (uint64);
}

/// @title NodeAttestation
/// @notice The node verification network. A node operator bonds GAIB, runs `gaib node run` beside its
///         hardware, and after each period (a fixed-length epoch counted from the Unix epoch: period p is
///         [p * periodLength, (p + 1) * periodLength)) submits one Merkle root of that period's device
///         reports, each report EIP-712 signed by the operator. The reports themselves, with signatures and
///         inclusion proofs, are published off-chain in a bundle whose URI the RootSubmitted event carries.
///         During the challenge window after a root is submitted, anyone may prove on-chain that a report in
///         it is false; the operator's whole bond is then slashed (part to the challenger, the rest to the
///         treasury) and the operator jailed for good.
/// @dev Design decisions:
///      - Leaf = keccak256(bytes.concat(keccak256(abi.encode(structHash)))): OpenZeppelin's double-hashed
///        leaf over the report's EIP-712 struct hash (gaib_sdk.node.report.leaf), sorted-pair tree
///        (gaib_sdk.merkle.MerkleTree). The root is the operator's own statement, so a report proven in it
///        needs no signature; the signature matters for equivocation (the second report need not be in any
///        root) and for readers checking a bundle.
///      - Operators are not restricted to assets on-chain: a per-asset allow list costs a write per GPU and
///        per change of hands. A report on an asset the registry does not hold (or held terminal before the
///        period, or registered after it) is itself slashable, and readers choose whose reports they trust
///        (Gaib.attested_status takes an operators filter and skips jailed operators).
///      - A slash takes the whole bond and jails the operator: a bond can never be slashed twice, because a
///        jailed operator has no bond and cannot bond again under that address.
///      - unbondDelay > challengeWindow, and an operator that asked to unbond can submit no more roots, so
///        every root it ever submitted is past its challenge window before the bond can be withdrawn.
///      - Period length, challenge window and unbond delay are immutable: changing them under submitted roots
///        would renumber periods or let a bond escape. The minimum bond and the challenger's share are
///        admin settings.
contract NodeAttestation is AccessControl, EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Health codes of a report. Anything above DEGRADED is an impossible report.
    uint8 public constant HEALTH_DOWN = 0;
    uint8 public constant HEALTH_HEALTHY = 1;
    uint8 public constant HEALTH_DEGRADED = 2;
    uint16 public constant MAX_BPS = 10_000;

    bytes32 public constant DEVICE_REPORT_TYPEHASH = keccak256(
        "DeviceReport(bytes32 assetId,uint64 period,bytes32 deviceId,uint8 health,uint16 utilisationBps,uint128 revenue,bytes32 telemetryHash)"
    );

    /// @notice Registry status codes that are final (AssetRegistry.Status.Liquidated, .Retired).
    uint8 private constant STATUS_NONE = 0;

    enum OperatorStatus {
        None,
        Active,
        Unbonding,
        Jailed
    }

    /// @notice Why a report was proven false.
    enum Fault {
        Equivocation,
        UnknownAsset,
        Impossible
    }

    struct DeviceReport {
        bytes32 assetId;
        uint64 period;
        bytes32 deviceId;
        uint8 health;
        uint16 utilisationBps;
        uint128 revenue; // USDC base units (6 decimals) earned by the device in the period
        bytes32 telemetryHash;
    }

    struct Operator {
        OperatorStatus status;
        uint64 unbondAt; // when an unbonding operator may withdraw
        uint64 latestPeriod; // the latest period it submitted a root for (valid when roots > 0)
        uint32 roots; // roots submitted
        uint256 bond; // GAIB held now
        uint256 deposited; // GAIB ever bonded
        uint256 slashed; // GAIB slashed
        uint256 withdrawn; // GAIB withdrawn
    }

    struct Root {
        bytes32 root;
        uint32 count;
        uint64 submittedAt;
    }

    IERC20 public immutable gaib;
    IAssetRegistryView public immutable registry;
    uint64 public immutable periodLength;
    uint64 public immutable challengeWindow;
    uint64 public immutable unbondDelay;

    address public treasury;
    uint256 public minBond;
    uint16 public challengerShareBps;

    uint256 public totalBonded;
    uint256 public totalSlashed;

    mapping(address => Operator) private _operators;
    mapping(address => mapping(uint64 => Root)) private _roots;
    mapping(uint64 => address[]) private _periodOperators;

    event OperatorRegistered(address indexed operator, uint256 bond);
    event Bonded(address indexed operator, uint256 amount, uint256 bond);
    event UnbondRequested(address indexed operator, uint64 withdrawableAt);
    event Withdrawn(address indexed operator, uint256 amount);
    event RootSubmitted(address indexed operator, uint64 indexed period, bytes32 root, uint32 count, string uri);
    event Slashed(
        address indexed operator,
        address indexed challenger,
        uint64 indexed period,
        bytes32 assetId,
        Fault fault,
        uint256 toChallenger,
        uint256 toTreasury
    );
    event MinBondSet(uint256 minBond);
    event ChallengerShareSet(uint16 bps);
    event TreasurySet(address indexed treasury);

    error InvalidConfig(string what);
    error AlreadyRegistered(address operator);
    error NotActive(address operator, OperatorStatus status);
    error BondTooSmall(uint256 bond, uint256 minBond);
    error ZeroAmount();
    error UnbondNotDue(uint64 withdrawableAt);
    error PeriodNotClosed(uint64 period, uint64 closesAt);
    error RootAlreadySubmitted(address operator, uint64 period);
    error EmptyRoot();
    error NoRoot(address operator, uint64 period);
    error ChallengeWindowClosed(address operator, uint64 period, uint64 closedAt);
    error InvalidProof();
    error NothingToSlash(address operator);
    error NotEquivocation();
    error BadSignature();
    error ReportNotFalse();

    constructor(
        address admin,
        IERC20 gaib_,
        IAssetRegistryView registry_,
        address treasury_,
        uint64 periodLength_,
        uint256 minBond_,
        uint64 challengeWindow_,
        uint64 unbondDelay_
    ) EIP712("GAIB Node Attestation", "1") {
        if (address(gaib_) == address(0) || address(registry_) == address(0) || treasury_ == address(0)) {
            revert InvalidConfig("zero address");
        }
        if (periodLength_ == 0) revert InvalidConfig("periodLength");
        if (minBond_ == 0) revert InvalidConfig("minBond");
        if (challengeWindow_ == 0) revert InvalidConfig("challengeWindow");
        if (unbondDelay_ <= challengeWindow_) revert InvalidConfig("unbondDelay must exceed challengeWindow");
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        gaib = gaib_;
        registry = registry_;
        treasury = treasury_;
        periodLength = periodLength_;
        minBond = minBond_;
        challengeWindow = challengeWindow_;
        unbondDelay = unbondDelay_;
        challengerShareBps = 5_000;
    }

    // ---- operators ----

    /// @notice Join the network with a bond of at least minBond GAIB (approve this contract first).
    function register(uint256 amount) external nonReentrant {
        Operator storage o = _operators[msg.sender];
        if (o.status != OperatorStatus.None) revert AlreadyRegistered(msg.sender);
        if (amount < minBond) revert BondTooSmall(amount, minBond);
        o.status = OperatorStatus.Active;
        _deposit(o, amount);
        emit OperatorRegistered(msg.sender, amount);
    }

    /// @notice Add to an active operator's bond (e.g. after the admin raised minBond).
    function bond(uint256 amount) external nonReentrant {
        Operator storage o = _operators[msg.sender];
        if (o.status != OperatorStatus.Active) revert NotActive(msg.sender, o.status);
        if (amount == 0) revert ZeroAmount();
        _deposit(o, amount);
    }

    /// @notice Stop reporting and start the unbonding delay. No root can be submitted after this, and the
    ///         bond stays slashable until it is withdrawn.
    function requestUnbond() external {
        Operator storage o = _operators[msg.sender];
        if (o.status != OperatorStatus.Active) revert NotActive(msg.sender, o.status);
        o.status = OperatorStatus.Unbonding;
        o.unbondAt = uint64(block.timestamp) + unbondDelay;
        emit UnbondRequested(msg.sender, o.unbondAt);
    }

    /// @notice Take the bond back once the unbonding delay has passed. The operator may register again.
    function withdraw() external nonReentrant {
        Operator storage o = _operators[msg.sender];
        if (o.status != OperatorStatus.Unbonding) revert NotActive(msg.sender, o.status);
        if (block.timestamp < o.unbondAt) revert UnbondNotDue(o.unbondAt);
        uint256 amount = o.bond;
        o.bond = 0;
        o.withdrawn += amount;
        o.status = OperatorStatus.None;
        o.unbondAt = 0;
        totalBonded -= amount;
        emit Withdrawn(msg.sender, amount);
        gaib.safeTransfer(msg.sender, amount);
    }

    // ---- roots ----

    /// @notice Submit the Merkle root of a closed period's `count` device reports; `uri` (file:// or
    ///         http(s)://) is where the bundle of reports, signatures and proofs is published.
    function submitRoot(uint64 period, bytes32 root, uint32 count, string calldata uri) external {
        Operator storage o = _operators[msg.sender];
        if (o.status != OperatorStatus.Active) revert NotActive(msg.sender, o.status);
        if (o.bond < minBond) revert BondTooSmall(o.bond, minBond);
        uint64 closesAt = periodEnd(period);
        if (block.timestamp < closesAt) revert PeriodNotClosed(period, closesAt);
        if (root == bytes32(0) || count == 0) revert EmptyRoot();
        if (_roots[msg.sender][period].root != bytes32(0)) revert RootAlreadySubmitted(msg.sender, period);
        _roots[msg.sender][period] = Root(root, count, uint64(block.timestamp));
        _periodOperators[period].push(msg.sender);
        if (o.roots == 0 || period > o.latestPeriod) o.latestPeriod = period;
        o.roots += 1;
        emit RootSubmitted(msg.sender, period, root, count, uri);
    }

    // ---- challenges ----

    /// @notice (a) Equivocation: `report` is in the operator's root for `period`, and `other`, a different
    ///         report for the same asset and period, carries the operator's signature.
    function challengeEquivocation(
        address operator,
        uint64 period,
        DeviceReport calldata report,
        bytes32[] calldata proof,
        DeviceReport calldata other,
        bytes calldata otherSignature
    ) external nonReentrant {
        _requireIncluded(operator, period, report, proof);
        if (other.assetId != report.assetId || other.period != report.period) revert NotEquivocation();
        bytes32 otherHash = reportHash(other);
        if (otherHash == reportHash(report)) revert NotEquivocation();
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_hashTypedDataV4(otherHash), otherSignature);
        if (err != ECDSA.RecoverError.NoError || signer != operator) revert BadSignature();
        _slash(operator, period, report.assetId, Fault.Equivocation);
    }

    /// @notice (b) The report is for an asset the registry does not hold, or held in a final status
    ///         (retired, liquidated) before the period began, or registered after the period ended.
    function challengeUnknownAsset(address operator, uint64 period, DeviceReport calldata report, bytes32[] calldata proof)
        external
        nonReentrant
    {
        _requireIncluded(operator, period, report, proof);
        if (!assetUnattestable(report.assetId, period)) revert ReportNotFalse();
        _slash(operator, period, report.assetId, Fault.UnknownAsset);
    }

    /// @notice (c) An impossible report: utilisation above 100%, an unknown health code, revenue on a device
    ///         reported down, or a report of another period than the root it is in.
    function challengeImpossible(address operator, uint64 period, DeviceReport calldata report, bytes32[] calldata proof)
        external
        nonReentrant
    {
        _requireIncluded(operator, period, report, proof);
        if (!isImpossible(report, period)) revert ReportNotFalse();
        _slash(operator, period, report.assetId, Fault.Impossible);
    }

    // ---- admin ----

    function setMinBond(uint256 minBond_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (minBond_ == 0) revert InvalidConfig("minBond");
        minBond = minBond_;
        emit MinBondSet(minBond_);
    }

    function setChallengerShareBps(uint16 bps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bps > MAX_BPS) revert InvalidConfig("challengerShareBps");
        challengerShareBps = bps;
        emit ChallengerShareSet(bps);
    }

    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert InvalidConfig("zero address");
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }

    // ---- views ----

    function periodOf(uint256 timestamp) public view returns (uint64) {
        return uint64(timestamp / periodLength);
    }

    function periodStart(uint64 period) public view returns (uint64) {
        return period * periodLength;
    }

    function periodEnd(uint64 period) public view returns (uint64) {
        return (period + 1) * periodLength;
    }

    function getOperator(address operator) external view returns (Operator memory) {
        return _operators[operator];
    }

    function rootOf(address operator, uint64 period) external view returns (Root memory) {
        return _roots[operator][period];
    }

    /// @notice The operator's root for the latest period it reported (zero if none) and that period.
    function latestRoot(address operator) external view returns (uint64 period, Root memory root) {
        Operator storage o = _operators[operator];
        if (o.roots == 0) return (0, root);
        return (o.latestPeriod, _roots[operator][o.latestPeriod]);
    }

    /// @notice Every operator that submitted a root for `period`, and their roots, in submission order.
    function rootsForPeriod(uint64 period) external view returns (address[] memory operators, Root[] memory roots) {
        operators = _periodOperators[period];
        roots = new Root[](operators.length);
        for (uint256 i = 0; i < operators.length; ++i) {
            roots[i] = _roots[operators[i]][period];
        }
    }

    /// @notice The EIP-712 struct hash of a report.
    function reportHash(DeviceReport calldata r) public pure returns (bytes32) {
        return keccak256(
            abi.encode(
                DEVICE_REPORT_TYPEHASH,
                r.assetId,
                r.period,
                r.deviceId,
                r.health,
                r.utilisationBps,
                r.revenue,
                r.telemetryHash
            )
        );
    }

    /// @notice The digest an operator signs for a report (EIP-712, this contract's domain).
    function reportDigest(DeviceReport calldata r) external view returns (bytes32) {
        return _hashTypedDataV4(reportHash(r));
    }

    /// @notice The report's Merkle leaf: OpenZeppelin's double hash of its struct hash.
    function reportLeaf(DeviceReport calldata r) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(reportHash(r)))));
    }

    /// @notice Whether `report` is in the root `operator` submitted for `period`, by its proof.
    function verifyReport(address operator, uint64 period, DeviceReport calldata report, bytes32[] calldata proof)
        public
        view
        returns (bool)
    {
        bytes32 root = _roots[operator][period].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, reportLeaf(report));
    }

    /// @notice Whether a report in the root of `period` is impossible whatever the evidence.
    function isImpossible(DeviceReport calldata r, uint64 period) public pure returns (bool) {
        return r.period != period || r.utilisationBps > MAX_BPS || r.health > HEALTH_DEGRADED
            || (r.health == HEALTH_DOWN && r.revenue > 0);
    }

    /// @notice Whether no report on `assetId` can be true for `period`: the registry does not hold it, it was
    ///         registered after the period ended, or it went retired or liquidated before the period began.
    function assetUnattestable(bytes32 assetId, uint64 period) public view returns (bool) {
        IAssetRegistryView.Asset memory a = registry.getAsset(assetId);
        if (a.status == STATUS_NONE) return true;
        if (a.registeredAt >= periodEnd(period)) return true;
        uint64 closed = registry.closedAt(assetId);
        return closed != 0 && closed <= periodStart(period);
    }

    // ---- internals ----

    function _deposit(Operator storage o, uint256 amount) private {
        o.bond += amount;
        o.deposited += amount;
        totalBonded += amount;
        emit Bonded(msg.sender, amount, o.bond);
        gaib.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _requireIncluded(address operator, uint64 period, DeviceReport calldata report, bytes32[] calldata proof)
        private
        view
    {
        Root storage r = _roots[operator][period];
        if (r.root == bytes32(0)) revert NoRoot(operator, period);
        uint64 closesAt = r.submittedAt + challengeWindow;
        if (block.timestamp >= closesAt) revert ChallengeWindowClosed(operator, period, closesAt);
        if (!MerkleProof.verifyCalldata(proof, r.root, reportLeaf(report))) revert InvalidProof();
    }

    /// @dev The whole bond goes; the operator is jailed, so it can never be slashed (or bond) again.
    function _slash(address operator, uint64 period, bytes32 assetId, Fault fault) private {
        Operator storage o = _operators[operator];
        uint256 amount = o.bond;
        if (amount == 0 || o.status == OperatorStatus.Jailed) revert NothingToSlash(operator);
        o.bond = 0;
        o.slashed += amount;
        o.status = OperatorStatus.Jailed;
        o.unbondAt = 0;
        totalBonded -= amount;
        totalSlashed += amount;
        uint256 toChallenger = amount * challengerShareBps / MAX_BPS;
        uint256 toTreasury = amount - toChallenger;
        emit Slashed(operator, msg.sender, period, assetId, fault, toChallenger, toTreasury);
        if (toChallenger > 0) gaib.safeTransfer(msg.sender, toChallenger);
        if (toTreasury > 0) gaib.safeTransfer(treasury, toTreasury);
    }
}
