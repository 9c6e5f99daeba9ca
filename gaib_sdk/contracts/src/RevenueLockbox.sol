// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title RevenueLockbox
/// @notice One per deal: the address a deal's customers pay their invoices into. It holds the stablecoin
///         until someone (anyone) calls CreditFacility.sweep(dealId), which takes it all and pays the
///         waterfall before the borrower sees any of it. The borrower cannot withdraw from here.
/// @dev Deployed once by the facility as an implementation; each deal gets an EIP-1167 clone of it
///      (45 bytes of code). The facility and the stablecoin are immutables of the implementation, which
///      every clone shares, so a clone needs no initialisation.
contract RevenueLockbox {
    using SafeERC20 for IERC20;

    address public immutable facility;
    IERC20 public immutable stablecoin;

    error OnlyFacility(address caller);

    constructor(IERC20 stablecoin_) {
        facility = msg.sender;
        stablecoin = stablecoin_;
    }

    /// @notice Hand everything this lockbox holds to the facility (only the facility, during a sweep).
    function pull() external returns (uint256 amount) {
        if (msg.sender != facility) revert OnlyFacility(msg.sender);
        amount = stablecoin.balanceOf(address(this));
        if (amount > 0) stablecoin.safeTransfer(facility, amount);
    }
}
