// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title AIDollar (AID)
/// @notice The AI Dollar: an 18-decimal ERC-20 minted 1:1 against a 6-decimal stablecoin (USDC, or a second
///         whitelisted one such as USDT) by KYC-whitelisted accounts and burned 1:1 on redemption.
/// @dev Backing equation kept at every step:
///        totalSupply() == (totalReserve() + principalDeployed + uncoveredLoss) * SCALE
///      where totalReserve() is reserve() plus the other stablecoins held here (each counted 1:1: every
///      accepted stablecoin has the primary's decimals), reserve() is the primary stablecoin (USDC) held here
///      less what redeemers may already claim, principalDeployed is what the credit facility has advanced and
///      not yet returned, and uncoveredLoss is realized deal loss that sAID's first-loss capital could not
///      absorb (AID in circulation with nothing behind it).
///      Deals, deal income and the redemption queue run in the primary stablecoin only; a second stablecoin
///      (USDT) is minted against and redeemed into 1:1 while its own reserve covers the redemption, and
///      otherwise the holder queues for USDC (requestRedemption). Minting counts what actually arrived (a
///      token that charges a transfer fee mints less), so the protocol never issues AID it does not hold.
///      Conversions round in the protocol's favour: a redemption burns only whole stablecoin units' worth.
///      A redemption the liquid reserve cannot cover waits in a FIFO queue: the AID is escrowed here, and
///      as cash comes back the queue is filled in order (burning the AID, setting the stablecoin aside to
///      claim). Nothing is paid twice: each request's remainder only falls, and claims are pull-based.
contract AIDollar is ERC20, ERC20Permit, AccessControl, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant KYC_MANAGER_ROLE = keccak256("KYC_MANAGER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant DENYLIST_ROLE = keccak256("DENYLIST_ROLE");
    /// @notice Held by the CreditFacility: moves reserve into deals and income back in.
    bytes32 public constant FACILITY_ROLE = keccak256("FACILITY_ROLE");

    IERC20 public immutable stablecoin;
    uint256 public immutable SCALE;

    uint256 public principalDeployed;
    uint256 public mintCapPerBlock;
    uint256 public redeemCapPerBlock;
    uint256 public mintedInBlock;
    uint256 public redeemedInBlock;
    uint256 public capBlock;
    uint256 public uncoveredLoss;

    struct RedemptionRequest {
        address owner;
        uint256 remaining; // stablecoin units still owed
    }

    RedemptionRequest[] public redemptionQueue;
    uint256 public queueHead;
    uint256 public queuedStable; // sum of `remaining` over the queue
    uint256 public totalClaimable;
    mapping(address => uint256) public claimable;
    /// @notice Requests filled automatically when principal comes back, to bound the gas of repay().
    uint256 public constant AUTO_FILL = 20;

    /// @notice Stablecoins accepted besides the primary one (USDT), at most MAX_EXTRA_STABLECOINS.
    mapping(address => bool) public isExtraStablecoin;
    address[] public extraStablecoins;
    uint256 public constant MAX_EXTRA_STABLECOINS = 4;

    mapping(address => bool) public isWhitelisted;
    mapping(address => bool) public isDenied;

    event Whitelisted(address indexed account, bool allowed);
    event Denied(address indexed account, bool denied);
    event Minted(address indexed account, uint256 stableIn, uint256 aidOut);
    event Redeemed(address indexed account, uint256 aidIn, uint256 stableOut);
    event CapsSet(uint256 mintCapPerBlock, uint256 redeemCapPerBlock);
    event DealFunded(address indexed borrower, uint256 stableAmount);
    event PrincipalReturned(uint256 stableAmount);
    event IncomeMinted(address indexed to, uint256 stableIn, uint256 aidOut);
    event RedemptionRequested(uint256 indexed requestId, address indexed owner, uint256 aidIn, uint256 stableOwed);
    event RedemptionFilled(uint256 indexed requestId, address indexed owner, uint256 stable, uint256 remaining);
    event Claimed(address indexed owner, uint256 stable);
    event LossRealized(uint256 stableLoss, uint256 absorbedByVault, uint256 uncovered);
    event StablecoinAdded(address indexed token);
    event MintedWith(address indexed account, address indexed token, uint256 stableIn, uint256 aidOut);
    event RedeemedTo(address indexed account, address indexed token, uint256 aidIn, uint256 stableOut);

    error NotWhitelisted(address account);
    error AccountDenied(address account);
    error ZeroAmount();
    error MintCapExceeded(uint256 requested, uint256 remaining);
    error RedeemCapExceeded(uint256 requested, uint256 remaining);
    error InsufficientReserve(uint256 requested, uint256 available);
    error PrincipalUnderflow(uint256 returned, uint256 deployed);
    error QueueNotEmpty(uint256 queuedStable);
    error NothingToClaim(address account);
    error UnknownStablecoin(address token);
    error BadStablecoin(address token);

    constructor(address admin, IERC20 stablecoin_, uint256 mintCap, uint256 redeemCap) ERC20("AI Dollar", "AID")
        ERC20Permit("AI Dollar")
    {
        stablecoin = stablecoin_;
        SCALE = 10 ** (decimals() - IERC20Metadata(address(stablecoin_)).decimals());
        mintCapPerBlock = mintCap;
        redeemCapPerBlock = redeemCap;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit CapsSet(mintCap, redeemCap);
    }

    // ---- views ----

    /// @notice Stablecoin held by the contract and not yet set aside for redeemers: what redemptions and
    ///         new deals can draw on now.
    function reserve() public view returns (uint256) {
        return stablecoin.balanceOf(address(this)) - totalClaimable;
    }

    /// @notice Requests still waiting in the queue.
    function queueLength() external view returns (uint256) {
        return redemptionQueue.length - queueHead;
    }

    /// @notice Stablecoin backing in all: every liquid reserve plus principal out in deals.
    function backing() external view returns (uint256) {
        return totalReserve() + principalDeployed;
    }

    /// @notice What `token` (the primary stablecoin or an extra one) can pay redeemers now.
    function reserveOf(address token) public view returns (uint256) {
        if (token == address(stablecoin)) return reserve();
        if (!isExtraStablecoin[token]) revert UnknownStablecoin(token);
        return IERC20(token).balanceOf(address(this));
    }

    /// @notice The primary stablecoin's reserve plus every extra stablecoin held, 1:1.
    function totalReserve() public view returns (uint256 total) {
        total = reserve();
        uint256 n = extraStablecoins.length;
        for (uint256 i; i < n; ++i) {
            total += IERC20(extraStablecoins[i]).balanceOf(address(this));
        }
    }

    function extraStablecoinCount() external view returns (uint256) {
        return extraStablecoins.length;
    }

    // ---- investors ----

    /// @notice Mint AID 1:1 for `stableAmount` of the stablecoin (6 decimals in, 18 out).
    function mint(uint256 stableAmount) external whenNotPaused returns (uint256 aidOut) {
        if (!isWhitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        if (stableAmount == 0) revert ZeroAmount();
        _rollCaps();
        uint256 room = mintCapPerBlock - mintedInBlock;
        if (stableAmount > room) revert MintCapExceeded(stableAmount, room);
        mintedInBlock += stableAmount;
        aidOut = stableAmount * SCALE;
        stablecoin.safeTransferFrom(msg.sender, address(this), stableAmount);
        _mint(msg.sender, aidOut);
        emit Minted(msg.sender, stableAmount, aidOut);
        _fillQueue(AUTO_FILL); // new cash pays waiting redeemers first
    }

    /// @notice Mint AID 1:1 for `stableAmount` of an extra stablecoin (USDT). AID is minted for what arrived.
    function mintWith(address token, uint256 stableAmount) external whenNotPaused returns (uint256 aidOut) {
        if (!isWhitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        if (!isExtraStablecoin[token]) revert UnknownStablecoin(token);
        if (stableAmount == 0) revert ZeroAmount();
        _rollCaps();
        uint256 room = mintCapPerBlock - mintedInBlock;
        if (stableAmount > room) revert MintCapExceeded(stableAmount, room);
        mintedInBlock += stableAmount;
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), stableAmount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        aidOut = received * SCALE;
        _mint(msg.sender, aidOut);
        emit MintedWith(msg.sender, token, received, aidOut);
    }

    /// @notice Redeem AID 1:1 into an extra stablecoin (USDT) while its reserve covers it; otherwise queue
    ///         for the primary one (requestRedemption). Whole units only, as redeem().
    function redeemTo(address token, uint256 aidAmount) external whenNotPaused returns (uint256 stableOut) {
        if (!isWhitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        if (!isExtraStablecoin[token]) revert UnknownStablecoin(token);
        stableOut = aidAmount / SCALE;
        if (stableOut == 0) revert ZeroAmount();
        _rollCaps();
        uint256 room = redeemCapPerBlock - redeemedInBlock;
        if (stableOut > room) revert RedeemCapExceeded(stableOut, room);
        uint256 available = IERC20(token).balanceOf(address(this));
        if (stableOut > available) revert InsufficientReserve(stableOut, available);
        redeemedInBlock += stableOut;
        _burn(msg.sender, stableOut * SCALE);
        IERC20(token).safeTransfer(msg.sender, stableOut);
        emit RedeemedTo(msg.sender, token, stableOut * SCALE, stableOut);
    }

    /// @notice Redeem AID for the stablecoin 1:1. Only whole stablecoin units are paid; the AID burned
    ///         is exactly what they are worth, so no dust is taken from the caller. Nobody jumps the queue:
    ///         while requests wait, redeem through requestRedemption.
    function redeem(uint256 aidAmount) external whenNotPaused returns (uint256 stableOut) {
        if (!isWhitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        stableOut = aidAmount / SCALE;
        if (stableOut == 0) revert ZeroAmount();
        if (queuedStable > 0) revert QueueNotEmpty(queuedStable);
        _rollCaps();
        uint256 room = redeemCapPerBlock - redeemedInBlock;
        if (stableOut > room) revert RedeemCapExceeded(stableOut, room);
        uint256 available = reserve();
        if (stableOut > available) revert InsufficientReserve(stableOut, available);
        redeemedInBlock += stableOut;
        _burn(msg.sender, stableOut * SCALE);
        stablecoin.safeTransfer(msg.sender, stableOut);
        emit Redeemed(msg.sender, stableOut * SCALE, stableOut);
    }

    /// @notice Queue a redemption: the AID (whole stablecoin units' worth) is escrowed here and paid, in
    ///         order, as cash comes back. Returns the request id. It counts against the per-block redeem cap
    ///         as redeem() does: every exit (redeem, redeemTo, requestRedemption) shares one budget per block,
    ///         and fills and claims pay only what a request already counted.
    function requestRedemption(uint256 aidAmount) external whenNotPaused returns (uint256 requestId) {
        if (!isWhitelisted[msg.sender]) revert NotWhitelisted(msg.sender);
        uint256 stableOwed = aidAmount / SCALE;
        if (stableOwed == 0) revert ZeroAmount();
        _rollCaps();
        uint256 room = redeemCapPerBlock - redeemedInBlock;
        if (stableOwed > room) revert RedeemCapExceeded(stableOwed, room);
        redeemedInBlock += stableOwed;
        _transfer(msg.sender, address(this), stableOwed * SCALE);
        requestId = redemptionQueue.length;
        redemptionQueue.push(RedemptionRequest(msg.sender, stableOwed));
        queuedStable += stableOwed;
        emit RedemptionRequested(requestId, msg.sender, stableOwed * SCALE, stableOwed);
        _fillQueue(AUTO_FILL);
    }

    /// @notice Fill up to `maxRequests` waiting requests, in order, from the liquid reserve. Anyone may call.
    function processRedemptions(uint256 maxRequests) external returns (uint256 filled) {
        return _fillQueue(maxRequests);
    }

    /// @notice Take the stablecoin set aside for the caller's filled redemptions.
    function claim() external returns (uint256 amount) {
        if (isDenied[msg.sender]) revert AccountDenied(msg.sender);
        amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        totalClaimable -= amount;
        stablecoin.safeTransfer(msg.sender, amount);
        emit Claimed(msg.sender, amount);
    }

    // ---- credit facility ----

    /// @notice Send reserve to a borrower for a deal. The AID it backs stays in circulation, now backed
    ///         by the deal's principal.
    function fundDeal(address borrower, uint256 stableAmount) external onlyRole(FACILITY_ROLE) whenNotPaused {
        if (stableAmount == 0) revert ZeroAmount();
        uint256 available = reserve();
        if (stableAmount > available) revert InsufficientReserve(stableAmount, available);
        principalDeployed += stableAmount;
        stablecoin.safeTransfer(borrower, stableAmount);
        emit DealFunded(borrower, stableAmount);
    }

    /// @notice Book principal that the facility has transferred back into the reserve.
    function principalReturned(uint256 stableAmount) external onlyRole(FACILITY_ROLE) {
        if (stableAmount > principalDeployed) revert PrincipalUnderflow(stableAmount, principalDeployed);
        principalDeployed -= stableAmount;
        emit PrincipalReturned(stableAmount);
        _fillQueue(AUTO_FILL);
    }

    /// @notice Realize a deal loss of `stableLoss`: principal that will never come back. sAID is first-loss
    ///         capital: AID held by `vault` is burned to cover it, which lowers sAID's share price; what the
    ///         vault cannot cover stays on the books as uncoveredLoss.
    function realizeLoss(address vault, uint256 stableLoss)
        external
        onlyRole(FACILITY_ROLE)
        returns (uint256 absorbed)
    {
        if (stableLoss > principalDeployed) revert PrincipalUnderflow(stableLoss, principalDeployed);
        principalDeployed -= stableLoss;
        absorbed = balanceOf(vault) / SCALE;
        if (absorbed > stableLoss) absorbed = stableLoss;
        if (absorbed > 0) _burn(vault, absorbed * SCALE);
        uncoveredLoss += stableLoss - absorbed;
        emit LossRealized(stableLoss, absorbed, stableLoss - absorbed);
    }

    /// @notice Take deal income in stablecoin from the facility into the reserve and mint the matching AID
    ///         to `to` (the sAID vault), which raises sAID's share price.
    function mintIncome(address to, uint256 stableAmount) external onlyRole(FACILITY_ROLE) returns (uint256 aidOut) {
        if (stableAmount == 0) revert ZeroAmount();
        aidOut = stableAmount * SCALE;
        stablecoin.safeTransferFrom(msg.sender, address(this), stableAmount);
        _mint(to, aidOut);
        emit IncomeMinted(to, stableAmount, aidOut);
        _fillQueue(AUTO_FILL);
    }

    // ---- administration ----

    function setWhitelisted(address account, bool allowed) external onlyRole(KYC_MANAGER_ROLE) {
        isWhitelisted[account] = allowed;
        emit Whitelisted(account, allowed);
    }

    function setDenied(address account, bool denied) external onlyRole(DENYLIST_ROLE) {
        isDenied[account] = denied;
        emit Denied(account, denied);
    }

    /// @notice Accept `token` (USDT) besides the primary stablecoin: it must have the primary's decimals, so
    ///         that one unit of either backs the same SCALE AID wei.
    function addStablecoin(address token) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (
            token == address(stablecoin) || isExtraStablecoin[token] || extraStablecoins.length >= MAX_EXTRA_STABLECOINS
                || IERC20Metadata(token).decimals() != IERC20Metadata(address(stablecoin)).decimals()
        ) revert BadStablecoin(token);
        isExtraStablecoin[token] = true;
        extraStablecoins.push(token);
        emit StablecoinAdded(token);
    }

    function setCaps(uint256 mintCap, uint256 redeemCap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        mintCapPerBlock = mintCap;
        redeemCapPerBlock = redeemCap;
        emit CapsSet(mintCap, redeemCap);
    }

    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ---- internals ----

    function _fillQueue(uint256 maxRequests) private returns (uint256 filled) {
        uint256 head = queueHead;
        uint256 end = redemptionQueue.length;
        uint256 cash = reserve();
        while (head < end && filled < maxRequests && cash > 0) {
            RedemptionRequest storage r = redemptionQueue[head];
            uint256 pay = r.remaining < cash ? r.remaining : cash;
            r.remaining -= pay;
            cash -= pay;
            queuedStable -= pay;
            claimable[r.owner] += pay;
            totalClaimable += pay;
            _burn(address(this), pay * SCALE);
            emit RedemptionFilled(head, r.owner, pay, r.remaining);
            if (r.remaining == 0) {
                ++head;
                ++filled;
            }
        }
        queueHead = head;
    }

    function _rollCaps() private {
        if (capBlock != block.number) {
            capBlock = block.number;
            mintedInBlock = 0;
            redeemedInBlock = 0;
        }
    }

    /// @dev A denied account cannot move anyone's AID as a spender either.
    /// @notice EIP-2612: approve `spender` for `value` by the owner's signature (one transaction less for a
    ///         stake). A deny-listed owner or spender is refused here as well as when the allowance is spent.
    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        public
        override
    {
        if (isDenied[owner]) revert AccountDenied(owner);
        if (isDenied[spender]) revert AccountDenied(spender);
        super.permit(owner, spender, value, deadline, v, r, s);
    }

    function _spendAllowance(address owner, address spender, uint256 value) internal override {
        if (isDenied[spender]) revert AccountDenied(spender);
        super._spendAllowance(owner, spender, value);
    }

    /// @dev The deny list holds on every movement: a denied account can neither send nor receive AID.
    function _update(address from, address to, uint256 value) internal override {
        if (isDenied[from]) revert AccountDenied(from);
        if (isDenied[to]) revert AccountDenied(to);
        super._update(from, to, value);
    }
}
