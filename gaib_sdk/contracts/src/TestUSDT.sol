// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestUSDT
/// @notice A 6-decimal stand-in for USDT on local chains only (the embedded EVM, anvil): the second
///         stablecoin AIDollar accepts. On a real chain the SDK is given USDT's address and never deploys this.
contract TestUSDT is ERC20, Ownable {
    constructor(address owner_) ERC20("Test Tether USD", "tUSDT") Ownable(owner_) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Local faucet: the owner mints test dollars to anyone.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
