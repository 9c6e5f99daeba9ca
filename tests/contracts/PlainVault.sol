// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Test-only baseline for scripts/bench_gas.py: OpenZeppelin's ERC-4626 as it comes, with no vesting,
///         dead shares or deny list. Never shipped in the package.
contract PlainVault is ERC4626 {
    constructor(IERC20 asset_) ERC20("Plain Vault", "PLAIN") ERC4626(asset_) {}
}
