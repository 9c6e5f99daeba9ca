// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestUSDC
/// @notice A 6-decimal stand-in for USDC on local chains only (the embedded EVM, anvil).
///         On a real chain the SDK is given USDC's address and never deploys this. Like USDC (FiatToken v2
///         and later), it takes EIP-2612 permits, so integrations can be tested with them.
contract TestUSDC is ERC20, ERC20Permit, Ownable {
    constructor(address owner_) ERC20("Test USD Coin", "tUSDC") ERC20Permit("Test USD Coin") Ownable(owner_) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Local faucet: the owner mints test dollars to anyone.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
