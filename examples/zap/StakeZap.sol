// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

// Written by `gaib export --out DIR` (DIR/solidity/): the protocol's own ABIs as interfaces.
import {IAIDollar} from "./IAIDollar.sol";
import {IStakedAID} from "./IStakedAID.sol";

/// @title StakeZap: USDC to sAID in one transaction, with a USDC permit
/// @notice An integration written against `gaib export`'s interfaces. A KYC-whitelisted account signs a
///         USDC permit and calls `zap`: the zap takes the USDC, mints AID 1:1 and deposits it into sAID for
///         `receiver`. The zap itself must be whitelisted by the protocol's KYC manager (it is the account
///         that mints), so it serves only callers that are whitelisted and not denied: anything else would
///         open the mint to everyone. It keeps nothing between calls.
contract StakeZap {
    using SafeERC20 for IERC20;

    IERC20 public immutable usdc;
    IAIDollar public immutable aid;
    IStakedAID public immutable said;

    error NotWhitelisted(address account);
    error Denied(address account);
    error TooFewShares(uint256 shares, uint256 minShares);

    event Zapped(address indexed caller, address indexed receiver, uint256 usdcIn, uint256 shares);

    constructor(IERC20 usdc_, IAIDollar aid_, IStakedAID said_) {
        usdc = usdc_;
        aid = aid_;
        said = said_;
    }

    /// @notice Turn `usdcAmount` of the caller's USDC into sAID for `receiver`, refusing fewer than
    ///         `minShares`. The permit (`deadline`, `v`, `r`, `s`) is tried, not required: a permit copied
    ///         from the mempool and used first has already set the allowance, and an allowance given by an
    ///         approve works too.
    function zap(uint256 usdcAmount, address receiver, uint256 minShares, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        returns (uint256 shares)
    {
        if (!aid.isWhitelisted(msg.sender)) revert NotWhitelisted(msg.sender);
        if (aid.isDenied(msg.sender)) revert Denied(msg.sender);
        try IERC20Permit(address(usdc)).permit(msg.sender, address(this), usdcAmount, deadline, v, r, s) {} catch {}
        usdc.safeTransferFrom(msg.sender, address(this), usdcAmount);
        usdc.forceApprove(address(aid), usdcAmount);
        uint256 aidOut = aid.mint(usdcAmount);
        IERC20(address(aid)).forceApprove(address(said), aidOut);
        shares = said.deposit(aidOut, receiver); // sAID refuses a denied receiver
        if (shares < minShares) revert TooFewShares(shares, minShares);
        emit Zapped(msg.sender, receiver, usdcAmount, shares);
    }
}
