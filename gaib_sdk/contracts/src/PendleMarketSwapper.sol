// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @notice The part of a Pendle market (PendleMarketV7) that trades PT against SY, with a callback.
interface IPendleMarketSwap {
    function swapExactPtForSy(address receiver, uint256 exactPtIn, bytes calldata data)
        external
        returns (uint256 netSyOut, uint256 netSyFee);
    function swapSyForExactPt(address receiver, uint256 exactPtOut, bytes calldata data)
        external
        returns (uint256 netSyIn, uint256 netSyFee);
    function readTokens() external view returns (address sy, address pt, address yt);
}

/// @title PendleMarketSwapper
/// @notice Trades PT against SY on a Pendle market in one transaction, with the caller's limit checked in
///         that transaction: the market pays out first and calls back (Pendle's swapCallback), and the
///         swapper then pulls exactly what the market is owed from the caller (who approved it), or reverts
///         if that breaks the caller's limit. Its quote functions run the same swap and revert with the
///         amounts (read them with eth_call); they never move anything.
/// @dev Holds no tokens and no allowances of its own. Only the market that the running swap called may
///      call back, and only for the account that started that swap.
contract PendleMarketSwapper is ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct Pending {
        address market;
        address payer;
        uint256 limit; // the most SY the payer pays (SY for exact PT); unused for PT for SY
        bool quote;
    }

    Pending private pending;

    /// @notice The SY out was less than the caller's minimum.
    error SwapperSyOutTooLow(uint256 syOut, uint256 minSyOut);
    /// @notice The SY owed was more than the caller's maximum.
    error SwapperSyInTooHigh(uint256 syIn, uint256 maxSyIn);
    /// @notice A callback that is not from the market of the swap under way.
    error SwapperUnexpectedCallback(address caller);
    /// @notice What a quote's swap would move, to the account (positive) or from it (negative).
    error SwapperQuote(int256 ptToAccount, int256 syToAccount);

    /// @notice Sell exactly `exactPtIn` PT (approved to this contract) for at least `minSyOut` SY to `receiver`.
    function swapExactPtForSy(IPendleMarketSwap market, uint256 exactPtIn, uint256 minSyOut, address receiver)
        external
        nonReentrant
        returns (uint256 netSyOut)
    {
        pending = Pending(address(market), msg.sender, 0, false);
        (netSyOut,) = market.swapExactPtForSy(receiver, exactPtIn, abi.encode(msg.sender));
        delete pending;
        if (netSyOut < minSyOut) revert SwapperSyOutTooLow(netSyOut, minSyOut);
    }

    /// @notice Buy exactly `exactPtOut` PT for `receiver`, paying at most `maxSyIn` SY (approved to this contract).
    function swapSyForExactPt(IPendleMarketSwap market, uint256 exactPtOut, uint256 maxSyIn, address receiver)
        external
        nonReentrant
        returns (uint256 netSyIn)
    {
        pending = Pending(address(market), msg.sender, maxSyIn, false);
        (netSyIn,) = market.swapSyForExactPt(receiver, exactPtOut, abi.encode(msg.sender));
        delete pending;
    }

    /// @notice Always reverts with SwapperQuote(-exactPtIn, SY out): the SY that selling `exactPtIn` PT gives now.
    function quoteExactPtForSy(IPendleMarketSwap market, uint256 exactPtIn) external nonReentrant {
        pending = Pending(address(market), msg.sender, 0, true);
        market.swapExactPtForSy(address(market), exactPtIn, abi.encode(msg.sender));
    }

    /// @notice Always reverts with SwapperQuote(exactPtOut, -SY in): the SY that buying `exactPtOut` PT costs now.
    function quoteSyForExactPt(IPendleMarketSwap market, uint256 exactPtOut) external nonReentrant {
        pending = Pending(address(market), msg.sender, 0, true);
        market.swapSyForExactPt(address(market), exactPtOut, abi.encode(msg.sender));
    }

    /// @notice Pendle's IPMarketSwapCallback: pay the market what the swap under way owes it.
    function swapCallback(int256 ptToAccount, int256 syToAccount, bytes calldata) external {
        Pending memory p = pending;
        if (msg.sender != p.market || p.market == address(0)) revert SwapperUnexpectedCallback(msg.sender);
        if (p.quote) revert SwapperQuote(ptToAccount, syToAccount);
        (address sy, address pt,) = IPendleMarketSwap(p.market).readTokens();
        if (ptToAccount < 0) IERC20(pt).safeTransferFrom(p.payer, p.market, uint256(-ptToAccount));
        if (syToAccount < 0) {
            uint256 syIn = uint256(-syToAccount);
            if (syIn > p.limit) revert SwapperSyInTooHigh(syIn, p.limit);
            IERC20(sy).safeTransferFrom(p.payer, p.market, syIn);
        }
    }
}
