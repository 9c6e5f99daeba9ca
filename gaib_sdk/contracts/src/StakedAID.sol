// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title StakedAID (sAID)
/// @notice ERC-4626 vault on AID. Deal income is minted into the vault as AID, so each share is worth
///         more AID over time: the share price rises with deal income.
/// @dev First version: OpenZeppelin's virtual share and asset (offset 0) blunt the first-depositor
///      inflation attack. Linear vesting of income and the asynchronous (ERC-7540) exit come later.
contract StakedAID is ERC4626 {
    constructor(IERC20 aid) ERC20("Staked AI Dollar", "sAID") ERC4626(aid) {}

    /// @notice AID per whole share, 18 decimals.
    function sharePrice() external view returns (uint256) {
        return convertToAssets(10 ** decimals());
    }
}
