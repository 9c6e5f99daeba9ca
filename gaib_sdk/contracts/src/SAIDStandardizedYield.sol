// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @notice EIP-5115 Standardized Yield, with the functions, events and enum of Pendle's
///         IStandardizedYield (npm package pendle core-v2 6.11.0), which Pendle's YT, PT and market call.
interface IStandardizedYield is IERC20Metadata {
    event Deposit(
        address indexed caller,
        address indexed receiver,
        address indexed tokenIn,
        uint256 amountDeposited,
        uint256 amountSyOut
    );
    event Redeem(
        address indexed caller,
        address indexed receiver,
        address indexed tokenOut,
        uint256 amountSyToRedeem,
        uint256 amountTokenOut
    );
    event ClaimRewards(address indexed user, address[] rewardTokens, uint256[] rewardAmounts);

    enum AssetType {
        TOKEN,
        LIQUIDITY
    }

    function deposit(address receiver, address tokenIn, uint256 amountTokenToDeposit, uint256 minSharesOut)
        external
        payable
        returns (uint256 amountSharesOut);

    function redeem(
        address receiver,
        uint256 amountSharesToRedeem,
        address tokenOut,
        uint256 minTokenOut,
        bool burnFromInternalBalance
    ) external returns (uint256 amountTokenOut);

    function exchangeRate() external view returns (uint256 res);
    function claimRewards(address user) external returns (uint256[] memory rewardAmounts);
    function accruedRewards(address user) external view returns (uint256[] memory rewardAmounts);
    function rewardIndexesCurrent() external returns (uint256[] memory indexes);
    function rewardIndexesStored() external view returns (uint256[] memory indexes);
    function getRewardTokens() external view returns (address[] memory);
    function yieldToken() external view returns (address);
    function getTokensIn() external view returns (address[] memory res);
    function getTokensOut() external view returns (address[] memory res);
    function isValidTokenIn(address token) external view returns (bool);
    function isValidTokenOut(address token) external view returns (bool);
    function previewDeposit(address tokenIn, uint256 amountTokenToDeposit)
        external
        view
        returns (uint256 amountSharesOut);
    function previewRedeem(address tokenOut, uint256 amountSharesToRedeem)
        external
        view
        returns (uint256 amountTokenOut);
    function assetInfo() external view returns (AssetType assetType, address assetAddress, uint8 assetDecimals);
}

/// @notice AID's deny list, which the SY wrapper honours as sAID does.
interface IDenyList {
    function isDenied(address account) external view returns (bool);
}

/// @title SAIDStandardizedYield (SY-sAID)
/// @notice sAID wrapped as a Pendle Standardized Yield token, so that Pendle can split it into a principal
///         token (PT, fixed yield) and a yield token (YT, sAID's variable yield) and list it in a market.
///         One SY is one sAID share; its exchange rate is sAID's share price in AID
///         (`sAID.convertToAssets(1e18)`), so Pendle's accounting asset is AID.
/// @dev In: AID (staked into sAID on the way in) or sAID. Out: sAID ONLY. sAID cannot be turned back into
///      AID instantly: its exit is an asynchronous ERC-7540 redemption request filled on the vault's
///      withdrawal cycle. So `redeem` pays out sAID shares, never AID; a holder who wants AID then requests
///      a redemption from the sAID vault (or sells sAID on a DEX). There are no reward tokens: sAID's yield
///      is in its share price, which is what the YT collects.
///      AID's deny list holds here as in sAID: a denied account can neither deposit, redeem, receive, move
///      nor spend SY, so it cannot exit its value through the wrapper to another address.
///      `deposit` is payable only because IStandardizedYield declares it so; it refuses any ether
///      (SYNativeNotAccepted), so none can be locked here (slither's locked-ether: see docs/security.md).
// slither-disable-next-line locked-ether
contract SAIDStandardizedYield is ERC20, ReentrancyGuard, IStandardizedYield {
    using SafeERC20 for IERC20;

    /// @notice The yield-bearing token held: the sAID vault (ERC-4626 on AID).
    IERC4626 public immutable sAID;
    /// @notice The vault's asset, AID: Pendle's accounting asset for this SY.
    IERC20 public immutable aid;
    uint8 private immutable AID_DECIMALS;
    uint8 private immutable SHARE_DECIMALS;

    /// @notice `token` is neither AID nor sAID.
    error SYInvalidTokenIn(address token);
    /// @notice Only sAID can be taken out: sAID's own exit to AID is an asynchronous request.
    error SYInvalidTokenOut(address token, address onlyTokenOut);
    error SYZeroDeposit();
    error SYZeroRedeem();
    error SYNativeNotAccepted();
    error SYInsufficientSharesOut(uint256 sharesOut, uint256 minSharesOut);
    error SYInsufficientTokenOut(uint256 tokenOut, uint256 minTokenOut);
    error AccountDenied(address account);

    constructor(IERC4626 said) ERC20("SY Staked AI Dollar", "SY-sAID") {
        sAID = said;
        aid = IERC20(said.asset());
        AID_DECIMALS = IERC20Metadata(said.asset()).decimals();
        SHARE_DECIMALS = IERC20Metadata(address(said)).decimals();
    }

    /// @notice Same decimals as sAID: one SY is one sAID share.
    function decimals() public view override(ERC20, IERC20Metadata) returns (uint8) {
        return SHARE_DECIMALS;
    }

    // ---- in and out ----

    /// @notice Deposit `amountTokenToDeposit` of AID (staked into sAID here) or sAID, taken from the caller,
    ///         and mint SY to `receiver`, at least `minSharesOut`.
    function deposit(address receiver, address tokenIn, uint256 amountTokenToDeposit, uint256 minSharesOut)
        external
        payable
        nonReentrant
        returns (uint256 amountSharesOut)
    {
        if (msg.value != 0) revert SYNativeNotAccepted();
        if (amountTokenToDeposit == 0) revert SYZeroDeposit();
        _checkNotDenied(msg.sender);
        _checkNotDenied(receiver);
        if (tokenIn == address(sAID)) {
            IERC20(address(sAID)).safeTransferFrom(msg.sender, address(this), amountTokenToDeposit);
            amountSharesOut = amountTokenToDeposit;
        } else if (tokenIn == address(aid)) {
            aid.safeTransferFrom(msg.sender, address(this), amountTokenToDeposit);
            aid.forceApprove(address(sAID), amountTokenToDeposit);
            amountSharesOut = sAID.deposit(amountTokenToDeposit, address(this));
        } else {
            revert SYInvalidTokenIn(tokenIn);
        }
        if (amountSharesOut < minSharesOut) revert SYInsufficientSharesOut(amountSharesOut, minSharesOut);
        _mint(receiver, amountSharesOut);
        emit Deposit(msg.sender, receiver, tokenIn, amountTokenToDeposit, amountSharesOut);
    }

    /// @notice Burn `amountSharesToRedeem` SY (the caller's, or with `burnFromInternalBalance` those sent to
    ///         this contract first) and pay the same number of sAID shares to `receiver`.
    /// @dev `tokenOut` must be sAID: the SY never pays AID, because sAID has no instant exit to AID (its
    ///      redemption is an ERC-7540 request that waits for the vault's withdrawal cycle).
    function redeem(
        address receiver,
        uint256 amountSharesToRedeem,
        address tokenOut,
        uint256 minTokenOut,
        bool burnFromInternalBalance
    ) external nonReentrant returns (uint256 amountTokenOut) {
        if (tokenOut != address(sAID)) revert SYInvalidTokenOut(tokenOut, address(sAID));
        if (amountSharesToRedeem == 0) revert SYZeroRedeem();
        _checkNotDenied(msg.sender);
        _checkNotDenied(receiver);
        _burn(burnFromInternalBalance ? address(this) : msg.sender, amountSharesToRedeem);
        amountTokenOut = amountSharesToRedeem;
        if (amountTokenOut < minTokenOut) revert SYInsufficientTokenOut(amountTokenOut, minTokenOut);
        IERC20(address(sAID)).safeTransfer(receiver, amountTokenOut);
        emit Redeem(msg.sender, receiver, tokenOut, amountSharesToRedeem, amountTokenOut);
    }

    // ---- yield ----

    /// @notice AID per SY, 18 decimals: sAID's share price.
    function exchangeRate() external view returns (uint256 res) {
        return sAID.convertToAssets(10 ** SHARE_DECIMALS);
    }

    /// @notice No reward tokens: sAID's yield is in its share price.
    function claimRewards(address user) external returns (uint256[] memory rewardAmounts) {
        rewardAmounts = new uint256[](0);
        emit ClaimRewards(user, new address[](0), rewardAmounts);
    }

    function accruedRewards(address) external pure returns (uint256[] memory rewardAmounts) {
        return new uint256[](0);
    }

    function rewardIndexesCurrent() external pure returns (uint256[] memory indexes) {
        return new uint256[](0);
    }

    function rewardIndexesStored() external pure returns (uint256[] memory indexes) {
        return new uint256[](0);
    }

    function getRewardTokens() external pure returns (address[] memory) {
        return new address[](0);
    }

    // ---- metadata ----

    function yieldToken() external view returns (address) {
        return address(sAID);
    }

    /// @notice AID and sAID.
    function getTokensIn() external view returns (address[] memory res) {
        res = new address[](2);
        res[0] = address(aid);
        res[1] = address(sAID);
    }

    /// @notice sAID only (see the contract's notice).
    function getTokensOut() external view returns (address[] memory res) {
        res = new address[](1);
        res[0] = address(sAID);
    }

    function isValidTokenIn(address token) public view returns (bool) {
        return token == address(aid) || token == address(sAID);
    }

    function isValidTokenOut(address token) public view returns (bool) {
        return token == address(sAID);
    }

    /// @notice SY minted now for `amountTokenToDeposit` of `tokenIn` (AID goes through sAID's own preview).
    function previewDeposit(address tokenIn, uint256 amountTokenToDeposit)
        external
        view
        returns (uint256 amountSharesOut)
    {
        if (tokenIn == address(sAID)) return amountTokenToDeposit;
        if (tokenIn == address(aid)) return sAID.previewDeposit(amountTokenToDeposit);
        revert SYInvalidTokenIn(tokenIn);
    }

    /// @notice sAID paid for `amountSharesToRedeem` SY: the same number (sAID is the only token out).
    function previewRedeem(address tokenOut, uint256 amountSharesToRedeem)
        external
        view
        returns (uint256 amountTokenOut)
    {
        if (tokenOut != address(sAID)) revert SYInvalidTokenOut(tokenOut, address(sAID));
        return amountSharesToRedeem;
    }

    // ---- deny list ----

    function _checkNotDenied(address account) private view {
        if (IDenyList(address(aid)).isDenied(account)) revert AccountDenied(account);
    }

    /// @dev A denied account can neither send nor receive SY.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0)) _checkNotDenied(from);
        if (to != address(0)) _checkNotDenied(to);
        super._update(from, to, value);
    }

    /// @dev Nor move anyone's SY as a spender.
    function _spendAllowance(address owner, address spender, uint256 value) internal override {
        _checkNotDenied(spender);
        super._spendAllowance(owner, spender, value);
    }

    /// @notice The accounting asset: the token AID, with its decimals.
    function assetInfo() external view returns (AssetType assetType, address assetAddress, uint8 assetDecimals) {
        return (AssetType.TOKEN, address(aid), AID_DECIMALS);
    }
}
